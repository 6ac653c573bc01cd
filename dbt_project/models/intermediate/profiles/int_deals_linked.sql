{#-
    Every CRM deal (its latest version) with the person and the account it belongs to - the one
    place deals are linked to people and accounts (marts deals, customers, accounts and the
    activity profile read it):
      customer_id         the customer of the deal's CRM contact
      account_company_id  anchor company of the account: the account of the deal's own CRM
                          company, else the account of its person (int_customer_accounts_linked)
      account_id          'acc_' + 16 hex of md5(account_company_id)
-#}

with

deals as (

    select * from {{ ref('stg_crm__deals') }}

),

components as (

    select * from {{ source('identity', 'int_identity_components') }}

),

account_clusters as (

    select * from {{ source('identity', 'int_identity_account_clusters') }}

),

account_links as (

    select * from {{ ref('int_customer_accounts_linked') }}

),

linked as (

    select
        deals.deal_id,
        deals.deal_name,
        deals.pipeline,
        deals.deal_stage,
        deals.is_closed,
        deals.is_won,
        deals.amount,
        deals.contract_term_months,
        deals.is_default_contract_term,
        deals.contact_id,
        deals.company_id,
        components.customer_id,
        coalesce(deal_accounts.anchor_company_id, account_links.company_id) as account_company_id,
        deals.created_at,
        deals.closed_at,
        deals.updated_at
    from deals
    left join components
        on components.source = 'crm_contacts'
        and components.source_record_id = cast(deals.contact_id as {{ dbt.type_string() }})
    left join account_clusters as deal_accounts
        on deals.company_id = deal_accounts.company_id
    left join account_links
        on components.customer_id = account_links.customer_id

)

select
    *,
    case when account_company_id is not null then {{ account_id('account_company_id') }} end as account_id
from linked
