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
    'acc_' || left(md5(cast({{ company_id_expr }} as varchar)), 16)
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

{#- ORDER BY of an attribute's survivorship (var survivorship_rules[attribute], else its default), record_key last. -#}
{% macro survivorship_order(attribute) -%}
    {%- set all_rules = var('survivorship_rules', {}) -%}
    {%- set rules = all_rules.get(attribute, all_rules.get('default', ['source_priority', 'recency', 'completeness'])) -%}
    {%- set exprs = {
        'source_priority': source_priority('source'),
        'recency': 'attributes_updated_at desc nulls last',
        'completeness': 'completeness desc',
    } -%}
    {%- for rule in rules -%}
        {%- if rule not in exprs -%}
            {{ exceptions.raise_compiler_error("survivorship_rules." ~ attribute ~ ": unknown rule '" ~ rule ~ "' (use source_priority, recency, completeness)") }}
        {%- endif -%}
        {{ exprs[rule] }}, {% endfor -%}
    record_key
{%- endmacro %}
