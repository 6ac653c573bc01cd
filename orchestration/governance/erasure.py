"""Right to erasure: recording a request, and the one import for everything erasure does.

An erasure request (an email, a phone or a customer_id) is resolved in the warehouse to the
person's records (resolve.py), every identifier they carry - in every form identity may have
given it, plus the SHA-256 forms the ad platforms receive (forms.py) - is written to the
tombstone ledger as keyed hashes (ledger.py), what is already published is scrubbed at once
(scrub.py) and their CRM contacts are queued for deletion at the source (crm_erasure.py).

Then every run keeps the erasure in force: right after each extract load, enforcement.py
deletes the erased people's rows from raw and the quarantine, so re-delivered old files and a
rebuild from scratch cannot bring them back; staging, marts, exports and the analyst snapshot
are rebuilt from raw; compaction.py rewrites the file so the rows leave the disk; and scan.py
proves it, looking for tombstoned identifiers in every table of the warehouse and the snapshot
and in every export file (findings.py matches them inside DuckDB).

The modules import one way: config <- ledger <- forms <- findings <- (snapshot, scan, resolve,
enforcement) <- scrub <- erasure; nothing in governance imports orchestration.defs.
"""

from __future__ import annotations

import json
from pathlib import Path

from orchestration import settings
from orchestration.governance import audit, crm_erasure
from orchestration.governance.compaction import compact_warehouse, compaction_marker
from orchestration.governance.enforcement import RAW_IDENTIFIERS, enforce_after_load
from orchestration.governance.forms import classify
from orchestration.governance.ledger import (
    KEY_ENV,
    ErasureError,
    append_tombstone,
    erasure_count,
    erasure_key,
    keyed,
    load_tombstones,
    tombstoned_contacts,
)
from orchestration.governance.resolve import Person, resolve_person
from orchestration.governance.scan import scan
from orchestration.governance.scrub import scrub_published
from orchestration.governance.warehouse import read_only

__all__ = [
    "KEY_ENV", "RAW_IDENTIFIERS", "ErasureError", "Person", "compact_warehouse", "compaction_marker",
    "enforce_after_load", "erasure_count", "erasure_key", "keyed", "load_tombstones", "read_request", "request_erasure",
    "resolve_person", "scan", "tombstoned_contacts",
]


def read_request(text: str) -> list[str]:
    """The identifiers of an erasure request file: one email, phone or customer_id per line, or
    JSON {"identifier": ...}. ErasureError (naming no identifier) when it is not readable."""
    text = text.strip()
    try:
        identifiers = [json.loads(text)["identifier"]] if text.startswith("{") else [
            line.strip() for line in text.splitlines() if line.strip()]
    except (ValueError, KeyError, TypeError):
        raise ErasureError('not JSON {"identifier": ...} nor one identifier per line') from None
    if not identifiers or not all(isinstance(i, str) for i in identifiers):
        raise ErasureError("no identifier in it")
    for identifier in identifiers:
        classify(identifier)
    return identifiers


def request_erasure(identifier: str, via: str = "cli", warehouse: Path | None = None) -> dict:
    """Record the tombstone of the person behind `identifier` and scrub what is published
    (exports, access files, snapshot) at once; the next run purges raw and rebuilds the rest.
    Returns a summary free of identifiers."""
    key = erasure_key()
    wh = warehouse or settings.warehouse_path()
    if wh.exists():
        with read_only(wh) as con:
            person = resolve_person(con, identifier)
    else:
        person = Person()
        kind = classify(identifier)
        person.add(kind, identifier.strip())
    plain = person.plain_tokens()
    erasure_id = append_tombstone(key, plain, via)
    scrubbed = scrub_published(load_tombstones(), key)
    crm_contacts = set(person.identifiers.get("crm_contact", ()))
    # at the source too: the next run GDPR-deletes them in the CRM (pending until it accepts)
    crm_queued = crm_erasure.enqueue(erasure_id, crm_contacts) if crm_erasure.api_configured() else 0
    summary = {
        "erasure_id": erasure_id,
        "customers": len(person.customer_ids),
        "source_records": len(person.records),
        "identifiers": len(plain),
        "published_rows_scrubbed": scrubbed,
        "crm_deletions_queued": crm_queued,
    }
    audit.record("erasure", target=erasure_id, rows=len(person.records), via=via,
                 customers=len(person.customer_ids), identifiers=len(plain), published_rows_scrubbed=scrubbed,
                 crm_contacts=len(crm_contacts),
                 crm_deletion="queued" if crm_queued else ("crm api not configured" if crm_contacts else "no crm contact"))
    return summary
