{#-
    Consent per customer and purpose, resolved in two steps:
      1. per source record: the latest signal wins (ties: the most restrictive);
      2. per customer (a merged profile of several records): the most restrictive record
         wins - withdrawn on any record beats granted on another; granted needs at least one
         granting record; otherwise unknown (no signal, or only neutral ones).
    Every customer gets one row per purpose of var consent_purposes.
-#}

{%- set purposes = var('consent_purposes') -%}

with

events as (

    select * from {{ ref('int_consent_events') }}

),

components as (

    select * from {{ source('identity', 'int_identity_components') }}

),

purposes as (

    select * from (values {% for p in purposes %}('{{ p }}'){% if not loop.last %}, {% endif %}{% endfor %}) as t(purpose)

),

latest_per_record as (

    {{ deduplicate(
        relation='events',
        partition_by='customer_id, source, source_record_id, purpose',
        order_by='occurred_at desc, state_rank, signal'
    ) | indent(4) }}

),

deciding as (

    {#- the record that decides: the most restrictive state, then the latest signal -#}
    {{ deduplicate(
        relation='latest_per_record',
        partition_by='customer_id, purpose',
        order_by='state_rank, occurred_at desc, source, source_record_id'
    ) | indent(4) }}

),

per_customer as (

    select
        customer_id,
        purpose,
        count(*) as record_count,
        count(*) filter (where consent_state = 'granted') as granting_record_count,
        count(*) filter (where consent_state = 'withdrawn') as withdrawing_record_count
    from latest_per_record
    group by customer_id, purpose

),

customers as (

    select distinct customer_id from components

)

select
    customers.customer_id || ':' || purposes.purpose as consent_key,
    customers.customer_id,
    purposes.purpose,
    case
        when coalesce(per_customer.withdrawing_record_count, 0) > 0 then 'withdrawn'
        when coalesce(per_customer.granting_record_count, 0) > 0 then 'granted'
        else 'unknown'
    end as consent_status,
    coalesce(per_customer.withdrawing_record_count, 0) = 0
        and coalesce(per_customer.granting_record_count, 0) > 0 as has_consent,
    deciding.lawful_basis,
    deciding.signal as decided_by_signal,
    deciding.source as decided_by_source,
    deciding.occurred_at as decided_at,
    coalesce(per_customer.granting_record_count, 0) > 0
        and coalesce(per_customer.withdrawing_record_count, 0) > 0 as has_conflicting_records,
    coalesce(per_customer.record_count, 0) as signalling_record_count
from customers
cross join purposes
left join per_customer
    on customers.customer_id = per_customer.customer_id
    and purposes.purpose = per_customer.purpose
left join deciding
    on customers.customer_id = deciding.customer_id
    and purposes.purpose = deciding.purpose
