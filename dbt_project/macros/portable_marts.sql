{#-
    Engine-specific SQL of the analytics, marketing, sales, segment, governance and profile
    models behind adapter.dispatch, so those models stay plain SQL. Same pattern as
    portable.sql: duckdb__ runs on DuckDB; default__ is the standard / widely supported spelling
    (and what Spark uses where Spark SQL has it); spark__ only where Spark differs. Both run:
    tests/test_spark.py compares the marts of the two engines; tests/test_dbt_portability.py
    keeps DuckDB-only SQL out of the models.
    Dates: dbt.dateadd, and timestamp_diff (portable.sql) rather than dbt.datediff below a day.
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

{#- Aggregate: the group's non-NULL `expr` values in ascending order, joined by `delimiter`
    (NULL for a group without any). dbt.listagg cannot promise the order on Spark. -#}
{% macro sorted_listagg(expr, delimiter) -%}
    {{ return(adapter.dispatch('sorted_listagg', 'customer_warehouse')(expr, delimiter)) }}
{%- endmacro %}
{% macro default__sorted_listagg(expr, delimiter) -%}
    nullif(array_join(array_sort(collect_list({{ expr }})), {{ delimiter }}), '')
{%- endmacro %}
{% macro duckdb__sorted_listagg(expr, delimiter) -%}
    string_agg({{ expr }}, {{ delimiter }} order by {{ expr }})
{%- endmacro %}

{#- The date `months` months after `date_expr` (a date). -#}
{% macro add_months(date_expr, months) -%}
    cast({{ dbt.dateadd('month', months, date_expr) }} as date)
{%- endmacro %}

{#- Aggregate: the non-NULL `value` of the row with the smallest `ordering` in the group; rows
    whose value (or ordering) is NULL are skipped, so NULL only when every value is. That is
    DuckDB's arg_min; Spark's min_by returns the value of the smallest ordering even when it
    is NULL, so there a row without a value gets no ordering. -#}
{% macro value_at_min(value, ordering) -%}
    {{ return(adapter.dispatch('value_at_min', 'customer_warehouse')(value, ordering)) }}
{%- endmacro %}
{% macro default__value_at_min(value, ordering) -%}
    min_by({{ value }}, case when {{ value }} is not null then {{ ordering }} end)
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

{#- Aggregate: the non-NULL `value` of the row with the largest `ordering` (NULLs skipped, as in
    value_at_min). -#}
{% macro value_at_max(value, ordering) -%}
    {{ return(adapter.dispatch('value_at_max', 'customer_warehouse')(value, ordering)) }}
{%- endmacro %}
{% macro default__value_at_max(value, ordering) -%}
    max_by({{ value }}, case when {{ value }} is not null then {{ ordering }} end)
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

{#- The table a model built last time, for a model that reads it while rebuilding (e.g. to keep
    when a member entered a segment): {{ this }} where the engine replaces a table atomically
    (DuckDB), else a copy that the pre-hook `keep_previous_build()` takes before the build - on
    Spark, dbt-spark drops a Parquet table before creating it again, and a query reading the
    dropped table fails. none when there is no previous build. -#}
{% macro previous_build() -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set built = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
    {%- if built is none -%}{{ return(none) }}{%- endif -%}
    {{ return(adapter.dispatch('previous_build', 'customer_warehouse')(built)) }}
{%- endmacro %}
{% macro default__previous_build(built) -%}
    {{ return(built) }}
{%- endmacro %}
{% macro spark__previous_build(built) -%}
    {{ return(api.Relation.create(schema=built.schema, identifier=built.identifier ~ '__previous_build', type='table')) }}
{%- endmacro %}

{#- pre-hook of a model calling previous_build(): on Spark, copy the built table aside first. -#}
{% macro keep_previous_build() -%}
    {{ return(adapter.dispatch('keep_previous_build', 'customer_warehouse')()) }}
{%- endmacro %}
{% macro default__keep_previous_build() -%}
{%- endmacro %}
{% macro spark__keep_previous_build() -%}
    {%- set built = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) if execute else none -%}
    {%- if built is not none -%}
    {%- set copy = spark__previous_build(built) -%}
    {% do run_query('drop table if exists ' ~ copy) %}
    create table {{ copy }} using parquet as select * from {{ built }}
    {%- endif -%}
{%- endmacro %}

{#- A double rounded to `places` decimals the same way on every engine: through DECIMAL(38, 9), so
    a value one ulp either side of a tie (10.047499999999999 or 10.0475000000001: sums and powers
    are not bit-identical across engines) rounds to the same result, half away from zero; a double
    again. Plain round() of a double differed between DuckDB and Spark on ties. -#}
{% macro round_half_up(expr, places) -%}
    cast(round(cast({{ expr }} as decimal(38, 9)), {{ places }}) as double)
{%- endmacro %}
