{#- No identifier node with edges may be carried by more records of one source than var identity_max_records_per_identifier. -#}
{% test identity_edges_respect_fanout_limit(model) %}
    select identifier_node, source, count(distinct record_key) as records
    from {{ model }}
    group by identifier_node, source
    having count(distinct record_key) > {{ var('identity_max_records_per_identifier') }}
{% endtest %}
