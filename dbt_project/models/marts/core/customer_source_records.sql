with

records as (

    select * from {{ ref('int_identity_records') }}

),

components as (

    select * from {{ source('identity', 'int_identity_components') }}

)

select
    records.record_key,
    records.source,
    records.source_record_id,
    components.customer_id,
    components.component_size as customer_record_count,
    components.anchor_record_key = records.record_key as is_anchor_record
from records
inner join components
    on records.record_key = components.record_key
