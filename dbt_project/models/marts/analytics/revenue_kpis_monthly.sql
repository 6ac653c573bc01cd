{#-
    Revenue KPIs per calendar month, from the first month with a deal or revenue to the
    as-of month. Revenue model: a closed-won deal is a contract of its own term
    (deals.contract_term_months) from its close month worth amount / term of MRR each month (int_contract_months).
      mrr / arr          MRR of the contracts running in the month; ARR = 12 * MRR
      arpu / arpa        MRR per paying customer / per paying account
      new / expansion / contraction / churned mrr   movements against the previous month
      nrr                net revenue retention over one month: this month's MRR of the
                         customers who paid last month / their MRR last month
      nrr_12m            the same against twelve months earlier
      win_rate           won / (won + lost) among deals closed in the month
      pipeline_coverage  open pipeline at the month's end / the average closed-won amount of
                         the var pipeline_coverage_trailing_months months up to this one
      romi               revenue of deals won in the month attributed to campaigns (model
                         var attribution_default_model) / ad spend of the month
-#}

with

as_of as (

    select * from {{ ref('int_analytics_as_of') }}

),

contract_months as (

    select * from {{ ref('int_contract_months') }}

),

deals as (

    select * from {{ ref('deals') }}

),

bounds as (

    select
        least(
            (select min(revenue_month) from contract_months),
            (select min(created_month) from deals)
        ) as first_month,
        as_of.as_of_month
    from as_of

),

months as (

    select {{ add_months('first_month', 'month_index') }} as month
    from (
        select first_month, {{ integer_series('0', months_between('first_month', 'as_of_month')) }} as month_index
        from bounds
        where first_month is not null
    ) as month_indexes

),

customer_months as (

    select paying_customer_key, revenue_month as month, sum(mrr) as mrr
    from contract_months
    group by 1, 2

),

{#- each customer-month beside the same customer's MRR one and twelve months earlier -#}
movements as (

    select
        coalesce(cur.month, {{ add_months('prev.month', 1) }}) as month,
        coalesce(cur.mrr, 0) as mrr,
        coalesce(prev.mrr, 0) as previous_mrr
    from customer_months as cur
    full outer join customer_months as prev
        on cur.paying_customer_key = prev.paying_customer_key
        and cur.month = {{ add_months('prev.month', 1) }}

),

movements_12m as (

    select
        {{ add_months('prev.month', 12) }} as month,
        coalesce(cur.mrr, 0) as mrr,
        prev.mrr as previous_mrr
    from customer_months as prev
    left join customer_months as cur
        on cur.paying_customer_key = prev.paying_customer_key
        and cur.month = {{ add_months('prev.month', 12) }}

),

mrr_by_month as (

    select
        month,
        sum(mrr) as mrr,
        sum(mrr) filter (where previous_mrr = 0) as new_mrr,
        sum(mrr - previous_mrr) filter (where previous_mrr > 0 and mrr > previous_mrr) as expansion_mrr,
        sum(previous_mrr - mrr) filter (where mrr > 0 and mrr < previous_mrr) as contraction_mrr,
        sum(previous_mrr) filter (where mrr = 0) as churned_mrr,
        sum(mrr) filter (where previous_mrr > 0) as retained_mrr,
        sum(previous_mrr) as previous_mrr
    from movements
    group by month

),

nrr_12m as (

    select
        month,
        sum(mrr) / nullif(sum(previous_mrr), 0) as nrr_12m
    from movements_12m
    group by 1

),

payers as (

    select
        revenue_month as month,
        count(distinct paying_customer_key) as paying_customers,
        count(distinct paying_account_key) as paying_accounts
    from contract_months
    group by 1

),

closed as (

    select
        closed_month as month,
        count(*) filter (where is_won) as won_deal_count,
        count(*) filter (where is_lost) as lost_deal_count,
        coalesce(sum(amount) filter (where is_won), 0) as won_amount
    from deals
    where is_closed
    group by 1

),

created as (

    select created_month as month, count(*) as new_deal_count, sum(amount) as new_pipeline_amount
    from deals
    group by 1

),

{#- open pipeline at a month's end = running sum of amounts created minus amounts closed -#}
pipeline_deltas as (

    select created_month as month, coalesce(amount, 0) as delta from deals
    union all
    select closed_month, -coalesce(amount, 0) from deals where is_closed

),

pipeline_by_month as (

    select month, sum(delta) as delta from pipeline_deltas group by 1

),

attributed as (

    select closed_month as month, sum(credit_cents) / 100.0 as attributed_revenue
    from {{ ref('attribution_credits') }}
    where attribution_model = '{{ var("attribution_default_model") }}'
    group by 1

),

spend as (

    select {{ month_start('spend_date') }} as month, sum(spend) as ad_spend
    from {{ ref('stg_marketing__ad_spend') }}
    group by 1

),

joined as (

    select
        months.month,
        coalesce(mrr_by_month.mrr, 0) as mrr,
        coalesce(payers.paying_customers, 0) as paying_customers,
        coalesce(payers.paying_accounts, 0) as paying_accounts,
        coalesce(mrr_by_month.new_mrr, 0) as new_mrr,
        coalesce(mrr_by_month.expansion_mrr, 0) as expansion_mrr,
        coalesce(mrr_by_month.contraction_mrr, 0) as contraction_mrr,
        coalesce(mrr_by_month.churned_mrr, 0) as churned_mrr,
        mrr_by_month.retained_mrr / nullif(mrr_by_month.previous_mrr, 0) as nrr,
        nrr_12m.nrr_12m,
        coalesce(closed.won_deal_count, 0) as won_deal_count,
        coalesce(closed.lost_deal_count, 0) as lost_deal_count,
        coalesce(closed.won_amount, 0) as won_amount,
        coalesce(created.new_deal_count, 0) as new_deal_count,
        coalesce(created.new_pipeline_amount, 0) as new_pipeline_amount,
        sum(coalesce(pipeline_by_month.delta, 0)) over (order by months.month rows unbounded preceding) as open_pipeline_amount,
        avg(coalesce(closed.won_amount, 0)) over (
            order by months.month rows between {{ var('pipeline_coverage_trailing_months') }} - 1 preceding and current row
        ) as trailing_avg_won_amount,
        coalesce(attributed.attributed_revenue, 0) as attributed_revenue,
        coalesce(spend.ad_spend, 0) as ad_spend
    from months
    left join mrr_by_month on months.month = mrr_by_month.month
    left join nrr_12m on months.month = nrr_12m.month
    left join payers on months.month = payers.month
    left join closed on months.month = closed.month
    left join created on months.month = created.month
    left join pipeline_by_month on months.month = pipeline_by_month.month
    left join attributed on months.month = attributed.month
    left join spend on months.month = spend.month

)

select
    month,
    {{ round_half_up("mrr", 2) }} as mrr,
    {{ round_half_up("12 * mrr", 2) }} as arr,
    paying_customers,
    paying_accounts,
    {{ round_half_up("mrr / nullif(paying_customers, 0)", 2) }} as arpu,
    {{ round_half_up("mrr / nullif(paying_accounts, 0)", 2) }} as arpa,
    {{ round_half_up("new_mrr", 2) }} as new_mrr,
    {{ round_half_up("expansion_mrr", 2) }} as expansion_mrr,
    {{ round_half_up("contraction_mrr", 2) }} as contraction_mrr,
    {{ round_half_up("churned_mrr", 2) }} as churned_mrr,
    {{ round_half_up("nrr", 4) }} as nrr,
    {{ round_half_up("nrr_12m", 4) }} as nrr_12m,
    won_deal_count,
    lost_deal_count,
    {{ round_half_up("won_deal_count / nullif(won_deal_count + lost_deal_count, 0)", 4) }} as win_rate,
    won_amount,
    new_deal_count,
    new_pipeline_amount,
    open_pipeline_amount,
    {{ round_half_up("open_pipeline_amount / nullif(trailing_avg_won_amount, 0)", 2) }} as pipeline_coverage,
    attributed_revenue,
    ad_spend,
    {{ round_half_up("attributed_revenue / nullif(ad_spend, 0)", 4) }} as romi
from joined
