{#
    Spark has no unbounded `varchar` (it wants `varchar(n)`) nor `text`: its
    unbounded string type is `string`. The marts' contracts declare `varchar`, the
    portable name DuckDB and PostgreSQL share; dbt checks a contract by casting nulls
    to the declared types through `dbt.cast`, so on Spark this override maps the
    type first (and `double precision`, the portable double, to `double`). Every
    other type name passes through unchanged.
#}
{% macro spark__cast(field, type) -%}
    {%- set name = type | trim | lower -%}
    {%- set spark_names = {'varchar': 'string', 'text': 'string', 'double precision': 'double'} -%}
    cast({{ field }} as {{ spark_names.get(name, type) }})
{%- endmacro %}

{# The 8-byte float type: `double precision` (DuckDB, PostgreSQL), `double` on Spark. #}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'dataops')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
