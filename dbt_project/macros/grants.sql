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
    {#- dbt-spark keeps `method` out of the `target` context: read it off the credentials. -#}
    {% if adapter.config.credentials.method != 'session' %}
        {{ default__apply_grants(relation, grant_config, should_revoke) }}
    {% endif %}
{% endmacro %}

{#
    dbt grants SELECT on relations, but on PostgreSQL a role also needs USAGE on
    the schema to reach them. As a post-hook, every role the node grants select to
    gets usage on the node's schema, and nothing else: an analyst granted the marts
    cannot even look into staging. A no-op on engines without roles.
#}
{% macro grant_schema_usage() %}
    {{ return(adapter.dispatch('grant_schema_usage')()) }}
{% endmacro %}

{% macro default__grant_schema_usage() %}
{% endmacro %}

{% macro postgres__grant_schema_usage() %}
    {%- set roles = ((config.get('grants') or {}).get('select') or []) | unique | list -%}
    {%- if execute and roles -%}
        {#- dbt's threads grant on one schema at once: PostgreSQL fails such
            concurrent catalog updates ("tuple concurrently updated"), so they take
            turns (the lock ends with the model's transaction). -#}
        select pg_advisory_xact_lock(hashtext('dataops.grant_schema_usage'));
        grant usage on schema {{ adapter.quote(this.schema) }} to
        {%- for role in roles %} {{ adapter.quote(role) }}{{ "," if not loop.last }}{% endfor %}
    {%- endif -%}
{% endmacro %}
