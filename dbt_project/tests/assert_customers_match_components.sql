-- One customer per identity component, and every component is a customer.
with

components as (select distinct customer_id from {{ source('identity', 'int_identity_components') }}),
customers as (select customer_id from {{ ref('customers') }})

select coalesce(components.customer_id, customers.customer_id) as customer_id
from components
full outer join customers
    on components.customer_id = customers.customer_id
where components.customer_id is null or customers.customer_id is null
