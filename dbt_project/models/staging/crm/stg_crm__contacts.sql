{#- Incremental: a run re-stages only the contacts whose raw rows changed (macros/incremental_staging.sql),
    so libphonenumber parses a contact's phones when it changes, not on every run.
    Record ids are text (a Salesforce Id is letters and digits); an export without creation or
    modification times gets the delivery time instead (times_from_delivery says so); a missing creation
    time is the modification time when there is one, never a time after it. -#}
{{ config(
    unique_key='contact_id',
    post_hook=["{{ drop_records_gone_from_source(source('raw', 'crm_contacts'), 'contact_id', 'trim(hs_object_id)') }}",
               "{{ log_row_count() }}"],
) }}

with

source as (

    {{ raw_rows_of_changed_records(source('raw', 'crm_contacts'), 'contact_id', 'trim(hs_object_id)') }}

),

renamed as (

    select
        -- ids
        trim(hs_object_id) as contact_id,
        try_cast(associatedcompanyid as bigint) as company_id,

        -- person
        {{ clean_text('firstname') }} as first_name,
        {{ clean_text('lastname') }} as last_name,
        {{ clean_text('jobtitle') }} as job_title,
        {{ clean_text('company') }} as company_name,
        try_cast(date_of_birth as date) as date_of_birth,

        -- contact points
        email as email_raw,
        {{ normalize_email('email') }} as email,
        {{ email_match_key(normalize_email('email')) }} as email_match_key,
        phone as phone_raw,
        {{ normalize_phone_e164('phone', country_iso2('country')) }} as phone_e164,
        mobilephone as mobile_phone_raw,
        {{ normalize_phone_e164('mobilephone', country_iso2('country')) }} as mobile_phone_e164,

        -- address
        {{ clean_text('address') }} as address,
        {{ clean_text('city') }} as city,
        {{ clean_text('state') }} as state,
        {{ clean_text('zip') }} as postal_code,
        {{ clean_text('country') }} as country_raw,
        {{ country_iso2('country') }} as country,

        -- marketing / sales status
        lower(trim(lifecyclestage)) as lifecycle_stage,
        {{ clean_text('hs_lead_status') }} as lead_status,
        coalesce({{ to_boolean('hs_email_optout') }}, false) as is_email_opted_out,

        -- timestamps
        coalesce({{ to_utc_timestamp('createdate') }}, {{ to_utc_timestamp('lastmodifieddate') }}, _loaded_at) as created_at,
        coalesce({{ to_utc_timestamp('lastmodifieddate') }}, _loaded_at) as updated_at,
        ({{ to_utc_timestamp('createdate') }} is null or {{ to_utc_timestamp('lastmodifieddate') }} is null)
            as times_from_delivery,

        -- lineage
        _file,
        _line,
        _loaded_at,
        _source_rows_hash

    from source

)

{{ deduplicate(
    relation='renamed',
    partition_by='contact_id',
    order_by='updated_at desc nulls last, _loaded_at desc, _file desc, _line desc',
    row_key='_file, _line, _loaded_at'
) }}
