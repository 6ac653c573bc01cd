{#- Incremental: a run re-stages only the events whose raw rows changed (macros/incremental_staging.sql).
    A table, not a view: four models and four tests read it, and each read of a view redid the
    deduplication of every event (millions). -#}
{{ config(
    unique_key='email_event_id',
    post_hook=["{{ drop_records_gone_from_source(source('raw', 'email_events'), 'email_event_id', 'trim(event_id)') }}",
               "{{ log_row_count() }}"],
) }}

with

source as (

    {{ raw_rows_of_changed_records(source('raw', 'email_events'), 'email_event_id', 'trim(event_id)') }}

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
        {{ to_utc_timestamp(adapter.quote('timestamp')) }} as occurred_at,

        -- lineage
        _file,
        _line,
        _loaded_at,
        _source_rows_hash

    from source

)

{{ deduplicate(
    relation='renamed',
    partition_by='email_event_id',
    order_by='_loaded_at, _file, _line'
) }}
