{#-
    RFM scoring of every customer.
      recency_days   days from the last closed-won deal (customers who bought) or else the
                     last activity (web event, email open/click, opt-in, deal created; last
                     seen in any source when there is none) to the as-of date: var
                     rfm_as_of_date, by default the latest activity in the data.
      frequency      distinct days with any activity
      monetary       closed-won revenue
    Scores 1-5, 5 best: r and f are quintiles (ntile(5)) of all customers; most customers
    never bought, so m is 1 without revenue and 2-5 by revenue quartile (ntile(4)) among
    buyers. Equal values share a score: the lowest their group reaches. The segment is the first row of seed
    rfm_segments (by priority) whose score ranges contain the customer's scores.
-#}

with

customers as (

    select * from {{ ref('customers') }}

),

activities as (

    select * from {{ ref('int_customer_activities_aggregated') }}

),

segments as (

    select * from {{ ref('rfm_segments') }}

),

as_of as (

    {#- one row either way (a set date must not be repeated per activity row) -#}
    {% if var('rfm_as_of_date', '') -%}
    select cast('{{ var("rfm_as_of_date") }}' as timestamp) as as_of_at
    {%- else -%}
    select coalesce(max(last_occurred_at), max(first_occurred_at)) as as_of_at
    from activities
    {%- endif %}

),

activity_days as (

    select
        customer_id,
        count(distinct activity_date) as active_days
    from activities
    group by customer_id

),

measures as (

    select
        customers.customer_id,
        customers.lifecycle_stage,
        coalesce(customers.last_won_at, customers.last_activity_at, customers.last_seen_at) as recency_reference_at,
        greatest({{ days_between('coalesce(customers.last_won_at, customers.last_activity_at, customers.last_seen_at)', 'coalesce(as_of.as_of_at, customers.last_seen_at)') }}, 0) as recency_days,
        coalesce(activity_days.active_days, 0) as frequency,
        customers.won_revenue as monetary
    from customers
    cross join as_of
    left join activity_days
        on customers.customer_id = activity_days.customer_id

),

quintiles as (

    select
        *,
        ntile(5) over (order by recency_days desc, customer_id) as r_quintile,
        ntile(5) over (order by frequency, customer_id) as f_quintile,
        case when monetary > 0 then ntile(4) over (partition by monetary > 0 order by monetary, customer_id) end as m_buyer_quartile
    from measures

),

scored as (

    select
        customer_id,
        lifecycle_stage,
        recency_reference_at,
        recency_days,
        frequency,
        monetary,
        min(r_quintile) over (partition by recency_days) as r_score,
        min(f_quintile) over (partition by frequency) as f_score,
        case
            when monetary > 0 then 1 + min(m_buyer_quartile) over (partition by monetary)
            else 1
        end as m_score
    from quintiles

),

segment_matches as (

    select
        scored.*,
        segments.segment as rfm_segment,
        segments.priority as segment_priority
    from scored
    inner join segments
        on scored.r_score between segments.r_min and segments.r_max
        and scored.f_score between segments.f_min and segments.f_max
        and scored.m_score between segments.m_min and segments.m_max

),

first_matching_segment as (

    {{ deduplicate(
        relation='segment_matches',
        partition_by='customer_id',
        order_by='segment_priority'
    ) | indent(4) }}

)

select
    scored.customer_id,
    scored.recency_reference_at,
    scored.recency_days,
    scored.frequency,
    scored.monetary,
    scored.r_score,
    scored.f_score,
    scored.m_score,
    cast(scored.r_score as {{ dbt.type_string() }}) || cast(scored.f_score as {{ dbt.type_string() }}) || cast(scored.m_score as {{ dbt.type_string() }}) as rfm_cell,
    first_matching_segment.rfm_segment,
    scored.lifecycle_stage
from scored
left join first_matching_segment
    on scored.customer_id = first_matching_segment.customer_id
