{#- The identity graph: source record node -> identifier node, for identifiers that passed the guardrails.
    A view: a filter its two readers (matching, components) apply as they read, not a copy of
    millions of rows written on every run. -#}
{{ config(materialized='view') }}

with

record_identifiers as (

    select * from {{ ref('int_identity_record_identifiers') }}

)

select
    source,
    source_record_id,
    record_key,
    identifier_type,
    identifier_value,
    identifier_node,
    records_sharing_identifier
from record_identifiers
where is_usable
