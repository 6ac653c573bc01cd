{#-
    One row per CRM deal (the latest version), with the person and account it belongs to and
    how long it took to close. The account is the deal's own CRM company, else its contact's
    account.
-#}

with

deals as (

    select * from {{ ref('int_deals_linked') }}

)

select
    deals.deal_id,
    deals.deal_name,
    deals.pipeline,
    deals.deal_stage,
    case deals.deal_stage
        when 'appointmentscheduled' then 1
        when 'qualifiedtobuy' then 2
        when 'presentationscheduled' then 3
        when 'decisionmakerboughtin' then 4
        when 'contractsent' then 5
        when 'closedwon' then 6
        when 'closedlost' then 6
    end as deal_stage_order,
    case
        when deals.is_won then 'won'
        when deals.is_closed then 'lost'
        else 'open'
    end as deal_status,
    deals.is_closed,
    deals.is_won,
    deals.is_closed and not deals.is_won as is_lost,
    deals.amount,
    deals.contract_term_months,
    deals.is_default_contract_term,
    case when deals.is_won then deals.amount / deals.contract_term_months end as mrr,
    deals.customer_id,
    deals.contact_id as crm_contact_id,
    deals.account_id,
    deals.company_id as crm_company_id,
    deals.created_at,
    case when deals.is_closed then deals.closed_at end as closed_at,
    case when not deals.is_closed then deals.closed_at end as expected_close_at,
    {{ month_start('deals.created_at') }} as created_month,
    case when deals.is_closed then {{ month_start('deals.closed_at') }} end as closed_month,
    case when deals.is_closed then {{ days_between('deals.created_at', 'deals.closed_at') }} end as cycle_days,
    deals.updated_at
from deals
