"""Every distinct typed phone number of the sources, normalized to E.164 with libphonenumber.

One row per distinct (phone_raw, region): the region is the record's ISO2 country (CRM
contacts) or var default_phone_country (email members and web traits carry none). Parsing
each distinct value once, not each row, keeps the cost flat however often a number repeats.
phone_e164 is NULL when libphonenumber says the number is not valid for its region.
"""

from orchestration.identity.phones import to_e164


def model(dbt, session):
    dbt.config(materialized="table")
    default_region = dbt.config.get("default_phone_country") or "US"

    # temporary views of the refs, so the query below is plain SQL
    dbt.ref("stg_crm__contacts").create_view("phones_contacts", replace=True)
    dbt.ref("stg_marketing__email_members").create_view("phones_members", replace=True)
    dbt.ref("stg_web__events").create_view("phones_events", replace=True)
    distinct = session.sql(f"""
        select distinct phone_raw, region from (
            select phone_raw, coalesce(country, '{default_region}') as region from phones_contacts
            union all
            select mobile_phone_raw, coalesce(country, '{default_region}') from phones_contacts
            union all
            select phone_raw, '{default_region}' from phones_members
            union all
            select phone_raw, '{default_region}' from phones_events where phone_raw is not null
        ) as typed
        where phone_raw is not null and trim(phone_raw) <> ''
    """).df()
    distinct["phone_e164"] = [to_e164(raw, region, default_region) for raw, region in
                              zip(distinct["phone_raw"], distinct["region"])]
    return distinct.astype({"phone_raw": "string", "region": "string", "phone_e164": "string"})
