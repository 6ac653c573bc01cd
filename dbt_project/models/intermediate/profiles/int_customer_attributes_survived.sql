{#-
    Golden record attributes: for each customer and attribute, the value of the winning
    source record among those that have one (NULLs never win). Survivorship, in this order:
      1. source priority    var survivorship_source_priority (CRM, then email platform, then web)
      2. recency            latest attributes_updated_at
      3. completeness       record with the most profile attributes filled
      4. record_key         deterministic tie-break
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

candidates as (

    {% for attribute in attributes -%}
    select
        customer_id,
        '{{ attribute }}' as attribute,
        cast({{ attribute }} as varchar) as value,
        source,
        record_key,
        attributes_updated_at,
        completeness
    from customer_records
    where {{ attribute }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_id, attribute
            order by
                {{ source_priority('source') }},
                attributes_updated_at desc nulls last,
                completeness desc,
                record_key
        ) as survivorship_rank
    from candidates

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
