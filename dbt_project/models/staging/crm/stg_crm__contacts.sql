{#- Incremental: a run stages only the raw rows loaded since the last build (and those of contacts the
    table lacks, e.g. after an erasure dropped their latest version), each contact's latest version
    chosen among them and the version already staged. The phone parsing (libphonenumber, the
    costliest column) is paid once per raw row, not on every run. The result equals a full build:
    a contact's latest version over all its raw rows is the latest of its staged one and its new rows.
    Changing a normalization (a macro, var default_phone_country) needs `dbt build --full-refresh`. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='contact_id',
    on_schema_change='sync_all_columns',
    pre_hook="{% if is_incremental() %}{{ drop_rows_gone_from_source(source('raw', 'crm_contacts'), '_file, _line, _loaded_at') }}{% endif %}",
) }}

with

source as (

    select * from {{ source('raw', 'crm_contacts') }} as raw_contacts
    {%- if is_incremental() %}
    where raw_contacts._loaded_at > (select coalesce(max(_loaded_at), timestamp '1970-01-01') from {{ this }})
        or not exists (
            select 1 from {{ this }} as staged
            where staged.contact_id = try_cast(raw_contacts.hs_object_id as bigint)
        )
    {%- endif %}

),

renamed as (

    select
        -- ids
        try_cast(hs_object_id as bigint) as contact_id,
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
        {{ to_utc_timestamp('createdate') }} as created_at,
        {{ to_utc_timestamp('lastmodifieddate') }} as updated_at,

        -- lineage
        _file,
        _line,
        _loaded_at

    from source

),

{#- the version each contact with new rows has now competes with them -#}
versions as (

    select * from renamed
    {%- if is_incremental() %}
    union all
    select * from {{ this }}
    where contact_id in (select contact_id from renamed)
    {%- endif %}

)

{{ deduplicate(
    relation='versions',
    partition_by='contact_id',
    order_by='updated_at desc nulls last, _loaded_at desc, _file desc, _line desc',
    row_key='_file, _line, _loaded_at'
) }}
