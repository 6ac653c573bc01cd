"""Run the dbt project on hand-made raw rows: the helpers the dbt model tests share.

Raw tables are created by the loader's own `ensure_raw_table` (every contract column as
VARCHAR, the lineage _file, _line, _load_id, _loaded_at, and _delivery_day for daily-partitioned
sources) and filled with the rows given, so these tests depend on neither the loader's parsing
nor the demo generator.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
DBT_PROJECT = REPO / "dbt_project"


def write_raw(warehouse: Path, raw: dict[str, list[dict]], loaded_at: str = "2024-04-01 00:00:00") -> None:
    """One raw.<source> table per contract in sources.yml, holding the rows of `raw[source]`
    (missing keys and empty strings load as NULL, as the loader does)."""
    from orchestration.extract.contracts import contracts
    from orchestration.extract.loader import DAY_COLUMN, ensure_raw_table, ensure_schemas, raw_columns

    with duckdb.connect(str(warehouse)) as con:
        ensure_schemas(con)
        for name, contract in contracts().items():
            ensure_raw_table(con, contract)
            columns = list(raw_columns(contract))
            lineage = ["_file", "_line", "_load_id", "_loaded_at"] + ([DAY_COLUMN] if contract.partitioned else [])
            names = ", ".join(f'"{c}"' for c in columns + lineage)
            day = ", CAST(? AS DATE)" if contract.partitioned else ""
            for line, row in enumerate(raw.get(name, []), start=2):
                values = [row.get(c) or None for c in columns]
                con.execute(
                    f"INSERT INTO raw.{name} ({names}) VALUES ({', '.join('?' for _ in columns)}, ?, ?, 'load1', "
                    f"CAST(? AS TIMESTAMP){day})",
                    [*values, f"{name}/test.csv", line, loaded_at] + ([loaded_at[:10]] if contract.partitioned else []),
                )


def _dbt(tmp: Path, warehouse: Path, dbt_vars: dict | None, args: tuple[str, ...], project: Path) -> subprocess.CompletedProcess:
    dbt = shutil.which("dbt", path=str(Path(sys.executable).parent)) or "dbt"
    env = {**os.environ, "CDW_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    var_args = ["--vars", json.dumps(dbt_vars)] if dbt_vars else []
    return subprocess.run(
        [dbt, "build", "--project-dir", str(project), "--profiles-dir", str(project),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"), *var_args, *args],
        env=env, capture_output=True, text=True, timeout=600,
    )


def dbt_build(tmp: Path, warehouse: Path, dbt_vars: dict | None = None, *args: str,
              project: Path = DBT_PROJECT) -> subprocess.CompletedProcess:
    """`dbt build` of `project` into `warehouse`, target and logs under `tmp`. Without a --select,
    the whole project as the pipeline builds it: the models before identity's Python steps, the
    steps (orchestration/identity/steps.py, on this warehouse, with the matching vars dbt rendered
    into the `identity` source), then the models after them. The first failing dbt result, or the last."""
    if "--select" in args or "-s" in args:
        return _dbt(tmp, warehouse, dbt_vars, args, project)
    from orchestration.identity import steps

    first = _dbt(tmp, warehouse, dbt_vars, (*args, "--exclude", steps.AFTER_IDENTITY), project)
    if first.returncode != 0:
        return first
    manifest = json.loads((tmp / "target" / "manifest.json").read_text())
    [meta] = [n.get("meta") or {} for n in manifest["sources"].values()
              if n["source_name"] == steps.IDENTITY_SOURCE and n["name"] == steps.MATCH_PAIRS.split(".")[1]]
    params = steps.MatchParams.from_meta(meta)
    with duckdb.connect(str(warehouse)) as con:
        engine = steps.engine_for(con)
        engine.match_pairs(params)
        engine.components()
        engine.account_clusters()
    return _dbt(tmp, warehouse, dbt_vars, (*args, "--select", steps.AFTER_IDENTITY), project)


def query(warehouse: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def customer_of(warehouse: Path, record_key: str) -> str:
    """The customer_id a source record (`<source>:<source_record_id>`) was unified into."""
    return query(warehouse, "SELECT customer_id FROM marts.customer_source_records WHERE record_key = ?", [record_key])[0][0]


def contract_columns(warehouse: Path, model: str, folder: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(the columns and types of marts.<model> in `warehouse`, the ones its yml in
    models/<folder>/<model>.yml promises), both as (name, DuckDB type) in column order."""
    import yaml

    spec = yaml.safe_load((DBT_PROJECT / "models" / folder / f"{model}.yml").read_text())
    (node,) = [m for m in spec["models"] if m["name"] == model]
    with duckdb.connect() as con:  # the declared types as DuckDB spells them ('string' is VARCHAR)
        promised = [(c["name"], con.execute(f"SELECT typeof(CAST(NULL AS {c['data_type']}))").fetchone()[0])
                    for c in node["columns"]]
    built = query(warehouse, "SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_schema = 'marts' AND table_name = ? ORDER BY ordinal_position", [model])
    return [tuple(c) for c in built], promised
