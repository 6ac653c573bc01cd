{#-
    Lead score of every person, 0-100: a weighted mean of three category scores, each
    100 * min(points, max_points) / max_points (seed lead_scoring_categories: weight and cap).
      fit         job title seniority + the ICP fit of the person's account: industry,
                  company size band, country (account's, else the person's) - points in
                  seed lead_scoring_fit_points
      engagement  web page views and tracked interactions, email opens and clicks
      intent      pricing / demo / contact / sign-up page views, demo requests, trials,
                  every further day with a visit after the first
    Engagement and intent points come from seed lead_scoring_activity_points and are
    recency weighted: an activity d days before the as-of date is worth
    points * 0.5 ^ (d / var lead_score_half_life_days). Activities after the as-of date do
    not count. At or above var lead_score_mql_threshold the lead is marketing qualified.
-#}

with

customers as (

    select * from {{ ref('customers') }}

),

accounts as (

    select * from {{ ref('accounts') }}

),

as_of as (

    select * from {{ ref('int_analytics_as_of') }}

),

fit_points as (

    select * from {{ ref('lead_scoring_fit_points') }}

),

activity_points as (

    select * from {{ ref('lead_scoring_activity_points') }}

),

categories as (

    select * from {{ ref('lead_scoring_categories') }}

),

profile as (

    select
        customers.customer_id,
        customers.account_id,
        {{ job_seniority('customers.job_title') }} as seniority,
        accounts.industry,
        {{ company_size_band('accounts.employees') }} as company_size,
        coalesce(accounts.country, customers.country) as country
    from customers
    left join accounts
        on customers.account_id = accounts.account_id

),

fit as (

    select
        profile.customer_id,
        coalesce(seniority_points.points, 0) as seniority_points,
        coalesce(industry_points.points, 0) + coalesce(size_points.points, 0) + coalesce(country_points.points, 0) as icp_points
    from profile
    left join fit_points as seniority_points
        on seniority_points.attribute = 'seniority' and seniority_points.value = profile.seniority
    left join fit_points as industry_points
        on industry_points.attribute = 'industry' and industry_points.value = profile.industry
    left join fit_points as size_points
        on size_points.attribute = 'company_size' and size_points.value = profile.company_size
    left join fit_points as country_points
        on country_points.attribute = 'country' and country_points.value = profile.country

),

web_events as (

    select * from {{ ref('int_web_events_identified') }}

),

activities as (

    select customer_id, occurred_at, case when event_type = 'page' then 'web_page_view' else 'web_track' end as activity
    from web_events
    where event_type in ('page', 'track')

    union all

    select customer_id, occurred_at,
        case page_path
            when '/pricing' then 'pricing_page_view'
            when '/demo' then 'demo_page_view'
            when '/contact' then 'contact_page_view'
            when '/signup' then 'signup_page_view'
        end
    from web_events
    where event_type = 'page' and page_path in ('/pricing', '/demo', '/contact', '/signup')

    union all

    select customer_id, occurred_at,
        case event_name when 'Demo Requested' then 'demo_requested' else 'trial_started' end
    from web_events
    where event_type = 'track' and event_name in ('Demo Requested', 'Trial Started')

    union all

    -- every further day with a visit after the first
    select customer_id, visit_day, 'repeat_visit_day'
    from (
        select
            customer_id,
            cast(cast(started_at as date) as timestamp) as visit_day,
            row_number() over (partition by customer_id order by cast(started_at as date)) as day_number
        from (select distinct customer_id, cast(started_at as date) as started_at from {{ ref('web_sessions') }} where customer_id is not null) as visit_days
    ) as numbered_visit_days
    where day_number > 1

    union all

    select records.customer_id, email_events.occurred_at, 'email_' || email_events.event_type
    from {{ ref('stg_marketing__email_events') }} as email_events
    inner join {{ ref('customer_source_records') }} as records
        on records.source = 'email_members'
        and records.source_record_id = email_events.member_id
    where email_events.event_type in ('open', 'click')

),

activity_scores as (

    select
        activities.customer_id,
        coalesce(sum(activity_points.points * pow(0.5, greatest({{ days_between('activities.occurred_at', 'as_of.as_of_at') }}, 0) / {{ var('lead_score_half_life_days') }}))
            filter (where activity_points.category = 'engagement'), 0) as engagement_points,
        coalesce(sum(activity_points.points * pow(0.5, greatest({{ days_between('activities.occurred_at', 'as_of.as_of_at') }}, 0) / {{ var('lead_score_half_life_days') }}))
            filter (where activity_points.category = 'intent'), 0) as intent_points,
        max(activities.occurred_at) as last_scored_activity_at
    from activities
    inner join activity_points
        on activities.activity = activity_points.activity
    cross join as_of
    where activities.occurred_at <= as_of.as_of_at
    group by activities.customer_id

),

points as (

    select
        profile.customer_id,
        profile.account_id,
        profile.seniority,
        profile.industry,
        profile.company_size,
        profile.country,
        fit.seniority_points,
        fit.icp_points,
        cast(fit.seniority_points + fit.icp_points as double) as fit_points,
        {{ round_half_up("coalesce(activity_scores.engagement_points, 0)", 4) }} as engagement_points,
        {{ round_half_up("coalesce(activity_scores.intent_points, 0)", 4) }} as intent_points,
        activity_scores.last_scored_activity_at
    from profile
    inner join fit
        on profile.customer_id = fit.customer_id
    left join activity_scores
        on profile.customer_id = activity_scores.customer_id

),

category_caps as (

    select
        max(case when category = 'fit' then weight end) as fit_weight,
        max(case when category = 'fit' then max_points end) as fit_max,
        max(case when category = 'engagement' then weight end) as engagement_weight,
        max(case when category = 'engagement' then max_points end) as engagement_max,
        max(case when category = 'intent' then weight end) as intent_weight,
        max(case when category = 'intent' then max_points end) as intent_max
    from categories

),

scored as (

    select
        points.*,
        {{ round_half_up("100.0 * least(points.fit_points, category_caps.fit_max) / category_caps.fit_max", 2) }} as fit_score,
        {{ round_half_up("100.0 * least(points.engagement_points, category_caps.engagement_max) / category_caps.engagement_max", 2) }} as engagement_score,
        {{ round_half_up("100.0 * least(points.intent_points, category_caps.intent_max) / category_caps.intent_max", 2) }} as intent_score,
        category_caps.fit_weight,
        category_caps.engagement_weight,
        category_caps.intent_weight
    from points
    cross join category_caps

)

select
    customer_id,
    account_id,
    seniority,
    industry,
    company_size,
    country,
    seniority_points,
    icp_points,
    fit_points,
    engagement_points,
    intent_points,
    fit_score,
    engagement_score,
    intent_score,
    {{ round_half_up("(fit_weight * fit_score + engagement_weight * engagement_score + intent_weight * intent_score) / (fit_weight + engagement_weight + intent_weight)", 2) }} as lead_score,
    {{ round_half_up("(fit_weight * fit_score + engagement_weight * engagement_score + intent_weight * intent_score) / (fit_weight + engagement_weight + intent_weight)", 2) }} >= {{ var('lead_score_mql_threshold') }} as is_marketing_qualified,
    last_scored_activity_at
from scored
