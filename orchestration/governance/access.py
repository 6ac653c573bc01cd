"""Right of access: one JSON file with everything held about a person.

Profile (marts.customers), every source record unified into it (staging rows), their events
(web, email, deals), consents (ledger and the signals behind it), every other mart row keyed
by their customer_id (segments, audiences, scores...), and the exports they are in.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from orchestration import settings
from orchestration.files import atomic_write_bytes
from orchestration.governance import audit
from orchestration.governance.config import access_dir
from orchestration.governance.forms import platform_hash_tokens
from orchestration.governance.ledger import ErasureError
from orchestration.governance.resolve import resolve_person
from orchestration.governance.warehouse import has_table, read_only


def _rows(con, sql: str, params) -> list[dict]:
    rel = con.execute(sql, params)
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r)) for r in rel.fetchall()]


def _json_default(v):
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return str(v)


def collect(con, identifier: str) -> dict:
    person = resolve_person(con, identifier)
    ids = sorted(person.customer_ids)
    ident = person.identifiers
    contacts = sorted(ident.get("crm_contact", ()))
    members = sorted(ident.get("email_member", ()))
    visitors = sorted(rid for src, rid in person.records if src == "web_visitors")
    out: dict = {"customer_ids": ids, "profile": [], "source_records": {}, "events": {}, "consents": {},
                 "marts": {}, "exports": []}
    if not ids:
        return out
    out["profile"] = _rows(con, "SELECT * FROM marts.customers WHERE customer_id IN (SELECT unnest(?)) ORDER BY 1", [ids])
    out["source_records"] = {
        "crm_contacts": _rows(con, "SELECT * FROM staging.stg_crm__contacts WHERE cast(contact_id AS VARCHAR) IN (SELECT unnest(?))", [contacts]),
        "email_members": _rows(con, "SELECT * FROM staging.stg_marketing__email_members WHERE member_id IN (SELECT unnest(?))", [members]),
        "web_visitors": visitors,
        "mapping": _rows(con, "SELECT * FROM marts.customer_source_records WHERE customer_id IN (SELECT unnest(?)) ORDER BY record_key", [ids]),
    }
    out["events"] = {
        "web": _rows(con, "SELECT * FROM staging.stg_web__events WHERE coalesce(anonymous_id, 'user:' || user_id) "
                          "IN (SELECT unnest(?)) ORDER BY occurred_at, message_id", [visitors]),
        "email": _rows(con, "SELECT * FROM staging.stg_marketing__email_events WHERE member_id IN (SELECT unnest(?)) "
                            "ORDER BY occurred_at, email_event_id", [members]),
        "deals": _rows(con, "SELECT * FROM staging.stg_crm__deals WHERE cast(contact_id AS VARCHAR) IN (SELECT unnest(?))", [contacts]),
    }
    if has_table(con, "marts", "consent_ledger"):
        out["consents"]["ledger"] = _rows(con, "SELECT * FROM marts.consent_ledger WHERE customer_id IN (SELECT unnest(?)) ORDER BY purpose", [ids])
    if has_table(con, "intermediate", "int_consent_events"):
        out["consents"]["signals"] = _rows(con, "SELECT * FROM intermediate.int_consent_events WHERE customer_id IN (SELECT unnest(?)) "
                                                "ORDER BY purpose, occurred_at", [ids])
    # every other mart keyed by customer_id: segments, audiences, scores, ...
    for (table,) in con.execute(
        """SELECT table_name FROM information_schema.columns WHERE table_schema = 'marts' AND column_name = 'customer_id'
           AND table_name NOT IN ('customers', 'customer_source_records', 'consent_ledger') ORDER BY 1"""
    ).fetchall():
        rows = _rows(con, f'SELECT * FROM marts."{table}" WHERE customer_id IN (SELECT unnest(?))', [ids])
        if rows:
            out["marts"][table] = rows
    # exports they are in: their customer_id or the hashes the ad platforms receive
    emails = {v for v in ident.get("email", ())}
    phones = {v for v in ident.get("phone", ())}
    needles = set(ids) | {t.split(":", 1)[1] for t in platform_hash_tokens(emails, phones)}
    for csv_path in sorted(settings.exports_dir().rglob("*.csv")):
        text = csv_path.read_text(encoding="utf-8")
        if any(n in text for n in needles):
            manifest_path = csv_path.with_name(csv_path.name[:-4] + ".manifest.json")
            manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
            out["exports"].append({
                "file": str(csv_path.relative_to(settings.exports_dir())),
                "destination": manifest.get("destination"),
                "consent_purpose": manifest.get("consent_purpose"),
                "run_id": manifest.get("run_id"),
            })
    return out


def export_access(identifier: str, warehouse: Path | None = None, out_dir: Path | None = None) -> tuple[Path, dict]:
    wh = warehouse or settings.warehouse_path()
    if not wh.exists():
        raise ErasureError(f"no warehouse at {wh}: run `cdw run` first")
    with read_only(wh) as con:
        data = collect(con, identifier)
    access_id = "acc_" + uuid.uuid4().hex[:16]
    doc = {"access_id": access_id, "generated_at": datetime.now(UTC).isoformat(timespec="seconds"), **data}
    path = (out_dir or access_dir()) / f"{access_id}.json"
    atomic_write_bytes(path, (json.dumps(doc, indent=2, sort_keys=True, default=_json_default) + "\n").encode())
    n = (len(data["profile"]) + sum(len(v) for v in data["source_records"].values())
         + sum(len(v) for v in data["events"].values()))
    audit.record("access_export", target=access_id, rows=n, customers=len(data["customer_ids"]),
                 file=str(path.relative_to(settings.cdw_home())) if path.is_relative_to(settings.cdw_home()) else path.name)
    return path, doc
