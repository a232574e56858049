{#
    Read one scalar field of a JSON value as text (NULL when the field is missing
    or JSON null). `path` is a dot-separated key path, e.g. 'device.os'.
    There is no dbt cross-database macro for JSON, hence the dispatch.
#}
{% macro json_extract_text(column_name, path) -%}
    {{ return(adapter.dispatch('json_extract_text', 'dataops')(column_name, path)) }}
{%- endmacro %}

{# ANSI SQL:2016 JSON_VALUE (Snowflake, BigQuery, Trino, SQL Server, Oracle...). #}
{% macro default__json_extract_text(column_name, path) -%}
    json_value({{ column_name }}, '$.{{ path }}')
{%- endmacro %}

{% macro duckdb__json_extract_text(column_name, path) -%}
    json_extract_string({{ column_name }}, '$.{{ path }}')
{%- endmacro %}

{% macro postgres__json_extract_text(column_name, path) -%}
    (cast({{ column_name }} as jsonb) #>> '{ {{- path.split('.') | join(',') -}} }')
{%- endmacro %}

{% macro spark__json_extract_text(column_name, path) -%}
    get_json_object({{ column_name }}, '$.{{ path }}')
{%- endmacro %}
