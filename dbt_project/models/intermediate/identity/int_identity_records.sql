{#-
    One row per source record that carries a person, with the identifiers it contributes to
    the identity graph and the profile attributes survivorship chooses from.

    Built in: CRM contacts, email members, web visitors (the CTEs below). Any other staging
    model joins the graph by being declared in var identity_sources (dbt_project.yml), no SQL:

      identity_sources:
        <source>:                      # record_key = '<source>:<record id>'
          model: <staging model>       # read with ref()
          record_id: <column>          # one identity record per value (rows are grouped by it)
          updated_at: <column>         # the latest row of a record wins each attribute
          created_at: <column>         # optional: first_seen_at (else the earliest updated_at)
          columns:                     # identity column: model column (missing ones are NULL)
            email: ...                 # normalized email (normalize_email)
            email_match_key: ...       # identifier (email_match_key)
            phone_e164: ...            # E.164 as staging normalized it (normalize_phone_e164)...
            phone_raw: ...             # ...or the phone as typed, normalized here the same way
            first_name, last_name, job_title, company_name, city, country: ...
-#}
{%- set profile_attributes = ['first_name', 'last_name', 'email', 'phone', 'job_title', 'company_name', 'crm_company_id', 'city', 'country', 'lifecycle_stage'] -%}

{%- set declared_columns = ['email', 'email_match_key', 'phone_raw', 'phone_e164', 'first_name', 'last_name', 'job_title', 'company_name', 'city', 'country'] -%}
{%- set declared_sources = var('identity_sources', {}) or {} -%}
{%- for name, spec in declared_sources.items() -%}
    {%- for key in ['model', 'record_id', 'updated_at'] if not spec.get(key) -%}
        {{ exceptions.raise_compiler_error("var identity_sources." ~ name ~ ": '" ~ key ~ "' is required") }}
    {%- endfor -%}
    {%- for key in (spec.get('columns') or {}) if key not in declared_columns -%}
        {{ exceptions.raise_compiler_error("var identity_sources." ~ name ~ ".columns: unknown identity column '" ~ key ~ "' (use " ~ declared_columns | join(', ') ~ ")") }}
    {%- endfor -%}
    {%- if name in ['crm_contacts', 'email_members', 'web_visitors'] -%}
        {{ exceptions.raise_compiler_error("var identity_sources." ~ name ~ ": the name of a built-in source") }}
    {%- endif -%}
{%- endfor %}

with

nicknames as (

    select * from {{ ref('identity_nicknames') }}

),

{#- Phones: staging normalized them with libphonenumber (macro normalize_phone_e164). -#}
crm_contacts as (

    select
        *,
        phone_e164 as phone_lib_e164,
        mobile_phone_e164 as mobile_phone_lib_e164
    from {{ ref('stg_crm__contacts') }}

),

email_members as (

    select
        *,
        phone_e164 as phone_lib_e164
    from {{ ref('stg_marketing__email_members') }}

),

web_events as (

    select
        *,
        phone_e164 as phone_lib_e164,
        -- Segment needs anonymousId or userId; a visitor seen only by userId is keyed by it
        coalesce(anonymous_id, 'user:' || user_id) as visitor_id
    from {{ ref('stg_web__events') }}

),

contact_records as (

    select
        'crm_contacts' as source,
        cast(contact_id as varchar) as source_record_id,

        -- identifiers
        email_match_key,
        phone_lib_e164 as phone_e164,
        mobile_phone_lib_e164 as secondary_phone_e164,
        cast(null as varchar) as user_id,

        -- profile attributes
        first_name,
        last_name,
        email,
        coalesce(phone_lib_e164, mobile_phone_lib_e164) as phone,
        job_title,
        company_name,
        company_id as crm_company_id,
        city,
        country,
        lifecycle_stage,

        -- matching attributes (probabilistic matching)
        date_of_birth,
        address,
        postal_code,
        cast(1 as bigint) as distinct_email_count,
        cast(0 as bigint) as distinct_user_id_count,
        cast(1 as bigint) as distinct_first_name_count,

        -- consent signals
        is_email_opted_out,
        cast(null as varchar) as email_status,

        -- timestamps
        updated_at as attributes_updated_at,
        created_at as first_seen_at,
        updated_at as last_seen_at

    from crm_contacts

),

member_records as (

    select
        'email_members' as source,
        member_id as source_record_id,

        email_match_key,
        phone_lib_e164 as phone_e164,
        cast(null as varchar) as secondary_phone_e164,
        cast(null as varchar) as user_id,

        first_name,
        last_name,
        email,
        phone_lib_e164 as phone,
        cast(null as varchar) as job_title,
        cast(null as varchar) as company_name,
        cast(null as bigint) as crm_company_id,
        cast(null as varchar) as city,
        cast(null as varchar) as country,
        case when status = 'subscribed' then 'subscriber' end as lifecycle_stage,

        cast(null as date) as date_of_birth,
        cast(null as varchar) as address,
        cast(null as varchar) as postal_code,
        cast(1 as bigint) as distinct_email_count,
        cast(0 as bigint) as distinct_user_id_count,
        cast(1 as bigint) as distinct_first_name_count,

        cast(null as boolean) as is_email_opted_out,
        status as email_status,

        last_changed_at as attributes_updated_at,
        coalesce(opted_in_at, last_changed_at) as first_seen_at,
        last_changed_at as last_seen_at

    from email_members

),

{#- A visitor's identity is what its latest identifying call said (identify traits, userId). -#}
visitor_records as (

    select
        'web_visitors' as source,
        visitor_id as source_record_id,

        arg_max(email_match_key, occurred_at) filter (where email_match_key is not null) as email_match_key,
        arg_max(phone_lib_e164, occurred_at) filter (where phone_lib_e164 is not null) as phone_e164,
        cast(null as varchar) as secondary_phone_e164,
        arg_max(user_id, occurred_at) filter (where user_id is not null) as user_id,

        arg_max(first_name, occurred_at) filter (where first_name is not null) as first_name,
        arg_max(last_name, occurred_at) filter (where last_name is not null) as last_name,
        arg_max(email, occurred_at) filter (where email is not null) as email,
        arg_max(phone_lib_e164, occurred_at) filter (where phone_lib_e164 is not null) as phone,
        cast(null as varchar) as job_title,
        cast(null as varchar) as company_name,
        cast(null as bigint) as crm_company_id,
        cast(null as varchar) as city,
        cast(null as varchar) as country,
        cast(null as varchar) as lifecycle_stage,

        cast(null as date) as date_of_birth,
        cast(null as varchar) as address,
        cast(null as varchar) as postal_code,
        -- several people identifying on one device (a family laptop) is a shared device
        count(distinct email_match_key) as distinct_email_count,
        count(distinct user_id) as distinct_user_id_count,
        count(distinct lower(first_name)) as distinct_first_name_count,

        cast(null as boolean) as is_email_opted_out,
        cast(null as varchar) as email_status,

        max(occurred_at) filter (where email is not null or user_id is not null or first_name is not null) as attributes_updated_at,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at

    from web_events
    where visitor_id is not null
    group by visitor_id
    having count(user_id) > 0 or count(email_match_key) > 0

),

{#- Declared sources (var identity_sources): one record per record id, latest row wins. -#}
{%- for name, spec in declared_sources.items() %}
{%- set cols = spec.get('columns') or {} %}
{%- set updated = 'declared.' ~ spec['updated_at'] %}
{%- if 'phone_e164' in cols -%}
    {%- set phone = 'declared.' ~ cols['phone_e164'] -%}
{%- elif 'phone_raw' in cols -%}
    {%- set phone = normalize_phone_e164('declared.' ~ cols['phone_raw']) | trim -%}
{%- else -%}
    {%- set phone = none -%}
{%- endif %}
{%- set latest = {} %}
{%- for key in ['email_match_key', 'first_name', 'last_name', 'email', 'job_title', 'company_name', 'city', 'country'] %}
    {%- set expr = 'declared.' ~ cols[key] if key in cols else none %}
    {%- do latest.update({key: 'arg_max(' ~ expr ~ ', ' ~ updated ~ ') filter (where ' ~ expr ~ ' is not null)' if expr else 'cast(null as varchar)'}) %}
{%- endfor %}
{%- do latest.update({'phone': 'arg_max(' ~ phone ~ ', ' ~ updated ~ ') filter (where ' ~ phone ~ ' is not null)' if phone else 'cast(null as varchar)'}) %}

declared_{{ name }}_records as (

    select
        '{{ name }}' as source,
        cast(declared.{{ spec['record_id'] }} as varchar) as source_record_id,

        {{ latest['email_match_key'] }} as email_match_key,
        {{ latest['phone'] }} as phone_e164,
        cast(null as varchar) as secondary_phone_e164,
        cast(null as varchar) as user_id,

        {{ latest['first_name'] }} as first_name,
        {{ latest['last_name'] }} as last_name,
        {{ latest['email'] }} as email,
        {{ latest['phone'] }} as phone,
        {{ latest['job_title'] }} as job_title,
        {{ latest['company_name'] }} as company_name,
        cast(null as bigint) as crm_company_id,
        {{ latest['city'] }} as city,
        {{ latest['country'] }} as country,
        cast(null as varchar) as lifecycle_stage,

        cast(null as date) as date_of_birth,
        cast(null as varchar) as address,
        cast(null as varchar) as postal_code,
        cast(1 as bigint) as distinct_email_count,
        cast(0 as bigint) as distinct_user_id_count,
        cast(1 as bigint) as distinct_first_name_count,

        cast(null as boolean) as is_email_opted_out,
        cast(null as varchar) as email_status,

        max({{ updated }}) as attributes_updated_at,
        min({{ 'declared.' ~ spec['created_at'] if spec.get('created_at') else updated }}) as first_seen_at,
        max({{ updated }}) as last_seen_at

    from {{ ref(spec['model']) }} as declared
    where declared.{{ spec['record_id'] }} is not null
    group by declared.{{ spec['record_id'] }}

),
{%- endfor %}

unioned as (

    select * from contact_records
    union all
    select * from member_records
    union all
    select * from visitor_records
    {%- for name in declared_sources %}
    union all
    select * from declared_{{ name }}_records
    {%- endfor %}

)

select
    unioned.source,
    unioned.source_record_id,
    unioned.source || ':' || unioned.source_record_id as record_key,
    -- name keys for matching: lower case, no accents, letters only; nicknames folded
    coalesce(nicknames.name, {{ name_key('unioned.first_name') }}) as first_name_key,
    {{ name_key('unioned.last_name') }} as last_name_key,
    email_match_key,
    phone_e164,
    secondary_phone_e164,
    user_id,
    {% for attr in profile_attributes -%}
    {{ attr }},
    {% endfor -%}
    date_of_birth,
    address,
    postal_code,
    distinct_email_count,
    distinct_user_id_count,
    distinct_first_name_count,
    is_email_opted_out,
    email_status,
    {{ count_not_null(profile_attributes) }} as completeness,
    attributes_updated_at,
    first_seen_at,
    last_seen_at
from unioned
left join nicknames
    on {{ name_key('unioned.first_name') }} = nicknames.nickname
