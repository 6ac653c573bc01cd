{#- The consent ledger analysts and exports read: one row per customer and purpose. -#}

select
    consent_key,
    customer_id,
    purpose,
    consent_status,
    has_consent,
    lawful_basis,
    decided_by_signal,
    decided_by_source,
    decided_at,
    has_conflicting_records,
    signalling_record_count
from {{ ref('int_consent_resolved') }}
