"""Phone numbers to E.164 with libphonenumber (the `phonenumbers` port): the one phone
normalization of the project.

dbt calls it through the DuckDB function `phone_e164(raw, region)` (`register_udfs`, loaded
on every dbt connection by the dbt-duckdb plugin `orchestration.identity.dbt_duckdb_plugin`
named in `dbt_project/profiles.yml`); Python code (erasure, the ad platform hashing of exports,
`cdw explain`, tests) calls `to_e164` directly, so a number is the same identifier everywhere.
Only valid numbers (`is_valid_number`) are identifiers: a number that merely has a possible
length is typing noise to identity, so erasure and exports ignore it too.

Cost at scale: a parse is ~20 us, so the function is an Arrow UDF (one Python call per
2,048-row vector, not per row) over an LRU cache: a number repeated in a vector or across
vectors (a visitor's phone on every web event, a phone on several CRM versions) is parsed once.
"""

from __future__ import annotations

import functools

import phonenumbers

from orchestration.settings import default_phone_country

# Distinct (raw text, region) pairs kept parsed: ~200 bytes each, so at most ~200 MB; beyond
# it the least recently seen are parsed again when they come back (slower, still correct).
CACHE_SIZE = 1 << 20
UDF_NAME = "phone_e164"


def _parse(raw, region: str) -> phonenumbers.PhoneNumber | None:
    if raw is None:
        return None
    text = str(raw).strip()
    if not text or len(text) > 64:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        return phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException:
        return None


def _format(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def to_e164(raw: str | None, region: str | None = None, default_region: str | None = None) -> str | None:
    """E.164 ('+4915123456789') of a typed phone number, or None when it is not a valid number.

    A leading '00' is the international prefix of most countries and is read as '+'; a number
    without one is national to `region` (the record's ISO2 country), else `default_region`, else
    the project's default phone country (dbt var default_phone_country, settings.default_phone_country).
    Extensions ('x12', 'ext. 12') are dropped by the parser.
    """
    number = _parse(raw, region or default_region or default_phone_country())
    if number is None or not phonenumbers.is_valid_number(number):
        return None
    return _format(number)


def e164_forms(raw: str | None, region: str | None = None, wanted=None) -> set[str]:
    """Every E.164 form identity may have given this typed number: `to_e164` read in the record's
    region (ISO2) and in the default region (dbt's var default_phone_country, which dbt falls back
    to when a record's country is missing or unknown). Erasure tombstones and matches all of them.

    `wanted(e164) -> bool`, when given, keeps only the forms it accepts, and is asked before the
    validity check: that check costs about as much as the parse, and the E.164 text does not
    depend on it, so a selective test (is this form in the erasure ledger?) skips most of it."""
    out = set()
    default = default_phone_country()
    for r in {(region or default).upper(), default}:
        if wanted is None:
            e164 = _to_e164_cached(raw, r)
            if e164:
                out.add(e164)
            continue
        number = _parse(raw, r)
        if number is not None and wanted(e164 := _format(number)) and phonenumbers.is_valid_number(number):
            out.add(e164)
    return out


_to_e164_cached = functools.lru_cache(maxsize=CACHE_SIZE)(to_e164)


def to_e164_arrow(raw, region):
    """`to_e164` over Arrow vectors (the body of the DuckDB Arrow UDF): text and region of the
    same length in, E.164 strings (NULL when invalid) out."""
    import pyarrow as pa

    return pa.array([_to_e164_cached(r, g) for r, g in zip(raw.to_pylist(), region.to_pylist())], type=pa.string())


def register_udfs(con) -> None:
    """Register `phone_e164(raw VARCHAR, region VARCHAR) -> VARCHAR` on a DuckDB connection
    (its cursors see it too). Only this process sees it: a view calling it cannot be read
    from another client, so models calling it are tables (see macros/normalize_phone.sql)."""
    import duckdb

    varchar = duckdb.sqltype("VARCHAR")
    con.create_function(UDF_NAME, to_e164_arrow, [varchar, varchar], varchar, type="arrow",
                        null_handling="special", side_effects=False)
