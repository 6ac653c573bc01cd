{#-
    One wide row per person: the golden record (customers) with RFM, lifecycle, lead score
    and the ICP fit / engagement of their account. Audience segment predicates
    (segment_memberships) are written over these columns.
-#}

with

customers as (

    select * from {{ ref('customers') }}

),

rfm as (

    select * from {{ ref('customer_rfm') }}

),

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

scores as (

    select * from {{ ref('lead_scores') }}

),

accounts as (

    select * from {{ ref('account_engagement') }}

)

select
    {{ star_except(['lifecycle_stage', 'lifecycle_stage_source'], 'customers') }},
    customers.lifecycle_stage as crm_lifecycle_stage,

    -- lifecycle
    lifecycle.lifecycle_stage,
    lifecycle.lifecycle_stage_reached_at,
    lifecycle.customer_at,
    lifecycle.churned_at,

    -- rfm
    rfm.recency_days,
    rfm.frequency,
    rfm.monetary,
    rfm.r_score,
    rfm.f_score,
    rfm.m_score,
    rfm.rfm_segment,

    -- lead score
    scores.seniority,
    scores.fit_score,
    scores.engagement_score,
    scores.intent_score,
    scores.lead_score,
    scores.is_marketing_qualified,

    -- account
    accounts.name as account_name,
    accounts.industry as account_industry,
    accounts.company_size as account_company_size,
    accounts.icp_fit_score as account_icp_fit_score,
    accounts.engagement_score as account_engagement_score,
    coalesce(accounts.is_mqa, false) as is_account_mqa
from customers
left join rfm on customers.customer_id = rfm.customer_id
left join lifecycle on customers.customer_id = lifecycle.customer_id
left join scores on customers.customer_id = scores.customer_id
left join accounts on customers.account_id = accounts.account_id
