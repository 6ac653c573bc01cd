{#-
    What each customer did, per day and activity type: web events (of identified visitors),
    email opens and clicks, email opt-ins, deals created and deals won. The grain
    (customer, day, type) keeps this small next to the raw events while still answering
    "how many", "when first / last" and "on how many distinct days".
-#}

with

components as (

    select * from {{ source('identity', 'int_identity_components') }}

),

web_events as (

    select * from {{ ref('stg_web__events') }}

),

email_events as (

    select * from {{ ref('stg_marketing__email_events') }}

),

members as (

    select * from {{ ref('stg_marketing__email_members') }}

),

deals as (

    select * from {{ ref('int_deals_linked') }}
    where customer_id is not null

),

activities as (

    select
        components.customer_id,
        'web_' || web_events.event_type as activity_type,
        web_events.occurred_at
    from web_events
    inner join components
        on components.source = 'web_visitors'
        and components.source_record_id = coalesce(web_events.anonymous_id, 'user:' || web_events.user_id)

    union all

    select
        components.customer_id,
        'email_' || email_events.event_type,
        email_events.occurred_at
    from email_events
    inner join components
        on components.source = 'email_members'
        and components.source_record_id = email_events.member_id
    where email_events.event_type in ('open', 'click')

    union all

    select
        components.customer_id,
        'email_opt_in',
        members.opted_in_at
    from members
    inner join components
        on components.source = 'email_members'
        and components.source_record_id = members.member_id
    where members.opted_in_at is not null

    union all

    select customer_id, 'deal_created', created_at from deals

    union all

    select customer_id, 'deal_won', closed_at from deals
    where is_won and closed_at is not null

)

select
    customer_id,
    cast(occurred_at as date) as activity_date,
    activity_type,
    count(*) as activity_count,
    min(occurred_at) as first_occurred_at,
    max(occurred_at) as last_occurred_at
from activities
where occurred_at is not null
group by customer_id, cast(occurred_at as date), activity_type
