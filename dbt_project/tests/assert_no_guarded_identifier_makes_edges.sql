-- Role mailboxes and blocked junk values never appear in the identity graph.
-- depends_on: {{ ref('identity_blocklist') }}
with

edges as (select * from {{ ref('int_identity_edges') }}),
role_local_parts as (select * from {{ ref('role_email_local_parts') }})

select edges.identifier_node, 'junk' as reason
from edges
where {{ identity_junk_reason('edges.identifier_type', 'edges.identifier_value') }} is not null

union all

select edges.identifier_node, 'role_mailbox'
from edges
where edges.identifier_type = 'email'
    and split_part(split_part(edges.identifier_value, '@', 1), '+', 1) in (select local_part from role_local_parts)
