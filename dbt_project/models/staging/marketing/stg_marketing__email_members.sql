{#- Incremental: a run re-stages only the members whose raw rows changed (macros/incremental_staging.sql). -#}
{{ config(
    unique_key='member_id',
    post_hook=["{{ drop_records_gone_from_source(source('raw', 'email_members'), 'member_id', 'trim(member_id)') }}",
               "{{ log_row_count() }}"],
) }}

with

source as (

    {{ raw_rows_of_changed_records(source('raw', 'email_members'), 'member_id', 'trim(member_id)') }}

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
        _loaded_at,
        _source_rows_hash

    from source

)

{{ deduplicate(
    relation='renamed',
    partition_by='member_id',
    order_by='last_changed_at desc nulls last, _loaded_at desc, _file desc, _line desc'
) }}
