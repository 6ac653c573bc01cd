{#- Helpers of the analytics marts (sales, web, marketing, analytics, segments). -#}

{#- Marketing channel of a visit or touch from its UTM tags and referrer. -#}
{% macro marketing_channel(utm_source, utm_medium, referrer) -%}
    case
        when {{ utm_medium }} in ('email', 'newsletter') then 'email'
        when {{ utm_medium }} in ('cpc', 'ppc', 'paid_search', 'sem') then 'paid_search'
        when {{ utm_medium }} in ('display', 'banner', 'cpm') then 'display'
        when {{ utm_medium }} in ('paid_social', 'social_paid', 'paidsocial') then 'paid_social'
        when {{ utm_medium }} is not null then 'other_campaign'
        when {{ referrer }} is null then 'direct'
        when {{ regexp_contains(referrer, '://([a-z0-9-]+\\.)*(google|bing|duckduckgo|yahoo|ecosia)\\.') }} then 'organic_search'
        when {{ regexp_contains(referrer, '://([a-z0-9-]+\\.)*(linkedin|facebook|instagram|t\\.co|twitter|x\\.com|reddit)') }} then 'organic_social'
        else 'referral'
    end
{%- endmacro %}

{#- Seniority of a job title: c_level, vp, director, manager, individual; NULL without a title. -#}
{% macro job_seniority(title) -%}
    case
        when {{ title }} is null then null
        when {{ regexp_contains('lower(' ~ title ~ ')', '(^|[^a-z])(ceo|cto|cfo|coo|cmo|cio|chief|founder|co-founder|owner|president)([^a-z]|$)') }} then 'c_level'
        when {{ regexp_contains('lower(' ~ title ~ ')', '(^|[^a-z])(vp|vice president|head of)([^a-z]|$)') }} then 'vp'
        when {{ regexp_contains('lower(' ~ title ~ ')', '(^|[^a-z])director') }} then 'director'
        when {{ regexp_contains('lower(' ~ title ~ ')', '(manager|lead)([^a-z]|$)') }} then 'manager'
        else 'individual'
    end
{%- endmacro %}

{#- Employee count band of a company, the values seed lead_scoring_fit_points uses. -#}
{% macro company_size_band(employees) -%}
    case
        when {{ employees }} is null then null
        when {{ employees }} <= 10 then '1-10'
        when {{ employees }} <= 50 then '11-50'
        when {{ employees }} <= 200 then '51-200'
        when {{ employees }} <= 1000 then '201-1000'
        else '1001+'
    end
{%- endmacro %}

{#- A deal's contract term in whole months from the CRM text, NULL when missing or unreadable
    (not a whole number, or outside 1..var contract_term_max_months). -#}
{% macro contract_term(text_expr) -%}
    {%- set months = 'try_cast(trim(' ~ text_expr ~ ') as double)' -%}
    case
        when {{ months }} between 1 and {{ var('contract_term_max_months') }} and {{ months }} = floor({{ months }})
            then cast({{ months }} as integer)
    end
{%- endmacro %}

{#- Deals of int_deals_linked rolled up to `key` (customer_id, account_company_id): counts and
    amounts of all, open and won deals, and the last win. One row per non-NULL key. -#}
{% macro deal_rollup(key) -%}
    select
        {{ key }},
        count(*) as deal_count,
        count(*) filter (where not is_closed) as open_deal_count,
        coalesce(sum(amount) filter (where not is_closed), 0) as open_deal_amount,
        count(*) filter (where is_won) as won_deal_count,
        coalesce(sum(amount) filter (where is_won), 0) as won_deal_amount,
        max(closed_at) filter (where is_won) as last_won_at
    from {{ ref('int_deals_linked') }}
    where {{ key }} is not null
    group by {{ key }}
{%- endmacro %}

{#- First day of the month of a timestamp or date. -#}
{% macro month_start(expr) -%}
    cast(date_trunc('month', {{ expr }}) as date)
{%- endmacro %}

{#- Whole months from the month of `start_expr` to the month of `end_expr`. -#}
{% macro months_between(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('months_between', 'customer_warehouse')(start_expr, end_expr)) }}
{%- endmacro %}
{% macro default__months_between(start_expr, end_expr) -%}
    date_diff('month', cast(date_trunc('month', {{ start_expr }}) as date), cast(date_trunc('month', {{ end_expr }}) as date))
{%- endmacro %}
{% macro spark__months_between(start_expr, end_expr) -%}
    cast(months_between(trunc({{ end_expr }}, 'MM'), trunc({{ start_expr }}, 'MM')) as int)
{%- endmacro %}

{#-
    Split each group's `amount_cents` (integer cents, the same on every row of a
    `partition_by` group) over the group's rows in proportion to their `weight`, in whole
    cents that sum to the amount exactly (largest remainder: every row gets the floor of its
    exact share; the cents left go one each to the rows with the largest fractional parts,
    ties by `order_by`). Returns the relation's columns plus credit_cents.
-#}
{% macro allocate_cents(relation, partition_by, order_by) -%}
    with _shares as (
        select
            *,
            -- rounded to 1e-6 cent so float noise can never push a floor past an integer
            {{ round_half_up('case when sum(weight) over (partition by ' ~ partition_by ~ ') > 0
                       then amount_cents * weight / sum(weight) over (partition by ' ~ partition_by ~ ')
                       else 0 end', 6) }} as exact_cents
        from {{ relation }}
    ),
    _floored as (
        select
            *,
            cast(floor(exact_cents) as bigint) as floor_cents
        from _shares
    ),
    _ranked as (
        select
            *,
            amount_cents - sum(floor_cents) over (partition by {{ partition_by }}) as leftover_cents,
            row_number() over (partition by {{ partition_by }} order by exact_cents - floor_cents desc, {{ order_by }}) as leftover_rank
        from _floored
    )
    select
        {{ star_except(['exact_cents', 'floor_cents', 'leftover_cents', 'leftover_rank']) }},
        floor_cents + case when leftover_rank <= leftover_cents then 1 else 0 end as credit_cents
    from _ranked
{%- endmacro %}

{#- The analytics as-of moment: var analytics_as_of_date, else the latest activity. -#}
{% macro analytics_as_of_sql() -%}
    {%- if var('analytics_as_of_date', '') -%}
    cast('{{ var("analytics_as_of_date") }}' as timestamp) + interval 1 day - interval 1 microsecond
    {%- else -%}
    (select coalesce(max(last_occurred_at), max(first_occurred_at)) from {{ ref('int_customer_activities_aggregated') }})
    {%- endif -%}
{%- endmacro %}
