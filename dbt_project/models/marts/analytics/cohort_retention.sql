{#-
    Monthly retention matrix of paying customers by cohort = the month of their first
    closed-won deal. A customer is retained in a month while one of their contracts runs
    (a won deal runs its own contract term from its close month; see int_contract_months).
    One row per cohort and month since the cohort's start (0 = the cohort month), up to the
    as-of month.
-#}

with

contract_months as (

    select * from {{ ref('int_contract_months') }}

),

as_of as (

    select * from {{ ref('int_analytics_as_of') }}

),

customer_months as (

    select
        paying_customer_key,
        revenue_month,
        sum(mrr) as mrr
    from contract_months
    group by paying_customer_key, revenue_month

),

cohorts as (

    select
        paying_customer_key,
        min(revenue_month) as cohort_month
    from customer_months
    group by paying_customer_key

),

cohort_sizes as (

    select
        cohorts.cohort_month,
        count(*) as cohort_size,
        sum(customer_months.mrr) as starting_mrr
    from cohorts
    inner join customer_months
        on cohorts.paying_customer_key = customer_months.paying_customer_key
        and cohorts.cohort_month = customer_months.revenue_month
    group by cohorts.cohort_month

),

grid as (

    select
        cohort_sizes.cohort_month,
        {{ integer_series('0', months_between('cohort_sizes.cohort_month', 'as_of.as_of_month')) }} as months_since_first_purchase
    from cohort_sizes
    cross join as_of
    where cohort_sizes.cohort_month <= as_of.as_of_month

),

activity as (

    select
        cohorts.cohort_month,
        {{ months_between('cohorts.cohort_month', 'customer_months.revenue_month') }} as months_since_first_purchase,
        count(*) as retained_customers,
        sum(customer_months.mrr) as mrr
    from customer_months
    inner join cohorts
        on customer_months.paying_customer_key = cohorts.paying_customer_key
    group by 1, 2

)

select
    {{ year_month_text('grid.cohort_month') }} || '+' || cast(grid.months_since_first_purchase as {{ dbt.type_string() }}) as cohort_cell_id,
    grid.cohort_month,
    grid.months_since_first_purchase,
    {{ add_months('grid.cohort_month', 'grid.months_since_first_purchase') }} as activity_month,
    cohort_sizes.cohort_size,
    coalesce(activity.retained_customers, 0) as retained_customers,
    {{ round_half_up("coalesce(activity.retained_customers, 0) / cohort_sizes.cohort_size", 4) }} as retention_rate,
    {{ round_half_up("coalesce(activity.mrr, 0)", 2) }} as mrr,
    {{ round_half_up("coalesce(activity.mrr, 0) / nullif(cohort_sizes.starting_mrr, 0)", 4) }} as revenue_retention_rate
from grid
inner join cohort_sizes
    on grid.cohort_month = cohort_sizes.cohort_month
left join activity
    on grid.cohort_month = activity.cohort_month
    and grid.months_since_first_purchase = activity.months_since_first_purchase
