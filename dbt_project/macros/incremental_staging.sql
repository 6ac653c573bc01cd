{#- Incremental staging of records re-delivered over time (CRM contacts, email members): one staged
    row per record, the latest of its raw rows. A run re-stages only the records whose raw rows
    changed since the last build - a new delivery, a row deleted or changed in place by an erasure
    (a shared phone nulled) or a retention purge - and drops the records no raw row is left of.

    Which records changed: each staged row keeps `_source_rows_hash`, the sum of the hashes of all
    its record's raw rows (every column, lineage included); a record whose sum over raw differs is
    re-staged from all its raw rows. So the result is the one a full build gives, and the costly
    columns (libphonenumber) are computed for the changed records only. When the code changes, the
    pipeline builds with --full-refresh (orchestration/defs/dbt/unchanged.py).

    Use (key_expr: the record key computed from the raw columns, unqualified): the model's source is
    `{{ raw_rows_of_changed_records(source(...), 'contact_id', 'try_cast(hs_object_id as bigint)') }}`,
    it carries `_source_rows_hash` through, and its post-hook is
    `drop_records_gone_from_source(...)` with the same arguments. -#}

{% macro raw_rows_of_changed_records(source_relation, record_key, key_expr) -%}
    select keyed.*, record_hashes._source_rows_hash
    from (select *, {{ key_expr }} as _record_key from {{ source_relation }}) as keyed
    inner join (
        select {{ key_expr }} as _record_key, {{ sum_of_row_hashes('all_rows') }} as _source_rows_hash
        from {{ source_relation }} as all_rows
        group by {{ key_expr }}
    ) as record_hashes
        on record_hashes._record_key = keyed._record_key
    {{ changed_since_last_build('record_hashes', '_record_key', '_source_rows_hash', built_key=record_key) }}
{%- endmacro %}


{#- A `where` clause, in an incremental build only: the rows of `alias` whose `hash_column` differs
    from the one the built table ({{ this }}) holds for their `key` (named `built_key` there, default
    the same) - the records, visitors... whose inputs changed since the last build. -#}
{% macro changed_since_last_build(alias, key, hash_column, built_key=none) -%}
    {%- if is_incremental() %}
    where not exists (
        select 1 from (select distinct {{ built_key or key }} as _key, {{ hash_column }} as _hash from {{ this }}) as built
        where built._key = {{ alias }}.{{ key }}
            and built._hash = {{ alias }}.{{ hash_column }}
    )
    {%- endif %}
{%- endmacro %}


{#- post-hook: the staged records whose every raw row is gone (an erasure, a purge) go too. Only
    where the model is incremental: a model built as a table (on Spark: Parquet has no DELETE, so
    the incremental models rebuild in full there) holds no row its source lost. -#}
{% macro drop_records_gone_from_source(source_relation, record_key, key_expr) -%}
    {%- if config.get('materialized') == 'incremental' -%}
    delete from {{ this }}
    where not exists (
        select 1 from {{ source_relation }}
        where {{ key_expr }} = {{ this }}.{{ record_key }}
    )
    {%- endif -%}
{%- endmacro %}


{#- sum of the hashes of whole rows of `alias` (an aggregate): equal sums, equal rows, in practice -#}
{% macro sum_of_row_hashes(alias) -%}
    {{ return(adapter.dispatch('sum_of_row_hashes', 'customer_warehouse')(alias)) }}
{%- endmacro %}

{% macro duckdb__sum_of_row_hashes(alias) -%}
    sum(cast(hash({{ alias }}) as hugeint))
{%- endmacro %}

{#- xxhash64 of every column (Spark expands alias.* in a function's arguments), summed as a decimal:
    a bigint sum would overflow, an error under Spark's ANSI mode -#}
{% macro spark__sum_of_row_hashes(alias) -%}
    sum(cast(xxhash64({{ alias }}.*) as decimal(38, 0)))
{%- endmacro %}

{% macro default__sum_of_row_hashes(alias) -%}
    {{ exceptions.raise_compiler_error(
        "sum_of_row_hashes (incremental staging) has no implementation for " ~ target.type
        ~ ": add " ~ target.type ~ "__sum_of_row_hashes in macros/incremental_staging.sql, or set the"
        ~ " staging models' +materialized to table") }}
{%- endmacro %}
