"""dbt-duckdb plugin (`plugins:` in dbt_project/profiles.yml): registers the project's Python
functions on every connection dbt opens, whoever runs dbt (Dagster, the dbt CLI, the tests), and
applies the warehouse's memory ceiling (CDW_DUCKDB_MEMORY_LIMIT, orchestration/settings.py).
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from orchestration.identifiers.phone import register_udfs
from orchestration.settings import limit_memory


class Plugin(BasePlugin):
    def configure_connection(self, conn):
        register_udfs(conn)
        limit_memory(conn)
