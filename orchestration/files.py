"""Atomic, reproducible export files with a manifest."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    class _Buf:
        def __init__(self):
            self.parts: list[str] = []

        def write(self, s: str) -> None:
            self.parts.append(s)

    buf = _Buf()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return "".join(buf.parts).encode("utf-8")


def write_export(folder: Path, name: str, header: Sequence[str], rows: list[Sequence], manifest: dict) -> dict:
    """Write <folder>/<name>.csv and <name>.manifest.json (the manifest last: its presence means done)."""
    data = csv_bytes(header, rows)
    csv_path = folder / f"{name}.csv"
    atomic_write_bytes(csv_path, data)
    full = {
        "file": csv_path.name,
        "rows": len(rows),
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "columns": list(header),
        **manifest,
    }
    atomic_write_bytes(folder / f"{name}.manifest.json", (json.dumps(full, indent=2, sort_keys=True) + "\n").encode())
    return full
