"""DuckDB helpers of the governance code. Every connection comes from the warehouse's factory
(orchestration/warehouse.py `connect`: the warehouse, a new file, `IN_MEMORY`); `read_only` wraps
it so that a run holding the lock reads as an ErasureError in words, for erasure and access.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from orchestration import warehouse as shared
from orchestration.governance.ledger import ErasureError


def sql_literal(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@contextmanager
def read_only(path: Path, timeout: float = 0.0):
    """A read-only connection to a DuckDB file through the warehouse's connection factory; when a
    run holds the file for longer than `timeout` seconds (by default: not at all - a sensor tick
    must not wait out a run), ErasureError saying who holds it."""
    try:
        con = shared.connect(path, read_only=True, timeout=timeout)
    except shared.WarehouseBusy:
        raise ErasureError("the warehouse is busy (a run holds its lock): try again when it ends") from None
    with con:
        yield con


def attach_read_only(con, path: Path, alias: str) -> None:
    con.execute(f"ATTACH {sql_literal(str(path))} AS {alias} (READ_ONLY)")


def has_table(con, schema: str, table: str) -> bool:
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
    ).fetchone()[0] > 0
