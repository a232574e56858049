{#
    PII helpers used by staging. Raw PII columns never leave staging unmasked.
#}

{# md5 of the normalised (trimmed, lower-cased) value; NULL stays NULL. #}
{% macro hash_pii(column_name) -%}
    {{ dbt.hash("lower(trim(" ~ column_name ~ "))") }}
{%- endmacro %}

{# Upper-cased first letter of a trimmed name; NULL or blank names give NULL. #}
{% macro initial_of(column_name) -%}
    nullif(upper(substr(trim({{ column_name }}), 1, 1)), '')
{%- endmacro %}
