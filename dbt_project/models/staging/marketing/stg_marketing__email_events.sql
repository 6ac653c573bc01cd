with

source as (

    select * from {{ source('raw', 'email_events') }}

),

renamed as (

    select
        -- ids
        trim(event_id) as email_event_id,
        trim(campaign_id) as campaign_id,
        trim(member_id) as member_id,

        -- event
        lower(trim(event_type)) as event_type,
        email_address as email_raw,
        {{ normalize_email('email_address') }} as email,
        nullif(trim(url), '') as url,

        -- timestamps
        {{ to_utc_timestamp('"timestamp"') }} as occurred_at,

        -- lineage
        _file,
        _line,
        _loaded_at

    from source

)

{{ deduplicate(
    relation='renamed',
    partition_by='email_event_id',
    order_by='_loaded_at, _file, _line'
) }}
