{#-
    Your own identifiers (orchestration/sources.yml, `identity_identifiers`): the SQL of
    int_identity_custom_identifiers, generated from the declarations, so no model is written per
    identifier. They reach dbt checked, as JSON in CDW_IDENTITY_IDENTIFIERS
    (orchestration/identity/custom_identifiers.py sets it before each dbt step): a list of
    {source, type, column}, or {error} naming the entry of sources.yml that is wrong, raised when
    the model runs. Unset (dbt run by hand without it): no declared identifier.

    One row per record and declared type: the record's latest value (by load time) of the column,
    trimmed, upper case, spaces, dots and dashes removed ('123-45-6789' = '123 45 6789'). The record
    id is derived as staging derives it: CRM contacts by hs_object_id, email members by member_id.
-#}
{% macro custom_identifiers() -%}
    {%- set declared = fromjson(env_var('CDW_IDENTITY_IDENTIFIERS', '[]')) -%}
    {%- if declared is mapping -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error(declared.get('error', 'CDW_IDENTITY_IDENTIFIERS is not a list of declarations')) }}
        {%- endif -%}
        {%- set declared = [] -%}
    {%- endif -%}
    {%- set record_ids = {
        'crm_contacts': 'cast(try_cast(hs_object_id as bigint) as ' ~ dbt.type_string() ~ ')',
        'email_members': 'trim(member_id)',
    } -%}
    {%- set raw = {'crm_contacts': source('raw', 'crm_contacts'), 'email_members': source('raw', 'email_members')} -%}
    {%- for d in declared %}
    {%- set value = "nullif(upper(" ~ regexp_replace_all("trim(cast(" ~ adapter.quote(d['column']) ~ " as " ~ dbt.type_string() ~ "))", "[\\s.\\-]", "") ~ "), '')" %}
    select source, source_record_id, record_key, identifier_type, identifier_value
    from (
        select
            '{{ d["source"] }}' as source,
            record_id as source_record_id,
            '{{ d["source"] }}:' || record_id as record_key,
            '{{ d["type"] }}' as identifier_type,
            {{ value_at_max('value', '_loaded_at') }} as identifier_value
        from (
            select {{ record_ids[d['source']] }} as record_id, {{ value }} as value, _loaded_at
            from {{ raw[d['source']] }}
        ) as declared_column
        where record_id is not null
        group by record_id
    ) as latest
    where identifier_value is not null
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select
        {%- for column in ['source', 'source_record_id', 'record_key', 'identifier_type', 'identifier_value'] %}
        cast(null as {{ dbt.type_string() }}) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    where 1 = 0
    {%- endfor %}
{%- endmacro %}
