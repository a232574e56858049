"""Generate a package-heavy dbt project of about N models in another team's style,
for the column-lineage coverage benchmark (issue 12: <= 10 % of columns unknown).

Not this repository's conventions: ``base_<system>__<table>`` views over the
sources, ``stg_`` tables that union shards and drop audit columns, ``int_``
joins, aggregates, pivots and long CTE chains, ``fct_``/``dim_``/``rpt_``
marts; upper-case keywords and leading commas; ``{{ config() }}`` in the files;
DuckDB's ``* EXCLUDE``/``* REPLACE``, ``USING`` joins, ``QUALIFY``, JSON
extraction; a few ephemeral models, snapshots and seeds; YAML that documents
only some columns (and a few that no longer exist).

Most models lean on four packages placed in ``dbt_packages/`` by hand (no
``dbt deps``; written here, not copied from any public package):

- ``keystone``: ``hash_key`` (a surrogate key), ``safe_cast`` (dispatched:
  ``try_cast`` on DuckDB), ``clean_string``;
- ``relkit``: ``star`` (the columns of a relation but some, read from the
  warehouse), ``union_relations`` (shards with different columns, null-filled,
  plus the source relation), ``deduplicate`` (``qualify row_number()``),
  ``pivot``, ``get_column_values`` (a query at compile time);
- ``datekit``: ``date_spine`` (dispatched: ``generate_series`` on DuckDB, a
  cross join of digits elsewhere), ``date_parts``;
- ``moneykit``: ``to_units`` (cents to units), ``fx_convert``.

The raw tables (a few rows each) are created by an ``on-run-start`` macro, so
``dbt build`` works on an empty DuckDB file. Column lists that ``star`` and
``union_relations`` expand to exist only once the parents are built: build the
project before reading its manifest.

    uv run python benchmarks/package_project.py /tmp/pkgproj --models 700
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from string import Template

import yaml

SYSTEMS = [
    "crm", "erp", "billing", "web", "support", "logistics", "hr", "ads", "inventory",
    "finance", "mobile", "partners", "marketing", "risk", "loyalty", "procurement",
    "payroll", "events", "catalog", "fleet", "claims", "pricing", "search", "media",
]  # fmt: skip
# Models per system: 7 base, 6 stg, 7 int, 1 ephemeral, 6 marts, CHAIN steps, CROSS joins.
CHAIN = 12
CROSS = 3
# 7 base, 7 stg, 7 + 7 int (and one over a table dbt does not know, every fourth
# system), 1 ephemeral, 7 marts, the chain, the cross-system joins.
PER_SYSTEM = 7 + 7 + 14 + 1 + 7 + CHAIN + CROSS
# dim_date, rpt_all_orders, rpt_fx_rates, rpt_system_summary; the package's two.
GLOBAL_MODELS = 4 + 2

# The raw tables of every system: (table, [(column, duckdb expression over `range` i)]).
RAW: dict[str, list[tuple[str, str]]] = {
    "accounts": [
        ("id", "i"),
        ("account_name", "'  Account ' || i || ' '"),
        ("segment", "['smb', 'mid', 'ent'][1 + i % 3]"),
        ("country_code", "['DE', 'FR', 'US', 'GB', 'NL'][1 + i % 5]"),
        ("created_at", "cast(timestamp '2025-01-01' + to_days(cast(i as integer)) as varchar)"),
        ("is_active", "case when i % 7 = 0 then 'N' else 'Y' end"),
    ],
    "orders_eu": [
        ("id", "i"),
        ("account_id", "i % 40"),
        ("order_ts", "cast(timestamp '2026-01-01' + to_hours(cast(i * 5 as integer)) as varchar)"),
        ("status", "['PLACED', 'SHIPPED', 'RETURNED'][1 + i % 3]"),
        ("amount_cents", "(i * 137) % 50000"),
        ("currency", "'EUR'"),
        ("vat_cents", "(i * 31) % 9000"),
    ],
    "orders_us": [
        ("id", "10000 + i"),
        ("account_id", "i % 40"),
        ("order_ts", "cast(timestamp '2026-01-01' + to_hours(cast(i * 7 as integer)) as varchar)"),
        ("status", "['placed', 'shipped', 'returned'][1 + i % 3]"),
        ("amount_cents", "(i * 173) % 60000"),
        ("currency", "'USD'"),
        ("state_code", "['CA', 'NY', 'TX'][1 + i % 3]"),
    ],
    "order_lines": [
        ("id", "i"),
        ("order_id", "i % 60"),
        ("product_id", "i % 12"),
        ("quantity", "1 + i % 4"),
        ("unit_price_cents", "(i * 53) % 8000"),
        ("category", "['hardware', 'software', 'services'][1 + i % 3]"),
    ],
    "payments": [
        ("id", "i"),
        ("order_id", "i % 60"),
        ("method", "['card', 'bank', 'wallet'][1 + i % 3]"),
        ("amount_cents", "(i * 211) % 40000"),
        ("paid_at", "timestamp '2026-01-02' + to_hours(cast(i * 3 as integer))"),
    ],
    "events": [
        ("id", "i % 70"),
        ("account_id", "i % 40"),
        ("event_type", "['view', 'click', 'signup'][1 + i % 3]"),
        (
            "payload",
            '\'{"page": "/p/\' || (i % 9) || \'", "duration_ms": "\' || (i * 17) || \'"}\'',
        ),
        ("occurred_at", "timestamp '2026-01-01' + to_minutes(cast(i * 11 as integer))"),
    ],
    "products": [
        ("id", "i"),
        ("sku", "'SKU-' || lpad(cast(i as varchar), 5, '0')"),
        ("product_name", "'Product ' || i"),
        ("category", "['hardware', 'software', 'services'][1 + i % 3]"),
        ("list_price_cents", "(i * 997) % 20000"),
    ],
}
RAW_ROWS = {"accounts": 40, "order_lines": 200, "payments": 80, "events": 90, "products": 12}

SEEDS = {
    "country_codes": [
        ("country_code", "country_name", "region"),
        ("DE", "Germany", "emea"),
        ("FR", "France", "emea"),
        ("GB", "United Kingdom", "emea"),
        ("NL", "Netherlands", "emea"),
        ("US", "United States", "amer"),
    ],
    "fx_rates": [
        ("currency", "rate_to_usd", "valid_from"),
        ("EUR", "1.08", "2026-01-01"),
        ("USD", "1.00", "2026-01-01"),
    ],
    "order_statuses": [
        ("status", "is_final", "status_group"),
        ("placed", "false", "open"),
        ("shipped", "true", "done"),
        ("returned", "true", "done"),
    ],
}


# ---- the packages ----------------------------------------------------------------

KEYSTONE = """\
{% macro hash_key(field_list) -%}
    md5(concat_ws('||'
    {%- for field in field_list %}
        , coalesce(cast({{ field }} as varchar), '~null~')
    {%- endfor %}
    ))
{%- endmacro %}

{% macro safe_cast(field, type) -%}
    {{ return(adapter.dispatch('safe_cast', 'keystone')(field, type)) }}
{%- endmacro %}

{% macro default__safe_cast(field, type) -%}
    cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro clean_string(field) -%}
    nullif(lower(trim({{ field }})), '')
{%- endmacro %}
"""

RELKIT = """\
{# The columns of a relation, but those in `except`, read from the warehouse. #}
{% macro star(from, except=[], relation_alias=none, prefix='') -%}
    {%- if not execute -%}
        *
    {%- else -%}
        {%- set skip = except | map('lower') | list -%}
        {%- set picked = [] -%}
        {%- for column in adapter.get_columns_in_relation(from) -%}
            {%- if column.name | lower not in skip -%}
                {%- set qualified = (relation_alias ~ '.' if relation_alias else '') ~ adapter.quote(column.name) -%}
                {%- if prefix -%}
                    {%- do picked.append(qualified ~ ' as ' ~ adapter.quote(prefix ~ column.name)) -%}
                {%- else -%}
                    {%- do picked.append(qualified) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
        {{ picked | join('\\n        , ') }}
    {%- endif -%}
{%- endmacro %}

{# Shards with different columns: every column of any, null where a shard has none. #}
{% macro union_relations(relations, source_column_name='_source_relation') -%}
    {%- if not execute -%}
        select null as {{ source_column_name }}
    {%- else -%}
        {%- set types = {} -%}
        {%- set order = [] -%}
        {%- set have = {} -%}
        {%- for relation in relations -%}
            {%- set names = [] -%}
            {%- for column in adapter.get_columns_in_relation(relation) -%}
                {%- set name = column.name | lower -%}
                {%- do names.append(name) -%}
                {%- if name not in types -%}
                    {%- do types.update({name: column.data_type}) -%}
                    {%- do order.append(name) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- do have.update({relation.identifier: names}) -%}
        {%- endfor -%}
        {%- for relation in relations %}
    select
        cast('{{ relation }}' as varchar) as {{ source_column_name }}
            {%- for name in order %}
        , {% if name in have[relation.identifier] %}cast({{ adapter.quote(name) }} as {{ types[name] }}){% else %}cast(null as {{ types[name] }}){% endif %} as {{ adapter.quote(name) }}
            {%- endfor %}
    from {{ relation }}
            {%- if not loop.last %}
    union all
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{% macro deduplicate(relation, partition_by, order_by) -%}
    select *
    from {{ relation }}
    qualify row_number() over (partition by {{ partition_by }} order by {{ order_by }}) = 1
{%- endmacro %}

{% macro pivot(column, values, agg='sum', then_value=1, else_value=0, prefix='', suffix='') -%}
    {%- for value in values %}
    {{ agg }}(case when {{ column }} = '{{ value }}' then {{ then_value }} else {{ else_value }} end)
        as {{ adapter.quote(prefix ~ value ~ suffix) }}
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{% macro get_column_values(table, column, default=[]) -%}
    {%- if not execute -%}
        {{ return(default) }}
    {%- endif -%}
    {%- set query -%}
        select distinct {{ column }} as value from {{ table }} where {{ column }} is not null order by 1
    {%- endset -%}
    {%- set result = run_query(query) -%}
    {{ return(result.columns[0].values() | list) }}
{%- endmacro %}
"""

DATEKIT = """\
{% macro date_spine(start_date, end_date, datepart='day') -%}
    {{ return(adapter.dispatch('date_spine', 'datekit')(start_date, end_date, datepart)) }}
{%- endmacro %}

{% macro default__date_spine(start_date, end_date, datepart) -%}
    with digits as (
        select 0 as d union all select 1 union all select 2 union all select 3
        union all select 4 union all select 5 union all select 6 union all select 7
        union all select 8 union all select 9
    ), numbers as (
        select ones.d + 10 * tens.d + 100 * hundreds.d as n
        from digits as ones cross join digits as tens cross join digits as hundreds
    )
    select cast({{ start_date }} as date) + n as date_{{ datepart }}
    from numbers
    where cast({{ start_date }} as date) + n < cast({{ end_date }} as date)
{%- endmacro %}

{% macro duckdb__date_spine(start_date, end_date, datepart) -%}
    select cast(spine.generate_series as date) as date_{{ datepart }}
    from generate_series(
        cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp) - interval 1 {{ datepart }},
        interval 1 {{ datepart }}
    ) as spine
{%- endmacro %}

{% macro date_parts(column, parts=['year', 'month', 'day']) -%}
    {%- for part in parts %}
    , extract({{ part }} from {{ column }}) as {{ column.split('.')[-1] }}_{{ part }}
    {%- endfor %}
{%- endmacro %}
"""

MONEYKIT = """\
{% macro to_units(column, scale=2) -%}
    round(cast({{ column }} as decimal(18, 4)) / 100, {{ scale }})
{%- endmacro %}

{% macro fx_convert(amount, currency, rates_relation) -%}
    {{ amount }} * coalesce((select max(r.rate_to_usd) from {{ rates_relation }} as r where r.currency = {{ currency }}), 1)
{%- endmacro %}
"""

PACKAGES = {"keystone": KEYSTONE, "relkit": RELKIT, "datekit": DATEKIT, "moneykit": MONEYKIT}

# A package with models of its own (a vendor's ticketing system, staged), read by
# the project through two-argument refs.
SAAS_SOURCES = {
    "version": 2,
    "sources": [
        {
            "name": "saas",
            "schema": "{{ var('saas_schema', 'raw_saas') }}",
            "tables": [{"name": "tickets"}, {"name": "agents", "identifier": "agents_v2"}],
        }
    ],
}
SAAS_MODELS = {
    "stg_saas__tickets": """\
with source as (
    select * from {{ source('saas', 'tickets') }}
)
select
    ticket_id,
    account_ref as account_id,
    agent_id,
    {{ dbt.safe_cast('opened', api.Column.translate_type('timestamp')) }} as opened_at,
    {{ dbt.safe_cast('closed', api.Column.translate_type('timestamp')) }} as closed_at,
    lower(priority) as priority,
    {{ dbt.split_part('channel_path', "'/'", 1) }} as channel
from source
""",
    "stg_saas__agents": """\
select
    agent_id,
    {{ dbt.concat(['first_name', "' '", 'last_name']) }} as agent_name,
    team
from {{ source('saas', 'agents') }}
""",
}
SAAS_RAW = {
    "tickets": [
        ("ticket_id", "i"),
        ("account_ref", "i % 40"),
        ("agent_id", "i % 6"),
        ("opened", "cast(timestamp '2026-01-01' + to_hours(cast(i * 9 as integer)) as varchar)"),
        ("closed", "cast(timestamp '2026-01-02' + to_hours(cast(i * 9 as integer)) as varchar)"),
        ("priority", "['P1', 'P2', 'P3'][1 + i % 3]"),
        ("channel_path", "['email/inbound', 'chat/web', 'phone/eu'][1 + i % 3]"),
    ],
    "agents_v2": [
        ("agent_id", "i"),
        ("first_name", "'Agent'"),
        ("last_name", "cast(i as varchar)"),
        ("team", "['tier1', 'tier2'][1 + i % 2]"),
    ],
}
# A table other tooling loads, read straight by name: dbt has no node for it.
LEGACY_RAW = {"targets": [("account_id", "i"), ("target_usd", "i * 1000"), ("quarter", "'2026Q1'")]}

PROJECT_MACROS = """\
{% macro create_raw_tables(systems, rows, extra) -%}
    {%- set statements = [] -%}
    {%- set schemas = {} -%}
    {%- for system in systems -%}
        {%- do schemas.update({'raw_' ~ system: rows}) -%}
    {%- endfor -%}
    {%- do schemas.update(extra) -%}
    {%- for schema, tables in schemas.items() -%}
        {%- do statements.append('create schema if not exists ' ~ schema) -%}
        {%- for table, spec in tables.items() -%}
            {%- set columns = [] -%}
            {%- for column in spec.columns -%}
                {%- do columns.append(column[1] ~ ' as ' ~ column[0]) -%}
            {%- endfor -%}
            {%- do statements.append(
                'create table if not exists ' ~ schema ~ '.' ~ table ~ ' as select '
                ~ columns | join(', ') ~ ', current_timestamp as _loaded_at from ('
                ~ 'select range as i from range(' ~ spec.rows ~ '))'
            ) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(statements | join(';\\n') ~ ';') }}
{%- endmacro %}

{# This team calls some package macros through its own wrappers. #}
{% macro clean_string(field) -%}
    {{ return(keystone.clean_string(field)) }}
{%- endmacro %}

{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
"""


# ---- models ----------------------------------------------------------------------


def _sql(template: str, **values: str) -> str:
    return Template(template).substitute(**values)


BASE_ACCOUNTS = """\
{{ config(materialized='view', tags=['base', '${s}']) }}

WITH source AS (

    SELECT * FROM {{ source('${s}', 'accounts') }}

)

, renamed AS (

    SELECT
        {{ keystone.hash_key(['id', "'${s}'"]) }} AS account_key
        , id AS account_id
        , {{ clean_string('account_name') }} AS account_name
        , upper(segment) AS segment
        , country_code
        , {{ keystone.safe_cast('created_at', 'timestamp') }} AS created_at
        , is_active = 'Y' AS is_active
        , _loaded_at
    FROM source

)

SELECT * FROM renamed
"""

BASE_ORDERS = """\
{{ config(materialized='view', tags=['base', '${s}']) }}

WITH source AS (

    SELECT * FROM {{ source('${s}', 'orders_${region}') }}

)

SELECT
    id AS order_id
    , account_id
    , {{ keystone.safe_cast('order_ts', 'timestamp') }} AS ordered_at
    , lower(status) AS status
    , {{ moneykit.to_units('amount_cents') }} AS amount
    , currency
    , '${region}' AS region
    , ${extra}
    , _loaded_at
FROM source
"""

BASE_SIMPLE = {
    "order_lines": """\
{{ config(materialized='view', tags=['base', '${s}']) }}

SELECT
    id AS order_line_id
    , order_id
    , product_id
    , quantity
    , {{ moneykit.to_units('unit_price_cents') }} AS unit_price
    , category
    , _loaded_at
FROM {{ source('${s}', 'order_lines') }}
""",
    "payments": """\
{{ config(materialized='view', tags=['base', '${s}']) }}

WITH source AS (SELECT * FROM {{ source('${s}', 'payments') }})

SELECT
    id AS payment_id
    , order_id
    , lower(method) AS payment_method
    , {{ moneykit.to_units('amount_cents') }} AS amount
    , paid_at
    , _loaded_at
FROM source
""",
    "events": """\
{{ config(materialized='view', tags=['base', '${s}']) }}

SELECT
    id AS event_id
    , account_id
    , event_type
    , payload
    , occurred_at
    , _loaded_at
FROM {{ source('${s}', 'events') }}
""",
    "products": """\
{{ config(materialized='view', tags=['base', '${s}']) }}

WITH source AS (

    SELECT * FROM {{ source('${s}', 'products') }}

)

, renamed AS (

    SELECT
        id AS product_id
        , sku
        , {{ clean_string('product_name') }} AS product_name
        , category
        , {{ moneykit.to_units('list_price_cents') }} AS list_price
        , _loaded_at
    FROM source

)

SELECT * FROM renamed
""",
}

STG = {
    "orders": """\
{{ config(materialized='table') }}

WITH unioned AS (

    {{ relkit.union_relations([ref('base_${s}__orders_eu'), ref('base_${s}__orders_us')]) }}

)

SELECT
    *
    , {{ keystone.hash_key(['order_id', "'${s}'"]) }} AS order_key
FROM unioned
""",
    "accounts": """\
{{ config(materialized='table') }}

SELECT
    {{ relkit.star(ref('base_${s}__accounts'), except=['_loaded_at']) }}
    , current_date - cast(created_at AS date) AS account_age_days
FROM {{ ref('base_${s}__accounts') }}
""",
    "order_lines": """\
{{ config(materialized='table') }}

SELECT
    * EXCLUDE (_loaded_at)
    , quantity * unit_price AS line_amount
FROM {{ ref('base_${s}__order_lines') }}
""",
    "payments": """\
{{ config(materialized='table') }}

SELECT
    * REPLACE (coalesce(payment_method, 'unknown') AS payment_method)
FROM {{ ref('base_${s}__payments') }}
WHERE amount > 0
""",
    "events": """\
{{ config(materialized='table') }}

WITH deduped AS (

    {{ relkit.deduplicate(ref('base_${s}__events'), partition_by='event_id', order_by='_loaded_at desc') }}

)

SELECT
    event_id
    , account_id
    , event_type
    , json_extract_string(payload, '$$.page') AS page
    , {{ keystone.safe_cast("json_extract_string(payload, '$$.duration_ms')", 'integer') }} AS duration_ms
    , occurred_at
FROM deduped
""",
    "products": """\
{{ config(materialized='table') }}

SELECT
    {{ relkit.star(ref('base_${s}__products'), except=['_loaded_at'], relation_alias='p') }}
    , s.status_group AS default_status_group
FROM {{ ref('base_${s}__products') }} AS p
CROSS JOIN (SELECT status_group FROM {{ ref('order_statuses') }} WHERE status = 'placed') AS s
""",
}

INT = {
    "orders_enriched": """\
WITH orders AS (

    SELECT * FROM {{ ref('stg_${s}__orders') }}

)

, accounts AS (

    SELECT * FROM {{ ref('stg_${s}__accounts') }}

)

SELECT
    orders.*
    , accounts.account_name
    , accounts.segment
    , countries.country_name
    , countries.region AS sales_region
FROM orders
LEFT JOIN accounts
    ON orders.account_id = accounts.account_id
LEFT JOIN {{ ref('country_codes') }} AS countries
    USING (country_code)
""",
    "order_totals": """\
{%- set categories = relkit.get_column_values(ref('stg_${s}__products'), 'category') -%}

SELECT
    order_id
    , count(*) AS line_count
    , sum(line_amount) AS lines_amount
    , {{ relkit.pivot('category', categories, then_value='line_amount', suffix='_amount') }}
FROM {{ ref('stg_${s}__order_lines') }}
GROUP BY order_id
""",
    "payments_by_order": """\
SELECT
    order_id
    , sum(amount) AS paid_amount
    , max(paid_at) AS last_paid_at
    , {{ relkit.pivot('payment_method', ['card', 'bank', 'wallet'], then_value='amount', prefix='paid_by_') }}
FROM {{ ref('stg_${s}__payments') }}
GROUP BY 1
""",
    "orders_joined": """\
{{ config(materialized='table') }}

SELECT
    e.*
    , t.* EXCLUDE (order_id)
    , p.* EXCLUDE (order_id)
    , e.amount - coalesce(p.paid_amount, 0) AS open_amount
    , {{ moneykit.fx_convert('e.amount', 'e.currency', ref('fx_rates')) }} AS amount_usd
FROM {{ ref('int_${s}__orders_enriched') }} AS e
LEFT JOIN {{ ref('int_${s}__order_totals') }} AS t ON t.order_id = e.order_id
LEFT JOIN {{ ref('int_${s}__payments_by_order') }} AS p ON p.order_id = e.order_id
""",
    "daily_orders": """\
WITH spine AS (

    {{ datekit.date_spine("date '2026-01-01'", "date '2026-03-01'") }}

)

, orders AS (

    SELECT
        cast(ordered_at AS date) AS order_date
        , amount_usd
    FROM {{ ref('int_${s}__orders_joined') }}

)

SELECT
    spine.date_day
    , count(orders.order_date) AS order_count
    , coalesce(sum(orders.amount_usd), 0) AS revenue_usd
FROM spine
LEFT JOIN orders
    ON orders.order_date = spine.date_day
GROUP BY spine.date_day
""",
    "account_activity": """\
SELECT
    account_id
    , count(*) AS event_count
    , count(DISTINCT page) AS pages_seen
    , sum(duration_ms) AS total_duration_ms
    , min(occurred_at) AS first_seen_at
    , {{ relkit.pivot('event_type', ['view', 'click', 'signup'], suffix='_events') }}
FROM {{ ref('stg_${s}__events') }}
GROUP BY ALL
""",
    "lines_enriched": """\
SELECT
    l.*
    , {{ relkit.star(ref('stg_${s}__products'), except=['product_id', 'category'], relation_alias='p', prefix='product_') }}
FROM {{ ref('stg_${s}__order_lines') }} AS l
INNER JOIN {{ ref('stg_${s}__products') }} AS p
    ON l.product_id = p.product_id
""",
}

# DuckDB's own SQL and dbt's cross-database macros, as a DuckDB team writes them.
INT_DUCKDB = {
    "payments_pivoted": """\
PIVOT {{ ref('stg_${s}__payments') }}
ON payment_method IN ('card', 'bank', 'wallet')
USING sum(amount)
GROUP BY order_id
""",
    "payment_columns": """\
SELECT
    order_id
    , COLUMNS('paid_by_.*')
    , paid_amount - coalesce(paid_by_card, 0) AS paid_otherwise
FROM {{ ref('int_${s}__payments_by_order') }}
""",
    "account_tags": """\
SELECT
    account_id
    , unnest(string_split(lower(segment) || ',' || lower(country_code), ',')) AS tag
FROM {{ ref('stg_${s}__accounts') }}
""",
    "events_parsed": """\
WITH parsed AS (

    SELECT
        event_id
        , struct_pack(page := payload->>'$$.page', ms := (payload->>'$$.duration_ms')::INTEGER)
            AS info
        , occurred_at
    FROM {{ ref('base_${s}__events') }}

)

SELECT
    event_id
    , info.page AS page
    , info.ms AS duration_ms
    , {{ dbt.date_trunc('hour', 'occurred_at') }} AS occurred_hour
    , {{ dbt.dateadd('day', 30, 'occurred_at') }} AS expires_at
FROM parsed
""",
    "fx_asof": """\
FROM {{ ref('stg_${s}__orders') }} AS o
ASOF LEFT JOIN {{ ref('rpt_fx_rates') }} AS fx
    ON o.currency = fx.currency AND cast(o.ordered_at AS date) >= fx.valid_from
SELECT
    o.order_id
    , o.amount * fx.rate_to_usd AS amount_usd_asof
    , fx.valid_from AS rate_valid_from
""",
    "first_orders": """\
SELECT DISTINCT ON (account_id)
    * RENAME (ordered_at AS first_ordered_at)
FROM {{ ref('stg_${s}__orders') }}
ORDER BY account_id, ordered_at
""",
    "tickets": """\
SELECT
    t.*
    , a.agent_name
    , a.team
    , {{ dbt.datediff('t.opened_at', 't.closed_at', 'hour') }} AS hours_to_close
    , accounts.segment
FROM {{ ref('saas_tickets', 'stg_saas__tickets') }} AS t
LEFT JOIN {{ ref('saas_tickets', 'stg_saas__agents') }} AS a USING (agent_id)
INNER JOIN {{ ref('stg_${s}__accounts') }} AS accounts ON accounts.account_id = t.account_id
""",
}
STG_ACTIVITY = """\
{{ config(materialized='table') }}

SELECT event_id AS activity_id, account_id, 'event' AS activity_kind, occurred_at AS activity_at
FROM {{ ref('stg_${s}__events') }}
UNION ALL BY NAME
SELECT payment_id AS activity_id, 'payment' AS activity_kind, paid_at AS activity_at, amount, order_id
FROM {{ ref('stg_${s}__payments') }}
"""
LEGACY_SQL = """\
SELECT
    targets.*
    , accounts.account_name
    , targets.target_usd - coalesce(accounts.account_age_days, 0) AS target_gap
FROM raw_legacy.targets AS targets
INNER JOIN {{ ref('stg_${s}__accounts') }} AS accounts USING (account_id)
"""
INCREMENTAL = """\
{{ config(materialized='incremental', unique_key='order_id') }}

SELECT
    order_id
    , account_id
    , ordered_at
    , amount_usd
    , {{ dbt.datediff('ordered_at', 'current_date', 'day') }} AS age_days
    , {{ dbt.concat(['status', "'-'", 'region']) }} AS status_region
    , {{ dbt.hash('order_key') }} AS order_hash
FROM {{ ref('int_${s}__orders_joined') }}
{% if is_incremental() %}
WHERE ordered_at > (SELECT max(ordered_at) FROM {{ this }})
{% endif %}
"""

EPHEMERAL = """\
{{ config(materialized='ephemeral') }}

SELECT *
FROM {{ ref('int_${s}__orders_joined') }}
WHERE status <> 'returned'
"""

# One step of the metric chain: each adds, replaces or drops a column.
CHAIN_STEPS = [
    """\
WITH previous AS (

    SELECT * FROM {{ ref('${prev}') }}

)

, calculated AS (

    SELECT
        *
        , round(open_amount / nullif(amount, 0), 4) AS metric_${k}
    FROM previous

)

SELECT * FROM calculated
""",
    """\
SELECT
    * REPLACE (round(amount_usd * 1.0${k}, 2) AS amount_usd)
    , CASE WHEN line_count > ${k} THEN 'large' ELSE 'small' END AS size_${k}
FROM {{ ref('${prev}') }}
""",
    """\
WITH base AS (SELECT * FROM {{ ref('${prev}') }})
, ranked AS (
    SELECT
        base.*
        , row_number() OVER (PARTITION BY account_id ORDER BY ordered_at) AS rank_${k}
    FROM base
)
SELECT * EXCLUDE (rank_${k}), rank_${k} AS account_order_rank_${k} FROM ranked
""",
    """\
SELECT
    {{ relkit.star(ref('${prev}'), except=${drop}) }}
    , {{ keystone.hash_key(['order_key', "'${k}'"]) }} AS step_key_${k}
FROM {{ ref('${prev}') }}
""",
]

CROSS_SQL = """\
WITH ours AS (

    SELECT country_code, count(*) AS accounts FROM {{ ref('stg_${s}__accounts') }} GROUP BY country_code

)

, theirs AS (

    SELECT country_code, count(*) AS accounts FROM {{ ref('stg_${other}__accounts') }} GROUP BY country_code

)

SELECT
    coalesce(ours.country_code, theirs.country_code) AS country_code
    , coalesce(ours.accounts, 0) AS ${s}_accounts
    , coalesce(theirs.accounts, 0) AS ${other}_accounts
    , coalesce(ours.accounts, 0) - coalesce(theirs.accounts, 0) AS account_gap
FROM ours
FULL OUTER JOIN theirs
    ON ours.country_code = theirs.country_code
"""

MARTS = {
    "fct_${s}__orders": """\
{{ config(materialized='table') }}

SELECT
    *
    , row_number() OVER (PARTITION BY account_id ORDER BY ordered_at, order_id) AS account_order_number
    , sum(amount_usd) OVER (PARTITION BY account_id ORDER BY ordered_at ROWS UNBOUNDED PRECEDING)
        AS account_running_usd
FROM {{ ref('int_${s}__orders_joined') }}
""",
    "dim_${s}__accounts": """\
{{ config(materialized='table') }}

WITH accounts AS (SELECT * FROM {{ ref('stg_${s}__accounts') }})
, activity AS (SELECT * FROM {{ ref('int_${s}__account_activity') }})
, orders AS (
    SELECT account_id, count(*) AS lifetime_orders, sum(amount_usd) AS lifetime_usd
    FROM {{ ref('int_${s}__orders_open') }}
    GROUP BY account_id
)

SELECT
    accounts.*
    , activity.* EXCLUDE (account_id)
    , coalesce(orders.lifetime_orders, 0) AS lifetime_orders
    , coalesce(orders.lifetime_usd, 0) AS lifetime_usd
FROM accounts
LEFT JOIN activity USING (account_id)
LEFT JOIN orders USING (account_id)
""",
    "rpt_${s}__daily": """\
SELECT
    *
    , avg(revenue_usd) OVER (ORDER BY date_day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS revenue_usd_7d
    {{ datekit.date_parts('date_day', ['year', 'month', 'dow']) }}
FROM {{ ref('int_${s}__daily_orders') }}
""",
    "fct_${s}__order_lines": """\
{{ config(materialized='table') }}

SELECT
    lines.order_line_id
    , lines.order_id
    , orders.account_id
    , lines.product_sku
    , lines.product_product_name AS product_name
    , lines.quantity
    , lines.line_amount
    , lines.line_amount / nullif(orders.lines_amount, 0) AS share_of_order
FROM {{ ref('int_${s}__lines_enriched') }} AS lines
INNER JOIN {{ ref('fct_${s}__orders') }} AS orders
    USING (order_id)
""",
    "rpt_${s}__metrics": """\
SELECT * FROM {{ ref('${last}') }}
""",
    "rpt_${s}__status_mix": """\
SELECT
    statuses.status_group
    , orders.status
    , count(*) AS orders
    , sum(orders.amount_usd) AS amount_usd
FROM {{ ref('fct_${s}__orders') }} AS orders
LEFT JOIN {{ ref('order_statuses') }} AS statuses
    ON statuses.status = orders.status
GROUP BY 1, 2
""",
}

GLOBAL = {
    "dim_date": """\
{{ config(materialized='table') }}

WITH spine AS (

    {{ datekit.date_spine("date '2025-01-01'", "date '2027-01-01'") }}

)

SELECT
    date_day
    {{ datekit.date_parts('date_day', ['year', 'quarter', 'month', 'day', 'dow']) }}
    , date_trunc('week', date_day) AS week_start
    , dayname(date_day) AS day_name
FROM spine
""",
    "rpt_all_orders": """\
{{ config(materialized='table') }}

{%- set shards = [] -%}
{%- for system in var('systems') -%}
    {%- do shards.append(ref('fct_' ~ system ~ '__orders')) -%}
{%- endfor %}

{{ relkit.union_relations(shards, source_column_name='source_system') }}
""",
    "rpt_fx_rates": """\
SELECT
    currency
    , cast(rate_to_usd AS decimal(10, 4)) AS rate_to_usd
    , cast(valid_from AS date) AS valid_from
    , 1 / cast(rate_to_usd AS decimal(10, 4)) AS rate_from_usd
FROM {{ ref('fx_rates') }}
""",
    "rpt_system_summary": """\
SELECT
    source_system
    , count(*) AS orders
    , sum(amount_usd) AS amount_usd
    , count(DISTINCT account_id) AS accounts
    , max(ordered_at) AS last_order_at
FROM {{ ref('rpt_all_orders') }}
GROUP BY source_system
""",
}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _write_yaml(path: Path, data: dict) -> None:
    _write(path, yaml.safe_dump(data, sort_keys=False, width=100))


def _doc(name: str, columns: list[str], rng: random.Random, tests: dict[str, list]) -> dict:
    """A model's YAML: some of its columns documented (this team documents keys
    and a few others), now and then one that no longer exists."""
    picked = [c for c in columns if c in tests or rng.random() < 0.3]
    if rng.random() < 0.15:
        picked.append("legacy_" + rng.choice(["flag", "code", "amount"]))
    return {
        "name": name,
        "description": f"{name.replace('_', ' ')}.",
        "columns": [
            {
                "name": c,
                "description": f"{c.replace('_', ' ')}.",
                **({"data_tests": tests[c]} if c in tests else {}),
            }
            for c in picked
        ],
    }


def make_package_project(dest: Path, models: int = 700, *, seed: int = 0) -> Path:
    """Write the project with about ``models`` models into ``dest``; return ``dest``."""
    systems_needed = max(2, round((models - GLOBAL_MODELS) / PER_SYSTEM))
    if systems_needed > len(SYSTEMS):
        raise ValueError(f"at most {len(SYSTEMS) * PER_SYSTEM + GLOBAL_MODELS} models")
    systems = SYSTEMS[:systems_needed]
    rng = random.Random(seed)
    dest.mkdir(parents=True, exist_ok=True)
    raw_spec = {
        table: {"columns": [list(c) for c in cols], "rows": RAW_ROWS.get(table, 60)}
        for table, cols in RAW.items()
    }
    extra_raw = {
        schema: {t: {"columns": [list(c) for c in cols], "rows": 30} for t, cols in spec.items()}
        for schema, spec in (("raw_saas", SAAS_RAW), ("raw_legacy", LEGACY_RAW))
    }
    _write_yaml(
        dest / "dbt_project.yml",
        {
            "name": "acme_analytics",
            "version": "3.2.0",
            "config-version": 2,
            "profile": "acme",
            "flags": {"send_anonymous_usage_stats": False, "partial_parse": True},
            "vars": {"systems": systems, "raw_tables": raw_spec, "extra_raw": extra_raw},
            "on-run-start": [
                "{{ create_raw_tables(var('systems'), var('raw_tables'), var('extra_raw')) }}"
            ],
            "models": {
                "acme_analytics": {
                    "base": {"+materialized": "view", "+schema": "base"},
                    "staging": {"+schema": "staging"},
                    "intermediate": {"+materialized": "view", "+schema": "intermediate"},
                    "marts": {"+materialized": "table", "+schema": "marts"},
                }
            },
            "seeds": {"acme_analytics": {"+schema": "reference"}},
            "snapshots": {"acme_analytics": {"+target_schema": "snapshots"}},
        },
    )
    _write_yaml(
        dest / "profiles.yml",
        {
            "acme": {
                "target": "dev",
                "outputs": {
                    "dev": {
                        "type": "duckdb",
                        "path": "{{ env_var('DATAOPS_WAREHOUSE', 'acme.duckdb') }}",
                        "threads": 2,
                    }
                },
            }
        },
    )
    for name, macros in PACKAGES.items():
        pkg = dest / "dbt_packages" / name
        _write_yaml(
            pkg / "dbt_project.yml",
            {"name": name, "version": "1.4.0", "config-version": 2, "macro-paths": ["macros"]},
        )
        _write(pkg / "macros" / f"{name}.sql", macros)
    saas = dest / "dbt_packages" / "saas_tickets"
    _write_yaml(
        saas / "dbt_project.yml",
        {
            "name": "saas_tickets",
            "version": "0.9.2",
            "config-version": 2,
            "model-paths": ["models"],
            "models": {"saas_tickets": {"+materialized": "view", "+schema": "saas"}},
        },
    )
    _write_yaml(saas / "models" / "_saas__sources.yml", SAAS_SOURCES)
    for name, sql in SAAS_MODELS.items():
        _write(saas / "models" / f"{name}.sql", sql)
    _write_yaml(
        dest / "packages.yml",
        {"packages": [{"local": f"dbt_packages/{name}"} for name in [*PACKAGES, "saas_tickets"]]},
    )
    _write(dest / "macros" / "project.sql", PROJECT_MACROS)
    for seed_name, rows in SEEDS.items():
        _write(dest / "seeds" / f"{seed_name}.csv", "\n".join(",".join(r) for r in rows) + "\n")

    models_dir = dest / "models"
    for s_i, s in enumerate(systems):
        # Sources: this team documents the columns of half its systems' tables.
        tables = []
        for table, cols in RAW.items():
            entry: dict = {"name": table, "description": f"Raw {table} of {s}."}
            if s_i % 2 == 0:
                entry["columns"] = [{"name": c} for c, _ in cols] + [{"name": "_loaded_at"}]
            tables.append(entry)
        _write_yaml(
            models_dir / "base" / s / f"_{s}__sources.yml",
            {"version": 2, "sources": [{"name": s, "schema": f"raw_{s}", "tables": tables}]},
        )
        docs = []
        _write(models_dir / "base" / s / f"base_{s}__accounts.sql", _sql(BASE_ACCOUNTS, s=s))
        extras = {"eu": "{{ moneykit.to_units('vat_cents') }} AS vat", "us": "state_code"}
        for region, extra in extras.items():
            _write(
                models_dir / "base" / s / f"base_{s}__orders_{region}.sql",
                _sql(BASE_ORDERS, s=s, region=region, extra=extra),
            )
        for table, template in BASE_SIMPLE.items():
            _write(models_dir / "base" / s / f"base_{s}__{table}.sql", _sql(template, s=s))
        docs.append(_doc(f"base_{s}__accounts", ["account_key", "account_id"], rng, {}))
        _write_yaml(models_dir / "base" / s / f"_{s}__base.yml", {"version": 2, "models": docs})

        docs = []
        _write(models_dir / "staging" / s / f"stg_{s}__activity.sql", _sql(STG_ACTIVITY, s=s))
        for table, template in STG.items():
            name = f"stg_{s}__{table}"
            _write(models_dir / "staging" / s / f"{name}.sql", _sql(template, s=s))
            key = {"orders": "order_key", "accounts": "account_key"}.get(table)
            cols = [key] if key else []
            docs.append(_doc(name, cols, rng, {key: ["not_null"]} if key else {}))
        _write_yaml(
            models_dir / "staging" / s / f"_{s}__staging.yml", {"version": 2, "models": docs}
        )

        docs = []
        for table, template in INT.items():
            name = f"int_{s}__{table}"
            _write(models_dir / "intermediate" / s / f"{name}.sql", _sql(template, s=s))
            docs.append(_doc(name, ["order_id", "account_id"], rng, {}))
        for table, template in INT_DUCKDB.items():
            name = f"int_{s}__{table}"
            _write(models_dir / "intermediate" / s / f"{name}.sql", _sql(template, s=s))
        if s_i % 4 == 3:
            _write(models_dir / "intermediate" / s / f"int_{s}__targets.sql", _sql(LEGACY_SQL, s=s))
        _write(models_dir / "intermediate" / s / f"int_{s}__orders_open.sql", _sql(EPHEMERAL, s=s))
        prev = f"int_{s}__orders_joined"
        dropped: list[str] = []
        for k in range(1, CHAIN + 1):
            name = f"int_{s}__metric_step_{k:02d}"
            template = CHAIN_STEPS[(k - 1) % len(CHAIN_STEPS)]
            drop = "['_source_relation']" if not dropped else "[]"
            if template is CHAIN_STEPS[3]:
                dropped.append("_source_relation")
            _write(
                models_dir / "intermediate" / s / "metrics" / f"{name}.sql",
                _sql(template, prev=prev, k=str(k), drop=drop),
            )
            prev = name
        for j in range(CROSS):
            other = systems[(s_i + 1 + j) % len(systems)]
            if other == s:
                continue
            name = f"int_{s}__accounts_vs_{other}"
            _write(
                models_dir / "intermediate" / s / f"{name}.sql",
                _sql(CROSS_SQL, s=s, other=other),
            )
        _write_yaml(
            models_dir / "intermediate" / s / f"_{s}__intermediate.yml",
            {"version": 2, "models": docs},
        )

        docs = []
        _write(
            models_dir / "marts" / s / f"fct_{s}__orders_incremental.sql", _sql(INCREMENTAL, s=s)
        )
        for pattern, template in MARTS.items():
            name = _sql(pattern, s=s)
            _write(models_dir / "marts" / s / f"{name}.sql", _sql(template, s=s, last=prev))
            key = "order_key" if name.endswith("__orders") else None
            docs.append(_doc(name, [key] if key else [], rng, {key: ["unique"]} if key else {}))
        _write_yaml(models_dir / "marts" / s / f"_{s}__marts.yml", {"version": 2, "models": docs})

        if s_i < 3:
            _write(
                dest / "snapshots" / f"snap_{s}__accounts.sql",
                "{% snapshot snap_" + s + "__accounts %}\n"
                "{{ config(unique_key='account_id', strategy='check', check_cols=['segment', 'is_active']) }}\n"
                "SELECT * FROM {{ ref('stg_" + s + "__accounts') }}\n"
                "{% endsnapshot %}\n",
            )
    for name, template in GLOBAL.items():
        _write(models_dir / "marts" / "shared" / f"{name}.sql", template)
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--models", type=int, default=700)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    make_package_project(args.dest, args.models, seed=args.seed)
    n = sum(1 for _ in (args.dest / "models").rglob("*.sql"))
    print(f"wrote a {n}-model dbt project to {args.dest}")


if __name__ == "__main__":
    main()
