{#- One row per account (CRM company records unified by int_identity_account_clusters); attributes from the anchor company record. -#}
with

account_clusters as (

    select * from {{ ref('int_identity_account_clusters') }}

),

company_records as (

    select * from {{ ref('stg_crm__companies') }}

),

companies as (

    select company_records.*
    from company_records
    inner join account_clusters
        on company_records.company_id = account_clusters.company_id
    where account_clusters.company_id = account_clusters.anchor_company_id

),

records_by_account as (

    select anchor_company_id as company_id, count(*) as crm_company_record_count
    from account_clusters
    group by anchor_company_id

),

account_links as (

    select * from {{ ref('int_customer_accounts_linked') }}

),

components as (

    select * from {{ ref('int_identity_components') }}

),

deals as (

    select * from {{ ref('stg_crm__deals') }}

),

free_email_domains as (

    select * from {{ ref('free_email_domains') }}

),

people_by_account as (

    select
        company_id,
        count(*) as people_count,
        count(*) filter (where link_method = 'crm_company') as people_linked_by_crm_count,
        count(*) filter (where link_method = 'email_domain') as people_linked_by_domain_count
    from account_links
    group by company_id

),

{#- A deal counts for its own company; a deal without one counts for its contact's account. -#}
deals_by_account as (

    select
        coalesce(deal_accounts.anchor_company_id, account_links.company_id) as company_id,
        count(*) filter (where not deals.is_closed) as open_deal_count,
        coalesce(sum(deals.amount) filter (where not deals.is_closed), 0) as open_deal_amount,
        count(*) filter (where deals.is_won) as won_deal_count,
        coalesce(sum(deals.amount) filter (where deals.is_won), 0) as won_deal_amount,
        max(deals.closed_at) filter (where deals.is_won) as last_won_at
    from deals
    left join account_clusters as deal_accounts
        on deals.company_id = deal_accounts.company_id
    left join components
        on components.source = 'crm_contacts'
        and components.source_record_id = cast(deals.contact_id as varchar)
    left join account_links
        on components.customer_id = account_links.customer_id
    where coalesce(deal_accounts.anchor_company_id, account_links.company_id) is not null
    group by coalesce(deal_accounts.anchor_company_id, account_links.company_id)

)

select
    {{ account_id('companies.company_id') }} as account_id,
    companies.company_id as crm_company_id,
    companies.company_name as name,
    case when companies.domain not in (select domain from free_email_domains) then companies.domain end as domain,
    companies.industry,
    companies.employee_count as employees,
    companies.annual_revenue,
    companies.city,
    companies.country,
    records_by_account.crm_company_record_count,
    coalesce(people_by_account.people_count, 0) as people_count,
    coalesce(people_by_account.people_linked_by_crm_count, 0) as people_linked_by_crm_count,
    coalesce(people_by_account.people_linked_by_domain_count, 0) as people_linked_by_domain_count,
    coalesce(deals_by_account.open_deal_count, 0) as open_deal_count,
    coalesce(deals_by_account.open_deal_amount, 0) as open_deal_amount,
    coalesce(deals_by_account.won_deal_count, 0) as won_deal_count,
    coalesce(deals_by_account.won_deal_amount, 0) as won_deal_amount,
    deals_by_account.last_won_at,
    companies.created_at,
    companies.updated_at
from companies
left join records_by_account
    on companies.company_id = records_by_account.company_id
left join people_by_account
    on companies.company_id = people_by_account.company_id
left join deals_by_account
    on companies.company_id = deals_by_account.company_id
