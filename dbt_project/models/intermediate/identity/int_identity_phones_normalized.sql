{#-
    Every distinct typed phone number of the sources with its E.164 form, as staging computed it
    (libphonenumber through macro normalize_phone_e164): the lookup int_identity_records joins on
    the typed text and the region it was read in. No number is parsed here.
-#}
with

typed as (

    select phone_raw, {{ phone_region('country') }} as region, phone_e164
    from {{ ref('stg_crm__contacts') }}
    union all
    select mobile_phone_raw, {{ phone_region('country') }}, mobile_phone_e164
    from {{ ref('stg_crm__contacts') }}
    union all
    select phone_raw, {{ phone_region() }}, phone_e164
    from {{ ref('stg_marketing__email_members') }}
    union all
    select phone_raw, {{ phone_region() }}, phone_e164
    from {{ ref('stg_web__events') }}
    where phone_raw is not null

)

select distinct phone_raw, region, phone_e164
from typed
where phone_raw is not null and trim(phone_raw) <> ''
