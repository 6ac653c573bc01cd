{#- Built per delivery day (Dagster's daily partitions of raw/web_events): a run for the days
    [CDW_EVENT_DAYS_START, CDW_EVENT_DAYS_END) deletes and re-inserts exactly those days, so re-running
    a day is idempotent and a new day costs a day's work. Without them (a first build, a
    full refresh, dbt by hand) every day is built. The row count is logged again after the
    delete of rows gone from raw (the project's count hook runs before a model's own hooks).
    On Spark a table rebuilt in full (Parquet has no DELETE; dbt_project/README.md, "Spark"). -#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='delivery_day',
    on_schema_change='append_new_columns',
    tags=['daily_partitioned'],
    post_hook=["{{ drop_rows_gone_from_source(source('raw', 'web_events'), '_file, _line') }}",
               "{{ log_row_count() }}"],
) }}
{#- The window comes from the environment, not --vars: changing vars makes dbt re-parse the
    whole project (seconds), an env var only the files that read it. -#}
{%- set days_start = env_var('CDW_EVENT_DAYS_START', '') -%}
{%- set days_end = env_var('CDW_EVENT_DAYS_END', '') -%}

{#- The Segment message fields this model reads; JSON is parsed once into this shape. -#}
{%- set segment_message = {
    'messageId': 'VARCHAR', 'type': 'VARCHAR', 'event': 'VARCHAR', 'name': 'VARCHAR',
    'anonymousId': 'VARCHAR', 'userId': 'VARCHAR', 'timestamp': 'VARCHAR', 'properties': 'JSON',
    'traits': {'email': 'VARCHAR', 'firstName': 'VARCHAR', 'lastName': 'VARCHAR', 'phone': 'VARCHAR'},
    'context': {
        'page': {'path': 'VARCHAR', 'url': 'VARCHAR', 'referrer': 'VARCHAR', 'title': 'VARCHAR'},
        'campaign': {'source': 'VARCHAR', 'medium': 'VARCHAR', 'name': 'VARCHAR'},
        'traits': {'email': 'VARCHAR', 'firstName': 'VARCHAR', 'lastName': 'VARCHAR', 'phone': 'VARCHAR'},
        'ip': 'VARCHAR', 'userAgent': 'VARCHAR',
    },
} -%}

with

source as (

    select * from {{ source('raw', 'web_events') }}
    {%- if is_incremental() and days_start and days_end %}
    where _delivery_day >= date '{{ days_start }}' and _delivery_day < date '{{ days_end }}'
    {%- endif %}

),

{#- Parsing ~25 fields one by one re-reads the document each time; parse it once. -#}
parsed as (

    select
        {{ parse_json_struct('payload', segment_message) }} as msg,
        _file,
        _line,
        _loaded_at,
        _delivery_day
    from source

),

renamed as (

    select
        -- ids
        msg.messageId as message_id,
        nullif(trim(msg.anonymousId), '') as anonymous_id,
        nullif(trim(msg.userId), '') as user_id,

        -- event
        lower(msg.type) as event_type,
        case lower(msg.type)
            when 'track' then msg.event
            when 'page' then coalesce(msg.name, msg.context.page.title)
            when 'screen' then msg.name
        end as event_name,
        cast(msg.properties as {{ dbt.type_string() }}) as properties,

        -- page
        msg.context.page.path as page_path,
        msg.context.page.url as page_url,
        nullif(msg.context.page.referrer, '') as page_referrer,
        msg.context.page.title as page_title,

        -- campaign
        lower(msg.context.campaign.source) as utm_source,
        lower(msg.context.campaign.medium) as utm_medium,
        lower(msg.context.campaign.name) as utm_campaign,

        -- traits (who the visitor says they are): identify calls carry them at the top
        -- level, track / page calls under context.traits
        coalesce(msg.traits.email, msg.context.traits.email) as email_raw,
        {{ normalize_email('coalesce(msg.traits.email, msg.context.traits.email)') }} as email,
        {{ email_match_key(normalize_email('coalesce(msg.traits.email, msg.context.traits.email)')) }} as email_match_key,
        {{ clean_text('coalesce(msg.traits.firstName, msg.context.traits.firstName)') }} as first_name,
        {{ clean_text('coalesce(msg.traits.lastName, msg.context.traits.lastName)') }} as last_name,
        coalesce(msg.traits.phone, msg.context.traits.phone) as phone_raw,
        {{ normalize_phone_e164('coalesce(msg.traits.phone, msg.context.traits.phone)') }} as phone_e164,

        -- device
        msg.context.ip as ip_address,
        msg.context.userAgent as user_agent,

        -- timestamps
        {{ to_utc_timestamp('msg.timestamp') }} as occurred_at,

        -- lineage
        _file,
        _line,
        _loaded_at,
        _delivery_day as delivery_day

    from parsed

),

{#- Segment delivers at least once: the copies of a messageId are the same event, keep the first
    loaded - also across days: a copy re-delivered on a later day than one already built is dropped. -#}
deduplicated as (

    {{ deduplicate(
        relation='renamed',
        partition_by='message_id',
        order_by='_loaded_at, _file, _line',
        row_key='_file, _line, _loaded_at'
    ) }}

)

select * from deduplicated
{%- if is_incremental() and days_start and days_end %}
where not exists (
    select 1 from {{ this }} as built
    where built.message_id = deduplicated.message_id
      and (built.delivery_day < date '{{ days_start }}' or built.delivery_day >= date '{{ days_end }}')
)
{%- endif %}
