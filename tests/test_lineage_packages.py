"""Column lineage of SQL as packages and DuckDB teams write it (issue 12's
package-heavy project, benchmarks/package_project.py).

The compiled SQL below is what dbt wrote for that project's models (names
shortened): a star macro's quoted column list, an ephemeral parent inlined as a
``__dbt__cte__`` CTE, DuckDB's PIVOT statement, ``COLUMNS(...)`` and ``UNION ALL
BY NAME``, a snapshot's config. Upstream columns are worked out by hand from
that SQL; the output column names are also taken from DuckDB itself, running
the same SQL over empty tables of the parents' columns.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
from lineage_fixture import DB, catalog, col, manifest, model, rel, source

from tooling.lineage.columns import compute_column_lineage, trace_column

PAYMENTS = "source.proj.shop.payments"
STG = "model.proj.stg_payments"


def ups(item: Any) -> set[tuple[str | None, str]]:
    return {(r.node, r.column) for r in item.upstream}


def unmasked(item: Any) -> set[tuple[str | None, str]]:
    return {(r.node, r.column) for r in item.unmasked}


def duckdb_columns(sql: str, tables: dict[str, list[str]]) -> list[str]:
    """The columns DuckDB gives the SQL, over empty tables ``schema.table`` (VARCHAR
    columns, but ``amount``: DOUBLE)."""
    con = duckdb.connect()
    con.execute(f"attach ':memory:' as {DB}")
    for name, columns in tables.items():
        schema, table = name.split(".")
        con.execute(f"create schema if not exists {DB}.{schema}")
        cols = ", ".join(f'"{c}" {"double" if c == "amount" else "varchar"}' for c in columns)
        con.execute(f"create table {DB}.{schema}.{table} ({cols})")
    return [d[0] for d in con.execute(sql).description]


STG_COLUMNS = ["payment_id", "order_id", "payment_method", "amount", "email", "paid_at"]


def staged(*children: dict) -> dict:
    payments = source(
        "shop",
        "payments",
        [col(c) for c in ("id", "order_id", "method", "amount", "email", "paid_at")],
    )
    stg = model(
        "stg_payments",
        f"""
        select id as payment_id, order_id, method as payment_method, amount, email, paid_at
        from {rel("raw", "payments")}
        """,
        [PAYMENTS],
        [],
    )
    return manifest(payments, stg, *children)


def test_a_star_macros_quoted_columns_are_the_columns_themselves() -> None:
    # relkit.star (like dbt_utils.star) quotes every name it lists.
    sql = f"""
    select
        "payment_id"
        , "order_id"
        , md5("email") as email_hash
    from {rel("staging", "stg_payments")}
    """
    child = model("payments_clean", sql, [STG], [], folder="marts")
    lineage = compute_column_lineage(staged(child), None)
    cols = lineage["model.proj.payments_clean"]
    assert list(cols) == duckdb_columns(sql, {"staging.stg_payments": STG_COLUMNS})
    assert ups(cols["payment_id"]) == {(STG, "payment_id")}  # not '"payment_id"'
    assert cols["payment_id"].kind == "passthrough"
    assert ups(cols["email_hash"]) == {(STG, "email")}
    assert unmasked(cols["email_hash"]) == set()  # md5 masks it, quoted or not
    # So a column trace goes through: the source's amount... here, its id.
    down = trace_column(lineage, PAYMENTS, "id", direction="down", depth=None)
    assert [(e.node, e.column) for e in down.edges] == [(STG, "payment_id")]
    assert [(e.node, e.column) for e in down.edges[0].edges] == [
        ("model.proj.payments_clean", "payment_id")
    ]


def test_an_ephemeral_parents_relations_are_read_through_its_cte() -> None:
    ephemeral = model(
        "payments_open",
        f"select * from {rel('staging', 'stg_payments')} where amount > 0",
        [STG],
        [],
        folder="intermediate",
    )
    ephemeral["config"]["materialized"] = "ephemeral"
    # As dbt compiles a model that refs an ephemeral one.
    sql = f"""
    WITH  __dbt__cte__payments_open as (
    select * from {rel("staging", "stg_payments")} where amount > 0
    ), totals AS (
        SELECT order_id, sum(amount) AS paid FROM __dbt__cte__payments_open GROUP BY order_id
    )
    SELECT totals.* FROM totals
    """
    child = model("order_payments", sql, ["model.proj.payments_open"], [], folder="marts")
    man = staged(ephemeral, child)
    for cat in (None, catalog(man, {STG: STG_COLUMNS})):
        cols = compute_column_lineage(man, cat)["model.proj.order_payments"]
        assert list(cols) == ["order_id", "paid"]
        assert ups(cols["paid"]) == {(STG, "amount")}
        assert cols["paid"].kind == "aggregate"
        assert ups(cols["order_id"]) == {(STG, "order_id")}


def test_duckdb_pivot_statement() -> None:
    sql = f"""
    PIVOT {rel("staging", "stg_payments")}
    ON payment_method IN ('card', 'bank', 'wallet')
    USING sum(amount)
    GROUP BY order_id
    """
    child = model("payments_pivoted", sql, [STG], [], folder="intermediate")
    man = staged(child)
    names = duckdb_columns(sql, {"staging.stg_payments": STG_COLUMNS})
    assert names == ["order_id", "card", "bank", "wallet"]
    for cat in (None, catalog(man, {STG: STG_COLUMNS, child["unique_id"]: names})):
        cols = compute_column_lineage(man, cat)[child["unique_id"]]
        assert list(cols) == names
        assert ups(cols["order_id"]) == {(STG, "order_id")}
        for value in ("card", "bank", "wallet"):
            # sum(amount) where payment_method is the value: the method decides, the
            # amount's value flows.
            assert cols[value].status == "resolved"
            assert ups(cols[value]) == {(STG, "amount"), (STG, "payment_method")}
            assert unmasked(cols[value]) == {(STG, "amount")}
            assert cols[value].kind == "aggregate"


def test_duckdb_pivot_over_the_datas_values_needs_the_catalog() -> None:
    sql = f"""
    PIVOT {rel("staging", "stg_payments")} ON payment_method USING sum(amount) AS total
    GROUP BY order_id
    """
    child = model("payments_by_method", sql, [STG], [col("card_total")], folder="intermediate")
    man = staged(child)
    without = compute_column_lineage(man, None)[child["unique_id"]]
    assert without["card_total"].status == "unknown"
    assert "IN list" in (without["card_total"].reason or "")
    # The catalog says which values the data had.
    names = ["order_id", "card_total", "bank_total"]
    with_cat = compute_column_lineage(
        man, catalog(man, {STG: STG_COLUMNS, child["unique_id"]: names})
    )
    cols = with_cat[child["unique_id"]]
    assert ups(cols["bank_total"]) == {(STG, "amount"), (STG, "payment_method")}
    assert ups(cols["order_id"]) == {(STG, "order_id")}


def test_an_unpivot_statement_is_unknown_with_its_reason() -> None:
    sql = f"UNPIVOT {rel('staging', 'stg_payments')} ON amount INTO NAME k VALUE v"
    child = model("payments_long", sql, [STG], [col("k"), col("v")], folder="intermediate")
    cols = compute_column_lineage(staged(child), None)[child["unique_id"]]
    assert {c: i.status for c, i in cols.items()} == {"k": "unknown", "v": "unknown"}
    assert "UNPIVOT" in (cols["v"].reason or "")


def test_duckdb_columns_expression() -> None:
    sql = f"""
    SELECT
        order_id
        , COLUMNS('^pa')
        , COLUMNS(* EXCLUDE (payment_id, order_id, payment_method, email, paid_at)) + 1
    FROM {rel("staging", "stg_payments")}
    """
    child = model("payment_columns", sql, [STG], [], folder="intermediate")
    man = staged(child)
    names = duckdb_columns(sql, {"staging.stg_payments": STG_COLUMNS})
    assert names == ["order_id", "payment_id", "payment_method", "paid_at", "amount"]
    for cat in (None, catalog(man, {STG: STG_COLUMNS, child["unique_id"]: names})):
        cols = compute_column_lineage(man, cat)[child["unique_id"]]
        assert list(cols) == names
        for name in ("payment_id", "payment_method", "paid_at"):
            assert ups(cols[name]) == {(STG, name)}
            assert cols[name].kind == "passthrough"
        assert ups(cols["amount"]) == {(STG, "amount")}
        assert cols["amount"].kind == "expression"


def test_duckdb_union_by_name() -> None:
    sql = f"""
    SELECT payment_id AS activity_id, 'payment' AS kind, amount
    FROM {rel("staging", "stg_payments")}
    UNION ALL BY NAME
    SELECT order_id AS activity_id, paid_at AS happened_at, 'order' AS kind
    FROM {rel("staging", "stg_payments")}
    """
    child = model("activity", sql, [STG], [], folder="intermediate")
    man = staged(child)
    names = duckdb_columns(sql, {"staging.stg_payments": STG_COLUMNS})
    assert names == ["activity_id", "kind", "amount", "happened_at"]
    for cat in (None, catalog(man, {STG: STG_COLUMNS, child["unique_id"]: names})):
        cols = compute_column_lineage(man, cat)[child["unique_id"]]
        assert list(cols) == names
        assert ups(cols["activity_id"]) == {(STG, "payment_id"), (STG, "order_id")}
        assert ups(cols["amount"]) == {(STG, "amount")}
        assert cols["amount"].kind == "passthrough"  # the NULL of the other branch adds nothing
        assert ups(cols["happened_at"]) == {(STG, "paid_at")}
        assert cols["kind"].status == "constant"


@pytest.mark.parametrize("strategy", ["timestamp", "check"])
def test_the_columns_dbts_snapshot_adds(strategy: str) -> None:
    snap = model(
        "payments_snapshot",
        f"select * from {rel('staging', 'stg_payments')}",
        [STG],
        [],
        folder="snapshots",
        resource_type="snapshot",
    )
    snap["config"].update(strategy=strategy, unique_key="payment_id")
    if strategy == "timestamp":
        snap["config"]["updated_at"] = "paid_at"
    else:
        snap["config"]["check_cols"] = ["amount"]
    man = staged(snap)
    meta = ["dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"]
    for cat in (None, catalog(man, {STG: STG_COLUMNS, snap["unique_id"]: STG_COLUMNS + meta})):
        cols = compute_column_lineage(man, cat)[snap["unique_id"]]
        assert list(cols) == STG_COLUMNS + meta
        # dbt's build_snapshot_table: scd_id = md5(unique_key || updated_at);
        # updated_at, valid_from and valid_to are the updated_at value (the
        # snapshot's run time for the check strategy).
        if strategy == "timestamp":
            assert ups(cols["dbt_scd_id"]) == {(STG, "payment_id"), (STG, "paid_at")}
            for name in ("dbt_updated_at", "dbt_valid_from", "dbt_valid_to"):
                assert ups(cols[name]) == {(STG, "paid_at")}
                assert unmasked(cols[name]) == {(STG, "paid_at")}
        else:
            assert ups(cols["dbt_scd_id"]) == {(STG, "payment_id")}
            for name in ("dbt_updated_at", "dbt_valid_from", "dbt_valid_to"):
                assert cols[name].status == "constant"
        assert unmasked(cols["dbt_scd_id"]) == set()  # a hash
        assert cols["dbt_scd_id"].status == "resolved"


def test_a_snapshot_without_its_strategy_keeps_the_columns_unknown() -> None:
    snap = model(
        "payments_snapshot",
        f"select * from {rel('staging', 'stg_payments')}",
        [STG],
        [],
        folder="snapshots",
        resource_type="snapshot",
    )
    cols = compute_column_lineage(staged(snap), None)[snap["unique_id"]]
    assert cols["dbt_valid_to"].status == "unknown"
    assert "no strategy" in (cols["dbt_valid_to"].reason or "")


def test_a_column_from_a_dbt_node_and_a_table_dbt_does_not_know() -> None:
    # Sorting its upstream columns compared a node id with None and raised, which
    # stopped the lineage of the whole project.
    sql = f"""
    SELECT
        targets.order_id
        , targets.target_usd - coalesce(payments.amount, 0) AS target_gap
    FROM "{DB}"."legacy"."targets" AS targets
    INNER JOIN {rel("staging", "stg_payments")} AS payments USING (order_id)
    """
    child = model("order_targets", sql, [STG], [], folder="marts")
    cols = compute_column_lineage(staged(child), None)[child["unique_id"]]
    assert ups(cols["target_gap"]) == {(None, "target_usd"), (STG, "amount")}
    assert [r.node for r in cols["target_gap"].upstream] == [None, STG]
    assert {r.relation for r in cols["target_gap"].upstream if r.node is None} == {
        f"{DB}.legacy.targets"
    }
