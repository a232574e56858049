{#
    DuckDB has no roles, so there is nothing to grant: the project declares its
    grants (dbt_project.yml) for the engines that have roles (PostgreSQL), and on
    DuckDB they are skipped quietly instead of dbt-duckdb warning on every build.
    Who may read what stays documented in the manifest and on the lineage site.
#}
{% macro duckdb__apply_grants(relation, grant_config, should_revoke=True) %}
{% endmacro %}
