{#-
    Email marketing consent per customer, as the consent ledger (int_consent_resolved,
    purpose email_marketing) decides it; the columns beside it explain the email platform
    and CRM signals behind it. With email platform and CRM signals only, consent holds when
      - at least one of their email platform members is subscribed, and that subscription
        is not older than an unsubscribe event of the same member (latest event wins), and
      - none of their members withdrew (status unsubscribed, or an unsubscribe event later
        than the member's last status change): on conflicting profiles the most restrictive
        wins, and
      - none of their CRM contacts has hs_email_optout.
    Customers without any email member have no consent.
-#}

with

components as (

    select * from {{ ref('int_identity_components') }}

),

members as (

    select * from {{ ref('stg_marketing__email_members') }}

),

email_events as (

    select * from {{ ref('stg_marketing__email_events') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

unsubscribes as (

    select
        member_id,
        max(occurred_at) as last_unsubscribed_at
    from email_events
    where event_type = 'unsubscribe'
    group by member_id

),

member_consent as (

    select
        components.customer_id,
        members.member_id,
        members.status,
        members.last_changed_at,
        unsubscribes.last_unsubscribed_at,
        coalesce(unsubscribes.last_unsubscribed_at > members.last_changed_at, false) as unsubscribed_after_last_change,
        members.status = 'subscribed'
            and not coalesce(unsubscribes.last_unsubscribed_at > members.last_changed_at, false) as is_subscribed,
        members.status = 'unsubscribed'
            or coalesce(unsubscribes.last_unsubscribed_at > members.last_changed_at, false) as has_withdrawn
    from members
    inner join components
        on components.source = 'email_members'
        and components.source_record_id = members.member_id
    left join unsubscribes
        on members.member_id = unsubscribes.member_id

),

member_consent_by_customer as (

    select
        customer_id,
        count(*) as email_member_count,
        bool_or(is_subscribed) as has_subscribed_member,
        bool_or(has_withdrawn) as has_withdrawn_member,
        max(greatest(last_changed_at, coalesce(last_unsubscribed_at, last_changed_at))) as consent_changed_at
    from member_consent
    group by customer_id

),

crm_optout_by_customer as (

    select
        components.customer_id,
        bool_or(contacts.is_email_opted_out) as is_email_opted_out_in_crm
    from contacts
    inner join components
        on components.source = 'crm_contacts'
        and components.source_record_id = cast(contacts.contact_id as varchar)
    group by components.customer_id

),

customers as (

    select distinct customer_id from components

),

ledger as (

    select * from {{ ref('int_consent_resolved') }}
    where purpose = 'email_marketing'

)

select
    customers.customer_id,
    coalesce(member_consent_by_customer.email_member_count, 0) as email_member_count,
    coalesce(member_consent_by_customer.has_subscribed_member, false) as has_subscribed_member,
    coalesce(member_consent_by_customer.has_withdrawn_member, false) as has_withdrawn_member,
    coalesce(crm_optout_by_customer.is_email_opted_out_in_crm, false) as is_email_opted_out_in_crm,
    coalesce(ledger.has_consent, false) as email_marketing_consent,
    coalesce(ledger.decided_at, member_consent_by_customer.consent_changed_at) as consent_changed_at
from customers
left join member_consent_by_customer
    on customers.customer_id = member_consent_by_customer.customer_id
left join crm_optout_by_customer
    on customers.customer_id = crm_optout_by_customer.customer_id
left join ledger
    on customers.customer_id = ledger.customer_id
