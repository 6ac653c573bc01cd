{#-
    Web events cut into sessions: a visitor's (anonymousId, else 'user:' + userId) session
    ends after var web_session_inactivity_minutes without an event. Narrow on purpose: the wide
    event payload stays in staging.

    Per visitor, incremental: each row keeps `_visitor_events_hash`, the sum of the hashes of its
    visitor's events (the columns read here). A run re-sessionizes only the visitors whose sum over
    staging differs - new events (a new day touches ~10 % of the visitors at scale L), a late
    event, events erased or purged - from all their events, and drops the visitors with no event
    left, so the result is the one a full build gives. Which person a visitor is does not live
    here: identity can change for any visitor on any run, so readers join the visitor to
    customer_source_records (source web_visitors) themselves.
-#}
{{ config(
    unique_key='visitor_id',
    post_hook=["{{ drop_records_gone_from_source(ref('stg_web__events'), 'visitor_id', "
               ~ "\"case when occurred_at is not null then coalesce(anonymous_id, 'user:' || user_id) end\") }}",
               "{{ log_row_count() }}"],
) }}

{#- the events read here; listed once, read twice: all of them for the hashes, the changed visitors'
    for the sessions (one CTE read twice would be materialized whole: 10M wide rows at L) -#}
{%- set events -%}
    (
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
    ) as events
{%- endset %}

with

visitor_hashes as (

    select
        visitor_id,
        {{ sum_of_row_hashes('events') }} as _visitor_events_hash
    from {{ events }}
    group by visitor_id

),

changed_visitors as (

    select visitor_id, _visitor_events_hash
    from visitor_hashes
    {{ changed_since_last_build('visitor_hashes', 'visitor_id', '_visitor_events_hash') }}

),

gaps as (

    select
        events.*,
        changed_visitors._visitor_events_hash,
        case
            when lag(occurred_at) over (partition by events.visitor_id order by occurred_at, message_id) is null then 1
            when occurred_at - lag(occurred_at) over (partition by events.visitor_id order by occurred_at, message_id)
                > interval '{{ var('web_session_inactivity_minutes') | int }}' minute then 1
            else 0
        end as is_session_start
    from {{ events }}
    inner join changed_visitors
        on events.visitor_id = changed_visitors.visitor_id

),

numbered as (

    select
        *,
        -- an integer: a sum is a HUGEINT in DuckDB; stored, a filter on 10M of them took 2.4 s at L
        cast(sum(is_session_start) over (partition by visitor_id order by occurred_at, message_id rows unbounded preceding)
             as integer) as visitor_session_number
    from gaps

)

select
    message_id,
    md5(visitor_id || '|' || cast(visitor_session_number as {{ dbt.type_string() }})) as session_id,
    visitor_id,
    visitor_session_number,
    occurred_at,
    is_session_start = 1 as is_session_start,
    event_type,
    event_name,
    page_path,
    page_url,
    page_referrer,
    utm_source,
    utm_medium,
    utm_campaign,
    _visitor_events_hash
from numbered
