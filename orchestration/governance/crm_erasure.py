"""Erasure at the source: the person's CRM contacts are GDPR-deleted over the CRM's API.

When CRM API mode is configured (CDW_CRM_API_URL, CDW_CRM_API_TOKEN: the CRM the extract pulls
from), an erasure request queues the CRM contact ids of the person, and the asset
`governance/crm_erasure` sends HubSpot's GDPR delete for each one on every run until the CRM
accepts it:

    POST {base}/crm/v3/objects/contacts/gdpr-delete   {"objectId": "<contact id>"}

(HubSpot: the record id alone identifies the contact; `idProperty` is only needed to name it by
email.) 429 (Retry-After) and 5xx are retried with backoff by the client; a 404 means the
contact is already gone and counts as done. Anything else leaves the deletion pending - never
dropped - and the next run tries again.

The queue ($CDW_HOME/governance/crm_deletions.json) is keyed by erasure id; the contact ids in it
are sealed (Fernet, key derived from CDW_ERASURE_KEY), so the file carries no identifier readable
without that secret. Every attempt is in the audit log under the erasure id (action
`crm_erasure`: deleted / pending, contacts, HTTP status), with no identifier.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet

from orchestration import crm_client
from orchestration.files import atomic_write_bytes
from orchestration.governance import audit
from orchestration.governance.config import governance_dir
from orchestration.governance.ledger import erasure_key

GDPR_DELETE_PATH = "/crm/v3/objects/contacts/gdpr-delete"
# CRM API mode on: erasures queue their CRM contacts
api_configured = crm_client.configured


def queue_path() -> Path:
    return governance_dir() / "crm_deletions.json"


def _fernet() -> Fernet:
    derived = hmac.new(erasure_key(), b"cdw crm deletion queue", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


@contextmanager
def _locked_queue():
    """The queue, read and written under an exclusive lock (the sensor and a run may both touch it)."""
    path = queue_path()
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        queue = json.loads(path.read_text()) if path.exists() else {}
        yield queue
        atomic_write_bytes(path, (json.dumps(queue, indent=2, sort_keys=True) + "\n").encode())


def pending() -> dict[str, dict]:
    """Erasure id -> {contacts (count), attempts, last_error, queued_at}: what is still to delete."""
    path = queue_path()
    queue = json.loads(path.read_text()) if path.exists() else {}
    return {eid: {k: (len(v) if k == "sealed_contacts" else v) for k, v in entry.items()} for eid, entry in queue.items()}


def enqueue(erasure_id: str, contact_ids: set[str]) -> int:
    """Queue the GDPR delete of these CRM contacts under the erasure id. Returns how many."""
    if not contact_ids:
        return 0
    f = _fernet()
    with _locked_queue() as queue:
        queue[erasure_id] = {
            "queued_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "sealed_contacts": [f.encrypt(cid.encode()).decode() for cid in sorted(contact_ids)],
            "attempts": 0,
            "last_error": None,
        }
    return len(contact_ids)


def process(delete_contact: Callable[[str], str | None], run_id: str | None = None,
            on_deleted: Callable[[set[str]], None] = lambda contact_ids: None) -> dict:
    """Delete every queued contact at the CRM with `delete_contact(contact_id)`, which returns
    None once the contact is gone (deleted now, or already) and otherwise why not, without any
    identifier (e.g. "HTTP 503"). Deleted contacts leave the queue (`on_deleted` is told, e.g.
    to drop them from the write-back state: nothing left to write to); an erasure leaves it when
    all its contacts are gone. Stops at the first failure (the CRM is down or refusing): the
    rest stays pending."""
    f = _fernet()
    deleted_contacts, completed, error = 0, [], None
    with _locked_queue() as queue:
        for erasure_id in sorted(queue):
            entry = queue[erasure_id]
            entry["attempts"] += 1
            done: set[str] = set()
            remaining = []
            for sealed in entry["sealed_contacts"]:
                if error is not None:
                    remaining.append(sealed)
                    continue
                contact_id = f.decrypt(sealed.encode()).decode()
                error = delete_contact(contact_id)
                if error is not None:
                    remaining.append(sealed)
                    continue
                done.add(contact_id)
            on_deleted(done)
            deleted_contacts += len(done)
            entry["sealed_contacts"] = remaining
            entry["last_error"] = error if remaining else None
            status = "pending" if remaining else "deleted"
            audit.record("crm_erasure", target=erasure_id, rows=len(done), run_id=run_id, status=status,
                         contacts_pending=len(remaining), attempt=entry["attempts"],
                         **({"error": error} if remaining else {}))
            if not remaining:
                completed.append(erasure_id)
        for erasure_id in completed:
            del queue[erasure_id]
        still = {eid: len(e["sealed_contacts"]) for eid, e in queue.items()}
    return {"deleted_contacts": deleted_contacts, "erasures_completed": len(completed),
            "erasures_pending": len(still), "contacts_pending": sum(still.values()),
            "error": error}
