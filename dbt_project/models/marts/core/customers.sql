with

attributes as (

    select * from {{ ref('int_customer_attributes_survived') }}

),

consent as (

    select * from {{ ref('int_customer_consent_resolved') }}

),

account_links as (

    select * from {{ ref('int_customer_accounts_linked') }}

),

activities as (

    select * from {{ ref('int_customer_activities_aggregated') }}

),

records as (

    select * from {{ ref('int_identity_records') }}

),

components as (

    select * from {{ source('identity', 'int_identity_components') }}

),

records_by_customer as (

    select
        components.customer_id,
        count(*) filter (where records.source = 'crm_contacts') as crm_contact_count,
        count(*) filter (where records.source = 'email_members') as email_member_count,
        count(*) filter (where records.source = 'web_visitors') as web_visitor_count,
        min(records.first_seen_at) as first_seen_at,
        max(records.last_seen_at) as last_seen_at
    from records
    inner join components
        on records.record_key = components.record_key
    group by components.customer_id

),

activities_by_customer as (

    select
        customer_id,
        sum(activity_count) filter (where left(activity_type, 4) = 'web_') as web_event_count,
        min(first_occurred_at) as first_activity_at,
        max(last_occurred_at) as last_activity_at
    from activities
    group by customer_id

),

deals_by_customer as (

    {{ deal_rollup('customer_id') | indent(4) }}

)

select
    attributes.customer_id,

    -- golden record
    attributes.first_name,
    attributes.first_name_source,
    attributes.last_name,
    attributes.last_name_source,
    attributes.email,
    attributes.email_source,
    attributes.phone,
    attributes.phone_source,
    attributes.job_title,
    attributes.job_title_source,
    attributes.company_name,
    attributes.company_name_source,
    account_links.account_id,
    account_links.link_method as account_link_method,
    attributes.city,
    attributes.city_source,
    attributes.country,
    attributes.country_source,
    attributes.lifecycle_stage,
    attributes.lifecycle_stage_source,

    -- consent, one set of columns per purpose of var consent_purposes (the consent ledger)
    {% for purpose in var('consent_purposes') -%}
    consent.{{ purpose }}_consent,
    consent.{{ purpose }}_consent_status,
    consent.{{ purpose }}_consent_since,
    consent.{{ purpose }}_consent_source,
    {% endfor %}

    -- unification
    attributes.source_record_count,
    records_by_customer.crm_contact_count,
    records_by_customer.email_member_count,
    records_by_customer.web_visitor_count,

    -- activity
    least(records_by_customer.first_seen_at, coalesce(activities_by_customer.first_activity_at, records_by_customer.first_seen_at)) as first_seen_at,
    greatest(records_by_customer.last_seen_at, coalesce(activities_by_customer.last_activity_at, records_by_customer.last_seen_at)) as last_seen_at,
    activities_by_customer.last_activity_at,
    cast(coalesce(activities_by_customer.web_event_count, 0) as bigint) as web_event_count,

    -- deals
    coalesce(deals_by_customer.deal_count, 0) as deal_count,
    coalesce(deals_by_customer.open_deal_count, 0) as open_deal_count,
    coalesce(deals_by_customer.won_deal_count, 0) as won_deal_count,
    coalesce(deals_by_customer.won_deal_amount, 0) as won_revenue,
    deals_by_customer.last_won_at

from attributes
left join consent
    on attributes.customer_id = consent.customer_id
left join account_links
    on attributes.customer_id = account_links.customer_id
left join records_by_customer
    on attributes.customer_id = records_by_customer.customer_id
left join activities_by_customer
    on attributes.customer_id = activities_by_customer.customer_id
left join deals_by_customer
    on attributes.customer_id = deals_by_customer.customer_id
