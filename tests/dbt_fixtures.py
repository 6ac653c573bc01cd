"""Run the dbt project on hand-made raw rows: the helpers the dbt model tests share.

Raw tables are written in the shape the extract step produces (every contract column as
VARCHAR, then the lineage _file, _line, _load_id, _loaded_at), so these tests depend on neither
the loader nor the demo generator.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import yaml

REPO = Path(__file__).resolve().parent.parent
DBT_PROJECT = REPO / "dbt_project"
SOURCES = yaml.safe_load((REPO / "orchestration" / "sources.yml").read_text())["sources"]


def write_raw(warehouse: Path, raw: dict[str, list[dict]], loaded_at: str = "2024-04-01 00:00:00") -> None:
    """One raw.<source> table per contract in sources.yml, holding the rows of `raw[source]`
    (missing keys and empty strings load as NULL, as the loader does)."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA raw")
        for name, spec in SOURCES.items():
            columns = spec.get("columns") or ["payload"]
            cols = ", ".join(f'"{c}" VARCHAR' for c in columns)
            con.execute(f"CREATE TABLE raw.{name} ({cols}, _file VARCHAR, _line BIGINT, _load_id VARCHAR, _loaded_at TIMESTAMP)")
            for line, row in enumerate(raw.get(name, []), start=2):
                values = [row.get(c) or None for c in columns]
                con.execute(
                    f"INSERT INTO raw.{name} VALUES ({', '.join('?' for _ in columns)}, ?, ?, 'load1', CAST(? AS TIMESTAMP))",
                    [*values, f"{name}/test.csv", line, loaded_at],
                )


def dbt_build(tmp: Path, warehouse: Path, dbt_vars: dict | None = None, *args: str,
              project: Path = DBT_PROJECT) -> subprocess.CompletedProcess:
    """`dbt build` of `project` into `warehouse`, target and logs under `tmp`."""
    dbt = shutil.which("dbt", path=str(Path(sys.executable).parent)) or "dbt"
    env = {**os.environ, "CDW_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    var_args = ["--vars", json.dumps(dbt_vars)] if dbt_vars else []
    return subprocess.run(
        [dbt, "build", "--project-dir", str(project), "--profiles-dir", str(project),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"), *var_args, *args],
        env=env, capture_output=True, text=True, timeout=600,
    )


def query(warehouse: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def customer_of(warehouse: Path, record_key: str) -> str:
    """The customer_id a source record (`<source>:<source_record_id>`) was unified into."""
    return query(warehouse, "SELECT customer_id FROM marts.customer_source_records WHERE record_key = ?", [record_key])[0][0]
