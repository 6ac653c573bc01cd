"""dbt-duckdb plugin (`plugins:` in dbt_project/profiles.yml): registers the project's Python
functions on every connection dbt opens, whoever runs dbt (Dagster, the dbt CLI, the tests).
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from orchestration.identity.phones import register_udfs


class Plugin(BasePlugin):
    def configure_connection(self, conn):
        register_udfs(conn)
