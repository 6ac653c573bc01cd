"""Scrubbing what is already published, at the moment an erasure is recorded: export files
(CSV lines, their manifests updated), access files and the analyst snapshot, without waiting
for the next run.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from orchestration.files import atomic_write_bytes
from orchestration.governance.config import access_dir, snapshot_path
from orchestration.governance.findings import scan_text
from orchestration.governance.scan import published_files
from orchestration.governance.snapshot import rewrite_without


def scrub_published(tomb: set[str], key: bytes) -> int:
    """Remove tombstoned people from export files (CSV lines), access files and the analyst
    snapshot now, without waiting for the next run. Returns rows removed."""
    removed = 0
    for f in published_files():
        if f.suffix == ".csv":
            lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
            keep = lines[:1] + [ln for ln in lines[1:] if not scan_text(ln, key, tomb)]
            if len(keep) != len(lines):
                data = "".join(keep).encode("utf-8")
                atomic_write_bytes(f, data)
                removed += len(lines) - len(keep)
                manifest = f.with_name(f.name[: -len(".csv")] + ".manifest.json")
                if manifest.exists():
                    m = json.loads(manifest.read_text())
                    m.update(rows=len(keep) - 1, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data),
                             scrubbed_by_erasure_at=datetime.now(UTC).isoformat(timespec="seconds"))
                    atomic_write_bytes(manifest, (json.dumps(m, indent=2, sort_keys=True) + "\n").encode())
        elif f.parent == access_dir() and scan_text(f.read_text(encoding="utf-8", errors="replace"), key, tomb):
            f.unlink()
            removed += 1
    snap = snapshot_path()
    if snap.exists():
        removed += rewrite_without(snap, key, tomb)
    return removed
