"""The analyst snapshot: a read-only copy of the analyst-facing schemas, published atomically.

Built into a temp file beside the target from a read-only view of the warehouse, then
`os.replace`d over $CDW_HOME/analytics.duckdb: a reader that already opened the old file keeps
reading it (the inode lives on), new readers see the new one, nobody sees a half-built table and
nobody waits on the writer's lock.

Pseudonymization: columns tagged `meta: {pii: true}` in the dbt YAML (plus a safety net of
well-known PII column names) are replaced by `pii_<16 hex>` - a hash keyed with a secret
kept in $CDW_HOME/governance/pseudonymization.key, so values stay joinable across tables and
snapshots but a list of known emails cannot be hashed to find people (a keyed SHA-256:
sha256(secret || value)). CDW_SNAPSHOT_PII=full
publishes the clear values instead (opt-in).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from orchestration import settings
from orchestration.governance.config import (
    pseudonymization_key,
    snapshot_path,
    snapshot_pii_mode,
    snapshot_schemas,
)
from orchestration.governance.findings import erased_rows_condition, load_ledger, tables_of
from orchestration.governance.warehouse import attach_read_only, sql_literal
from orchestration.warehouse import connect

# Masked even when no YAML tags them (a model added without its meta must not leak PII)
PII_COLUMN_NAMES = {
    "email", "email_raw", "email_address", "phone", "phone_raw", "phone_e164", "mobile_phone_raw",
    "mobile_phone_e164", "mobilephone", "first_name", "last_name", "firstname", "lastname", "address",
    "date_of_birth", "ip_address", "email_match_key", "secondary_phone_e164",
}


def pii_columns_from_manifest(manifest_path: Path) -> dict[tuple[str, str], set[str]]:
    """(schema, table) -> columns whose dbt YAML says meta.pii: true."""
    if not manifest_path.exists():
        return {}
    manifest = json.loads(manifest_path.read_text())
    out: dict[tuple[str, str], set[str]] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in ("model", "seed", "snapshot"):
            continue
        cols = {
            name for name, col in (node.get("columns") or {}).items()
            if (col.get("meta") or {}).get("pii") or ((col.get("config") or {}).get("meta") or {}).get("pii")
        }
        if cols:
            out[(node.get("schema"), node.get("alias") or node["name"])] = cols
    return out


def pii_columns(manifest_path: Path | None = None) -> dict[tuple[str, str], set[str]]:
    """The tags of the dbt manifest (the one the run built with, by default dbt's target)."""
    try:
        return pii_columns_from_manifest(manifest_path or settings.dbt_manifest_path())
    except (OSError, ValueError):  # no readable manifest: the name safety net still applies
        return {}


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def publish(warehouse: Path | None = None, target: Path | None = None, manifest_path: Path | None = None) -> dict:
    """Build the snapshot from the warehouse and swap it in atomically. Returns what it holds."""
    wh = warehouse or settings.warehouse_path()
    target = target or snapshot_path()
    mode = snapshot_pii_mode()
    tagged = pii_columns(manifest_path)
    key = pseudonymization_key()
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # DuckDB creates the file itself
    tables, masked = {}, []
    try:
        with connect(tmp) as con:
            attach_read_only(con, wh, "wh")
            # a TEMP macro: the secret never lands in the published file
            con.execute("CREATE OR REPLACE TEMP MACRO cdw_mask(v) AS CASE WHEN v IS NULL THEN NULL ELSE "
                        f"'pii_' || left(sha256({sql_literal(key)} || CAST(v AS VARCHAR)), 16) END")
            for schema in snapshot_schemas():
                rels = con.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'wh' AND table_schema = ? "
                    "ORDER BY 1", [schema]).fetchall()
                if not rels:
                    continue
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(schema)}")
                for (table,) in rels:
                    cols = con.execute(
                        "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'wh' "
                        "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position", [schema, table]).fetchall()
                    pii = tagged.get((schema, table), set()) | {c for (c,) in cols if c.lower() in PII_COLUMN_NAMES}
                    select = []
                    for (c,) in cols:
                        if mode == "masked" and c in pii:
                            select.append(f"cdw_mask({_q(c)}) AS {_q(c)}")
                            masked.append(f"{schema}.{table}.{c}")
                        else:
                            select.append(_q(c))
                    con.execute(f"CREATE TABLE {_q(schema)}.{_q(table)} AS SELECT {', '.join(select)} "
                                f"FROM wh.{_q(schema)}.{_q(table)}")
                    tables[f"{schema}.{table}"] = con.execute(f"SELECT count(*) FROM {_q(schema)}.{_q(table)}").fetchone()[0]
            con.execute("DETACH wh")
            con.execute("CHECKPOINT")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
    return {"path": str(target), "tables": tables, "pii_mode": mode, "masked_columns": sorted(masked)}


def rewrite_without(path: Path, key: bytes, tomb: set[str]) -> int:
    """Copy the snapshot without the rows that hold a tombstoned identifier and swap it in; left
    alone when no row does. The rows are found in DuckDB, one pass per table, like the erasure scan
    finds them (orchestration/governance/findings.py). Returns the rows removed."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    removed = 0
    try:
        with connect(tmp) as con:
            params = load_ledger(con, key, tomb)
            attach_read_only(con, path, "old")
            conds = {(schema, table): erased_rows_condition(con, f"old.{_q(schema)}.{_q(table)}", schema, table,
                                                            columns, params)
                     for (schema, table), columns in tables_of(con, "old").items()}
            if not any(conds.values()):
                return 0
            for (schema, table), cond in conds.items():
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(schema)}")
                rel = f"old.{_q(schema)}.{_q(table)}"
                where = f"WHERE NOT coalesce({cond}, false)" if cond else ""
                n_old = con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]
                con.execute(f"CREATE TABLE {_q(schema)}.{_q(table)} AS SELECT * FROM {rel} {where}")
                removed += n_old - con.execute(f"SELECT count(*) FROM {_q(schema)}.{_q(table)}").fetchone()[0]
            con.execute("DETACH old")
            con.execute("DROP TABLE tomb")
            con.execute("CHECKPOINT")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return removed
