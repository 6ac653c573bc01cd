{#-
    One row per web session (var web_session_inactivity_minutes, 30, of inactivity ends it).
    The landing event decides landing page, referrer, UTM tags and channel. customer_id is
    set for every session of a visitor who identified at some point - before or after this
    session - so anonymous browsing is attributed to the person once known. The sessions are
    built per changed visitor (int_web_sessions); the person is joined here, on every build,
    because identity can move any visitor on any run.
-#}

with

sessions as (

    select * from {{ ref('int_web_sessions') }}

),

visitors as (

    select source_record_id as visitor_id, customer_id
    from {{ ref('customer_source_records') }}
    where source = 'web_visitors'

)

select
    sessions.session_id,
    sessions.visitor_id,
    sessions.visitor_session_number,
    visitors.customer_id,
    visitors.customer_id is not null as is_attributed_to_customer,
    sessions.started_at,
    sessions.ended_at,
    sessions.duration_seconds,
    sessions.event_count,
    sessions.page_view_count,
    sessions.unique_page_count,
    sessions.is_bounce,
    sessions.landing_page_path,
    sessions.landing_page_url,
    sessions.exit_page_path,
    sessions.referrer,
    sessions.utm_source,
    sessions.utm_medium,
    sessions.utm_campaign,
    sessions.channel,
    sessions.has_identify
from sessions
left join visitors
    on sessions.visitor_id = visitors.visitor_id
