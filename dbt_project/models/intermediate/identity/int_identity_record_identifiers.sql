{#-
    Every identifier a source record carries, classified by the identity guardrails. Only
    rows with suppression_reason NULL become edges (int_identity_edges); the others stay here
    so every non-merge is explainable.

    Identifiers: email, phone (and secondary phone), web user id, and the custom identifiers sources
    declare in orchestration/sources.yml (int_identity_custom_identifiers).

    Guardrails, first match wins (a shared device overrides them all for its own record):
      shared_device   a web visitor that identified as several people (see shared_devices)
      junk            value matches a pattern of seed identity_blocklist (test@test.com, 0000...)
                      - the seed is a dependency of this model, read when it runs
      role_mailbox    email whose local part (before any +tag) is in seed role_email_local_parts
      shared          carried by more than var identity_max_records_per_identifier records of
                      one source (one person legitimately has a few CRM duplicates, email
                      members and devices; an office switchboard is on dozens of contacts)
      shared          a phone or user id whose records carry more than var
                      identity_max_emails_per_identifier distinct emails (a person has a work
                      and a private address; a switchboard or shared login has many)
      conflicting     a phone or user id on two records with different emails whose full
                      names are less similar than var identity_min_name_similarity
                      (Jaro-Winkler): two colleagues behind one switchboard, not one
                      person with a typo in the name
-#}

-- depends_on: {{ ref('identity_blocklist') }}

with

records as (

    select * from {{ ref('int_identity_records') }}

),

{#- identifiers sources declare in orchestration/sources.yml (identity_identifiers: a national id, a
    loyalty number), of records that exist -#}
custom_identifiers as (

    select custom.*
    from {{ ref('int_identity_custom_identifiers') }} as custom
    inner join records
        on custom.record_key = records.record_key

),

role_local_parts as (

    select * from {{ ref('role_email_local_parts') }}

),

record_identifiers as (

    select distinct source, source_record_id, record_key, identifier_type, identifier_value
    from (
        select source, source_record_id, record_key, 'email' as identifier_type, email_match_key as identifier_value from records
        union all
        select source, source_record_id, record_key, 'phone', phone_e164 from records
        union all
        select source, source_record_id, record_key, 'phone', secondary_phone_e164 from records
        union all
        select source, source_record_id, record_key, 'user', user_id from records
        union all
        select source, source_record_id, record_key, identifier_type, identifier_value from custom_identifiers
    ) as carried
    where identifier_value is not null

),

records_per_source as (

    select
        identifier_type,
        identifier_value,
        source,
        count(*) as records
    from record_identifiers
    group by identifier_type, identifier_value, source

),

emails_per_identifier as (

    select
        record_identifiers.identifier_type,
        record_identifiers.identifier_value,
        count(distinct records.email_match_key) as emails
    from record_identifiers
    inner join records
        on record_identifiers.record_key = records.record_key
    where record_identifiers.identifier_type <> 'email'
    group by record_identifiers.identifier_type, record_identifiers.identifier_value

),

{#-
    Pairs of records sharing a phone / user id but not their email: do their names agree?
    First and last name are compared on their own (nicknames folded, swapped first/last
    allowed): a family on one home phone shares the last name, not the first.
-#}
name_candidates as (

    {#- each record's name and email beside the identifier, joined once by record_key: the self-join
        below then pairs rows on the identifier alone. (Joining the two sides' records after the
        self-join let DuckDB's planner pick a nested-loop join of records with records on some
        table statistics: minutes instead of a second at 100k people.) -#}
    select
        record_identifiers.identifier_type,
        record_identifiers.identifier_value,
        record_identifiers.record_key,
        records.email_match_key,
        records.first_name_key,
        records.last_name_key
    from record_identifiers
    inner join records
        on record_identifiers.record_key = records.record_key
    where record_identifiers.identifier_type <> 'email'
        and records.first_name_key is not null and records.last_name_key is not null
        and (record_identifiers.identifier_type, record_identifiers.identifier_value) in (
            select identifier_type, identifier_value from records_per_source
            group by identifier_type, identifier_value
            having max(records) <= {{ var('identity_max_records_per_identifier') }}
        )

),

name_conflicts as (

    select
        a.identifier_type,
        a.identifier_value,
        min(greatest(
            least({{ name_similarity('a.first_name_key', 'b.first_name_key') }},
                  {{ name_similarity('a.last_name_key', 'b.last_name_key') }}),
            least({{ name_similarity('a.first_name_key', 'b.last_name_key') }},
                  {{ name_similarity('a.last_name_key', 'b.first_name_key') }})
        )) as min_name_similarity
    from name_candidates as a
    inner join name_candidates as b
        on a.identifier_type = b.identifier_type
        and a.identifier_value = b.identifier_value
        and a.record_key < b.record_key
    where coalesce(a.email_match_key, '') <> coalesce(b.email_match_key, '~')
    group by a.identifier_type, a.identifier_value

),

identifiers as (

    select
        records_per_source.identifier_type,
        records_per_source.identifier_value,
        sum(records_per_source.records) as records_sharing_identifier,
        max(records_per_source.records) as max_records_per_source,
        count(*) as sources_sharing_identifier,
        coalesce(max(emails_per_identifier.emails), 0) as emails_sharing_identifier,
        min(name_conflicts.min_name_similarity) as min_name_similarity
    from records_per_source
    left join emails_per_identifier
        on records_per_source.identifier_type = emails_per_identifier.identifier_type
        and records_per_source.identifier_value = emails_per_identifier.identifier_value
    left join name_conflicts
        on records_per_source.identifier_type = name_conflicts.identifier_type
        and records_per_source.identifier_value = name_conflicts.identifier_value
    group by records_per_source.identifier_type, records_per_source.identifier_value

),

classified as (

    select
        identifiers.*,
        case
            when {{ identity_junk_reason('identifiers.identifier_type', 'identifiers.identifier_value') }} is not null
                then 'junk: ' || {{ identity_junk_reason('identifiers.identifier_type', 'identifiers.identifier_value') }}
            when identifiers.identifier_type = 'email'
                and split_part({{ email_local_part('identifiers.identifier_value') }}, '+', 1)
                    in (select local_part from role_local_parts)
                then 'role_mailbox'
            when identifiers.max_records_per_source > {{ var('identity_max_records_per_identifier') }}
                then 'shared: on more than {{ var("identity_max_records_per_identifier") }} records of one source'
            when identifiers.emails_sharing_identifier > {{ var('identity_max_emails_per_identifier') }}
                then 'shared: with more than {{ var("identity_max_emails_per_identifier") }} distinct emails'
            when identifiers.min_name_similarity < {{ var('identity_min_name_similarity') }}
                then 'conflicting: records with different emails and names'
        end as suppression_reason
    from identifiers

),

{#-
    A web visitor (one anonymousId) that identified as several people - more than one userId,
    more than var identity_max_emails_per_device emails, or different first names - is a
    shared device (a family laptop, a kiosk): none of its identifiers joins anyone.
-#}
shared_devices as (

    select
        record_key,
        'shared_device: identified as ' || case
            when distinct_user_id_count > 1 then distinct_user_id_count || ' user ids'
            when distinct_email_count > {{ var('identity_max_emails_per_device') }} then distinct_email_count || ' emails'
            else distinct_first_name_count || ' first names'
        end as reason
    from records
    where source = 'web_visitors'
        and (distinct_user_id_count > 1
            or distinct_email_count > {{ var('identity_max_emails_per_device') }}
            or distinct_first_name_count > 1)

)

select
    record_identifiers.source,
    record_identifiers.source_record_id,
    record_identifiers.record_key,
    record_identifiers.identifier_type,
    record_identifiers.identifier_value,
    record_identifiers.identifier_type || ':' || record_identifiers.identifier_value as identifier_node,
    cast(classified.records_sharing_identifier as bigint) as records_sharing_identifier,
    classified.max_records_per_source,
    classified.sources_sharing_identifier,
    classified.emails_sharing_identifier,
    classified.min_name_similarity,
    coalesce(shared_devices.reason, classified.suppression_reason) as suppression_reason,
    coalesce(shared_devices.reason, classified.suppression_reason) is null as is_usable
from record_identifiers
inner join classified
    on record_identifiers.identifier_type = classified.identifier_type
    and record_identifiers.identifier_value = classified.identifier_value
left join shared_devices
    on record_identifiers.record_key = shared_devices.record_key
