{#-
    Engine-specific SQL of the analytics, marketing, sales, segment, governance and profile
    models behind adapter.dispatch (DESIGN.md section 8), so those models stay plain SQL. Same
    pattern as portable.sql: duckdb__ is what runs and is tested here; default__ is the
    standard / widely supported spelling (and what spark uses where Spark SQL has it); spark__
    only where Spark differs - sketches, not yet run on Spark. tests/test_dbt_portability.py
    keeps DuckDB-only functions out of the models.
    Dates: use dbt's own dispatched cross-database macros (dbt.dateadd, dbt.datediff).
-#}

{#- One row per integer from start to stop (inclusive), in a select list: the row is repeated
    for each value, e.g. the months a contract runs. -#}
{% macro integer_series(start_expr, stop_expr) -%}
    {{ return(adapter.dispatch('integer_series', 'customer_warehouse')(start_expr, stop_expr)) }}
{%- endmacro %}
{% macro default__integer_series(start_expr, stop_expr) -%}
    generate_series({{ start_expr }}, {{ stop_expr }})
{%- endmacro %}
{% macro duckdb__integer_series(start_expr, stop_expr) -%}
    cast(unnest(generate_series({{ start_expr }}, {{ stop_expr }})) as integer)
{%- endmacro %}
{% macro spark__integer_series(start_expr, stop_expr) -%}
    explode(sequence({{ start_expr }}, {{ stop_expr }}))
{%- endmacro %}

{#- The date `months` months after `date_expr` (a date). -#}
{% macro add_months(date_expr, months) -%}
    cast({{ dbt.dateadd('month', months, date_expr) }} as date)
{%- endmacro %}

{#- Aggregate: `value` of the row with the smallest `ordering` in the group. -#}
{% macro value_at_min(value, ordering) -%}
    {{ return(adapter.dispatch('value_at_min', 'customer_warehouse')(value, ordering)) }}
{%- endmacro %}
{% macro default__value_at_min(value, ordering) -%}
    min_by({{ value }}, {{ ordering }})
{%- endmacro %}
{% macro duckdb__value_at_min(value, ordering) -%}
    arg_min({{ value }}, {{ ordering }})
{%- endmacro %}

{#- A value ordered like the tuple of `exprs` (first differs first): the ordering of value_at_min
    over several keys. -#}
{% macro ordering_key(exprs) -%}
    {{ return(adapter.dispatch('ordering_key', 'customer_warehouse')(exprs)) }}
{%- endmacro %}
{% macro default__ordering_key(exprs) -%}
    struct({{ exprs | join(', ') }})
{%- endmacro %}
{% macro duckdb__ordering_key(exprs) -%}
    row({{ exprs | join(', ') }})
{%- endmacro %}

{#- Aggregate: `value` of the row with the largest `ordering` in the group. -#}
{% macro value_at_max(value, ordering) -%}
    {{ return(adapter.dispatch('value_at_max', 'customer_warehouse')(value, ordering)) }}
{%- endmacro %}
{% macro default__value_at_max(value, ordering) -%}
    max_by({{ value }}, {{ ordering }})
{%- endmacro %}
{% macro duckdb__value_at_max(value, ordering) -%}
    arg_max({{ value }}, {{ ordering }})
{%- endmacro %}

{#- Aggregate: the most frequent value of the group. -#}
{% macro most_frequent(expr) -%}
    {{ return(adapter.dispatch('most_frequent', 'customer_warehouse')(expr)) }}
{%- endmacro %}
{% macro default__most_frequent(expr) -%}
    mode() within group (order by {{ expr }})
{%- endmacro %}
{% macro duckdb__most_frequent(expr) -%}
    mode({{ expr }})
{%- endmacro %}
{% macro spark__most_frequent(expr) -%}
    mode({{ expr }})
{%- endmacro %}

{#- 'YYYY-MM' of a date. -#}
{% macro year_month_text(date_expr) -%}
    {{ return(adapter.dispatch('year_month_text', 'customer_warehouse')(date_expr)) }}
{%- endmacro %}
{% macro default__year_month_text(date_expr) -%}
    to_char({{ date_expr }}, 'YYYY-MM')
{%- endmacro %}
{% macro duckdb__year_month_text(date_expr) -%}
    strftime({{ date_expr }}, '%Y-%m')
{%- endmacro %}
{% macro spark__year_month_text(date_expr) -%}
    date_format({{ date_expr }}, 'yyyy-MM')
{%- endmacro %}

{#- Text at a JSON path ('$.a.b') of JSON text; NULL when absent. -#}
{% macro json_text(expr, path) -%}
    {{ return(adapter.dispatch('json_text', 'customer_warehouse')(expr, path)) }}
{%- endmacro %}
{% macro default__json_text(expr, path) -%}
    json_value({{ expr }}, '{{ path }}')
{%- endmacro %}
{% macro duckdb__json_text(expr, path) -%}
    json_extract_string({{ expr }}, '{{ path }}')
{%- endmacro %}
{% macro spark__json_text(expr, path) -%}
    get_json_object({{ expr }}, '{{ path }}')
{%- endmacro %}

{#- Every column of `qualifier` (a relation alias; all relations when empty) but `columns`. -#}
{% macro star_except(columns, qualifier='') -%}
    {{ return(adapter.dispatch('star_except', 'customer_warehouse')(columns, qualifier)) }}
{%- endmacro %}
{% macro default__star_except(columns, qualifier) -%}
    {{ qualifier ~ '.' if qualifier }}* except ({{ columns | join(', ') }})
{%- endmacro %}
{% macro duckdb__star_except(columns, qualifier) -%}
    {{ qualifier ~ '.' if qualifier }}* exclude ({{ columns | join(', ') }})
{%- endmacro %}
