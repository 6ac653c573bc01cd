{#-
    Every consent signal per source record and purpose, one row per signal:
      - email platform member status (email_marketing): subscribed = granted,
        unsubscribed = withdrawn, any other status (cleaned, pending, transactional) = none
        (a later status that neither grants nor withdraws);
      - email unsubscribe events (email_marketing): withdrawn;
      - CRM contacts with hs_email_optout (email_marketing): withdrawn;
      - web "Consent Updated" track events (Segment): properties.purposes.<purpose> true /
        false for each purpose in var consent_purposes, lawful basis from
        properties.lawful_basis (default consent).
    state_rank breaks ties between signals of one record at the same instant: withdrawn
    before none before granted (the most restrictive).
-#}

{%- set purposes = var('consent_purposes') -%}

with

components as (

    select * from {{ source('identity', 'int_identity_components') }}

),

members as (

    select * from {{ ref('stg_marketing__email_members') }}

),

email_events as (

    select * from {{ ref('stg_marketing__email_events') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

web_events as (

    select
        *,
        coalesce(anonymous_id, 'user:' || user_id) as visitor_id
    from {{ ref('stg_web__events') }}
    where event_type = 'track'
        and lower(event_name) = 'consent updated'

),

member_status_signals as (

    select
        'email_members' as source,
        member_id as source_record_id,
        'email_marketing' as purpose,
        case status
            when 'subscribed' then 'granted'
            when 'unsubscribed' then 'withdrawn'
            else 'none'
        end as consent_state,
        'consent' as lawful_basis,
        'email_platform.member_status' as signal,
        last_changed_at as occurred_at
    from members
    where last_changed_at is not null

),

unsubscribe_signals as (

    select
        'email_members' as source,
        member_id as source_record_id,
        'email_marketing' as purpose,
        'withdrawn' as consent_state,
        'consent' as lawful_basis,
        'email_platform.unsubscribe_event' as signal,
        occurred_at
    from email_events
    where event_type = 'unsubscribe'
        and member_id is not null

),

crm_optout_signals as (

    select
        'crm_contacts' as source,
        cast(contact_id as {{ dbt.type_string() }}) as source_record_id,
        'email_marketing' as purpose,
        'withdrawn' as consent_state,
        'consent' as lawful_basis,
        'crm.hs_email_optout' as signal,
        coalesce(updated_at, created_at) as occurred_at
    from contacts
    where is_email_opted_out

),

web_signals as (

    {% for purpose in purposes %}
    select
        'web_visitors' as source,
        visitor_id as source_record_id,
        '{{ purpose }}' as purpose,
        case lower({{ json_text('properties', '$.purposes.' ~ purpose) }})
            when 'true' then 'granted'
            when 'false' then 'withdrawn'
        end as consent_state,
        coalesce(nullif(trim({{ json_text('properties', '$.lawful_basis') }}), ''), 'consent') as lawful_basis,
        'web.consent_updated' as signal,
        occurred_at
    from web_events
    where {{ json_text('properties', '$.purposes.' ~ purpose) }} is not null
        and occurred_at is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

unioned as (

    select * from member_status_signals
    union all
    select * from unsubscribe_signals
    union all
    select * from crm_optout_signals
    union all
    select * from web_signals where consent_state is not null

)

select
    components.customer_id,
    unioned.source,
    unioned.source_record_id,
    unioned.purpose,
    unioned.consent_state,
    case unioned.consent_state when 'withdrawn' then 0 when 'none' then 1 else 2 end as state_rank,
    unioned.lawful_basis,
    unioned.signal,
    unioned.occurred_at
from unioned
inner join components
    on components.source = unioned.source
    and components.source_record_id = unioned.source_record_id
