{#-
    The sessionized web events of visitors resolved to a person, with that person's customer_id
    (customer_source_records, source web_visitors) - for the whole visitor, so the pages seen
    before the visitor identified count for the person too. A view: identity may move any
    visitor on any run, so the person is joined on read, while the sessions stay built per
    changed visitor (int_web_events_sessionized).
-#}
{{ config(materialized='view') }}

select
    events.*,
    visitors.customer_id
from {{ ref('int_web_events_sessionized') }} as events
inner join {{ ref('customer_source_records') }} as visitors
    on visitors.source = 'web_visitors'
    and visitors.source_record_id = events.visitor_id
