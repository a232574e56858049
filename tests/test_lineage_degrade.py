"""Column lineage degrades per column, and works without a catalog (issue 12).

Expectations are the upstream columns worked out by hand from the SQL below.
"""

from __future__ import annotations

from lineage_fixture import catalog, col, manifest, model, rel, source

from tooling.lineage.columns import compute_column_lineage, lineage_counts
from tooling.lineage.model_columns import NOT_PRODUCED

ORDERS = "source.proj.shop.orders"
STG = "model.proj.stg_orders"
WIDE = "model.proj.orders_wide"
MART = "model.proj.fct_orders"
SNAP = "snapshot.proj.orders_snapshot"

# One projection sqlglot cannot qualify: a scalar subquery over a relation dbt
# does not know, whose column it reads unqualified. It used to make every
# column of the model unknown.
WIDE_SQL = f"""
with base as (
    select
        order_id,
        customer_id,
        amount,
        status,
        (with q as (select * from "wh"."elsewhere"."fx_rates") select max(rate) from q)
            as fx_rate
    from {rel("staging", "stg_orders")}
)
select
    order_id,
    customer_id as buyer_id,
    cast(amount as decimal(18, 2)) as amount_usd,
    upper(status) as status,
    fx_rate,
    amount * fx_rate as amount_fx
from base
"""


def build() -> dict:
    orders = source(
        "shop", "orders", [col(c) for c in ("id", "customer_id", "amount_cents", "status")]
    )
    stg = model(
        "stg_orders",
        f"""
        with src as (select * from {rel("raw", "orders")})
        select id as order_id, customer_id, amount_cents / 100.0 as amount, status from src
        """,
        [ORDERS],
        # YAML documents a column the SQL does not produce, and not the others.
        [col("order_id"), col("legacy_flag")],
    )
    wide = model("orders_wide", WIDE_SQL, [STG], [], folder="marts")
    mart = model(
        "fct_orders",
        f"""
        select buyer_id, count(*) as orders, sum(amount_usd) as revenue
        from {rel("marts", "orders_wide")}
        group by buyer_id
        """,
        [WIDE],
        [col("buyer_id")],
        folder="marts",
    )
    snap = model(
        "orders_snapshot",
        f"select * from {rel('staging', 'stg_orders')}",
        [STG],
        [],
        folder="snapshots",
        resource_type="snapshot",
    )
    return manifest(orders, stg, wide, mart, snap)


def ups(item) -> set[tuple[str | None, str]]:
    return {(r.node, r.column) for r in item.upstream}


def test_one_unanalysable_column_keeps_the_others_resolved() -> None:
    man = build()
    cat = catalog(
        man,
        {
            ORDERS: ["id", "customer_id", "amount_cents", "status"],
            STG: ["order_id", "customer_id", "amount", "status"],
            WIDE: ["order_id", "buyer_id", "amount_usd", "status", "fx_rate", "amount_fx"],
        },
    )
    wide = compute_column_lineage(man, cat)[WIDE]
    assert {c: i.status for c, i in wide.items()} == {
        "order_id": "resolved",
        "buyer_id": "resolved",
        "amount_usd": "resolved",
        "status": "resolved",
        "fx_rate": "unknown",
        "amount_fx": "unknown",  # reads fx_rate: its lineage is incomplete
    }
    assert ups(wide["order_id"]) == {(STG, "order_id")}
    assert ups(wide["buyer_id"]) == {(STG, "customer_id")}
    assert ups(wide["amount_usd"]) == {(STG, "amount")}
    assert ups(wide["status"]) == {(STG, "status")}
    assert ups(wide["amount_fx"]) == {(STG, "amount")}  # what is known is kept
    assert "rate" in (wide["fx_rate"].reason or "")
    assert "sqlglot could not analyse" in (wide["fx_rate"].reason or "")
    kinds = {c: wide[c].kind for c in ("order_id", "buyer_id", "amount_usd", "status")}
    assert kinds == {
        "order_id": "passthrough",
        "buyer_id": "rename",
        "amount_usd": "cast",
        "status": "expression",
    }


def test_without_a_catalog_columns_come_from_the_sql_in_dag_order() -> None:
    lineage = compute_column_lineage(build(), None)
    stg = lineage[STG]
    # Produced by the SQL (the source's documented columns expand the select *);
    # the YAML-only column is flagged, not listed as a column of the model.
    assert {c: i.status for c, i in stg.items()} == {
        "order_id": "resolved",
        "customer_id": "resolved",
        "amount": "resolved",
        "status": "resolved",
        "legacy_flag": "not_produced",
    }
    assert stg["legacy_flag"].reason == NOT_PRODUCED
    assert ups(stg["amount"]) == {(ORDERS, "amount_cents")}
    # orders_wide documents nothing: its columns come from its SQL over stg's
    # produced columns (not stg's YAML, which lists only order_id).
    wide = lineage[WIDE]
    assert list(wide) == ["order_id", "buyer_id", "amount_usd", "status", "fx_rate", "amount_fx"]
    assert ups(wide["buyer_id"]) == {(STG, "customer_id")}
    mart = lineage[MART]
    assert {c: i.status for c, i in mart.items()} == {
        "buyer_id": "resolved",
        "orders": "constant",
        "revenue": "resolved",
    }
    assert ups(mart["revenue"]) == {(WIDE, "amount_usd")}
    assert mart["revenue"].kind == "aggregate"
    snap = lineage[SNAP]
    assert ups(snap["customer_id"]) == {(STG, "customer_id")}
    assert "legacy_flag" not in snap  # stg does not produce it, so select * cannot
    assert snap["dbt_valid_to"].status == "unknown"
    assert "snapshot" in (snap["dbt_valid_to"].reason or "")


def test_only_pulls_in_the_ancestors_it_needs_without_a_catalog() -> None:
    full = compute_column_lineage(build(), None)
    some = compute_column_lineage(build(), None, only={MART})
    assert list(some) == [MART]
    assert {c: (i.status, ups(i)) for c, i in some[MART].items()} == {
        c: (i.status, ups(i)) for c, i in full[MART].items()
    }


def test_counts_are_those_of_the_lineage_map() -> None:
    lineage = compute_column_lineage(build(), None)
    statuses = [i.status for cols in lineage.values() for i in cols.values()]
    counts = lineage_counts(lineage)
    assert counts["not_produced"] == statuses.count("not_produced") == 1
    assert counts["unknown"] == statuses.count("unknown")
    assert counts["columns"] == len(statuses) - 1
    assert counts["resolved"] + counts["constant"] + counts["unknown"] == counts["columns"]
