-- Every attribution model hands out exactly the deal amount, to the cent, for every deal.
select
    deal_id,
    attribution_model,
    max(deal_amount) as deal_amount,
    sum(credit_cents) as credited_cents
from {{ ref('attribution_credits') }}
group by deal_id, attribution_model
having sum(credit_cents) <> cast(round(max(deal_amount) * 100) as bigint)
    or count(distinct deal_amount) <> 1
