{#-
    One row per web session, without the person: the sessions of int_web_events_sessionized
    aggregated. Incremental per visitor like the events it reads: a run re-aggregates the
    visitors whose events hash changed (`_visitor_events_hash`, carried on every session) and
    drops those with no event left. marts.web_sessions adds the person the visitor resolved to.
-#}
{{ config(
    unique_key='visitor_id',
    post_hook=["{{ drop_records_gone_from_source(ref('int_web_events_sessionized'), 'visitor_id', 'visitor_id') }}",
               "{{ log_row_count() }}"],
) }}

with

visitors as (

    -- each visitor's events hash
    select distinct visitor_id, _visitor_events_hash
    from {{ ref('int_web_events_sessionized') }}

),

changed_visitors as (

    select visitor_id
    from visitors
    {{ changed_since_last_build('visitors', 'visitor_id', '_visitor_events_hash') }}

),

events as (

    select *
    from {{ ref('int_web_events_sessionized') }}
    where visitor_id in (select visitor_id from changed_visitors)

),

sessions as (

    select
        session_id,
        any_value(visitor_id) as visitor_id,
        any_value(visitor_session_number) as visitor_session_number,
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
        count(*) filter (where event_type = 'identify') > 0 as has_identify,
        any_value(_visitor_events_hash) as _visitor_events_hash
    from events
    group by session_id

)

select
    session_id,
    visitor_id,
    visitor_session_number,
    started_at,
    ended_at,
    cast({{ timestamp_diff('started_at', 'ended_at', 'millisecond') }} / 1000.0 as double) as duration_seconds,
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
    has_identify,
    _visitor_events_hash
from sessions
