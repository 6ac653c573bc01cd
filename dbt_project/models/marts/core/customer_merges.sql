{#-
    Profiles merged by identity resolution: the old customer_id, the surviving (older) one,
    the registry run that merged them and why. Read from the persistent id registry
    (schema identity_registry, written by int_identity_components), which no dbt build drops.
-#}
-- depends_on: {{ source('identity', 'int_identity_components') }}
select
    run as registry_run,
    merged_at,
    old_customer_id,
    new_customer_id,
    reason
from identity_registry.customer_merges
