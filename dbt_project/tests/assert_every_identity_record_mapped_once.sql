-- customer_source_records maps every record of int_identity_records exactly once (no fan-out, no loss).
with

records as (select count(*) as n from {{ ref('int_identity_records') }}),
mapped as (select count(*) as n, count(distinct record_key) as n_distinct from {{ ref('customer_source_records') }})

select records.n as records, mapped.n as mapped, mapped.n_distinct as mapped_distinct
from records cross join mapped
where records.n <> mapped.n or mapped.n <> mapped.n_distinct
