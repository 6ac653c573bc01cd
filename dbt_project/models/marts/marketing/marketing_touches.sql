{#-
    Every campaign touch of a person: email sends, opens and clicks (email platform events of
    the person's members) and web sessions that landed from a campaign - an ad
    (paid_session: paid search, display, paid social or another tagged medium) or an email
    link (email_session). `campaign` is the utm_campaign tag, the key ad spend and email
    campaigns share, so every touch type of one campaign rolls up together.
-#}

with

email_events as (

    select * from {{ ref('stg_marketing__email_events') }}
    where event_type in ('send', 'open', 'click')
        and occurred_at is not null

),

email_campaigns as (

    select * from {{ ref('stg_marketing__email_campaigns') }}

),

members as (

    select
        source_record_id as member_id,
        customer_id
    from {{ ref('customer_source_records') }}
    where source = 'email_members'

),

sessions as (

    select * from {{ ref('web_sessions') }}
    where utm_campaign is not null

),

{#- one row per ad campaign tag; a tag reused across platforms keeps the first platform / name -#}
ad_campaigns as (

    select
        utm_campaign,
        min(campaign_id) as campaign_id,
        {{ value_at_min('campaign_name', 'campaign_id') }} as campaign_name,
        {{ value_at_min('platform', 'campaign_id') }} as platform
    from {{ ref('stg_marketing__ad_spend') }}
    where utm_campaign is not null
    group by utm_campaign

),

email_campaign_tags as (

    select
        utm_campaign,
        min(campaign_id) as campaign_id,
        {{ value_at_min('campaign_name', 'campaign_id') }} as campaign_name
    from email_campaigns
    where utm_campaign is not null
    group by utm_campaign

),

email_touches as (

    select
        'email:' || email_events.email_event_id as touch_id,
        members.customer_id,
        email_events.occurred_at as touched_at,
        'email_' || email_events.event_type as touch_type,
        'email' as channel,
        coalesce(email_campaigns.utm_campaign, 'email:' || email_events.campaign_id) as campaign,
        email_events.campaign_id,
        email_campaigns.campaign_name,
        'email_platform' as platform,
        'newsletter' as utm_source,
        'email' as utm_medium,
        email_events.member_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        email_events.url as landing_page
    from email_events
    inner join members
        on email_events.member_id = members.member_id
    left join email_campaigns
        on email_events.campaign_id = email_campaigns.campaign_id

),

session_touches as (

    select
        'session:' || sessions.session_id as touch_id,
        sessions.customer_id,
        sessions.started_at as touched_at,
        case when sessions.channel = 'email' then 'email_session' else 'paid_session' end as touch_type,
        sessions.channel,
        sessions.utm_campaign as campaign,
        coalesce(ad_campaigns.campaign_id, email_campaign_tags.campaign_id) as campaign_id,
        coalesce(ad_campaigns.campaign_name, email_campaign_tags.campaign_name) as campaign_name,
        case when sessions.channel = 'email' then 'email_platform' else coalesce(ad_campaigns.platform, sessions.utm_source) end as platform,
        sessions.utm_source,
        sessions.utm_medium,
        cast(null as {{ dbt.type_string() }}) as member_id,
        sessions.session_id,
        sessions.landing_page_path as landing_page
    from sessions
    left join ad_campaigns
        on sessions.utm_campaign = ad_campaigns.utm_campaign
    left join email_campaign_tags
        on sessions.utm_campaign = email_campaign_tags.utm_campaign
    where sessions.customer_id is not null

)

select * from email_touches
union all
select * from session_touches
