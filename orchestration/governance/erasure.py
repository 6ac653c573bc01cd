"""Right to erasure: a tombstone ledger of keyed hashes that keeps erasures in force.

An erasure request (an email, a phone or a customer_id) is resolved in the warehouse to the
person's records, and every identifier they carry (emails and their Gmail match keys, E.164
phones, CRM contact ids, email member ids, web anonymous / user ids, the customer_id, and the
SHA-256 forms the ad platforms receive) is written to the ledger as HMAC-SHA256 under the
secret CDW_ERASURE_KEY - never in clear, never as a plain SHA-256 an ad platform could match.

The ledger lives outside the warehouse ($CDW_HOME/governance/tombstones.jsonl). Right after
every extract load, `enforce_after_load` deletes from raw.<source> and from the quarantine
every row that carries a tombstoned identifier, so re-delivered old files and a rebuild from
scratch cannot bring the person back; staging, marts, exports and the analyst snapshot are
rebuilt from raw by the run. `scan` proves it: it looks for tombstoned identifiers in every
table of the warehouse and the snapshot and in every export file.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from orchestration.governance import audit, crm_erasure
from orchestration.extract.loader import EVENT_TIME_COLUMN
from orchestration.governance.config import access_dir, retention_days, snapshot_path, tombstones_path, verified_path
from orchestration.governance.hashing import PLATFORMS, sha256_hex, to_e164
from orchestration.table_digest import row_digests

KEY_ENV = "CDW_ERASURE_KEY"

EMAIL_RE = r"[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}"
TOKEN_RE = re.compile(rf"({EMAIL_RE})|(\+[0-9]{{8,15}})|\b([0-9a-f]{{64}})\b|\b(cus_[0-9a-f]{{16}})\b")

# ISO2 of the country spellings CRM exports use (the phone's region when it has no +prefix)
COUNTRY_ISO2 = {
    "USA": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US", "U.S.": "US", "AMERICA": "US",
    "UK": "GB", "UNITED KINGDOM": "GB", "GREAT BRITAIN": "GB", "ENGLAND": "GB", "CANADA": "CA",
    "GERMANY": "DE", "DEUTSCHLAND": "DE", "FRANCE": "FR", "SPAIN": "ES", "ITALY": "IT",
    "NETHERLANDS": "NL", "IRELAND": "IE", "AUSTRALIA": "AU", "SWITZERLAND": "CH", "AUSTRIA": "AT",
    "BELGIUM": "BE",
}

# Where each raw source carries identifiers (sources.yml `identifiers:`): kind -> SQL
# expressions over the raw row. email / strong ids delete the row; a phone alone is nulled
# (CSV) - a shared switchboard number must not take a colleague's record with it - or deletes
# the event (JSON).
_J = "json_extract_string(payload, '{}')"


def _raw_identifiers() -> tuple[dict[str, dict[str, list[str]]], dict[str, str], set[str]]:
    from orchestration.extract.contracts import contracts

    identifiers, country, nullable_phone = {}, {}, set()
    for name, c in contracts().items():
        if not c.identifiers:
            continue
        identifiers[name] = {kind: [_J.format(f) if c.format == "jsonl" else f for f in fields_]
                             for kind, fields_ in c.identifiers.items()}
        if c.phone_region:
            country[name] = c.phone_region
        if c.format == "csv" and "phone" in c.identifiers:
            nullable_phone.add(name)
    return identifiers, country, nullable_phone


RAW_IDENTIFIERS, RAW_COUNTRY, CSV_SOURCES_WITH_NULLABLE_PHONE = _raw_identifiers()

# Columns of derived tables that hold ids of a kind (scan)
ID_COLUMNS = {
    "contact_id": "crm_contact", "associated_contact_id": "crm_contact", "member_id": "email_member",
    "anonymous_id": "web_anonymous", "user_id": "web_user", "customer_id": "customer",
}
# Web visitor ids (the sessionized events, web_sessions): the anonymousId, else 'user:' + userId
VISITOR_ID_COLUMNS = {"visitor_id"}


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


def _key_or_none() -> bytes | None:
    try:
        return erasure_key()
    except ErasureError:
        return None


def keyed(key: bytes, token: str) -> str:
    return hmac.new(key, token.encode("utf-8"), hashlib.sha256).hexdigest()


# --- identifier forms ---------------------------------------------------------------------

def email_forms(email: str | None) -> set[str]:
    if not email or "@" not in email:
        return set()
    e = email.strip().lower()
    local, _, domain = e.rpartition("@")
    forms = {e}
    if domain in ("gmail.com", "googlemail.com"):
        forms.add(local.split("+", 1)[0].replace(".", "") + "@gmail.com")
    return forms


def phone_forms(phone: str | None, region: str | None = None) -> set[str]:
    if phone is None or not str(phone).strip():
        return set()
    out = set()
    for r in {region or "US", "US"}:
        e = to_e164(str(phone), r)
        if e:
            out.add(e)
    return out


def tokens(kind: str, value, region: str | None = None) -> set[str]:
    """The ledger tokens an identifier value stands for (before keyed hashing)."""
    if value is None:
        return set()
    if kind == "email":
        return {f"email:{e}" for e in email_forms(str(value))}
    if kind == "phone":
        return {f"phone:{p}" for p in phone_forms(str(value), region)}
    if kind == "sha256":
        return {f"sha256:{str(value).lower()}"}
    v = str(value).strip()
    return {f"{kind}:{v}"} if v else set()


def platform_hash_tokens(emails: set[str], phones: set[str]) -> set[str]:
    """The SHA-256 values ad platform exports would carry for these identifiers."""
    out = set()
    for platform, fns in PLATFORMS.items():
        for e in emails:
            n = fns["email"](e)
            if n:
                out.add(f"sha256:{sha256_hex(n)}")
        for p in phones:
            n = fns["phone"](p, "US")
            if n:
                out.add(f"sha256:{sha256_hex(n)}")
    for e in emails:  # the normalized email itself, hashed (what a plain "hashed email" column would be)
        out.add(f"sha256:{sha256_hex(e)}")
    return out


# --- the ledger ---------------------------------------------------------------------------

def load_tombstones() -> set[str]:
    path = tombstones_path()
    if not path.exists():
        return set()
    out: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.update(json.loads(line)["hashes"])
    return out


def erasure_count() -> int:
    path = tombstones_path()
    return sum(1 for line in path.read_text().splitlines() if line.strip()) if path.exists() else 0


def _append_tombstone(key: bytes, plain_tokens: set[str], via: str) -> str:
    erasure_id = "era_" + uuid.uuid4().hex[:16]
    entry = {
        "erasure_id": erasure_id,
        "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
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
    key = _key_or_none()
    if not tomb or key is None:
        return set()
    return {cid for cid in contact_ids if keyed(key, f"crm_contact:{cid}") in tomb}


# --- resolving a request to a person ------------------------------------------------------

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


def _has_table(con, schema: str, table: str) -> bool:
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
    ).fetchone()[0] > 0


def classify(identifier: str) -> str:
    ident = identifier.strip()
    if re.fullmatch(r"cus_[0-9a-f]{16}", ident):
        return "customer"
    if "@" in ident:
        return "email"
    if re.fullmatch(r"[+()0-9 .\-]{6,}", ident):
        return "phone"
    raise ErasureError(f"not an email, phone or customer_id: give one of those (got {len(ident)} characters)")


def resolve_person(con, identifier: str) -> Person:
    """Everything that identifies the person behind `identifier` in the warehouse (the request's
    own identifier even when the warehouse does not know it)."""
    kind = classify(identifier)
    person = Person()
    person.add(kind, identifier.strip().lower() if kind == "email" else identifier.strip())
    if not _has_table(con, "marts", "customer_source_records") or not _has_table(con, "intermediate", "int_identity_records"):
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
    if contact_ids and _has_table(con, "raw", "crm_contacts"):
        for email, phone, mobile, country in con.execute(
            "SELECT email, phone, mobilephone, country FROM raw.crm_contacts WHERE trim(hs_object_id) IN (SELECT unnest(?))",
            [contact_ids]).fetchall():
            person.add("email", email)
            for p in (phone, mobile):
                for e164 in phone_forms(p, _iso2(country)):
                    person.add("phone", e164)
    if member_ids and _has_table(con, "raw", "email_members"):
        for email, phone in con.execute(
            "SELECT email_address, phone FROM raw.email_members WHERE trim(member_id) IN (SELECT unnest(?))", [member_ids]
        ).fetchall():
            person.add("email", email)
            for e164 in phone_forms(phone):
                person.add("phone", e164)
    return person


def _iso2(country: str | None) -> str | None:
    if not country:
        return None
    c = country.strip().upper()
    return c if len(c) == 2 else COUNTRY_ISO2.get(c)


# --- the request ----------------------------------------------------------------------------

def request_erasure(identifier: str, via: str = "cli", warehouse: Path | None = None) -> dict:
    """Record the tombstone of the person behind `identifier` and scrub what is published
    (exports, access files, snapshot) at once; the next run purges raw and rebuilds the rest.
    Returns a summary free of identifiers."""
    from orchestration import settings

    key = erasure_key()
    wh = warehouse or settings.warehouse_path()
    if wh.exists():
        try:
            with duckdb.connect(str(wh), read_only=True) as con:
                person = resolve_person(con, identifier)
        except duckdb.IOException as exc:
            raise ErasureError(
                f"the warehouse is busy (a run holds the write lock): try again when it ends "
                f"({str(exc).splitlines()[0][:120]})"
            ) from None
    else:
        person = Person()
        kind = classify(identifier)
        person.add(kind, identifier.strip())
    plain = person.plain_tokens()
    erasure_id = _append_tombstone(key, plain, via)
    scrubbed = scrub_published(load_tombstones(), key)
    crm_contacts = set(person.identifiers.get("crm_contact", ()))
    # at the source too: the next run GDPR-deletes them in the CRM (pending until it accepts)
    crm_queued = crm_erasure.enqueue(erasure_id, crm_contacts) if crm_erasure.crm_api_client() else 0
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


# --- enforcement on raw --------------------------------------------------------------------

def _hits(con, key: bytes, tomb: set[str], table: str, kind: str, expr: str, where: str = "true",
          region_expr: str | None = None) -> list[str]:
    """The distinct values of `expr` over `table` that carry a tombstoned identifier of `kind`."""
    if kind != "phone":  # keyed in DuckDB; phones need libphonenumber (Python) for their E.164 forms
        return _hits_in_duckdb(con, key, tomb, table, kind, expr, where)
    region = region_expr or "NULL"
    values = con.execute(
        f"SELECT DISTINCT {expr} AS v, {region} AS r FROM {table} WHERE {where} AND {expr} IS NOT NULL"
    ).fetchall()
    hit = set()
    for v, r in values:
        if any(keyed(key, t) in tomb for t in tokens(kind, v, _iso2(r))):
            hit.add(v)
    return sorted(hit)


def _hits_in_duckdb(con, key: bytes, tomb: set[str], table: str, kind: str, expr: str, where: str) -> list[str]:
    # an email is matched like the scan matches text (lowercased, Gmail key), other ids as kind:value
    k, v = ("'text'", f"lower(trim({expr}))") if kind == "email" else (f"'{kind}'", expr)
    email_only = f"AND contains({v}, '@')" if kind == "email" else ""
    params = load_ledger(con, key, tomb)
    return sorted(raw for (raw,) in con.execute(f"""
        WITH found AS (SELECT DISTINCT {expr} AS raw, {k} AS k, {v} AS v FROM {table}
                       WHERE {where} AND {expr} IS NOT NULL {email_only}),
        forms AS (SELECT raw, k, v, unnest({_LEDGER_TOKENS_SQL}) AS token FROM found)
        SELECT DISTINCT raw FROM forms JOIN tomb ON tomb.h = {_keyed_sql('forms.token')}
        WHERE forms.token IS NOT NULL""", params).fetchall())


ENFORCED_TABLE = "raw._erasure_enforced"  # per source: the ledger last enforced, and on rows loaded up to when


def _ledger_digest(tomb: set[str]) -> str:
    return hashlib.sha256("\n".join(sorted(tomb)).encode()).hexdigest()


def enforce_after_load(con, source: str) -> dict:
    """Governance right after raw.<source> was loaded: tombstoned people's rows removed from
    raw and quarantine, rows past the source's retention purged. Returns counts.

    Erasures are enforced on every row of the source when the tombstone ledger changed since
    they were last enforced on it; otherwise only rows loaded after that enforcement (by
    `_loaded_at`, whichever run loaded them - also one killed before it enforced) can hold an
    erased identifier, and only those are checked. At scale L that is the difference between a
    JSON pass per identifier over 10M web events (minutes) and a pass over the day just loaded."""
    result = {"erased_rows": 0, "nulled_phones": 0, "quarantine_rows_erased": 0, "retention_purged_rows": 0}
    table = f"raw.{source}"
    if not _has_table(con, "raw", source):
        return result
    tomb = load_tombstones()
    key = _key_or_none()
    if tomb and key is None:
        raise ErasureError(f"the tombstone ledger has erasures but {KEY_ENV} is not set: cannot enforce them")
    con.execute(f"CREATE TABLE IF NOT EXISTS {ENFORCED_TABLE} "
                "(source VARCHAR PRIMARY KEY, ledger VARCHAR, enforced_through TIMESTAMP)")
    ledger = _ledger_digest(tomb)
    enforced = con.execute(f"SELECT ledger, enforced_through FROM {ENFORCED_TABLE} WHERE source = ?", [source]).fetchone()
    # the newest load time now, before the deletes: what this enforcement covers
    (through,) = con.execute(f"SELECT max(_loaded_at) FROM {table}").fetchone()
    every_row = enforced is None or enforced[0] != ledger or enforced[1] is None
    scope = "true" if every_row else f"_loaded_at > TIMESTAMP '{enforced[1].isoformat(sep=' ')}'"
    if tomb and source in RAW_IDENTIFIERS:
        delete_conds, null_updates = [], []
        for kind, exprs in RAW_IDENTIFIERS[source].items():
            for expr in exprs:
                hit = _hits(con, key, tomb, table, kind, expr, where=scope, region_expr=RAW_COUNTRY.get(source))
                if not hit:
                    continue
                values = "(" + ", ".join("'" + h.replace("'", "''") + "'" for h in hit) + ")"
                if kind == "phone" and source in CSV_SOURCES_WITH_NULLABLE_PHONE:
                    null_updates.append((expr, values))
                else:
                    delete_conds.append(f"{expr} IN {values}")
        if delete_conds:
            cond = f"({scope}) AND ({' OR '.join(delete_conds)})"
            n = con.execute(f"SELECT count(*) FROM {table} WHERE {cond}").fetchone()[0]
            con.execute(f"DELETE FROM {table} WHERE {cond}")
            result["erased_rows"] = n
        for col, values in null_updates:
            n = con.execute(f"SELECT count(*) FROM {table} WHERE ({scope}) AND {col} IN {values}").fetchone()[0]
            con.execute(f'UPDATE {table} SET {col} = NULL WHERE ({scope}) AND {col} IN {values}')
            result["nulled_phones"] += n
    if tomb and _has_table(con, "quarantine", "rejected_rows"):
        result["quarantine_rows_erased"] = _erase_from_quarantine(con, key, tomb, source, scope)
    if tomb and every_row:  # the registry is written by dbt from raw: new rows of erased people never reach it
        result["registry_rows_erased"] = _erase_from_persistent_schemas(con, key, tomb)
    con.execute(f"INSERT OR REPLACE INTO {ENFORCED_TABLE} VALUES (?, ?, ?)", [source, ledger, through])
    days = retention_days(source)
    if days is not None:
        # Age is measured from the source's newest event: for a live feed that is about now; a
        # replayed or paused feed (the demo data) is not wiped out wholesale as the calendar moves.
        # The loader keeps each row's event time typed in EVENT_TIME_COLUMN: a column scan, not
        # a JSON parse of the whole table on every load.
        ts = EVENT_TIME_COLUMN
        cutoff = con.execute(f"SELECT max({ts}) - to_days(?::INTEGER) FROM {table}", [days]).fetchone()[0]
        n = con.execute(f"SELECT count(*) FROM {table} WHERE {ts} < ?", [cutoff]).fetchone()[0] if cutoff else 0
        if n:
            con.execute(f"DELETE FROM {table} WHERE {ts} < ?", [cutoff])
            audit.record("retention_purge", target=table, rows=n, retention_days=days)
        result["retention_purged_rows"] = n
    if any(result.values()):
        # deleted rows linger in the file's free blocks until it is rewritten: compact after the run
        compaction_marker().touch()
    if result["erased_rows"] or result["nulled_phones"] or result["quarantine_rows_erased"] or result.get("registry_rows_erased"):
        audit.record("erasure_enforced", target=table, rows=result["erased_rows"],
                     nulled_phones=result["nulled_phones"], quarantine_rows=result["quarantine_rows_erased"],
                     registry_rows=result.get("registry_rows_erased", 0))
    return result


# Schemas that dbt does not rebuild and that carry ids of people (the identity registry keeps
# customer ids across rebuilds): erased people's rows go there too.
PERSISTENT_SCHEMAS = ("identity_registry",)
RECORD_KEY_KINDS = {"crm_contacts": "crm_contact", "email_members": "email_member"}


def _record_key_tokens(record_key: str) -> set[str]:
    source, _, rid = record_key.partition(":")
    if source in RECORD_KEY_KINDS:
        return {f"{RECORD_KEY_KINDS[source]}:{rid}"}
    if source == "web_visitors":
        return {f"web_user:{rid[5:]}"} if rid.startswith("user:") else {f"web_anonymous:{rid}"}
    return set()


def _erase_from_persistent_schemas(con, key: bytes, tomb: set[str]) -> int:
    removed = 0
    cols = con.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE table_schema IN "
        "(SELECT unnest(?)) AND (column_name LIKE '%customer_id' OR column_name = 'record_key')",
        [list(PERSISTENT_SCHEMAS)]).fetchall()
    for schema, table, column in cols:
        rel, col = f'"{schema}"."{table}"', f'"{column}"'
        values = [v for (v,) in con.execute(f"SELECT DISTINCT CAST({col} AS VARCHAR) FROM {rel} WHERE {col} IS NOT NULL").fetchall()]
        hit = [v for v in values if any(keyed(key, t) in tomb for t in (
            _record_key_tokens(v) if column == "record_key" else {f"customer:{v}"}))]
        if hit:
            lst = ", ".join("'" + h.replace("'", "''") + "'" for h in hit)
            removed += con.execute(f"SELECT count(*) FROM {rel} WHERE CAST({col} AS VARCHAR) IN ({lst})").fetchone()[0]
            con.execute(f"DELETE FROM {rel} WHERE CAST({col} AS VARCHAR) IN ({lst})")
    return removed


def _erase_from_quarantine(con, key: bytes, tomb: set[str], source: str, scope: str = "true") -> int:
    """Quarantined rows keep the offending record as text (JSON for both formats when it parsed)."""
    table = "quarantine.rejected_rows"
    where = f"source = '{source}' AND ({scope})"
    conds = []
    fields: dict[str, list[str]] = {}
    for kind, exprs in RAW_IDENTIFIERS.get(source, {}).items():
        for expr in exprs:
            path = re.search(r"'(\$\.[^']+)'", expr)
            json_path = path.group(1) if path else f"$.{expr}"
            fields.setdefault(kind, []).append(
                f"CASE WHEN json_valid(record) THEN json_extract_string(record, '{json_path}') END")
    fields.setdefault("email", []).append("unnest(regexp_extract_all(lower(record), '" + EMAIL_RE + "'))")
    for kind, exprs in fields.items():
        for expr in exprs:
            if expr.startswith("unnest("):
                values = [r[0] for r in con.execute(f"SELECT DISTINCT {expr} FROM {table} WHERE {where}").fetchall()]
                hit = sorted(v for v in values if v and any(keyed(key, t) in tomb for t in tokens(kind, v)))
                if hit:
                    lst = "[" + ", ".join("'" + h.replace("'", "''") + "'" for h in hit) + "]"
                    conds.append(f"list_has_any(regexp_extract_all(lower(record), '{EMAIL_RE}'), {lst})")
            else:
                hit = _hits(con, key, tomb, table, kind, expr, where)
                if hit:
                    conds.append(f"{expr} IN (" + ", ".join("'" + h.replace("'", "''") + "'" for h in hit) + ")")
    if not conds:
        return 0
    cond = f"{where} AND ({' OR '.join(conds)})"
    n = con.execute(f"SELECT count(*) FROM {table} WHERE {cond}").fetchone()[0]
    con.execute(f"DELETE FROM {table} WHERE {cond}")
    return n


# --- compaction: deleted is not gone until the file is rewritten -------------------------------

def compaction_marker() -> Path:
    from orchestration.governance.config import governance_dir

    return governance_dir() / "compaction_needed"


def compact_warehouse(warehouse: Path | None = None) -> bool:
    """Rewrite the warehouse into a fresh file (COPY FROM DATABASE) and swap it in, so the
    blocks that held erased or purged rows are gone from disk, not only unreferenced. Done
    when a load deleted something (marker file); needs no other connection open."""
    from orchestration import settings

    marker = compaction_marker()
    wh = warehouse or settings.warehouse_path()
    if not marker.exists() or not wh.exists():
        return False
    tmp = wh.with_name(f".{wh.stem}.compact.duckdb")
    tmp.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(tmp)) as con:
            con.execute(f"ATTACH '{str(wh).replace(chr(39), chr(39) * 2)}' AS old_wh (READ_ONLY)")
            (fresh,) = con.execute("SELECT current_database()").fetchone()
            con.execute(f'COPY FROM DATABASE old_wh TO "{fresh}"')
            con.execute("DETACH old_wh")
            con.execute("CHECKPOINT")
        os.replace(tmp, wh)
        Path(str(wh) + ".wal").unlink(missing_ok=True)
    finally:
        tmp.unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    return True


# --- proving it: scan everything -------------------------------------------------------------

def _token_tokens(raw: str) -> set[str]:
    """Ledger tokens of a token found in text."""
    t = raw.lower()
    if "@" in t:
        return tokens("email", t)
    if t.startswith("+"):
        return {f"phone:{t}"}
    if t.startswith("cus_"):
        return {f"customer:{t}"}
    return {f"sha256:{t}"}


def scan_text(text: str, key: bytes, tomb: set[str]) -> int:
    found = 0
    for m in TOKEN_RE.finditer(text.lower()):
        if any(keyed(key, t) in tomb for t in _token_tokens(m.group(0))):
            found += 1
    return found


# The scan runs inside DuckDB: per table one pass extracts every candidate identifier of every
# column, keeps the distinct ones, derives their ledger tokens, keys them with HMAC-SHA256
# (sha256 over the key's inner / outer pads, as RFC 2104 defines it) and joins the ledger.
# Python only gets back the few values that match the ledger (to delete them), never the rest.
SCAN_PATTERN = TOKEN_RE.pattern.replace("\\b", "")
JSON_ID_FIELDS = (("anonymousId", "web_anonymous"), ("userId", "web_user"))


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def _keyed_sql(token: str) -> str:
    """SQL of keyed(key, token): $ipad / $opad are the key's pads (parameters, never in the text)."""
    return f"sha256($opad::BLOB || unhex(sha256($ipad::BLOB || encode({token}))))"


# the ledger tokens of a (kind, value) found by the scan, as _token_tokens / tokens() build them
_LEDGER_TOKENS_SQL = """CASE WHEN k <> 'text' THEN [k || ':' || trim(v)]
    WHEN contains(v, '@') THEN ['email:' || v, CASE WHEN split_part(v, '@', 2) IN ('gmail.com', 'googlemail.com')
        THEN 'email:' || replace(split_part(split_part(v, '@', 1), '+', 1), '.', '') || '@gmail.com' END]
    WHEN starts_with(v, '+') THEN ['phone:' || v]
    WHEN starts_with(v, 'cus_') THEN ['customer:' || v]
    ELSE ['sha256:' || v] END"""


def _found(column: str, kind: str, values_sql: str) -> str:
    name = column.replace("'", "''")
    return f"list_transform({values_sql}, x -> {{'c': '{name}', 'k': '{kind}', 'v': x}})"


def _candidates(schema: str, table: str, columns: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(column, kind, SQL list of the values of that kind a row carries in the column)."""
    parts = []
    for column, dtype in columns:
        col = f'"{column}"'
        if dtype in ("VARCHAR", "JSON"):
            parts.append((column, "text", f"regexp_extract_all(lower(CAST({col} AS VARCHAR)), '{SCAN_PATTERN}')"))
            if column in ("payload", "record"):
                for field_name, kind in JSON_ID_FIELDS:
                    parts.append((column, kind, f"""regexp_extract_all(CAST({col} AS VARCHAR), '"{field_name}"\\s*:\\s*"([^"]+)"', 1)"""))
        kind = ID_COLUMNS.get(column)
        if schema == "raw" and table == "crm_contacts" and column == "hs_object_id":
            kind = "crm_contact"
        if kind:
            parts.append((column, kind, f"CASE WHEN {col} IS NULL THEN [] ELSE [CAST({col} AS VARCHAR)] END"))
        if column in VISITOR_ID_COLUMNS:
            parts.append((column, "web_user", f"CASE WHEN starts_with({col}, 'user:') THEN [{col}[6:]] ELSE [] END"))
            parts.append((column, "web_anonymous",
                          f"CASE WHEN {col} IS NULL OR starts_with({col}, 'user:') THEN [] ELSE [{col}] END"))
    return parts


def _matched(con, rel: str, parts: list[tuple[str, str, str]], params: dict) -> dict[tuple[str, str], list[str]]:
    """One pass over `rel`: distinct candidates -> ledger tokens -> keyed hashes joined with the
    ledger (temp table tomb). Returns (column, kind) -> the matching values (they stay in DuckDB
    and this process; callers report counts only)."""
    if not parts:
        return {}
    candidates = f"SELECT unnest(flatten([{', '.join(_found(c, k, sql) for c, k, sql in parts)}])) AS t FROM {rel}"
    rows = con.execute(f"""
        WITH found AS (SELECT DISTINCT t.c AS c, t.k AS k, t.v AS v FROM ({candidates}) WHERE t.v IS NOT NULL),
        forms AS (SELECT c, k, v, unnest({_LEDGER_TOKENS_SQL}) AS token FROM found)
        SELECT DISTINCT c, k, v FROM forms JOIN tomb ON tomb.h = {_keyed_sql('forms.token')}
        WHERE forms.token IS NOT NULL ORDER BY 1, 2, 3""", params).fetchall()
    out: dict[tuple[str, str], list[str]] = {}
    for c, k, v in rows:
        out.setdefault((c, k), []).append(v)
    return out


def load_ledger(con, key: bytes, tomb: set[str]) -> dict:
    """Put the ledger in temp table tomb of `con`; returns the query parameters of the keyed hash."""
    con.execute("CREATE OR REPLACE TEMP TABLE tomb AS SELECT unnest(?::VARCHAR[]) AS h", [sorted(tomb)])
    ipad, opad = _hmac_pads(key)
    return {"ipad": ipad, "opad": opad}


def erased_rows_condition(con, rel: str, schema: str, table: str, columns: list[tuple[str, str]], params: dict) -> str | None:
    """SQL condition true on the rows of `rel` that hold a tombstoned identifier (None: no such row)."""
    parts = _candidates(schema, table, columns)
    matched = _matched(con, rel, parts, params)
    conds = []
    for column, kind, values_sql in parts:
        if (column, kind) in matched:
            values = ", ".join("'" + v.replace("'", "''") + "'" for v in matched[(column, kind)])
            conds.append(f"list_has_any({values_sql}, [{values}])")
    return " OR ".join(conds) or None


def tables_of(con, catalog: str) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(schema, table) -> [(column, type)] of the tables of an attached catalog. Tables only: data
    at rest (a view re-reads them, and may name the file's own catalog)."""
    cols = con.execute(
        """SELECT c.schema_name, c.table_name, c.column_name, c.data_type FROM duckdb_columns() c
           JOIN duckdb_tables() t USING (database_name, schema_name, table_name)
           WHERE c.database_name = ? ORDER BY 1, 2, c.column_index""", [catalog]).fetchall()
    tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, dtype in cols:
        tables.setdefault((schema, table), []).append((column, dtype))
    return tables


LOAD_TIME_COLUMN = "_loaded_at"  # lineage of raw rows, carried into staging


def _fingerprints(con, rel: str, *wheres: str) -> list[list[str]]:
    """The row digests of `rel` (orchestration/table_digest.py) as JSON-able text, one per condition."""
    return [[str(n), str(h or 0)] for n, h in row_digests(con, rel, *wheres)]


def _loaded_until(value: datetime | str) -> str:
    """SQL condition: loaded at or before `value` (a timestamp or its ISO text)."""
    text = value if isinstance(value, str) else value.isoformat(sep=" ")
    return f"{LOAD_TIME_COLUMN} <= TIMESTAMP '{text}'"


def _unverified_scope(con, rel: str, columns: list[tuple[str, str]], ledger: str, seen: dict | None) -> tuple[str | None, dict]:
    """Which rows of a table still need the scan, given what an earlier clean scan under the same
    ledger saw (`seen`), and what to remember if this one is clean. None: no row (the table is
    unchanged since). A table with a load time (raw, staging) whose rows up to the time seen are
    unchanged needs only the rows loaded after it (and those without a load time): at scale L, a
    day of web events instead of 10M."""
    if (LOAD_TIME_COLUMN, "TIMESTAMP") not in columns:
        now = {"ledger": ledger, "rows": _fingerprints(con, rel, "true")[0]}
        return (None if seen == now else "true"), now
    (through,) = con.execute(f"SELECT max({LOAD_TIME_COLUMN}) FROM {rel}").fetchone()
    if through is None:  # no row has a load time
        return "true", {"ledger": ledger}
    now = {"ledger": ledger, "through": through.isoformat(sep=" ")}
    if not (seen and seen.get("ledger") == ledger and seen.get("through") and seen.get("rows")):
        now["rows"] = _fingerprints(con, rel, _loaded_until(through))[0]
        return "true", now
    newer = f"NOT coalesce({_loaded_until(seen['through'])}, false)"
    now["rows"], before, (n_newer, _) = _fingerprints(con, rel, _loaded_until(through), _loaded_until(seen["through"]), newer)
    if before != seen["rows"]:  # a row seen before changed or left: all of it again
        return "true", now
    return (newer if n_newer != "0" else None), now


def scan_database(path: Path, key: bytes, tomb: set[str], stats: dict | None = None,
                  memory: dict | None = None) -> dict[str, int]:
    """Columns of the tables of a DuckDB file that still hold a tombstoned identifier -> number of
    distinct hits. One pass per table, all in DuckDB. `stats`, when given, accumulates tables and
    rows scanned (and tables / rows skipped as verified before).

    `memory` (table -> what a clean scan saw, updated in place) lets a repeated verification skip
    what an earlier one under the same ledger found clean and that did not change since: a table
    whose rows hash the same, or - tables with a load time - the rows loaded up to the time seen.
    A sum of row hashes is ~10x cheaper than the scan's pattern matching (measured at scale L: 20 s
    for every table of the warehouse against ~300 s). A changed ledger scans everything again."""
    findings: dict[str, int] = {}
    if not path.exists():
        return findings
    stats = stats if stats is not None else {}
    ledger = _ledger_digest(tomb)
    with duckdb.connect() as con:  # in memory: the scanned file is attached read-only
        params = load_ledger(con, key, tomb)
        con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS scanned (READ_ONLY)")
        tables = tables_of(con, "scanned")
        if memory is not None:
            for gone in set(memory) - {f"{schema}.{table}" for schema, table in tables}:
                del memory[gone]
        for (schema, table), columns in tables.items():
            rel, name = f'scanned."{schema}"."{table}"', f"{schema}.{table}"
            scope, now = ("true", None) if memory is None else _unverified_scope(con, rel, columns, ledger, memory.get(name))
            rows = con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]
            scanned = rows if scope == "true" else 0 if scope is None else \
                con.execute(f"SELECT count(*) FROM {rel} WHERE {scope}").fetchone()[0]
            stats["tables"] = stats.get("tables", 0) + 1
            stats["rows"] = stats.get("rows", 0) + scanned
            if scope is None:
                stats["tables_verified_before"] = stats.get("tables_verified_before", 0) + 1
            if scanned < rows:
                stats["rows_verified_before"] = stats.get("rows_verified_before", 0) + rows - scanned
            hits = {} if scope is None else _matched(
                con, rel if scope == "true" else f"(SELECT * FROM {rel} WHERE {scope})",
                _candidates(schema, table, columns), params)
            for (column, _), values in hits.items():
                where = f"{path.name}:{schema}.{table}.{column}"
                findings[where] = findings.get(where, 0) + len(values)
            if memory is not None:
                if hits:
                    memory.pop(name, None)
                else:
                    memory[name] = now
    return findings


def scan_files(files: list[Path], key: bytes, tomb: set[str]) -> dict[Path, int]:
    """Files holding a tombstoned identifier -> number of distinct hits (text read by DuckDB)."""
    findings: dict[Path, int] = {}
    if not files:
        return findings
    with duckdb.connect() as con:
        params = load_ledger(con, key, tomb)
        parts = _candidates("", "", [("content", "VARCHAR")])[:1]
        for f in files:
            try:
                n = sum(len(v) for v in _matched(con, f"read_text({_sql_literal(str(f))})", parts, params).values())
            except duckdb.Error:  # not UTF-8: scanned in Python, invalid bytes replaced
                n = scan_text(f.read_text(encoding="utf-8", errors="replace"), key, tomb)
            if n:
                findings[f] = n
    return findings


def _sql_literal(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def published_files() -> list[Path]:
    from orchestration import settings

    files = [p for p in settings.exports_dir().rglob("*") if p.is_file() and not p.name.startswith(".")]
    if access_dir().exists():
        files += [p for p in access_dir().glob("*.json")]
    return sorted(files)


def scan(warehouse: Path | None = None) -> dict:
    """Look for every tombstoned identifier in the warehouse, the snapshot and every export
    and access file. Returns {"erasures", "findings": {location: hits}, "locations_scanned",
    "tables_scanned", "rows_scanned", "files_scanned"} (no identifiers)."""
    from orchestration import settings

    tomb = load_tombstones()
    if not tomb:
        return {"erasures": 0, "findings": {}, "locations_scanned": 0}
    key = erasure_key()
    findings: dict[str, int] = {}
    stats: dict[str, int] = {}
    memory = _load_verified()
    for db in (warehouse or settings.warehouse_path(), snapshot_path()):
        findings.update(scan_database(db, key, tomb, stats, memory.setdefault(str(db), {})))
    _save_verified(memory)
    files = published_files()
    for f, n in scan_files(files, key, tomb).items():
        findings[str(f.relative_to(settings.cdw_home()))] = n
    return {"erasures": erasure_count(), "findings": findings, "locations_scanned": 2 + len(files),
            "tables_scanned": stats.get("tables", 0), "rows_scanned": stats.get("rows", 0), "files_scanned": len(files),
            "tables_verified_before": stats.get("tables_verified_before", 0),
            "rows_verified_before": stats.get("rows_verified_before", 0)}


def _load_verified() -> dict:
    """What earlier clean scans saw, per database file and table (row counts and sums of row
    hashes, the ledger's digest: no identifier)."""
    path = verified_path()
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):  # unreadable: forget it and scan everything
        return {}


def _save_verified(memory: dict) -> None:
    from orchestration.files import atomic_write_bytes

    atomic_write_bytes(verified_path(), (json.dumps(memory, indent=1, sort_keys=True) + "\n").encode())


# --- scrubbing what is already published ------------------------------------------------------

def scrub_published(tomb: set[str], key: bytes) -> int:
    """Remove tombstoned people from export files (CSV lines), access files and the analyst
    snapshot now, without waiting for the next run. Returns rows removed."""
    from orchestration.files import atomic_write_bytes

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
                             scrubbed_by_erasure_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
                    atomic_write_bytes(manifest, (json.dumps(m, indent=2, sort_keys=True) + "\n").encode())
        elif f.parent == access_dir() and scan_text(f.read_text(encoding="utf-8", errors="replace"), key, tomb):
            f.unlink()
            removed += 1
    snap = snapshot_path()
    if snap.exists():
        from orchestration.governance.snapshot import rewrite_without

        removed += rewrite_without(snap, key, tomb)
    return removed
