{#- Every CRM company record with the account it was unified into, and why. -#}
select
    company_id as crm_company_id,
    account_id,
    anchor_company_id,
    link_reason
from {{ source('identity', 'int_identity_account_clusters') }}
