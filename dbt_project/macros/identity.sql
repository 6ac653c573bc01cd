{#- Survivorship rank of a source (lower wins), from var survivorship_source_priority. -#}
{% macro source_priority(source_expr) -%}
    {%- set priorities = var('survivorship_source_priority') -%}
    case {{ source_expr }}
    {%- for source, priority in priorities.items() %}
        when '{{ source }}' then {{ priority }}
    {%- endfor %}
        else 99
    end
{%- endmacro %}

{#- The stable key of a CRM company as an account: 'acc_' + 16 hex of md5(company id). -#}
{% macro account_id(company_id_expr) -%}
    'acc_' || left(md5(cast({{ company_id_expr }} as {{ dbt.type_string() }})), 16)
{%- endmacro %}

{#- Number of non-NULL expressions, for "most complete record wins". -#}
{% macro count_not_null(exprs) -%}
    ({% for e in exprs %}case when {{ e }} is not null then 1 else 0 end{% if not loop.last %} + {% endif %}{% endfor %})
{%- endmacro %}

{#-
    Reason an identifier value is junk per seed identity_blocklist, or NULL. The patterns are
    read from the seed when the model runs and inlined as constants: a regular expression taken
    from a column would be compiled again for every row.
-#}
{% macro identity_junk_reason(identifier_type_expr, value_expr) -%}
    {%- set rules = [] -%}
    {%- if execute -%}
        {%- set result = run_query('select identifier_type, pattern, reason from ' ~ ref('identity_blocklist') ~ ' order by identifier_type, pattern') -%}
        {%- set rules = result.rows -%}
    {%- endif -%}
    case
    {%- for rule in rules %}
        when {{ identifier_type_expr }} = '{{ rule[0] }}' and {{ regexp_contains(value_expr, rule[1] | replace("'", "''")) }} then '{{ rule[2] | replace("'", "''") }}'
    {%- endfor %}
    end
{%- endmacro %}

{#- An attribute's survivorship rules (var survivorship_rules[attribute], else its default). -#}
{% macro survivorship_rules(attribute) -%}
    {%- set all_rules = var('survivorship_rules', {}) -%}
    {%- set rules = all_rules.get(attribute, all_rules.get('default', ['source_priority', 'recency', 'completeness'])) -%}
    {%- for rule in rules if rule not in ('source_priority', 'recency', 'completeness') -%}
        {{ exceptions.raise_compiler_error("survivorship_rules." ~ attribute ~ ": unknown rule '" ~ rule ~ "' (use source_priority, recency, completeness)") }}
    {%- endfor -%}
    {{ return(rules) }}
{%- endmacro %}

{#- The survivorship key of a record under `rules`, smallest wins: each rule as an ascending
    number (source priority; newest attributes_updated_at first; most complete first; a missing
    value last), record_key last. -#}
{% macro survivorship_key(rules) -%}
    {%- set parts = {
        'source_priority': source_priority('source'),
        'recency': 'coalesce(-1 * ' ~ timestamp_diff("cast('1970-01-01' as timestamp)", 'attributes_updated_at', 'microsecond') ~ ', 9223372036854775807)',
        'completeness': 'coalesce(-1 * completeness, 2147483647)',
    } -%}
    {%- set exprs = [] -%}
    {%- for rule in rules %}{% do exprs.append(parts[rule]) %}{% endfor -%}
    {%- do exprs.append('record_key') -%}
    {{ ordering_key(exprs) }}
{%- endmacro %}
