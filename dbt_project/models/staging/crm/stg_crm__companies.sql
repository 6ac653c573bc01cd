with

source as (

    select * from {{ source('raw', 'crm_companies') }}

),

renamed as (

    select
        -- ids
        try_cast(hs_object_id as bigint) as company_id,

        -- company
        {{ clean_text('name') }} as company_name,
        domain as domain_raw,
        {{ normalize_domain('domain') }} as domain,
        {{ clean_text('industry') }} as industry,
        {{ to_integer('numberofemployees') }} as employee_count,
        {{ to_amount('annualrevenue') }} as annual_revenue,

        -- address
        {{ clean_text('city') }} as city,
        {{ clean_text('state') }} as state,
        {{ clean_text('country') }} as country_raw,
        {{ country_iso2('country') }} as country,

        -- timestamps
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
    partition_by='company_id',
    order_by='updated_at desc nulls last, _loaded_at desc, _file desc, _line desc'
) }}
