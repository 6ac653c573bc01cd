{#-
    Web events cut into sessions: a visitor's (anonymousId, else 'user:' + userId) session
    ends after var web_session_inactivity_minutes without an event. customer_id is the person
    the visitor was resolved to (customer_source_records, source web_visitors) - for the
    whole visitor, so the pages seen before the visitor identified count for the person too.
    Narrow on purpose: the wide event payload stays in staging.
-#}

with

events as (

    select
        message_id,
        coalesce(anonymous_id, 'user:' || user_id) as visitor_id,
        occurred_at,
        event_type,
        event_name,
        page_path,
        page_url,
        page_referrer,
        utm_source,
        utm_medium,
        utm_campaign
    from {{ ref('stg_web__events') }}
    where occurred_at is not null
        and coalesce(anonymous_id, user_id) is not null

),

visitors as (

    select
        source_record_id as visitor_id,
        customer_id
    from {{ ref('customer_source_records') }}
    where source = 'web_visitors'

),

gaps as (

    select
        *,
        case
            when lag(occurred_at) over (partition by visitor_id order by occurred_at, message_id) is null then 1
            when occurred_at - lag(occurred_at) over (partition by visitor_id order by occurred_at, message_id)
                > interval ({{ var('web_session_inactivity_minutes') }}) minute then 1
            else 0
        end as is_session_start
    from events

),

numbered as (

    select
        *,
        sum(is_session_start) over (partition by visitor_id order by occurred_at, message_id rows unbounded preceding) as visitor_session_number
    from gaps

)

select
    numbered.message_id,
    md5(numbered.visitor_id || '|' || cast(numbered.visitor_session_number as {{ dbt.type_string() }})) as session_id,
    numbered.visitor_id,
    numbered.visitor_session_number,
    visitors.customer_id,
    numbered.occurred_at,
    numbered.is_session_start = 1 as is_session_start,
    numbered.event_type,
    numbered.event_name,
    numbered.page_path,
    numbered.page_url,
    numbered.page_referrer,
    numbered.utm_source,
    numbered.utm_medium,
    numbered.utm_campaign
from numbered
left join visitors
    on numbered.visitor_id = visitors.visitor_id
