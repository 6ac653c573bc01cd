"""Reverse ETL to the CRM: lead score, lifecycle stage and segments onto CRM contacts.

Speaks HubSpot's batch API shape: POST {base}/crm/v3/objects/contacts/batch/update with
{"inputs": [{"id": "<contact id>", "properties": {...}}]}, at most 100 inputs per call,
`Authorization: Bearer <token>`. Idempotent: the sha256 of what was last sent per contact is
kept ($CDW_HOME/exports/crm_writeback/state.json, no PII: contact id -> hash), and only contacts
whose properties changed are sent. A contact the CDP wrote to before and must no longer profile
(consent withdrawn, erased) gets its CDP properties emptied once, then leaves the state.
Retries (429 with Retry-After, 5xx) are the CRM client's (orchestration/crm_client.py).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from orchestration.crm_client import CrmClient
from orchestration.files import atomic_write_bytes

BATCH_PATH = "/crm/v3/objects/contacts/batch/update"
BATCH_SIZE = 100
# the contact properties the CDP owns (and empties when it may no longer write them)
CDW_PROPERTIES = ("cdw_customer_id", "cdw_lead_score", "cdw_lifecycle_stage", "cdw_segments")
CLEARED = {name: "" for name in CDW_PROPERTIES}


def crm_writeback_state() -> Path:
    from orchestration import settings

    return settings.exports_dir() / "crm_writeback" / "state.json"


def properties_hash(properties: dict) -> str:
    return hashlib.sha256(json.dumps(properties, sort_keys=True).encode()).hexdigest()


def load_state(path: Path) -> dict[str, str]:
    return json.loads(path.read_text()) if path.exists() else {}


def write_back(client: CrmClient, updates: dict[str, dict], state_path: Path, clear: set[str] = frozenset()) -> dict:
    """Send the contacts whose properties changed since the last successful send, and empty the
    CDP properties of the contacts in `clear` that were written before.

    `updates`: contact id -> properties (the contacts the CDP may profile). `clear`: contact ids
    it may no longer write to (consent withdrawn, erased); each is cleared once, then leaves the
    state. The state is saved after every accepted batch, so a failure half way resends only what
    was not accepted. Other contacts no longer in `updates` (gone from the CRM) drop out of it."""
    state = load_state(state_path)
    changed = sorted(cid for cid, props in updates.items() if state.get(cid) != properties_hash(props))
    to_clear = sorted(cid for cid in clear if cid in state and cid not in updates)
    outgoing = [(cid, updates[cid]) for cid in changed] + [(cid, CLEARED) for cid in to_clear]
    for i in range(0, len(outgoing), BATCH_SIZE):
        batch = outgoing[i:i + BATCH_SIZE]
        client.post(BATCH_PATH, {"inputs": [{"id": cid, "properties": props} for cid, props in batch]})
        for cid, props in batch:
            if props is CLEARED:
                state.pop(cid, None)
            else:
                state[cid] = properties_hash(props)
        _save(state_path, {k: v for k, v in state.items() if k in updates or k in clear})
    _save(state_path, {k: v for k, v in state.items() if k in updates})
    return {"contacts": len(updates), "sent": len(changed), "cleared": len(to_clear),
            "unchanged": len(updates) - len(changed),
            "batches": (len(outgoing) + BATCH_SIZE - 1) // BATCH_SIZE, "retries": client.retries}


def forget(state_path: Path, contact_ids: set[str]) -> None:
    """Contacts deleted at the CRM (GDPR delete): nothing left there to write to or clear."""
    state = load_state(state_path)
    if contact_ids & state.keys():
        _save(state_path, {k: v for k, v in state.items() if k not in contact_ids})


def _save(path: Path, state: dict) -> None:
    atomic_write_bytes(path, (json.dumps(dict(sorted(state.items())), indent=0, sort_keys=True) + "\n").encode())
