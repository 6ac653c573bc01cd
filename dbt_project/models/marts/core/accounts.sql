{#- One row per account (CRM company records unified by int_identity_account_clusters); attributes from the anchor company record. -#}
with

account_clusters as (

    select * from {{ source('identity', 'int_identity_account_clusters') }}

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

{#- A deal counts for its own company's account, else its contact's account (int_deals_linked). -#}
deals_by_account as (

    {{ deal_rollup('account_company_id') | indent(4) }}

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
    on companies.company_id = deals_by_account.account_company_id
