{#- Incremental like stg_crm__contacts: only the raw rows loaded since the last build (and those of
    members the table lacks) are staged and compete with each member's staged version. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='member_id',
    on_schema_change='sync_all_columns',
    pre_hook="{% if is_incremental() %}{{ drop_rows_gone_from_source(source('raw', 'email_members'), '_file, _line, _loaded_at') }}{% endif %}",
) }}

with

source as (

    select * from {{ source('raw', 'email_members') }} as raw_members
    {%- if is_incremental() %}
    where raw_members._loaded_at > (select coalesce(max(_loaded_at), timestamp '1970-01-01') from {{ this }})
        or not exists (select 1 from {{ this }} as staged where staged.member_id = trim(raw_members.member_id))
    {%- endif %}

),

renamed as (

    select
        -- ids
        trim(member_id) as member_id,
        trim(list_id) as list_id,

        -- person
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,

        -- contact points (members carry no country: national phones read as var default_phone_country)
        email_address as email_raw,
        {{ normalize_email('email_address') }} as email,
        {{ email_match_key(normalize_email('email_address')) }} as email_match_key,
        phone as phone_raw,
        {{ normalize_phone_e164('phone') }} as phone_e164,

        -- subscription
        lower(trim(status)) as status,
        {{ to_utc_timestamp('timestamp_opt') }} as opted_in_at,
        {{ to_utc_timestamp('last_changed') }} as last_changed_at,

        -- lineage
        _file,
        _line,
        _loaded_at

    from source

),

versions as (

    select * from renamed
    {%- if is_incremental() %}
    union all
    select * from {{ this }}
    where member_id in (select member_id from renamed)
    {%- endif %}

)

{{ deduplicate(
    relation='versions',
    partition_by='member_id',
    order_by='last_changed_at desc nulls last, _loaded_at desc, _file desc, _line desc'
) }}
