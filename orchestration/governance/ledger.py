"""The erasure ledger: tombstones of erased people as keyed hashes, outside the warehouse.

Every identifier of an erased person is written as HMAC-SHA256 under the secret
CDW_ERASURE_KEY ($CDW_HOME/governance/tombstones.jsonl, one JSON line per erasure) - never in
clear, never as a plain SHA-256 an ad platform could match. Whatever later meets an identifier
(a load, the scan, the export of CRM write-backs) keys it the same way and looks it up here.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import uuid
from datetime import UTC, datetime

from orchestration.governance.config import tombstones_path

KEY_ENV = "CDW_ERASURE_KEY"


class ErasureError(Exception):
    """An erasure that cannot be done; the message says why and what to do."""


def erasure_key() -> bytes:
    key = os.environ.get(KEY_ENV, "")
    if len(key) < 16:
        raise ErasureError(
            f"{KEY_ENV} is not set (or shorter than 16 characters): the tombstone ledger keys its "
            f"hashes with it, so erasure refuses to run without it. Set the same secret for every "
            f"run and keep it safe, e.g. export {KEY_ENV}=$(openssl rand -hex 32)"
        )
    return key.encode()


def key_or_none() -> bytes | None:
    try:
        return erasure_key()
    except ErasureError:
        return None


def keyed(key: bytes, token: str) -> str:
    return hmac.new(key, token.encode("utf-8"), hashlib.sha256).hexdigest()


def load_tombstones() -> set[str]:
    path = tombstones_path()
    if not path.exists():
        return set()
    out: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.update(json.loads(line)["hashes"])
    return out


def ledger_digest(tomb: set[str]) -> str:
    """One hash of the whole ledger: what was enforced or verified under it is redone when it changes."""
    return hashlib.sha256("\n".join(sorted(tomb)).encode()).hexdigest()


def erasure_count() -> int:
    path = tombstones_path()
    return sum(1 for line in path.read_text().splitlines() if line.strip()) if path.exists() else 0


def append_tombstone(key: bytes, plain_tokens: set[str], via: str) -> str:
    """Record one erasure (its tokens keyed, under a new random erasure id); returns the id."""
    erasure_id = "era_" + uuid.uuid4().hex[:16]
    entry = {
        "erasure_id": erasure_id,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "via": via,
        "hashes": sorted(keyed(key, t) for t in plain_tokens),
    }
    with open(tombstones_path(), "a", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return erasure_id


def tombstoned_contacts(contact_ids: set[str]) -> set[str]:
    """The CRM contact ids among `contact_ids` that belong to an erased person."""
    tomb = load_tombstones()
    key = key_or_none()
    if not tomb or key is None:
        return set()
    return {cid for cid in contact_ids if keyed(key, f"crm_contact:{cid}") in tomb}
