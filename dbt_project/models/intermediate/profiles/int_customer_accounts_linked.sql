{#-
    Which account each customer belongs to, and why (accounts are CRM company records unified
    by int_identity_account_clusters; company_id is the account's anchor company):
      crm_company    the golden record's CRM company id (the contact's associatedcompanyid)
      email_domain   otherwise, the work email domain of one of the customer's records equals
                     an account's domain; free-mail domains (seed free_email_domains) never
                     link. Several candidate domains: source priority, then record_key.
    Customers matching neither have no row here.
-#}

with

customers as (

    select * from {{ ref('int_customer_attributes_survived') }}

),

records as (

    select * from {{ ref('int_identity_records') }}

),

components as (

    select * from {{ source('identity', 'int_identity_components') }}

),

companies as (

    select * from {{ ref('stg_crm__companies') }}

),

free_email_domains as (

    select * from {{ ref('free_email_domains') }}

),

account_clusters as (

    select * from {{ source('identity', 'int_identity_account_clusters') }}

),

{#- One account per domain: when CRM duplicates share a domain the oldest company id takes it. -#}
account_domains as (

    select
        companies.domain,
        min(account_clusters.anchor_company_id) as company_id
    from companies
    inner join account_clusters
        on companies.company_id = account_clusters.company_id
    where companies.domain is not null
        and companies.domain not in (select domain from free_email_domains)
    group by companies.domain

),

by_crm_company as (

    select
        customers.customer_id,
        account_clusters.anchor_company_id as company_id,
        'crm_company' as link_method
    from customers
    inner join account_clusters
        on customers.crm_company_id = account_clusters.company_id

),

email_domain_candidates as (

    select
        components.customer_id,
        account_domains.company_id,
        'email_domain' as link_method,
        {{ source_priority('records.source') }} as source_priority,
        records.record_key
    from records
    inner join components
        on records.record_key = components.record_key
    inner join account_domains
        on {{ email_domain('records.email') }} = account_domains.domain
    where components.customer_id not in (select customer_id from by_crm_company)

),

by_email_domain as (

    {{ deduplicate(
        relation='email_domain_candidates',
        partition_by='customer_id',
        order_by='source_priority, record_key'
    ) | indent(4) }}

),

linked as (

    select customer_id, company_id, link_method from by_crm_company
    union all
    select customer_id, company_id, link_method from by_email_domain

)

select
    customer_id,
    {{ account_id('company_id') }} as account_id,
    company_id,
    link_method
from linked
