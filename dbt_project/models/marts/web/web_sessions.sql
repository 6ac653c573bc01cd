{#-
    One row per web session (var web_session_inactivity_minutes, 30, of inactivity ends it).
    The landing event decides landing page, referrer, UTM tags and channel. customer_id is
    set for every session of a visitor who identified at some point - before or after this
    session - so anonymous browsing is attributed to the person once known.
-#}

with

events as (

    select * from {{ ref('int_web_events_sessionized') }}

),

sessions as (

    select
        session_id,
        any_value(visitor_id) as visitor_id,
        any_value(visitor_session_number) as visitor_session_number,
        any_value(customer_id) as customer_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as event_count,
        count(*) filter (where event_type = 'page') as page_view_count,
        count(distinct page_path) filter (where event_type = 'page') as unique_page_count,
        {{ value_at_min('page_path', 'occurred_at') }} filter (where page_path is not null) as landing_page_path,
        {{ value_at_min('page_url', 'occurred_at') }} filter (where page_url is not null) as landing_page_url,
        {{ value_at_max('page_path', 'occurred_at') }} filter (where page_path is not null) as exit_page_path,
        {{ value_at_min('page_referrer', 'occurred_at') }} as referrer,
        {{ value_at_min('utm_source', 'occurred_at') }} as utm_source,
        {{ value_at_min('utm_medium', 'occurred_at') }} as utm_medium,
        {{ value_at_min('utm_campaign', 'occurred_at') }} as utm_campaign,
        count(*) filter (where event_type = 'identify') > 0 as has_identify
    from events
    group by session_id

)

select
    session_id,
    visitor_id,
    visitor_session_number,
    customer_id,
    customer_id is not null as is_attributed_to_customer,
    started_at,
    ended_at,
    cast({{ dbt.datediff('started_at', 'ended_at', 'millisecond') }} / 1000.0 as double) as duration_seconds,
    event_count,
    page_view_count,
    unique_page_count,
    page_view_count <= 1 and event_count <= 1 as is_bounce,
    landing_page_path,
    landing_page_url,
    exit_page_path,
    referrer,
    utm_source,
    utm_medium,
    utm_campaign,
    {{ marketing_channel('utm_source', 'utm_medium', 'referrer') }} as channel,
    has_identify
from sessions
