{#-
    What the CRM write-back (reverse ETL) sends: one row per CRM contact of a unified customer,
    with the CDP properties it gets (lead score, lifecycle stage, segments) when the person's
    consent for profiling (purpose `analytics`) holds, and none (NULL) when it does not - the
    export then empties what it wrote to that contact before. The columns are a contract
    (enforced, marts/audiences/crm_contact_writeback.yml): a source never delivered leaves
    values NULL or rows absent, never a different column set.
-#}

with

contacts as (

    select
        source_record_id as crm_contact_id,
        customer_id
    from {{ ref('customer_source_records') }}
    where source = 'crm_contacts'

),

customers as (

    select * from {{ ref('customers') }}

),

profiling_consent as (

    select
        customer_id,
        has_consent
    from {{ ref('consent_ledger') }}
    where purpose = 'analytics'

),

lead_scores as (

    select * from {{ ref('lead_scores') }}

),

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

{#- a customer's segments: the RFM segment and the audiences the customer is in -#}
segment_labels as (

    select customer_id, rfm_segment as segment_label
    from {{ ref('customer_rfm') }}
    where rfm_segment is not null
    union all
    select customer_id, 'email_audience' as segment_label
    from {{ ref('email_audience') }}
    union all
    select customer_id, 'ad_audience' as segment_label
    from {{ ref('ad_audience') }}

),

segments as (

    select
        customer_id,
        {{ sorted_listagg('segment_label', "';'") }} as segments
    from segment_labels
    group by customer_id

),

joined as (

    select
        contacts.crm_contact_id,
        contacts.customer_id,
        coalesce(profiling_consent.has_consent, false) as has_profiling_consent,
        lead_scores.lead_score,
        coalesce(lifecycle.lifecycle_stage, customers.lifecycle_stage) as lifecycle_stage,
        coalesce(segments.segments, '') as segments
    from contacts
    inner join customers
        on contacts.customer_id = customers.customer_id
    left join profiling_consent
        on contacts.customer_id = profiling_consent.customer_id
    left join lead_scores
        on contacts.customer_id = lead_scores.customer_id
    left join lifecycle
        on contacts.customer_id = lifecycle.customer_id
    left join segments
        on contacts.customer_id = segments.customer_id

)

select
    cast(crm_contact_id as string) as crm_contact_id,
    cast(customer_id as string) as customer_id,
    has_profiling_consent,
    cast(case when has_profiling_consent then lead_score end as double) as lead_score,
    cast(case when has_profiling_consent then lifecycle_stage end as string) as lifecycle_stage,
    cast(case when has_profiling_consent then segments end as string) as segments
from joined
