{#-
    Audience segments declared in config.meta.segments of segment_memberships.yml. Checked
    before the model builds, each failure a compilation error naming the segment:
    required fields, lower_snake_case unique names, a known consent purpose (`none`, or one of
    var consent_purposes, whose <purpose>_consent column the relation has), a predicate DuckDB can parse whose columns and
    functions exist. Returns the segments as a list of dicts.
-#}
{% macro validated_segments(segments, relation) -%}
    {%- set source = 'models/marts/segments/segment_memberships.yml' -%}
    {%- set required = ['name', 'description', 'predicate', 'consent_purpose'] -%}
    {%- set checked = [] -%}
    {%- if not execute -%}{{ return(checked) }}{%- endif -%}
    {%- if segments is none -%}{%- set segments = [] -%}{%- endif -%}
    {%- if segments is string or segments is mapping -%}
        {{ exceptions.raise_compiler_error(source ~ ': config.meta.segments must be a list of segments') }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- set purposes = var('consent_purposes') -%}
    {%- set seen = [] -%}
    {%- for seg in segments -%}
        {%- set label = (seg.get('name') if seg is mapping and seg.get('name') else '#' ~ loop.index) -%}
        {%- if seg is not mapping -%}
            {{ exceptions.raise_compiler_error("segment '" ~ label ~ "' (" ~ source ~ "): must be a mapping with " ~ required | join(', ')) }}
        {%- endif -%}
        {%- set missing = [] -%}
        {%- for f in required if not (seg.get(f) | string | trim) or seg.get(f) is none -%}{%- do missing.append(f) -%}{%- endfor -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error("segment '" ~ label ~ "' (" ~ source ~ "): missing " ~ missing | join(', ')) }}
        {%- endif -%}
        {%- set name = seg['name'] | string -%}
        {%- if not modules.re.match('^[a-z][a-z0-9_]{0,62}$', name) -%}
            {{ exceptions.raise_compiler_error("segment '" ~ name ~ "' (" ~ source ~ "): name must be lower case letters, digits and _, starting with a letter") }}
        {%- endif -%}
        {%- if name in seen -%}
            {{ exceptions.raise_compiler_error("segment '" ~ name ~ "' (" ~ source ~ "): declared twice") }}
        {%- endif -%}
        {%- do seen.append(name) -%}
        {%- set purpose = seg['consent_purpose'] | string | trim -%}
        {%- if purpose != 'none' and purpose not in purposes -%}
            {{ exceptions.raise_compiler_error("segment '" ~ name ~ "' (" ~ source ~ "): unknown consent purpose '" ~ purpose ~ "' (known: none, " ~ purposes | join(', ') ~ " - var consent_purposes)") }}
        {%- endif -%}
        {%- if purpose != 'none' and (purpose ~ '_consent') not in columns -%}
            {{ exceptions.raise_compiler_error("segment '" ~ name ~ "' (" ~ source ~ "): consent purpose '" ~ purpose ~ "' has no column " ~ purpose ~ "_consent on " ~ relation) }}
        {%- endif -%}
        {%- set predicate = seg['predicate'] | string | trim -%}
        {%- set problem = segment_predicate_problem(predicate, columns) -%}
        {%- if problem -%}
            {{ exceptions.raise_compiler_error("segment '" ~ name ~ "' (" ~ source ~ "): invalid predicate \"" ~ predicate ~ "\": " ~ problem) }}
        {%- endif -%}
        {%- do checked.append({'name': name, 'description': seg['description'] | string, 'predicate': predicate, 'consent_purpose': purpose}) -%}
    {%- endfor -%}
    {{ return(checked) }}
{%- endmacro %}

{#- Why a predicate cannot run over `columns`, or '' - parsed by DuckDB without running it.
    Other engines skip this early check (default__): a bad predicate then fails the build of
    segment_memberships itself, with the segment named in a comment of the SQL. -#}
{% macro segment_predicate_problem(predicate, columns) -%}
    {{ return(adapter.dispatch('segment_predicate_problem', 'customer_warehouse')(predicate, columns)) }}
{%- endmacro %}
{% macro default__segment_predicate_problem(predicate, columns) -%}
    {{ return('') }}
{%- endmacro %}
{% macro duckdb__segment_predicate_problem(predicate, columns) -%}
    {%- set quoted = "'" ~ ('select 1 from t where (' ~ predicate ~ ')') | replace("'", "''") ~ "'" -%}
    {%- set sql -%}
        with parsed as (select json_serialize_sql({{ quoted }}) as ast),
        functions as (
            select unnest(list_distinct(regexp_extract_all(ast, '"function_name":"([^"]+)"', 1))) as f from parsed
        )
        select
            json_extract_string(ast, '$.error_message') as parse_error,
            array_to_string(list_distinct(regexp_extract_all(ast, '"column_names":\["([^"]+)"\]', 1)), chr(31)) as column_refs,
            (select string_agg(f, chr(31)) from functions
             where lower(f) not in (select lower(function_name) from duckdb_functions())) as unknown_functions
        from parsed
    {%- endset -%}
    {%- set row = run_query(sql).rows[0] -%}
    {%- if row[0] -%}{{ return(row[0]) }}{%- endif -%}
    {%- set unknown_columns = [] -%}
    {%- for c in (row[1] or '').split('\x1f') if c and c | lower not in columns -%}{%- do unknown_columns.append(c) -%}{%- endfor -%}
    {%- if unknown_columns -%}
        {{ return('unknown column ' ~ unknown_columns | join(', ') ~ ' (the predicate reads marts.customer_360)') }}
    {%- endif -%}
    {%- if row[2] -%}
        {{ return('unknown function ' ~ row[2].split('\x1f') | join(', ')) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
