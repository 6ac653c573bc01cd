{#-
    People the email platform may mail: email-marketing consent holds and the golden email is
    a valid, usable address (well-formed - staging nulls the rest - and not a blocked junk
    value such as test@test.com). Feeds the email export.
-#}

-- depends_on: {{ ref('identity_blocklist') }}

with

customers as (

    select * from {{ ref('customers') }}

)

select
    customers.customer_id,
    customers.email,
    customers.first_name,
    customers.last_name,
    customers.country
from customers
where customers.email_marketing_consent
    and customers.email is not null
    and {{ identity_junk_reason("'email'", 'customers.email') }} is null
