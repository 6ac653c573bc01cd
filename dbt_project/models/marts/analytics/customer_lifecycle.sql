{#-
    Lifecycle stage of every person and the moment each stage was reached, from evidence:
      subscriber    first email opt-in (members subscribed now or before), or a CRM contact
                    created as a subscriber
      lead          first identification on the web (identify call, form, sign-up) or CRM
                    contact created at lead stage or beyond
      mql           first hand-raiser on the web (demo request, contact-sales form, sign-up,
                    trial) or the CRM says MQL or beyond
      sql           first deal created or the CRM says SQL or beyond
      opportunity   first deal created or the CRM says opportunity or beyond
      customer      first closed-won deal or the CRM says customer / evangelist
      evangelist    the CRM says evangelist
      churned       a customer whose last contract (a won deal runs its contract term, deals.contract_term_months)
                    ended before the as-of date
    The CRM keeps only the current stage, not when it was set: a stage known only from the
    CRM dates from the contact's last modification (when the CRM last recorded it). The
    funnel lead -> mql -> sql -> opportunity -> customer is cumulative: reaching a stage
    reaches the skipped ones on the same day, so those dates never decrease.
-#}

with

customers as (

    select customer_id, lifecycle_stage as crm_lifecycle_stage from {{ ref('customers') }}

),

as_of as (

    select * from {{ ref('int_analytics_as_of') }}

),

records as (

    select * from {{ ref('customer_source_records') }}

),

contacts as (

    select
        records.customer_id,
        contacts.created_at,
        coalesce(contacts.updated_at, contacts.created_at) as recorded_at,
        case contacts.lifecycle_stage
            when 'subscriber' then 1
            when 'lead' then 2
            when 'marketingqualifiedlead' then 3
            when 'salesqualifiedlead' then 4
            when 'opportunity' then 5
            when 'customer' then 6
            when 'evangelist' then 7
            else 0
        end as stage_rank
    from {{ ref('stg_crm__contacts') }} as contacts
    inner join records
        on records.source = 'crm_contacts'
        and records.source_record_id = cast(contacts.contact_id as {{ dbt.type_string() }})

),

crm_evidence as (

    select
        customer_id,
        min(created_at) filter (where stage_rank = 1) as subscriber_at,
        min(created_at) filter (where stage_rank >= 2) as lead_at,
        min(recorded_at) filter (where stage_rank >= 3) as mql_at,
        min(recorded_at) filter (where stage_rank >= 4) as sql_at,
        min(recorded_at) filter (where stage_rank >= 5) as opportunity_at,
        min(recorded_at) filter (where stage_rank >= 6) as customer_at,
        min(recorded_at) filter (where stage_rank = 7) as evangelist_at
    from contacts
    group by customer_id

),

email_evidence as (

    select
        records.customer_id,
        min(coalesce(members.opted_in_at, members.last_changed_at)) as subscriber_at
    from {{ ref('stg_marketing__email_members') }} as members
    inner join records
        on records.source = 'email_members'
        and records.source_record_id = members.member_id
    where members.status in ('subscribed', 'unsubscribed')
    group by records.customer_id

),

web_evidence as (

    select
        customer_id,
        min(occurred_at) filter (
            where event_type = 'identify'
                or event_name in ('Form Submitted', 'Demo Requested', 'Signed Up', 'Trial Started')
        ) as lead_at,
        min(occurred_at) filter (
            where event_name in ('Demo Requested', 'Signed Up', 'Trial Started')
                or (event_name = 'Form Submitted' and page_path = '/contact')
        ) as mql_at
    from {{ ref('int_web_events_identified') }}
    group by customer_id

),

deal_evidence as (

    select
        customer_id,
        min(created_at) as first_deal_at,
        min(closed_at) filter (where is_won) as first_won_at
    from {{ ref('deals') }}
    where customer_id is not null
    group by customer_id

),

contracts as (

    select
        customer_id,
        max(revenue_month) as last_contract_month
    from {{ ref('int_contract_months') }}
    where customer_id is not null
    group by customer_id

),

evidence as (

    select
        customers.customer_id,
        customers.crm_lifecycle_stage,
        least(email_evidence.subscriber_at, crm_evidence.subscriber_at) as subscriber_at,
        least(web_evidence.lead_at, crm_evidence.lead_at) as lead_evidence_at,
        least(web_evidence.mql_at, crm_evidence.mql_at) as mql_evidence_at,
        least(deal_evidence.first_deal_at, crm_evidence.sql_at) as sql_evidence_at,
        least(deal_evidence.first_deal_at, crm_evidence.opportunity_at) as opportunity_evidence_at,
        least(deal_evidence.first_won_at, crm_evidence.customer_at) as customer_at,
        crm_evidence.evangelist_at,
        -- the first day after the last month a contract runs
        case
            when {{ add_months('contracts.last_contract_month', 1) }} <= as_of.as_of_date
                then cast({{ add_months('contracts.last_contract_month', 1) }} as timestamp)
        end as churned_at
    from customers
    cross join as_of
    left join crm_evidence on customers.customer_id = crm_evidence.customer_id
    left join email_evidence on customers.customer_id = email_evidence.customer_id
    left join web_evidence on customers.customer_id = web_evidence.customer_id
    left join deal_evidence on customers.customer_id = deal_evidence.customer_id
    left join contracts on customers.customer_id = contracts.customer_id

),

cumulative as (

    select
        *,
        least(opportunity_evidence_at, customer_at) as opportunity_at
    from evidence

),

cumulative2 as (

    select *, least(sql_evidence_at, opportunity_at) as sql_at from cumulative

),

cumulative3 as (

    select *, least(mql_evidence_at, sql_at) as mql_at from cumulative2

),

cumulative4 as (

    select *, least(lead_evidence_at, mql_at) as lead_at from cumulative3

),

staged as (

    select
        *,
        case
            when churned_at is not null then 'churned'
            when evangelist_at is not null then 'evangelist'
            when customer_at is not null then 'customer'
            when opportunity_at is not null then 'opportunity'
            when sql_at is not null then 'sql'
            when mql_at is not null then 'mql'
            when lead_at is not null then 'lead'
            when subscriber_at is not null then 'subscriber'
            when crm_lifecycle_stage = 'other' then 'other'
            else 'unknown'
        end as lifecycle_stage
    from cumulative4

)

select
    customer_id,
    lifecycle_stage,
    case lifecycle_stage
        when 'unknown' then 0 when 'other' then 0
        when 'subscriber' then 1 when 'lead' then 2 when 'mql' then 3 when 'sql' then 4
        when 'opportunity' then 5 when 'customer' then 6 when 'evangelist' then 7 when 'churned' then 8
    end as lifecycle_stage_order,
    case lifecycle_stage
        when 'churned' then churned_at
        when 'evangelist' then evangelist_at
        when 'customer' then customer_at
        when 'opportunity' then opportunity_at
        when 'sql' then sql_at
        when 'mql' then mql_at
        when 'lead' then lead_at
        when 'subscriber' then subscriber_at
    end as lifecycle_stage_reached_at,
    subscriber_at,
    lead_at,
    mql_at,
    sql_at,
    opportunity_at,
    customer_at,
    evangelist_at,
    churned_at,
    crm_lifecycle_stage
from staged
