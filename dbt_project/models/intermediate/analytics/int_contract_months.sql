{#-
    The revenue model of the KPIs: every closed-won deal is a contract of its own term
    (deals.contract_term_months: the CRM's, else var contract_term_months) starting in its
    close month, bringing amount / term of MRR in each of them. One row per contract and
    month it runs.
-#}

with

deals as (

    select * from {{ ref('deals') }}
    where is_won and closed_at is not null and amount > 0

),

months as (

    select
        deals.deal_id,
        deals.customer_id,
        deals.account_id,
        deals.amount,
        deals.contract_term_months,
        {{ month_start('deals.closed_at') }} as contract_start_month,
        {{ integer_series('0', 'deals.contract_term_months - 1') }} as contract_month_index
    from deals

)

select
    deal_id,
    customer_id,
    account_id,
    -- the paying unit: the account, else the person, else the deal itself
    coalesce(account_id, customer_id, 'deal_' || cast(deal_id as {{ dbt.type_string() }})) as paying_account_key,
    coalesce(customer_id, 'deal_' || cast(deal_id as {{ dbt.type_string() }})) as paying_customer_key,
    contract_start_month,
    contract_term_months,
    contract_month_index,
    {{ add_months('contract_start_month', 'contract_month_index') }} as revenue_month,
    amount / contract_term_months as mrr
from months
