"""The dbt models stay portable (DESIGN.md section 8): DuckDB-only SQL lives in macros behind
adapter.dispatch (macros/portable.sql, macros/portable_marts.sql), never in a model's SQL."""

from __future__ import annotations

import re
from pathlib import Path

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"

# Functions and syntax only DuckDB (or DuckDB and few others) understands, with the portable
# spelling to use instead.
DUCKDB_ONLY = {
    r"\blist_\w+\s*\(|\blist\s*\(": "arrays: a dispatched macro",
    r"\bstruct_\w+\s*\(|\bfrom_json\s*\(": "structs: parse_json_struct",
    r"\bjson_extract\w*\s*\(": "json_text",
    r"\bdate_diff\s*\(": "days_between, months_between or dbt.datediff",
    r"\bto_(months|days|hours|minutes|seconds)\s*\(": "add_months or dbt.dateadd",
    r"\bgenerate_series\s*\(|\bunnest\s*\(": "integer_series",
    r"\bqualify\b": "deduplicate",
    r"\barg_(max|min)\s*\(": "value_at_min (min_by / max_by)",
    r"\bstring_agg\s*\(": "dbt.listagg",
    r"\bepoch\w*\s*\(": "dbt.datediff(..., 'second')",
    r"\bstr[fp]time\s*\(": "year_month_text or a dispatched macro",
    r"\bmode\s*\(": "most_frequent",
    r"\bregexp_(matches|extract_all)\s*\(": "regexp_contains",
    r"\bjaro_winkler_similarity\s*\(|\bstrip_accents\s*\(": "name_similarity",
    r"\*\s*exclude\b": "star_except",
    r"::": "cast(... as ...)",
    r"\bas\s+varchar\b(?!\s*\()": "{{ dbt.type_string() }} (Spark needs a length for varchar)",
}

# Models other workstreams own that still hold DuckDB-only SQL (web sessionization, identity):
# the constructs each may keep until its owner moves them behind macros. Nothing new may join.
NOT_YET_PORTABLE = {
    "models/intermediate/identity/int_identity_records.sql": {r"\barg_(max|min)\s*\(", r"\bas\s+varchar\b(?!\s*\()"},
}


def sql_without_comments_and_jinja(text: str) -> str:
    text = re.sub(r"\{#.*?#\}", " ", text, flags=re.S)
    text = re.sub(r"\{%.*?%\}", " ", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", " ", text, flags=re.S)  # macro calls: their SQL is the macro's business
    text = re.sub(r"'(?:[^']|'')*'", "''", text)  # string literals
    return re.sub(r"--[^\n]*", " ", text)


def duckdb_only_constructs(text: str) -> set[str]:
    sql = sql_without_comments_and_jinja(text)
    return {pattern for pattern in DUCKDB_ONLY if re.search(pattern, sql, flags=re.I)}


def test_the_lint_sees_duckdb_only_sql_but_not_macro_calls_or_comments():
    assert duckdb_only_constructs("select arg_max(a, b), x::int from t qualify true") == {
        r"\barg_(max|min)\s*\(", r"::", r"\bqualify\b"}
    assert duckdb_only_constructs("-- qualify\n{#- list_transform( -#} select {{ integer_series('0', 'n') }}, "
                                  "'a::b' as s, cast(x as varchar(10)) from t") == set()


def test_models_use_no_duckdb_only_sql_outside_macros():
    problems = []
    for path in sorted((DBT_PROJECT / "models").rglob("*.sql")):
        rel = path.relative_to(DBT_PROJECT).as_posix()
        found = duckdb_only_constructs(path.read_text()) - NOT_YET_PORTABLE.get(rel, set())
        problems += [f"{rel}: {pattern} - use {DUCKDB_ONLY[pattern]}" for pattern in sorted(found)]
    assert not problems, "DuckDB-only SQL in models (move it behind an adapter.dispatch macro):\n" + "\n".join(problems)


def test_every_duckdb_macro_has_a_portable_default():
    macros = "\n".join(p.read_text() for p in (DBT_PROJECT / "macros").glob("*.sql"))
    duckdb = set(re.findall(r"\{%-?\s*macro\s+duckdb__(\w+)\s*\(", macros))
    default = set(re.findall(r"\{%-?\s*macro\s+default__(\w+)\s*\(", macros))
    assert duckdb and duckdb <= default, f"no default__ for: {sorted(duckdb - default)}"
