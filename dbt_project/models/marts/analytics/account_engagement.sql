{#-
    ICP fit and engagement of every account (MQA, marketing-qualified account).
      icp_fit_score      100 * ICP points (industry + company size band + country, seed
                         lead_scoring_fit_points) / the most an account can get
      engagement_score   100 * min(sum of its people's engagement + intent points, cap) / cap,
                         cap = engagement + intent max_points (seed lead_scoring_categories)
      is_mqa             icp_fit_score >= var mqa_min_icp_fit_score, engagement_score >=
                         var mqa_min_engagement_score and at least var mqa_min_engaged_people
                         people with engagement or intent points
-#}

with

accounts as (

    select * from {{ ref('accounts') }}

),

scores as (

    select * from {{ ref('lead_scores') }}

),

fit_points as (

    select * from {{ ref('lead_scoring_fit_points') }}

),

categories as (

    select * from {{ ref('lead_scoring_categories') }}

),

icp_max as (

    select sum(max_points) as icp_max_points
    from (
        select attribute, max(points) as max_points
        from fit_points
        where attribute in ('industry', 'company_size', 'country')
        group by attribute
    ) as icp_attribute_max

),

engagement_cap as (

    select sum(max_points) as engagement_max_points
    from categories
    where category in ('engagement', 'intent')

),

account_fit as (

    select
        accounts.account_id,
        {{ company_size_band('accounts.employees') }} as company_size,
        coalesce(industry_points.points, 0) + coalesce(size_points.points, 0) + coalesce(country_points.points, 0) as icp_fit_points
    from accounts
    left join fit_points as industry_points
        on industry_points.attribute = 'industry' and industry_points.value = accounts.industry
    left join fit_points as size_points
        on size_points.attribute = 'company_size' and size_points.value = {{ company_size_band('accounts.employees') }}
    left join fit_points as country_points
        on country_points.attribute = 'country' and country_points.value = accounts.country

),

people as (

    select
        account_id,
        count(*) as people_count,
        count(*) filter (where engagement_points + intent_points > 0) as engaged_people_count,
        count(*) filter (where is_marketing_qualified) as marketing_qualified_people_count,
        sum(engagement_points) as engagement_points,
        sum(intent_points) as intent_points,
        max(lead_score) as max_lead_score,
        max(last_scored_activity_at) as last_engaged_at
    from scores
    where account_id is not null
    group by account_id

),

scored as (

    select
        accounts.account_id,
        accounts.name,
        accounts.domain,
        accounts.industry,
        account_fit.company_size,
        accounts.country,
        account_fit.icp_fit_points,
        {{ round_half_up("100.0 * account_fit.icp_fit_points / nullif(icp_max.icp_max_points, 0)", 2) }} as icp_fit_score,
        coalesce(people.people_count, 0) as people_count,
        coalesce(people.engaged_people_count, 0) as engaged_people_count,
        coalesce(people.marketing_qualified_people_count, 0) as marketing_qualified_people_count,
        {{ round_half_up("coalesce(people.engagement_points, 0)", 4) }} as engagement_points,
        {{ round_half_up("coalesce(people.intent_points, 0)", 4) }} as intent_points,
        {{ round_half_up("100.0 * least(coalesce(people.engagement_points, 0) + coalesce(people.intent_points, 0), engagement_cap.engagement_max_points) / nullif(engagement_cap.engagement_max_points, 0)", 2) }} as engagement_score,
        people.max_lead_score,
        people.last_engaged_at,
        accounts.open_deal_count,
        accounts.won_deal_count
    from accounts
    inner join account_fit
        on accounts.account_id = account_fit.account_id
    left join people
        on accounts.account_id = people.account_id
    cross join icp_max
    cross join engagement_cap

)

select
    *,
    coalesce(icp_fit_score >= {{ var('mqa_min_icp_fit_score') }}
        and engagement_score >= {{ var('mqa_min_engagement_score') }}
        and engaged_people_count >= {{ var('mqa_min_engaged_people') }}, false) as is_mqa
from scored
