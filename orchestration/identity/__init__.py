"""Identity resolution in Python: phone normalization, probabilistic matching, the stable
customer-id registry and accuracy measurement. The dbt Python models of
dbt_project/models/intermediate/identity/ and the Dagster asset of defs/identity call these."""
