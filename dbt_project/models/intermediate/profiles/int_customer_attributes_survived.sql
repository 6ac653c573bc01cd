{#-
    Golden record attributes: for each customer and attribute, the value of the winning
    source record among those that have one (NULLs never win). Each attribute has its own
    rule order in var survivorship_rules (default: source priority, recency, completeness):
      source_priority   var survivorship_source_priority (CRM, then email platform, then web)
      recency           latest attributes_updated_at
      completeness      record with the most profile attributes filled
      record_key        deterministic tie-break, always last
    Each attribute is chosen on its own, and <attribute>_source says which source won it.
-#}
{%- set attributes = ['first_name', 'last_name', 'email', 'phone', 'job_title', 'company_name', 'crm_company_id', 'city', 'country', 'lifecycle_stage'] -%}

with

records as (

    select * from {{ ref('int_identity_records') }}

),

components as (

    select * from {{ source('identity', 'int_identity_components') }}

),

{#- one key per distinct rule order (most attributes share the default) -#}
{%- set rule_orders = [] -%}
{%- for attribute in attributes -%}
    {%- set rules = survivorship_rules(attribute) -%}
    {%- if rules not in rule_orders %}{% do rule_orders.append(rules) %}{% endif -%}
{%- endfor %}

customer_records as (

    select
        components.customer_id,
        records.*
    from records
    inner join components
        on records.record_key = components.record_key

),

keyed as (

    select
        *,
        {% for rules in rule_orders -%}
        {{ survivorship_key(rules) }} as _survivorship_key_{{ loop.index }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from customer_records

),

{# Per customer and attribute, the value of the record its rules rank first (var
    survivorship_rules), among the records that have one: one aggregation pass (a window per
    attribute sorted every record ten times: 10 s against 7 s at L). #}
pivoted as (

    select
        customer_id,
        {% for attribute in attributes -%}
        {%- set key = '_survivorship_key_' ~ (rule_orders.index(survivorship_rules(attribute)) + 1) -%}
        {{ value_at_min('cast(' ~ attribute ~ ' as ' ~ dbt.type_string() ~ ')', key) }} filter (where {{ attribute }} is not null) as {{ attribute }},
        {{ value_at_min('source', key) }} filter (where {{ attribute }} is not null) as {{ attribute }}_source{% if not loop.last %},{% endif %}
        {% endfor %}
    from keyed
    group by customer_id

),

customers as (

    select
        customer_id,
        count(*) as source_record_count
    from components
    group by customer_id

)

select
    customers.customer_id,
    {% for attribute in attributes -%}
    {% if attribute == 'crm_company_id' -%}
    cast(pivoted.{{ attribute }} as bigint) as {{ attribute }},
    {%- else -%}
    pivoted.{{ attribute }},
    {%- endif %}
    pivoted.{{ attribute }}_source,
    {% endfor -%}
    customers.source_record_count
from customers
left join pivoted
    on customers.customer_id = pivoted.customer_id
