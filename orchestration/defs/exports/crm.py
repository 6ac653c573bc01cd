"""Reverse ETL to the CRM: lead score, lifecycle stage and segments onto CRM contacts.

Speaks HubSpot's batch API shape: POST {base}/crm/v3/objects/contacts/batch/update with
{"inputs": [{"id": "<contact id>", "properties": {...}}]}, at most 100 inputs per call,
`Authorization: Bearer <token>`. Idempotent: the sha256 of what was last sent per contact is
kept ($CDW_HOME/exports/crm_writeback/state.json, no PII: contact id -> hash), and only contacts
whose properties changed are sent. 429 (honouring Retry-After) and 5xx are retried with backoff;
other 4xx fail at once with the CRM's message.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from orchestration.files import atomic_write_bytes

BATCH_PATH = "/crm/v3/objects/contacts/batch/update"
BATCH_SIZE = 100


class CrmError(Exception):
    pass


@dataclass
class CrmClient:
    base_url: str
    token: str
    max_attempts: int = 6
    backoff_seconds: float = 0.5
    timeout: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    retries: int = field(default=0, init=False)

    def post(self, path: str, body: dict) -> dict:
        data = json.dumps(body).encode()
        url = self.base_url.rstrip("/") + path
        for attempt in range(1, self.max_attempts + 1):
            req = urllib.request.Request(url, data=data, method="POST", headers={
                "Content-Type": "application/json", "Authorization": f"Bearer {self.token}"})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    payload = resp.read()
                    return json.loads(payload) if payload else {}
            except urllib.error.HTTPError as exc:
                status = exc.code
                message = exc.read()[:300].decode("utf-8", "replace")
                if (status == 429 or status >= 500) and attempt < self.max_attempts:
                    retry_after = exc.headers.get("Retry-After")
                    try:
                        wait = float(retry_after) if retry_after is not None else self.backoff_seconds * 2 ** (attempt - 1)
                    except ValueError:
                        wait = self.backoff_seconds * 2 ** (attempt - 1)
                    self.retries += 1
                    self.sleep(min(wait, 60.0))
                    continue
                raise CrmError(f"CRM answered HTTP {status} on {path} (attempt {attempt}): {message}") from None
            except urllib.error.URLError as exc:
                if attempt < self.max_attempts:
                    self.retries += 1
                    self.sleep(self.backoff_seconds * 2 ** (attempt - 1))
                    continue
                raise CrmError(f"CRM unreachable at {self.base_url}: {exc.reason}") from None
        raise CrmError("unreachable")  # pragma: no cover


def properties_hash(properties: dict) -> str:
    return hashlib.sha256(json.dumps(properties, sort_keys=True).encode()).hexdigest()


def load_state(path: Path) -> dict[str, str]:
    return json.loads(path.read_text()) if path.exists() else {}


def write_back(client: CrmClient, updates: dict[str, dict], state_path: Path) -> dict:
    """Send the contacts whose properties changed since the last successful send.

    `updates`: contact id -> properties. The state is saved after every accepted batch, so a
    failure half way resends only what was not accepted. Contacts no longer in `updates`
    (erased, merged away) drop out of the state."""
    state = load_state(state_path)
    changed = sorted(cid for cid, props in updates.items() if state.get(cid) != properties_hash(props))
    sent = 0
    for i in range(0, len(changed), BATCH_SIZE):
        batch = changed[i:i + BATCH_SIZE]
        client.post(BATCH_PATH, {"inputs": [{"id": cid, "properties": updates[cid]} for cid in batch]})
        for cid in batch:
            state[cid] = properties_hash(updates[cid])
        sent += len(batch)
        _save(state_path, {k: v for k, v in state.items() if k in updates})
    _save(state_path, {k: v for k, v in state.items() if k in updates})
    return {"contacts": len(updates), "sent": sent, "unchanged": len(updates) - len(changed),
            "batches": (len(changed) + BATCH_SIZE - 1) // BATCH_SIZE, "retries": client.retries}


def _save(path: Path, state: dict) -> None:
    atomic_write_bytes(path, (json.dumps(dict(sorted(state.items())), indent=0, sort_keys=True) + "\n").encode())
