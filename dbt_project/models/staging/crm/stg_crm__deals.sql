with

source as (

    select * from {{ source('raw', 'crm_deals') }}

),

renamed as (

    select
        -- ids
        try_cast(hs_object_id as bigint) as deal_id,
        nullif(trim(associated_contact_id), '') as contact_id,
        try_cast(associated_company_id as bigint) as company_id,

        -- deal
        {{ clean_text('dealname') }} as deal_name,
        {{ clean_text('pipeline') }} as pipeline,
        lower(trim(dealstage)) as deal_stage,
        lower(trim(dealstage)) in ('closedwon', 'closedlost') as is_closed,
        lower(trim(dealstage)) = 'closedwon' as is_won,
        {{ to_amount('amount') }} as amount,
        coalesce({{ contract_term('contract_term_months') }}, {{ var('contract_term_months') }}) as contract_term_months,
        {{ contract_term('contract_term_months') }} is null as is_default_contract_term,

        -- timestamps
        {{ to_utc_timestamp('closedate') }} as closed_at,
        coalesce({{ to_utc_timestamp('createdate') }}, {{ to_utc_timestamp('lastmodifieddate') }}, _loaded_at) as created_at,
        coalesce({{ to_utc_timestamp('lastmodifieddate') }}, _loaded_at) as updated_at,
        ({{ to_utc_timestamp('createdate') }} is null or {{ to_utc_timestamp('lastmodifieddate') }} is null)
            as times_from_delivery,

        -- lineage
        _file,
        _line,
        _loaded_at

    from source

)

{{ deduplicate(
    relation='renamed',
    partition_by='deal_id',
    order_by='updated_at desc nulls last, _loaded_at desc, _file desc, _line desc'
) }}
