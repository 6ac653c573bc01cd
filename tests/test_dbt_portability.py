"""The dbt project stays portable: engine-specific SQL lives in macros behind adapter.dispatch
(macros/portable.sql, macros/portable_marts.sql), with a spark__ implementation wherever the
default one does not run on Spark.

The real check is tests/test_spark.py: it builds the project on Spark and compares the marts
with DuckDB's. This lint is the fast first line (no Java, a second): it catches, in models,
macros, hooks and seed configs, each construct that broke or silently changed the Spark build
once (test_the_lint_catches_what_broke_the_spark_build feeds it every one of them).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"

# SQL only DuckDB (or DuckDB and few others) understands, or that means something else on Spark,
# with the portable spelling to use instead. Checked on model SQL outside Jinja and on the body
# of every macro Spark runs (all but duckdb__ ones and default__ ones a spark__ one replaces).
NOT_PORTABLE = {
    r"\blist_\w+\s*\(|\blist\s*\(": "arrays: a dispatched macro",
    r"\bstruct_\w+\s*\(|\bfrom_json\s*\(": "structs: parse_json_struct",
    r"\bjson_extract\w*\s*\(": "json_text",
    r"\bdate_diff\s*\(": "days_between, months_between or timestamp_diff",
    r"\bto_(months|days|hours|minutes|seconds)\s*\(": "add_months or dbt.dateadd",
    r"\bgenerate_series\s*\(|\bunnest\s*\(": "integer_series",
    r"\bqualify\b": "deduplicate",
    r"\barg_(max|min)\s*\(": "value_at_min / value_at_max",
    # min_by / max_by keep the value of the extreme row even when it is NULL (DuckDB's arg_min
    # skips it): value_at_min makes the NULL rule explicit
    r"\b(min|max)_by\s*\((?![^()]*\([^()]*\)[^()]*,|[^(),]*,\s*case when)": "value_at_min / value_at_max (NULL values skipped)",
    r"\bstring_agg\s*\(": "dbt.listagg",
    r"\bepoch\w*\s*\(": "timestamp_diff",
    r"\bstr[fp]time\s*\(": "year_month_text or a dispatched macro",
    r"\bmode\s*\(": "most_frequent",
    r"\bregexp_(matches|extract_all)\s*\(": "regexp_contains",
    r"\bstrip_accents\s*\(": "without_accents",
    r"\blevenshtein\s*\(": "name_similarity (Jaro-Winkler on every engine)",
    r"\*\s*exclude\b": "star_except",
    r"::": "cast(... as ...)",
    r"\bas\s+varchar\b(?!\s*\()": "{{ dbt.type_string() }} (Spark needs a length for varchar)",
    # Spark reads "date" as a string literal, not a column
    r'"\w+"': "{{ adapter.quote('name') }} for a column named like a keyword",
    r"\binterval\s*\(": "interval 'n' unit (a literal in quotes)",
    # DuckDB and Spark round a double's ties differently, and the doubles themselves may be an ulp apart
    r"\bround\s*\((?:[^()]|\([^()]*\))*,\s*\d+\s*\)": "round_half_up (through a decimal, the same on every engine)",
}

# Jinja (not SQL) that does not carry over to Spark.
DATEDIFF_BELOW_A_DAY = r"\bdbt\.datediff\s*\([^\n]*?'(microsecond|millisecond|second|minute|hour)'"
NOT_PORTABLE_JINJA = {
    # dbt-spark's datediff is off by 1000 below a second and fails ANSI casts
    DATEDIFF_BELOW_A_DAY: "timestamp_diff",
    # a quoted column name handed to a macro: a string literal on Spark
    r"'\"\w+\"'": "adapter.quote('name')",
    # a table model reading its own previous build: dbt-spark drops a Parquet table first
    r"get_relation\([^)]*\bthis\.identifier": "previous_build() (with the pre-hook keep_previous_build)",
    # Parquet tables have no DELETE/MERGE: incremental only where the target allows it
    r"materialized\s*=\s*'incremental'": "materialized=('table' if target.type == 'spark' else 'incremental')",
}

# Models other workstreams own that still hold DuckDB-only SQL (identity: rewritten for Spark
# by the identity work, and built on DuckDB and copied into Spark meanwhile, see
# orchestration/spark_engine.py): the constructs each may keep. Nothing new may join.
NOT_YET_PORTABLE = {
    "models/intermediate/identity/int_identity_records.sql": {r"\barg_(max|min)\s*\(", r"\bas\s+varchar\b(?!\s*\()"},
}


def sql_without_comments_and_jinja(text: str, keep_jinja: bool = False) -> str:
    text = re.sub(r"\{#.*?#\}", " ", text, flags=re.S)
    if not keep_jinja:
        text = re.sub(r"\{%.*?%\}", " ", text, flags=re.S)
        text = re.sub(r"\{\{.*?\}\}", " ", text, flags=re.S)  # macro calls: their SQL is the macro's business
        text = re.sub(r"'(?:[^']|'')*'", "''", text)  # string literals
    return re.sub(r"--[^\n]*", " ", text)


def not_portable(text: str) -> set[str]:
    """The NOT_PORTABLE patterns found in model SQL (Jinja and string literals left out) and the
    NOT_PORTABLE_JINJA ones in its Jinja."""
    sql = sql_without_comments_and_jinja(text)
    found = {p for p in NOT_PORTABLE if re.search(p, sql, flags=re.I)}
    jinja = sql_without_comments_and_jinja(text, keep_jinja=True)
    return found | {p for p in NOT_PORTABLE_JINJA if re.search(p, jinja, flags=re.I)}


MACRO = re.compile(r"\{%-?\s*macro\s+(\w+)\s*\((.*?)\)\s*-?%\}(.*?)\{%-?\s*endmacro\s*-?%\}", re.S)


def macros(text: str) -> dict[str, str]:
    return {m.group(1): m.group(3) for m in MACRO.finditer(text)}


def macro_body_sql(body: str) -> str:
    """A macro body as the SQL it renders: comments and Jinja statements out, {{ }} expressions
    kept as a placeholder word, and string literals kept (a macro's SQL often lives in them)."""
    body = re.sub(r"\{#.*?#\}", " ", body, flags=re.S)
    body = re.sub(r"\{%.*?%\}", " ", body, flags=re.S)
    body = re.sub(r"\{\{.*?\}\}", " x ", body, flags=re.S)
    return re.sub(r"--[^\n]*", " ", body)


def macros_every_engine_runs(all_macros: dict[str, str]) -> dict[str, str]:
    """The macros whose SQL Spark renders though it was not written for Spark: plain macros and
    default__ ones no spark__ one replaces (duckdb__ and spark__ ones are engine-specific)."""
    return {name: body for name, body in all_macros.items()
            if not name.startswith(("duckdb__", "spark__"))
            and not (name.startswith("default__") and "spark__" + name[len("default__"):] in all_macros)}


# STAR_GROUP_BY_POS: Spark refuses an ordinal group by in a select holding a *, and a macro's SQL
# lands in selects it does not see (sum_of_row_hashes hashes `alias.*`)
ORDINAL_GROUP_BY = r"\bgroup\s+by\s+\d"


def macro_problems(all_macros: dict[str, str]) -> list[str]:
    problems = []
    for name, body in all_macros.items():
        if name.startswith("default__") and "raise_compiler_error" in body and "no implementation" in body \
                and "spark__" + name[len("default__"):] not in all_macros:
            problems.append(f"macro {name}: raises for engines without an implementation - add spark__{name[9:]}")
    for name, body in macros_every_engine_runs(all_macros).items():
        sql = macro_body_sql(body)
        # the SQL of a macro is partly in string literals of Jinja ('cast(' ~ x ~ ' as varchar)')
        jinja_strings = " ".join(re.findall(r"'((?:[^'\\]|\\.)*)'", " ".join(re.findall(r"\{\{.*?\}\}|\{%.*?%\}", body, flags=re.S))))
        for pattern, fix in NOT_PORTABLE.items():
            if pattern == r'"\w+"':
                continue  # macros quote Jinja strings with "..."; checked in models only
            if re.search(pattern, sql, flags=re.I) or re.search(pattern, jinja_strings, flags=re.I):
                problems.append(f"macro {name}: {pattern} - use {fix}")
        if re.search(DATEDIFF_BELOW_A_DAY, body, flags=re.I):
            problems.append(f"macro {name}: {DATEDIFF_BELOW_A_DAY} - use timestamp_diff")
        if re.search(ORDINAL_GROUP_BY, sql, flags=re.I):
            problems.append(f"macro {name}: {ORDINAL_GROUP_BY} - group by the expression, not its position")
        # a DELETE in a hook runs after a table build too, and Parquet tables have none
        if re.search(r"\bdelete\s+from\b", sql, flags=re.I) and "config.get('materialized') == 'incremental'" not in body:
            problems.append(f"macro {name}: DELETE outside an incremental build - guard it with config.get('materialized') == 'incremental'")
    return problems


def seed_problems(seed_configs: list[dict]) -> list[str]:
    """Seed column types Spark cannot create (varchar needs a length there; string runs on both)."""
    problems = []
    for seed in seed_configs:
        for column, type_ in ((seed.get("config") or {}).get("column_types") or {}).items():
            if re.fullmatch(r"\s*(varchar|char|text)\s*", str(type_), flags=re.I):
                problems.append(f"seed {seed['name']}.{column}: {type_} - use string")
    return problems


def project_problems(project_yml: str) -> list[str]:
    problems = []
    for line in project_yml.splitlines():
        if re.search(r"\+materialized:\s*incremental\s*(#|$)", line):
            problems.append(f"dbt_project.yml: {line.strip()} - incremental on Spark's Parquet tables needs DELETE: "
                            "\"{{ 'table' if target.type == 'spark' else 'incremental' }}\"")
    return problems


def test_the_lint_catches_what_broke_the_spark_build():
    """Every construct found breaking (or silently changing) the Spark build, fed to the lint."""
    model_cases = {
        'select try_cast("date" as date) from t': r'"\w+"',
        "select 1 from t where a - b > interval (30) minute": r"\binterval\s*\(",
        "select {{ to_utc_timestamp('\"timestamp\"') }} from t": r"'\"\w+\"'",
        "select cast(id as varchar) from t": r"\bas\s+varchar\b(?!\s*\()",
        "select round(100.0 * least(p, cap) / cap, 2) from t": r"\bround\s*\((?:[^()]|\([^()]*\))*,\s*\d+\s*\)",
        "select arg_max(a, b) from t": r"\barg_(max|min)\s*\(",
        "select lower(strip_accents(a)) from t": r"\bstrip_accents\s*\(",
        "select min_by(referrer, occurred_at) from t": r"\b(min|max)_by\s*\((?![^()]*\([^()]*\)[^()]*,|[^(),]*,\s*case when)",
        "select {{ dbt.datediff('started_at', 'ended_at', 'millisecond') }} from t":
            r"\bdbt\.datediff\s*\([^\n]*?'(microsecond|millisecond|second|minute|hour)'",
        "{%- set previous = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}":
            r"get_relation\([^)]*\bthis\.identifier",
        "{{ config(materialized='incremental', incremental_strategy='delete+insert') }}": r"materialized\s*=\s*'incremental'",
    }
    for sql, pattern in model_cases.items():
        assert pattern in not_portable(sql), sql
    found = macro_problems(macros("""
        {% macro default__sum_of_row_hashes(alias) -%}
            {{ exceptions.raise_compiler_error("sum_of_row_hashes (incremental staging) has no implementation for " ~ target.type) }}
        {%- endmacro %}
        {% macro raw_rows(source_relation, key_expr) -%}
            select {{ key_expr }}, {{ sum_of_row_hashes('all_rows') }} from {{ source_relation }} as all_rows.* group by 1
        {%- endmacro %}
        {% macro account_id(company_id_expr) -%}
            'acc_' || left(md5(cast({{ company_id_expr }} as varchar)), 16)
        {%- endmacro %}
        {% macro drop_records_gone_from_source(source_relation) -%}
            delete from {{ this }} where not exists (select 1 from {{ source_relation }})
        {%- endmacro %}
        {% macro default__value_at_min(value, ordering) -%}
            min_by({{ value }}, {{ ordering }})
        {%- endmacro %}
        {% macro default__name_similarity(a, b) -%}
            (1.0 - levenshtein(lower({{ a }}), lower({{ b }})) / greatest(length({{ a }}), length({{ b }}), 1))
        {%- endmacro %}
        {% macro survivorship_key(rules) -%}
            {%- set parts = {'recency': dbt.datediff("cast('1970-01-01' as timestamp)", 'attributes_updated_at', 'microsecond')} -%}
        {%- endmacro %}
    """))
    for expected in ["macro default__sum_of_row_hashes: raises", r"macro raw_rows: \bgroup", "macro account_id: \\bas\\s+varchar",
                     "macro drop_records_gone_from_source: DELETE", r"macro default__value_at_min: \b(min|max)_by",
                     r"macro default__name_similarity: \blevenshtein", r"macro survivorship_key: \bdbt\.datediff"]:
        assert any(p.startswith(expected) for p in found), (expected, found)
    assert seed_problems([{"name": "s", "config": {"column_types": {"domain": "varchar", "n": "integer"}}}]) == [
        "seed s.domain: varchar - use string"]
    assert project_problems("      x:\n        +materialized: incremental  # why\n")


def test_the_lint_leaves_portable_sql_alone():
    assert not_portable("-- qualify\n{#- list_transform( -#} select {{ integer_series('0', 'n') }}, 'a::b' as s, "
                        "cast(x as varchar(10)), cast(round(amount * 100) as bigint), {{ adapter.quote('date') }}, interval '30' minute, "
                        "{{ timestamp_diff('a', 'b', 'millisecond') }}, {{ dbt.datediff('a', 'b', 'day') }} from t group by 1") == set()
    assert macro_problems(macros("""
        {% macro duckdb__value_at_min(value, ordering) -%}arg_min({{ value }}, {{ ordering }}){%- endmacro %}
        {% macro default__value_at_min(value, ordering) -%}
            min_by({{ value }}, case when {{ value }} is not null then {{ ordering }} end)
        {%- endmacro %}
        {% macro drop_gone() -%}
            {%- if config.get('materialized') == 'incremental' -%}delete from {{ this }}{%- endif -%}
        {%- endmacro %}
        {% macro default__x() -%}cast(a as varchar){%- endmacro %}
        {% macro spark__x() -%}cast(a as string){%- endmacro %}
    """)) == []


def test_models_use_no_engine_specific_sql_outside_macros():
    problems = []
    for path in sorted((DBT_PROJECT / "models").rglob("*.sql")):
        rel = path.relative_to(DBT_PROJECT).as_posix()
        found = not_portable(path.read_text()) - NOT_YET_PORTABLE.get(rel, set())
        problems += [f"{rel}: {p} - use {NOT_PORTABLE.get(p) or NOT_PORTABLE_JINJA[p]}" for p in sorted(found)]
    assert not problems, "engine-specific SQL in models (move it behind an adapter.dispatch macro):\n" + "\n".join(problems)


def test_macros_spark_renders_are_portable():
    text = "\n".join(p.read_text() for p in sorted((DBT_PROJECT / "macros").glob("*.sql")))
    problems = macro_problems(macros(text))
    assert not problems, "\n".join(problems)


def test_seeds_and_project_config_run_on_spark():
    seeds = []
    for path in sorted((DBT_PROJECT / "seeds").glob("*.yml")):
        seeds += (yaml.safe_load(path.read_text()) or {}).get("seeds") or []
    assert seeds
    problems = seed_problems(seeds) + project_problems((DBT_PROJECT / "dbt_project.yml").read_text())
    assert not problems, "\n".join(problems)


def test_every_duckdb_macro_has_a_portable_default():
    text = "\n".join(p.read_text() for p in (DBT_PROJECT / "macros").glob("*.sql"))
    duckdb = set(re.findall(r"\{%-?\s*macro\s+duckdb__(\w+)\s*\(", text))
    default = set(re.findall(r"\{%-?\s*macro\s+default__(\w+)\s*\(", text))
    assert duckdb and duckdb <= default, f"no default__ for: {sorted(duckdb - default)}"
