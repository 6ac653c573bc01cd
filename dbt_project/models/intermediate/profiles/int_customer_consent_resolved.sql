{#-
    Consent of each customer for every purpose of var consent_purposes, one row per customer:
    the consent ledger (intermediate/governance/int_consent_resolved) pivoted, not recomputed -
    per source record the latest signal wins, across the records of a merged profile the most
    restrictive. Per purpose:
      <purpose>_consent          the purpose may be pursued (status granted)
      <purpose>_consent_status   granted, withdrawn or unknown
      <purpose>_consent_since    when the deciding signal was given
      <purpose>_consent_source   the deciding signal (e.g. web.consent_updated, crm.hs_email_optout)
-#}

with

ledger as (

    select * from {{ ref('int_consent_resolved') }}

)

select
    customer_id,
    {% for purpose in var('consent_purposes') -%}
    max(case when purpose = '{{ purpose }}' and has_consent then 1 else 0 end) = 1 as {{ purpose }}_consent,
    coalesce(max(case when purpose = '{{ purpose }}' then consent_status end), 'unknown') as {{ purpose }}_consent_status,
    max(case when purpose = '{{ purpose }}' then decided_at end) as {{ purpose }}_consent_since,
    max(case when purpose = '{{ purpose }}' then decided_by_signal end) as {{ purpose }}_consent_source{% if not loop.last %},{% endif %}
    {% endfor %}
from ledger
group by customer_id
