with

source as (

    select * from {{ source('raw', 'email_campaigns') }}

),

renamed as (

    select
        -- ids
        trim(campaign_id) as campaign_id,
        trim(list_id) as list_id,

        -- campaign
        {{ clean_text('name') }} as campaign_name,
        {{ clean_text('subject_line') }} as subject_line,
        lower(trim(utm_campaign)) as utm_campaign,

        -- timestamps
        {{ to_utc_timestamp('send_time') }} as sent_at,

        -- lineage
        _file,
        _line,
        _loaded_at

    from source

)

{{ deduplicate(
    relation='renamed',
    partition_by='campaign_id',
    order_by='_loaded_at desc, _file desc, _line desc'
) }}
