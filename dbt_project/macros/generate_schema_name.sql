{#
    Schema naming.

    dbt's default puts a custom schema after the target schema (`main_marts`). We
    want clean layer names where the warehouse itself already isolates people:

    * DuckDB (`dev`): every developer and every CI run has its own database file,
      so the layer name is used as-is: `staging`, `intermediate`, `marts`,
      `snapshots`, `seeds`. Nodes without a custom schema land in the target
      schema (`main`).
    * Any other adapter (e.g. the shared `postgres` target) keeps dbt's default
      `<target_schema>_<layer>` so two people pointing at one server do not
      overwrite each other, unless the target is named `prod`, which gets the
      clean names too.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set default_schema = target.schema -%}
    {%- if custom_schema_name is none -%}
        {{ default_schema }}
    {%- elif target.type == 'duckdb' or target.name == 'prod' -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ default_schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
