{#-
    People the ad platforms (Google Customer Match, Meta custom audiences) may be sent:
    consent for the purpose `ads` holds (consent_ledger) and there is a usable identifier
    (a valid, non-junk golden email, or a phone). The platform-specific normalization and
    SHA-256 hashing happen in the export, per platform.
-#}

-- depends_on: {{ ref('identity_blocklist') }}

with

customers as (

    select * from {{ ref('customers') }}

),

consent as (

    select * from {{ ref('consent_ledger') }}
    where purpose = 'ads'
        and has_consent

),

contactable as (

    select
        customers.customer_id,
        case
            when customers.email is not null
                and {{ identity_junk_reason("'email'", 'customers.email') }} is null
                then customers.email
        end as email,
        customers.phone,
        customers.first_name,
        customers.last_name,
        customers.country
    from customers
    inner join consent
        on customers.customer_id = consent.customer_id

)

select *
from contactable
where email is not null or phone is not null
