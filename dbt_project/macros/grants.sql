{#
    Engines without roles have nothing to grant: the project declares its grants
    (dbt_project.yml) for engines that have roles (PostgreSQL, a Spark cluster
    behind thrift/http), and where there are none they are skipped quietly instead
    of warning (dbt-duckdb) or failing on SHOW GRANTS (a local Spark session).
    Who may read what stays in the manifest and on the lineage site.
#}
{% macro duckdb__apply_grants(relation, grant_config, should_revoke=True) %}
{% endmacro %}

{% macro spark__apply_grants(relation, grant_config, should_revoke=True) %}
    {% if target.method != 'session' %}
        {{ default__apply_grants(relation, grant_config, should_revoke) }}
    {% endif %}
{% endmacro %}
