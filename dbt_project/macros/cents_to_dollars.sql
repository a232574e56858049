{#
    Integer cents -> decimal dollars, exactly. Multiplying a decimal by 0.01 stays
    in decimal arithmetic on DuckDB and PostgreSQL (DuckDB turns decimal division
    into a double), so no float rounding can creep in.
#}
{% macro cents_to_dollars(column_name, scale=2) -%}
    cast(cast({{ column_name }} as numeric(18, {{ scale }})) * 0.01 as numeric(18, {{ scale }}))
{%- endmacro %}
