{#-
    Engine-specific SQL behind adapter.dispatch, so the project can move to another engine
    (e.g. Spark via dbt-spark) by adding <adapter>__ implementations here. The default
    implementations are written for and tested on DuckDB; the spark__ ones are sketches of
    the Spark SQL equivalent, not yet run on Spark.
-#}

{#- Replace every match of a (RE2) regular expression. -#}
{% macro regexp_replace_all(expr, pattern, replacement, flags='') -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'customer_warehouse')(expr, pattern, replacement, flags)) }}
{%- endmacro %}
{% macro default__regexp_replace_all(expr, pattern, replacement, flags) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g{{ flags }}')
{%- endmacro %}
{% macro spark__regexp_replace_all(expr, pattern, replacement, flags) -%}
    regexp_replace({{ expr }}, '{{ "(?" ~ flags ~ ")" if flags else "" }}{{ pattern | replace("\\", "\\\\") }}', '{{ replacement }}')
{%- endmacro %}

{#- True when the expression contains a match of the regular expression. -#}
{% macro regexp_contains(expr, pattern) -%}
    {{ return(adapter.dispatch('regexp_contains', 'customer_warehouse')(expr, pattern)) }}
{%- endmacro %}
{% macro default__regexp_contains(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}
{% macro spark__regexp_contains(expr, pattern) -%}
    ({{ expr }} rlike '{{ pattern | replace("\\", "\\\\") }}')
{%- endmacro %}

{#- ISO-8601 text (with or without offset / Z) to a UTC timestamp without time zone;
    NULL when it does not parse. -#}
{% macro to_utc_timestamp(expr) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'customer_warehouse')(expr)) }}
{%- endmacro %}
{% macro default__to_utc_timestamp(expr) -%}
    timezone('UTC', try_cast({{ expr }} as timestamptz))
{%- endmacro %}
{% macro spark__to_utc_timestamp(expr) -%}
    to_utc_timestamp(try_cast({{ expr }} as timestamp), current_timezone())
{%- endmacro %}

{#- Whole days from the first timestamp to the second. -#}
{% macro days_between(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('days_between', 'customer_warehouse')(start_ts, end_ts)) }}
{%- endmacro %}
{% macro default__days_between(start_ts, end_ts) -%}
    date_diff('day', cast({{ start_ts }} as date), cast({{ end_ts }} as date))
{%- endmacro %}
{% macro spark__days_between(start_ts, end_ts) -%}
    datediff(cast({{ end_ts }} as date), cast({{ start_ts }} as date))
{%- endmacro %}


{#- `body` evaluated with `name` bound to the value of `value`: computes a sub-expression once
    instead of pasting it into every place `body` uses it (nested macros would otherwise grow
    the SQL exponentially). -#}
{% macro let(value, name, body) -%}
    {{ return(adapter.dispatch('let', 'customer_warehouse')(value, name, body)) }}
{%- endmacro %}
{% macro default__let(value, name, body) -%}
    list_transform([{{ value }}], lambda {{ name }}: {{ body }})[1]
{%- endmacro %}
{% macro spark__let(value, name, body) -%}
    transform(array({{ value }}), {{ name }} -> {{ body }})[0]
{%- endmacro %}

{#- Parse JSON text once into a struct of the given shape ({field: 'VARCHAR' | 'JSON' | {nested}});
    fields are then read as struct.field.subfield. Missing fields read as NULL. -#}
{% macro parse_json_struct(expr, shape) -%}
    {{ return(adapter.dispatch('parse_json_struct', 'customer_warehouse')(expr, shape)) }}
{%- endmacro %}
{% macro default__parse_json_struct(expr, shape) -%}
    from_json({{ expr }}, '{{ tojson(shape) }}')
{%- endmacro %}
{% macro spark__parse_json_struct(expr, shape) -%}
    from_json({{ expr }}, '{{ spark_struct_ddl(shape) }}')
{%- endmacro %}
{% macro spark_struct_ddl(shape) -%}
    struct<{% for name, type in shape.items() %}`{{ name }}`:{% if type is mapping %}{{ spark_struct_ddl(type) }}{% else %}string{% endif %}{% if not loop.last %},{% endif %}{% endfor %}>
{%- endmacro %}

{#- Similarity of two names in [0, 1] (1 = same); used to spot records of different people. -#}
{% macro name_similarity(a, b) -%}
    {{ return(adapter.dispatch('name_similarity', 'customer_warehouse')(a, b)) }}
{%- endmacro %}
{% macro default__name_similarity(a, b) -%}
    jaro_winkler_similarity(lower(strip_accents({{ a }})), lower(strip_accents({{ b }})))
{%- endmacro %}
{% macro spark__name_similarity(a, b) -%}
    (1.0 - levenshtein(lower({{ a }}), lower({{ b }})) / greatest(length({{ a }}), length({{ b }}), 1))
{%- endmacro %}
