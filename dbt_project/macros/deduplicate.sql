{#-
    select * from `relation` keeping one row per `partition_by`: the first by `order_by`.
    Used by staging models to keep the latest version of a re-delivered record.

    row_key (optional): columns that identify a row of `relation` and are never NULL (raw
    lineage: '_file, _line, _loaded_at').
    With it the window sorts only the keys and the winners are joined back, instead of
    sorting whole rows: much faster on wide rows (web events with JSON properties).
-#}
{% macro deduplicate(relation, partition_by, order_by, row_key=none) -%}
    {{ return(adapter.dispatch('deduplicate', 'customer_warehouse')(relation, partition_by, order_by, row_key)) }}
{%- endmacro %}

{% macro default__deduplicate(relation, partition_by, order_by, row_key) -%}
    {%- if row_key -%}
    {%- set keys = row_key.split(',') | map('trim') | list -%}
    select {{ relation }}.*
    from {{ relation }}
    inner join (
        select {{ keys | join(', ') }}
        from {{ relation }}
        qualify row_number() over (partition by {{ partition_by }} order by {{ order_by }}) = 1
    ) as _dedup_first
        on {% for k in keys %}{{ relation }}.{{ k }} = _dedup_first.{{ k }}{% if not loop.last %} and {% endif %}{% endfor %}
    {%- else -%}
    select *
    from {{ relation }}
    qualify row_number() over (partition by {{ partition_by }} order by {{ order_by }}) = 1
    {%- endif -%}
{%- endmacro %}

{% macro spark__deduplicate(relation, partition_by, order_by, row_key) -%}
    select * except (_dedup_row_number)
    from (
        select *, row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as _dedup_row_number
        from {{ relation }}
    )
    where _dedup_row_number = 1
{%- endmacro %}
