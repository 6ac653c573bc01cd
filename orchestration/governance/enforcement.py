"""Enforcing erasures (and retention) on raw, right after every extract load.

`enforce_after_load` deletes from raw.<source> and from the quarantine every row that carries a
tombstoned identifier, so re-delivered old files and a rebuild from scratch cannot bring an
erased person back (staging, marts, exports and the snapshot are rebuilt from raw by the run),
removes their rows from the schemas dbt does not rebuild (the identity registry), and purges
raw rows past the source's retention.
"""

from __future__ import annotations

import re

from orchestration.extract.contracts import contracts
from orchestration.extract.loader import EVENT_TIME_COLUMN
from orchestration.governance import audit
from orchestration.governance.compaction import compaction_marker
from orchestration.governance.config import retention_days
from orchestration.governance.findings import LEDGER_TOKENS_SQL, keyed_sql, load_ledger
from orchestration.governance.forms import EMAIL_RE, region, tokens
from orchestration.governance.ledger import KEY_ENV, ErasureError, key_or_none, keyed, ledger_digest, load_tombstones
from orchestration.governance.warehouse import has_table
from orchestration.identifiers import phone

# Where each raw source carries identifiers (sources.yml `identifiers:`): kind -> SQL
# expressions over the raw row. email / strong ids delete the row; a phone alone is nulled
# (CSV) - a shared switchboard number must not take a colleague's record with it - or deletes
# the event (JSON).
_J = "json_extract_string(payload, '{}')"


def _raw_identifiers() -> tuple[dict[str, dict[str, list[str]]], dict[str, str], set[str]]:
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


def _hits(con, key: bytes, tomb: set[str], table: str, kind: str, expr: str, where: str = "true",
          region_expr: str | None = None) -> list[str]:
    """The distinct values of `expr` over `table` that carry a tombstoned identifier of `kind`."""
    if kind != "phone":  # keyed in DuckDB; phones need libphonenumber (Python) for their E.164 forms
        return _hits_in_duckdb(con, key, tomb, table, kind, expr, where)
    values = con.execute(
        f"SELECT DISTINCT {expr} AS v, {region_expr or 'NULL'} AS r FROM {table} WHERE {where} AND {expr} IS NOT NULL"
    ).fetchall()
    def tombstoned(e164: str) -> bool:
        return keyed(key, f"phone:{e164}") in tomb

    return sorted(v for v, r in values if phone.e164_forms(v, region(r), wanted=tombstoned))


def _hits_in_duckdb(con, key: bytes, tomb: set[str], table: str, kind: str, expr: str, where: str) -> list[str]:
    # an email is matched like the scan matches text (lowercased, Gmail key), other ids as kind:value
    k, v = ("'text'", f"lower(trim({expr}))") if kind == "email" else (f"'{kind}'", expr)
    email_only = f"AND contains({v}, '@')" if kind == "email" else ""
    params = load_ledger(con, key, tomb)
    return sorted(raw for (raw,) in con.execute(f"""
        WITH found AS (SELECT DISTINCT {expr} AS raw, {k} AS k, {v} AS v FROM {table}
                       WHERE {where} AND {expr} IS NOT NULL {email_only}),
        forms AS (SELECT raw, k, v, unnest({LEDGER_TOKENS_SQL}) AS token FROM found)
        SELECT DISTINCT raw FROM forms JOIN tomb ON tomb.h = {keyed_sql('forms.token')}
        WHERE forms.token IS NOT NULL""", params).fetchall())


ENFORCED_TABLE = "raw._erasure_enforced"  # per source: the ledger last enforced, and on rows loaded up to when


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
    if not has_table(con, "raw", source):
        return result
    tomb = load_tombstones()
    key = key_or_none()
    if tomb and key is None:
        raise ErasureError(f"the tombstone ledger has erasures but {KEY_ENV} is not set: cannot enforce them")
    con.execute(f"CREATE TABLE IF NOT EXISTS {ENFORCED_TABLE} "
                "(source VARCHAR PRIMARY KEY, ledger VARCHAR, enforced_through TIMESTAMP)")
    ledger = ledger_digest(tomb)
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
    if tomb and has_table(con, "quarantine", "rejected_rows"):
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

