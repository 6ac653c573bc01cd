{#- Post-hook of every table model and seed (dbt_project.yml): logs the relation's row count,
    which the Dagster step reads from dbt's event stream and shows as the asset's row count.
    Counting inside dbt's own connection, as the model finishes, lets the step hand each event
    to Dagster while dbt goes on (a second connection could not open the warehouse while dbt
    holds its write lock). Views are not counted (that would run their query). Renders no SQL. -#}
{% macro log_row_count() -%}
    {%- if execute and config.get('materialized') in ('table', 'incremental', 'seed') -%}
        {%- set result = run_query('select count(*) from ' ~ this) -%}
        {%- do log('cdw row count: ' ~ result.columns[0].values()[0], info=True) -%}
    {%- endif -%}
{%- endmacro %}
