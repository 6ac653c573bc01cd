{#-
    Engine-specific SQL behind adapter.dispatch, so the project runs on DuckDB and on Spark
    (dbt-spark) alike: default__ / duckdb__ run on DuckDB, spark__ on Spark 4 (ANSI mode), and
    tests/test_spark.py builds the project on both and compares the marts row for row.
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

{#- Text without diacritics ('Éloïse' -> 'Eloise'): the letters of Latin-1 and Latin Extended-A/B
    that decompose into a base letter and combining marks, as DuckDB's strip_accents does
    (letters that do not decompose - ß, æ, ø, ł - stay on both engines). -#}
{% macro without_accents(expr) -%}
    {{ return(adapter.dispatch('without_accents', 'customer_warehouse')(expr)) }}
{%- endmacro %}
{% macro default__without_accents(expr) -%}
    strip_accents({{ expr }})
{%- endmacro %}
{% macro spark__without_accents(expr) -%}
    translate({{ expr }}, 'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǢǣǦǧǨǩǪǫǬǭǮǯǰǴǵǸǹǺǻǼǽǾǿȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ', 'AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaCcCcCcCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIJjKkLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzOoUuAaIiOoUuUuUuUuUuAaAaÆæGgKkOoOoƷʒjGgNnAaÆæØøAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOoOoYy')
{%- endmacro %}

{#- Similarity of two names in [0, 1] (1 = same); used to spot records of different people.
    Jaro-Winkler on both engines, as DuckDB computes it: the common-prefix boost (0.1 per letter,
    at most 4) only when the Jaro similarity is above 0.7. -#}
{% macro name_similarity(a, b) -%}
    {{ return(adapter.dispatch('name_similarity', 'customer_warehouse')(a, b)) }}
{%- endmacro %}
{% macro default__name_similarity(a, b) -%}
    jaro_winkler_similarity(lower({{ without_accents(a) }}), lower({{ without_accents(b) }}))
{%- endmacro %}
{#- Spark 4's built-in jaro_winkler_similarity boosts every pair (0.61 -> 0.65 for li / lee), which
    can lift a pair across identity_min_name_similarity: the boost is taken back out where the
    Jaro similarity is 0.7 or less (equal to DuckDB to the last bits of a double). -#}
{% macro spark__name_similarity(a, b) -%}
    {%- set x = 'lower(' ~ without_accents(a) ~ ')' -%}
    {%- set y = 'lower(' ~ without_accents(b) ~ ')' -%}
    {%- set prefix -%}
        ({% for k in range(1, 5) %}case when least(length({{ x }}), length({{ y }})) >= {{ k }} and left({{ x }}, {{ k }}) = left({{ y }}, {{ k }}) then 1 else 0 end{% if not loop.last %} + {% endif %}{% endfor %})
    {%- endset -%}
    {{ let('jaro_winkler_similarity(' ~ x ~ ', ' ~ y ~ ')', '_jw',
           let('(_jw - 0.1 * ' ~ prefix ~ ') / (1 - 0.1 * ' ~ prefix ~ ')', '_jaro',
               'case when _jaro > 0.7 then _jw else _jaro end')) }}
{%- endmacro %}

{#- Whole `unit`s (microsecond ... day) from the timestamp `start_ts` to `end_ts`, counted as
    DuckDB's date_diff counts them: unit boundaries crossed. dbt-spark's own datediff is wrong
    below a second (a unit off by 1000, an ANSI cast error); on Spark the sub-day units come from
    epoch microseconds. -#}
{% macro timestamp_diff(start_ts, end_ts, unit) -%}
    {{ return(adapter.dispatch('timestamp_diff', 'customer_warehouse')(start_ts, end_ts, unit)) }}
{%- endmacro %}
{% macro default__timestamp_diff(start_ts, end_ts, unit) -%}
    {{ dbt.datediff(start_ts, end_ts, unit) }}
{%- endmacro %}
{% macro spark__timestamp_diff(start_ts, end_ts, unit) -%}
    {%- set micros = {'microsecond': 1, 'millisecond': 1000, 'second': 1000000, 'minute': 60000000,
                      'hour': 3600000000, 'day': 86400000000} -%}
    {%- if unit | lower not in micros -%}
        {{ exceptions.raise_compiler_error("timestamp_diff: unit '" ~ unit ~ "' (use " ~ micros.keys() | join(', ') ~ ")") }}
    {%- endif -%}
    {%- set per = micros[unit | lower] -%}
    {%- if per == 1 -%}
    (unix_micros({{ end_ts }}) - unix_micros({{ start_ts }}))
    {%- else -%}
    (floor(unix_micros({{ end_ts }}) / {{ per }}) - floor(unix_micros({{ start_ts }}) / {{ per }}))
    {%- endif -%}
{%- endmacro %}
