{#-
    Audience segment memberships from the segments declared in segment_memberships.yml
    (config.meta.segments): a person is a member while the segment's predicate over
    customer_360 holds and, unless the purpose is 'none', their <purpose>_consent (from the
    consent ledger, for any purpose of var consent_purposes) is true.
    `since` is when they entered: kept from the previous build while they stay in; on entering,
    the analytics as-of moment of the data (int_analytics_as_of: the latest activity), so
    rebuilding the same data gives the same table. Declarations are validated first (macro validated_segments): a bad
    one stops the build with a message naming the segment.
-#}
{%- set segments = validated_segments(config.get('meta', {}).get('segments'), ref('customer_360')) -%}
{{ config(pre_hook="{{ keep_previous_build() }}") }}
{%- set previous = previous_build() -%}

with

profiles as (

    select * from {{ ref('customer_360') }}

),

entered as (

    select coalesce(max(as_of_at), cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)) as entered_at
    from {{ ref('int_analytics_as_of') }}

),

current_members as (

    {% for seg in segments -%}
    -- segment: {{ seg.name }}
    select
        customer_id,
        '{{ seg.name }}' as segment,
        '{{ seg.consent_purpose }}' as consent_purpose
    from profiles
    where ({{ seg.predicate }})
        {%- if seg.consent_purpose != 'none' %}
        and coalesce({{ seg.consent_purpose }}_consent, false)
        {%- endif %}
    {% if not loop.last %}union all
    {% endif -%}
    {%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as {{ dbt.type_string() }}) as segment,
        cast(null as {{ dbt.type_string() }}) as consent_purpose
    where false
    {%- endfor %}

){% if previous is not none %},

previous_members as (

    select customer_id, segment, since from {{ previous }}

){% endif %}

select
    current_members.segment || '|' || current_members.customer_id as membership_id,
    current_members.customer_id,
    current_members.segment,
    {% if previous is not none -%}
    coalesce(previous_members.since, entered.entered_at) as since,
    {%- else -%}
    entered.entered_at as since,
    {%- endif %}
    current_members.consent_purpose
from current_members
cross join entered
{% if previous is not none -%}
left join previous_members
    on current_members.customer_id = previous_members.customer_id
    and current_members.segment = previous_members.segment
{%- endif %}
