with

source as (

    select * from {{ source('raw', 'ad_spend') }}

),

renamed as (

    select
        -- ids
        md5(concat_ws('|', trim(platform), trim(campaign_id), trim({{ adapter.quote('date') }}))) as ad_spend_id,
        lower(trim(platform)) as platform,
        trim(campaign_id) as campaign_id,

        -- campaign
        {{ clean_text('campaign_name') }} as campaign_name,
        lower(trim(utm_source)) as utm_source,
        lower(trim(utm_medium)) as utm_medium,
        lower(trim(utm_campaign)) as utm_campaign,

        -- measures
        try_cast({{ adapter.quote('date') }} as date) as spend_date,
        {{ to_integer('impressions') }} as impressions,
        {{ to_integer('clicks') }} as clicks,
        {{ to_amount('spend') }} as spend,

        -- lineage
        _file,
        _line,
        _loaded_at

    from source

)

{{ deduplicate(
    relation='renamed',
    partition_by='ad_spend_id',
    order_by='_loaded_at desc, _file desc, _line desc'
) }}
