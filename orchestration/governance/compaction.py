"""Compaction: deleted is not gone until the file is rewritten.

A load that erased or purged rows leaves a marker; after the run the warehouse is copied into
a fresh file (COPY FROM DATABASE) and swapped in, so the blocks that held those rows leave the
disk, not only the tables.
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestration import settings
from orchestration.governance.config import governance_dir
from orchestration.governance.warehouse import attach_read_only
from orchestration.warehouse import connect


def compaction_marker() -> Path:
    return governance_dir() / "compaction_needed"


def compact_warehouse(warehouse: Path | None = None) -> bool:
    """Rewrite the warehouse into a fresh file (COPY FROM DATABASE) and swap it in, so the
    blocks that held erased or purged rows are gone from disk, not only unreferenced. Done
    when a load deleted something (marker file); needs no other connection open."""
    marker = compaction_marker()
    wh = warehouse or settings.warehouse_path()
    if not marker.exists() or not wh.exists():
        return False
    tmp = wh.with_name(f".{wh.stem}.compact.duckdb")
    tmp.unlink(missing_ok=True)
    try:
        with connect(tmp) as con:
            attach_read_only(con, wh, "old_wh")
            (fresh,) = con.execute("SELECT current_database()").fetchone()
            con.execute(f'COPY FROM DATABASE old_wh TO "{fresh}"')
            con.execute("DETACH old_wh")
            con.execute("CHECKPOINT")
        os.replace(tmp, wh)
        Path(str(wh) + ".wal").unlink(missing_ok=True)
    finally:
        tmp.unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    return True

