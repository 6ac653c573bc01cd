"""Finding tombstoned identifiers in tables and text, inside DuckDB: what the scan, the
enforcement on raw and the snapshot rewrite all match with.

Per table one pass extracts every candidate identifier of every column, keeps the distinct ones,
derives their ledger tokens, keys them with HMAC-SHA256 (sha256 over the key's inner / outer
pads, as RFC 2104 defines it) and joins the ledger. Python only gets back the few values that
match the ledger (to delete them), never the rest.
"""

from __future__ import annotations

import hashlib

from orchestration.governance.forms import TOKEN_RE, text_token_tokens
from orchestration.governance.ledger import keyed
from orchestration.identifiers.email import GMAIL_DOMAINS, GMAIL_KEY_DOMAIN

# Columns of derived tables that hold ids of a kind (scan)
ID_COLUMNS = {
    "contact_id": "crm_contact", "associated_contact_id": "crm_contact", "member_id": "email_member",
    "anonymous_id": "web_anonymous", "user_id": "web_user", "customer_id": "customer",
}
# Web visitor ids (the sessionized events, web_sessions): the anonymousId, else 'user:' + userId
VISITOR_ID_COLUMNS = {"visitor_id"}


def scan_text(text: str, key: bytes, tomb: set[str]) -> int:
    found = 0
    for m in TOKEN_RE.finditer(text.lower()):
        if any(keyed(key, t) in tomb for t in text_token_tokens(m.group(0))):
            found += 1
    return found


SCAN_PATTERN = TOKEN_RE.pattern.replace("\\b", "")
JSON_ID_FIELDS = (("anonymousId", "web_anonymous"), ("userId", "web_user"))


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def keyed_sql(token: str) -> str:
    """SQL of keyed(key, token): $ipad / $opad are the key's pads (parameters, never in the text)."""
    return f"sha256($opad::BLOB || unhex(sha256($ipad::BLOB || encode({token}))))"


_GMAIL_SQL = ", ".join(f"'{d}'" for d in GMAIL_DOMAINS)
# the ledger tokens of a (kind, value) found by the scan, as forms.text_token_tokens / tokens()
# build them (the Gmail key as orchestration/identifiers/email.py's match_key)
LEDGER_TOKENS_SQL = f"""CASE WHEN k <> 'text' THEN [k || ':' || trim(v)]
    WHEN contains(v, '@') THEN ['email:' || v, CASE WHEN split_part(v, '@', 2) IN ({_GMAIL_SQL})
        THEN 'email:' || replace(split_part(split_part(v, '@', 1), '+', 1), '.', '') || '@{GMAIL_KEY_DOMAIN}' END]
    WHEN starts_with(v, '+') THEN ['phone:' || v]
    WHEN starts_with(v, 'cus_') THEN ['customer:' || v]
    ELSE ['sha256:' || v] END"""


def _found(column: str, kind: str, values_sql: str) -> str:
    name = column.replace("'", "''")
    return f"list_transform({values_sql}, x -> {{'c': '{name}', 'k': '{kind}', 'v': x}})"


def candidate_parts(schema: str, table: str, columns: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
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


def matching_values(con, rel: str, parts: list[tuple[str, str, str]], params: dict) -> dict[tuple[str, str], list[str]]:
    """One pass over `rel`: distinct candidates -> ledger tokens -> keyed hashes joined with the
    ledger (temp table tomb). Returns (column, kind) -> the matching values (they stay in DuckDB
    and this process; callers report counts only)."""
    if not parts:
        return {}
    values = f"SELECT unnest(flatten([{', '.join(_found(c, k, sql) for c, k, sql in parts)}])) AS t FROM {rel}"
    rows = con.execute(f"""
        WITH found AS (SELECT DISTINCT t.c AS c, t.k AS k, t.v AS v FROM ({values}) WHERE t.v IS NOT NULL),
        forms AS (SELECT c, k, v, unnest({LEDGER_TOKENS_SQL}) AS token FROM found)
        SELECT DISTINCT c, k, v FROM forms JOIN tomb ON tomb.h = {keyed_sql('forms.token')}
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
    parts = candidate_parts(schema, table, columns)
    found = matching_values(con, rel, parts, params)
    conds = []
    for column, kind, values_sql in parts:
        if (column, kind) in found:
            values = ", ".join("'" + v.replace("'", "''") + "'" for v in found[(column, kind)])
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


