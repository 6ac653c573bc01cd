"""Resolving an erasure or access request (an email, a phone or a customer_id) to the person
behind it in the warehouse: their customer ids, source records and every identifier they carry
(emails and their Gmail match keys, E.164 phones, CRM contact ids, email member ids, web
anonymous / user ids), including every raw variant their records were delivered with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestration.governance.forms import classify, email_forms, phone_forms, platform_hash_tokens, region, tokens
from orchestration.governance.warehouse import has_table


@dataclass
class Person:
    customer_ids: set[str] = field(default_factory=set)
    records: set[tuple[str, str]] = field(default_factory=set)
    identifiers: dict[str, set[str]] = field(default_factory=dict)

    def add(self, kind: str, value) -> None:
        if value is not None and str(value).strip():
            self.identifiers.setdefault(kind, set()).add(str(value).strip())

    def plain_tokens(self) -> set[str]:
        out: set[str] = set()
        for kind, values in self.identifiers.items():
            for v in values:
                out |= tokens(kind, v)
        emails = {t.split(":", 1)[1] for t in out if t.startswith("email:")}
        phones = {t.split(":", 1)[1] for t in out if t.startswith("phone:")}
        return out | platform_hash_tokens(emails, phones)



def resolve_person(con, identifier: str) -> Person:
    """Everything that identifies the person behind `identifier` in the warehouse (the request's
    own identifier even when the warehouse does not know it)."""
    kind = classify(identifier)
    person = Person()
    person.add(kind, identifier.strip().lower() if kind == "email" else identifier.strip())
    if not has_table(con, "marts", "customer_source_records") or not has_table(con, "intermediate", "int_identity_records"):
        return person
    if kind == "customer":
        ids = {identifier.strip()}
    elif kind == "email":
        forms = list(email_forms(identifier))
        ids = {r[0] for r in con.execute(
            """SELECT DISTINCT m.customer_id FROM intermediate.int_identity_records r
               JOIN marts.customer_source_records m USING (record_key)
               WHERE r.email_match_key IN (SELECT unnest(?)) OR r.email IN (SELECT unnest(?))""",
            [forms, forms]).fetchall()}
    else:
        phones = list(phone_forms(identifier))
        ids = {r[0] for r in con.execute(
            """SELECT DISTINCT m.customer_id FROM intermediate.int_identity_records r
               JOIN marts.customer_source_records m USING (record_key)
               WHERE r.phone_e164 IN (SELECT unnest(?)) OR r.secondary_phone_e164 IN (SELECT unnest(?))""",
            [phones, phones]).fetchall()}
    ids = {i for (i,) in con.execute(
        "SELECT DISTINCT customer_id FROM marts.customer_source_records WHERE customer_id IN (SELECT unnest(?))", [sorted(ids)]
    ).fetchall()}
    person.customer_ids = ids
    for cid in ids:
        person.add("customer", cid)
    if not ids:
        return person
    rows = con.execute(
        """SELECT r.source, r.source_record_id, r.email, r.email_match_key, r.phone_e164, r.secondary_phone_e164, r.user_id
           FROM intermediate.int_identity_records r JOIN marts.customer_source_records m USING (record_key)
           WHERE m.customer_id IN (SELECT unnest(?))""", [sorted(ids)]).fetchall()
    kinds = {"crm_contacts": "crm_contact", "email_members": "email_member"}
    for source, rid, email, mk, ph, ph2, user_id in rows:
        person.records.add((source, rid))
        person.add("email", email)
        person.add("email", mk)
        person.add("phone", ph)
        person.add("phone", ph2)
        person.add("web_user", user_id)
        if source in kinds:
            person.add(kinds[source], rid)
        elif source == "web_visitors":
            if rid.startswith("user:"):
                person.add("web_user", rid[5:])
            else:
                person.add("web_anonymous", rid)
    # every raw variant those records were delivered with (old emails, other phone spellings)
    contact_ids = sorted(person.identifiers.get("crm_contact", ()))
    member_ids = sorted(person.identifiers.get("email_member", ()))
    if contact_ids and has_table(con, "raw", "crm_contacts"):
        for email, phone, mobile, country in con.execute(
            "SELECT email, phone, mobilephone, country FROM raw.crm_contacts WHERE trim(hs_object_id) IN (SELECT unnest(?))",
            [contact_ids]).fetchall():
            person.add("email", email)
            for p in (phone, mobile):
                for e164 in phone_forms(p, region(country)):
                    person.add("phone", e164)
    if member_ids and has_table(con, "raw", "email_members"):
        for email, phone in con.execute(
            "SELECT email_address, phone FROM raw.email_members WHERE trim(member_id) IN (SELECT unnest(?))", [member_ids]
        ).fetchall():
            person.add("email", email)
            for e164 in phone_forms(phone):
                person.add("phone", e164)
    return person

