{#- Incremental models keep rows between runs, so a row deleted from their source afterwards
    (an erasure, a retention purge) must be deleted from them too: this post-hook removes the
    rows whose source row (matched on `keys`, the lineage columns) no longer exists. -#}
{% macro drop_rows_gone_from_source(source_relation, keys) -%}
    {{ return(adapter.dispatch('drop_rows_gone_from_source', 'customer_warehouse')(source_relation, keys)) }}
{%- endmacro %}

{#- Only where the model is incremental: built as a table (on Spark: Parquet has no DELETE, so the
    incremental models rebuild in full there) it holds no row its source lost. -#}
{% macro default__drop_rows_gone_from_source(source_relation, keys) -%}
    {%- if config.get('materialized') == 'incremental' -%}
    {%- set cols = keys.split(',') | map('trim') | list -%}
    delete from {{ this }}
    where not exists (
        select 1 from {{ source_relation }} as src
        where {% for c in cols %}src.{{ c }} = {{ this }}.{{ c }}{% if not loop.last %} and {% endif %}{% endfor %}
    )
    {%- endif -%}
{%- endmacro %}
