{#-
    Multi-touch attribution of closed-won revenue. A won deal's touches are its person's
    marketing touches of the types in var attribution_touch_types that happened in the
    var attribution_lookback_days before the close (inclusive). Each model splits the deal
    amount over them:
      first_touch     all to the first touch
      last_touch      all to the last touch
      linear          evenly
      time_decay      weight 0.5 ^ (days before close / var attribution_half_life_days)
      position_based  var attribution_position_first_share (0.4) to the first,
                      var attribution_position_last_share (0.4) to the last, the rest evenly
                      over the touches between; 50/50 with two touches, all with one
    Credits are whole cents that add up to the deal amount exactly, per deal and model
    (macro allocate_cents). Won deals without an eligible touch are not attributed (their
    revenue shows as unattributed in revenue_kpis_monthly).
-#}
{%- set first_share = var('attribution_position_first_share') -%}
{%- set last_share = var('attribution_position_last_share') -%}

with

won_deals as (

    select * from {{ ref('deals') }}
    where is_won
        and customer_id is not null
        and closed_at is not null
        and amount > 0

),

touches as (

    select * from {{ ref('marketing_touches') }}
    where touch_type in ({% for t in var('attribution_touch_types') %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %})

),

journeys as (

    select
        won_deals.deal_id,
        won_deals.customer_id,
        won_deals.account_id,
        won_deals.amount as deal_amount,
        cast(round(won_deals.amount * 100) as bigint) as amount_cents,
        won_deals.closed_at,
        won_deals.closed_month,
        touches.touch_id,
        touches.touch_type,
        touches.touched_at,
        touches.channel,
        touches.campaign,
        touches.campaign_name,
        touches.platform,
        cast({{ timestamp_diff('touches.touched_at', 'won_deals.closed_at', 'second') }} as double) / 86400 as days_before_close,  -- a double on both engines (Spark keeps 86400.0 a DECIMAL and rounds the quotient)
        row_number() over (partition by won_deals.deal_id order by touches.touched_at, touches.touch_id) as touch_position,
        count(*) over (partition by won_deals.deal_id) as touch_count
    from won_deals
    inner join touches
        on won_deals.customer_id = touches.customer_id
        and touches.touched_at <= won_deals.closed_at
        and touches.touched_at >= {{ dbt.dateadd('day', -var('attribution_lookback_days'), 'won_deals.closed_at') }}

),

weighted as (

    select *, 'first_touch' as attribution_model,
        case when touch_position = 1 then 1.0 else 0.0 end as weight
    from journeys
    union all
    select *, 'last_touch',
        case when touch_position = touch_count then 1.0 else 0.0 end
    from journeys
    union all
    select *, 'linear', 1.0
    from journeys
    union all
    select *, 'time_decay',
        pow(0.5, days_before_close / {{ var('attribution_half_life_days') }})
    from journeys
    union all
    select *, 'position_based',
        case
            when touch_count = 1 then 1.0
            when touch_count = 2 then 0.5
            when touch_position = 1 then {{ first_share }}
            when touch_position = touch_count then {{ last_share }}
            else (1.0 - {{ first_share }} - {{ last_share }}) / (touch_count - 2)
        end
    from journeys

),

allocated as (

    {{ allocate_cents('weighted', 'deal_id, attribution_model', 'touch_position') | indent(4) }}

)

select
    cast(deal_id as {{ dbt.type_string() }}) || '|' || attribution_model || '|' || touch_id as credit_id,
    deal_id,
    attribution_model,
    touch_id,
    customer_id,
    account_id,
    touch_type,
    touched_at,
    touch_position,
    touch_count,
    days_before_close,
    channel,
    campaign,
    campaign_name,
    platform,
    deal_amount,
    closed_at,
    closed_month,
    weight / sum(weight) over (partition by deal_id, attribution_model) as credit_share,
    credit_cents,
    cast(credit_cents as decimal(18, 2)) / 100 as credited_revenue
from allocated
