with

companies as (

    select * from {{ ref('stg_crm__companies') }}

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
        coalesce(companies.company_id, account_links.company_id) as company_id,
        count(*) filter (where not deals.is_closed) as open_deal_count,
        coalesce(sum(deals.amount) filter (where not deals.is_closed), 0) as open_deal_amount,
        count(*) filter (where deals.is_won) as won_deal_count,
        coalesce(sum(deals.amount) filter (where deals.is_won), 0) as won_deal_amount,
        max(deals.closed_at) filter (where deals.is_won) as last_won_at
    from deals
    left join companies
        on deals.company_id = companies.company_id
    left join components
        on components.source = 'crm_contacts'
        and components.source_record_id = cast(deals.contact_id as varchar)
    left join account_links
        on components.customer_id = account_links.customer_id
    where coalesce(companies.company_id, account_links.company_id) is not null
    group by coalesce(companies.company_id, account_links.company_id)

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
left join people_by_account
    on companies.company_id = people_by_account.company_id
left join deals_by_account
    on companies.company_id = deals_by_account.company_id
