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

    select * from {{ ref('int_identity_components') }}

),

customer_records as (

    select
        components.customer_id,
        records.*
    from records
    inner join components
        on records.record_key = components.record_key

),

{#- Every attribute ranked by its own survivorship rules (var survivorship_rules). -#}
ranked as (

    {% for attribute in attributes -%}
    select
        customer_id,
        '{{ attribute }}' as attribute,
        cast({{ attribute }} as {{ dbt.type_string() }}) as value,
        source,
        record_key,
        row_number() over (
            partition by customer_id
            order by {{ survivorship_order(attribute) }}
        ) as survivorship_rank
    from customer_records
    where {{ attribute }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

survivors as (

    select * from ranked where survivorship_rank = 1

),

pivoted as (

    select
        customer_id,
        {% for attribute in attributes -%}
        max(case when attribute = '{{ attribute }}' then value end) as {{ attribute }},
        max(case when attribute = '{{ attribute }}' then source end) as {{ attribute }}_source{% if not loop.last %},{% endif %}
        {% endfor %}
    from survivors
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
