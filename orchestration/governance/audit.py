"""The audit log: one JSON line per erasure, access export and data export.

It records what, when, which run and how many rows; never an identifier of a person (an
erasure is logged under its random erasure id)."""

from __future__ import annotations

import fcntl
import json
from datetime import UTC, datetime

from orchestration.governance.config import audit_path


def record(action: str, *, target: str, rows: int | None = None, run_id: str | None = None, **detail) -> dict:
    entry = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "action": action,
        "target": target,
        "rows": rows,
        "run_id": run_id,
        **detail,
    }
    line = json.dumps(entry, sort_keys=True, default=str) + "\n"
    with open(audit_path(), "a", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(line)
        fh.flush()
    return entry


def entries(action: str | None = None) -> list[dict]:
    path = audit_path()
    if not path.exists():
        return []
    out = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [e for e in out if action is None or e["action"] == action]
