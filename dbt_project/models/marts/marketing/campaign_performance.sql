{#-
    Campaign results per attribution model: touches, attributed deals and revenue, ad spend
    and ROMI = attributed revenue / ad spend (NULL without spend, e.g. email campaigns).
    One row per campaign (utm_campaign tag) and attribution model.
-#}

with

touches as (

    select * from {{ ref('marketing_touches') }}

),

credits as (

    select * from {{ ref('attribution_credits') }}

),

ad_spend as (

    select
        utm_campaign as campaign,
        {{ value_at_min('campaign_name', 'campaign_id') }} as campaign_name,
        {{ value_at_min('platform', 'campaign_id') }} as platform,
        sum(spend) as ad_spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        min(spend_date) as first_spend_date,
        max(spend_date) as last_spend_date
    from {{ ref('stg_marketing__ad_spend') }}
    where utm_campaign is not null
    group by utm_campaign

),

touches_by_campaign as (

    select
        campaign,
        {{ value_at_min('campaign_name', 'touched_at') }} as campaign_name,
        {{ value_at_min('platform', 'touched_at') }} as platform,
        {{ most_frequent('channel') }} as channel,
        count(*) as touch_count,
        count(distinct customer_id) as people_touched
    from touches
    group by campaign

),

campaigns as (

    select campaign from touches_by_campaign
    union
    select campaign from ad_spend

),

models as (

    select * from (values ('first_touch'), ('last_touch'), ('linear'), ('time_decay'), ('position_based')) as m (attribution_model)

),

credits_by_campaign as (

    select
        campaign,
        attribution_model,
        count(distinct deal_id) as attributed_deal_count,
        sum(credit_cents) as attributed_revenue_cents
    from credits
    group by campaign, attribution_model

)

select
    campaigns.campaign || '|' || models.attribution_model as campaign_model_id,
    campaigns.campaign,
    models.attribution_model,
    coalesce(ad_spend.campaign_name, touches_by_campaign.campaign_name) as campaign_name,
    coalesce(ad_spend.platform, touches_by_campaign.platform) as platform,
    coalesce(touches_by_campaign.channel, 'paid') as channel,
    coalesce(touches_by_campaign.touch_count, 0) as touch_count,
    coalesce(touches_by_campaign.people_touched, 0) as people_touched,
    coalesce(credits_by_campaign.attributed_deal_count, 0) as attributed_deal_count,
    cast(coalesce(credits_by_campaign.attributed_revenue_cents, 0) as decimal(18, 2)) / 100 as attributed_revenue,
    coalesce(ad_spend.ad_spend, 0) as ad_spend,
    ad_spend.impressions,
    ad_spend.clicks,
    case when ad_spend.ad_spend > 0
        then {{ round_half_up("cast(coalesce(credits_by_campaign.attributed_revenue_cents, 0) as double) / 100 / cast(ad_spend.ad_spend as double)", 4) }}
    end as romi,
    ad_spend.first_spend_date,
    ad_spend.last_spend_date
from campaigns
cross join models
left join touches_by_campaign
    on campaigns.campaign = touches_by_campaign.campaign
left join ad_spend
    on campaigns.campaign = ad_spend.campaign
left join credits_by_campaign
    on campaigns.campaign = credits_by_campaign.campaign
    and models.attribution_model = credits_by_campaign.attribution_model
