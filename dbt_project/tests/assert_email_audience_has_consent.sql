-- Only people with email-marketing consent are ever in the email audience.
select email_audience.customer_id
from {{ ref('email_audience') }} as email_audience
left join {{ ref('customers') }} as customers
    on email_audience.customer_id = customers.customer_id
where not coalesce(customers.email_marketing_consent, false)
