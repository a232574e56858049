"""Column lineage on tricky SQL, against upstream columns worked out by hand."""

from __future__ import annotations

import pytest
from lineage_fixture import catalog, col, manifest, model, rel, source

from tooling.lineage.columns import compute_column_lineage, trace_column
from tooling.lineage.model_columns import ColumnRef

CUSTOMERS = "source.proj.crm.customers"
ORDERS = "source.proj.shop.orders"
REFUNDS = "source.proj.shop.refunds"
STG_CUSTOMERS = "model.proj.stg_customers"
STG_ORDERS = "model.proj.stg_orders"


def build() -> tuple[dict, dict]:
    customers = source(
        "crm", "customers", [col(c) for c in ("id", "first_name", "email", "phone", "city")]
    )
    orders = source(
        "shop", "orders", [col(c) for c in ("order_id", "customer_id", "amount", "status", "at")]
    )
    refunds = source("shop", "refunds", [col("order_id"), col("amount")])
    stg_customers = model(
        "stg_customers",
        f"""
        with source as (select * from {rel("raw", "customers")}),
        renamed as (
            select
                id as customer_id,
                upper(first_name) as first_name,
                md5(lower(trim(email))) as email_hash,
                email is not null as has_email,
                phone,
                city
            from source
        )
        select * from renamed
        """,
        [CUSTOMERS],
        [],
    )
    stg_orders = model("stg_orders", f"select * from {rel('raw', 'orders')}", [ORDERS], [])
    enriched = model(
        "orders_enriched",
        f"""
        select
            o.order_id,
            c.customer_id as cust,
            c.city,
            row_number() over (partition by o.customer_id order by o.at) as order_seq,
            case when o.status = 'returned' then 0 else o.amount end as net_amount,
            'web' as channel
        from {rel("staging", "stg_orders")} as o
        left join {rel("staging", "stg_customers")} as c
            on o.customer_id = c.customer_id
        """,
        [STG_ORDERS, STG_CUSTOMERS],
        [],
        folder="marts",
    )
    movements = model(
        "money_movements",
        f"""
        with charges as (select order_id, amount from {rel("raw", "orders")}),
        refunds as (select order_id, -amount as amount from {rel("raw", "refunds")}),
        unioned as (
            select * from charges
            union all
            select * from refunds
        )
        select order_id, sum(amount) as net, count(*) as n
        from unioned
        group by order_id
        """,
        [ORDERS, REFUNDS],
        [],
    )
    mystery = model(
        "mystery", 'select * from "wh"."elsewhere"."not_in_manifest"', [], [col("a"), col("b")]
    )
    ambiguous = model(
        "ambiguous",
        f"select order_id, nowhere from {rel('raw', 'orders')} as a "
        f"join {rel('raw', 'refunds')} as b on a.amount = b.amount",
        [ORDERS, REFUNDS],
        [],
    )
    broken = model("broken", "select from from where", [ORDERS], [col("x")])
    man = manifest(
        customers,
        orders,
        refunds,
        stg_customers,
        stg_orders,
        enriched,
        movements,
        mystery,
        ambiguous,
        broken,
    )
    cat = catalog(
        man,
        {
            CUSTOMERS: ["id", "first_name", "email", "phone", "city"],
            ORDERS: ["order_id", "customer_id", "amount", "status", "at"],
            REFUNDS: ["order_id", "amount"],
            STG_CUSTOMERS: [
                "customer_id",
                "first_name",
                "email_hash",
                "has_email",
                "phone",
                "city",
            ],
            STG_ORDERS: ["order_id", "customer_id", "amount", "status", "at"],
            "model.proj.orders_enriched": [
                "order_id",
                "cust",
                "city",
                "order_seq",
                "net_amount",
                "channel",
            ],
            "model.proj.money_movements": ["order_id", "net", "n"],
            "model.proj.mystery": ["a", "b"],
            "model.proj.ambiguous": ["order_id", "nowhere"],
        },
    )
    return man, cat


@pytest.fixture(scope="module")
def lineage() -> dict:
    man, cat = build()
    return compute_column_lineage(man, cat)


def ups(item) -> set[tuple[str | None, str]]:
    return {(r.node, r.column) for r in item.upstream}


def test_ctes_and_select_star_resolve_to_source_columns(lineage: dict) -> None:
    stg = lineage[STG_CUSTOMERS]
    assert list(stg) == ["customer_id", "first_name", "email_hash", "has_email", "phone", "city"]
    assert ups(stg["customer_id"]) == {(CUSTOMERS, "id")}
    assert ups(stg["first_name"]) == {(CUSTOMERS, "first_name")}
    assert ups(stg["email_hash"]) == {(CUSTOMERS, "email")}
    assert ups(stg["phone"]) == {(CUSTOMERS, "phone")}
    assert all(item.status == "resolved" for item in stg.values())
    plain = lineage[STG_ORDERS]
    for name in ("order_id", "customer_id", "amount", "status", "at"):
        assert ups(plain[name]) == {(ORDERS, name)}


def test_masking_is_recorded_per_path(lineage: dict) -> None:
    stg = lineage[STG_CUSTOMERS]
    assert stg["email_hash"].unmasked == []  # md5
    assert stg["has_email"].unmasked == []  # a predicate: only a boolean survives
    assert stg["phone"].unmasked == [ColumnRef(CUSTOMERS, "wh.raw.customers", "phone")]
    assert stg["first_name"].unmasked == stg["first_name"].upstream  # upper() keeps the value


def test_aliased_join_window_and_case(lineage: dict) -> None:
    enriched = lineage["model.proj.orders_enriched"]
    assert ups(enriched["order_id"]) == {(STG_ORDERS, "order_id")}
    assert ups(enriched["cust"]) == {(STG_CUSTOMERS, "customer_id")}
    assert ups(enriched["city"]) == {(STG_CUSTOMERS, "city")}
    assert ups(enriched["order_seq"]) == {(STG_ORDERS, "customer_id"), (STG_ORDERS, "at")}
    assert ups(enriched["net_amount"]) == {(STG_ORDERS, "status"), (STG_ORDERS, "amount")}
    assert enriched["channel"].status == "constant"
    assert enriched["channel"].upstream == []


def test_union_and_aggregates(lineage: dict) -> None:
    moves = lineage["model.proj.money_movements"]
    assert ups(moves["order_id"]) == {(ORDERS, "order_id"), (REFUNDS, "order_id")}
    assert ups(moves["net"]) == {(ORDERS, "amount"), (REFUNDS, "amount")}
    assert moves["n"].status == "constant"  # count(*) reads no column


def test_unresolvable_columns_are_unknown_not_guessed(lineage: dict) -> None:
    mystery = lineage["model.proj.mystery"]
    assert {c: i.status for c, i in mystery.items()} == {"a": "unknown", "b": "unknown"}
    assert "not_in_manifest" in (mystery["a"].reason or "")
    assert mystery["a"].upstream == []
    ambiguous = lineage["model.proj.ambiguous"]
    assert ambiguous["order_id"].status == "unknown"  # in both joined relations
    assert ambiguous["order_id"].upstream == []
    assert ambiguous["nowhere"].status == "unknown"  # in neither
    broken = lineage["model.proj.broken"]
    assert broken["x"].status == "unknown"
    assert "sqlglot" in (broken["x"].reason or "")


def test_trace_goes_through_models_to_sources(lineage: dict) -> None:
    up = trace_column(lineage, "model.proj.orders_enriched", "cust", direction="up", depth=None)
    assert [(e.node, e.column) for e in up.edges] == [(STG_CUSTOMERS, "customer_id")]
    assert [(e.node, e.column) for e in up.edges[0].edges] == [(CUSTOMERS, "id")]
    one = trace_column(lineage, "model.proj.orders_enriched", "cust", direction="up", depth=1)
    assert one.edges[0].edges == []
    down = trace_column(lineage, CUSTOMERS, "city", direction="down", depth=None)
    assert [(e.node, e.column) for e in down.edges] == [(STG_CUSTOMERS, "city")]
    assert [(e.node, e.column) for e in down.edges[0].edges] == [
        ("model.proj.orders_enriched", "city")
    ]


def test_only_limits_the_work(lineage: dict) -> None:
    man, cat = build()
    some = compute_column_lineage(man, cat, only={STG_ORDERS})
    assert list(some) == [STG_ORDERS]
    assert {c: ups(i) for c, i in some[STG_ORDERS].items()} == {
        c: ups(i) for c, i in lineage[STG_ORDERS].items()
    }


def test_without_catalog_documented_columns_are_used() -> None:
    man, _ = build()
    # No catalog: the source documents its columns, so the select * still expands.
    result = compute_column_lineage(man, None)
    assert ups(result[STG_ORDERS]["amount"]) == {(ORDERS, "amount")}
    assert result["model.proj.mystery"]["a"].status == "unknown"


def test_one_unresolvable_branch_does_not_hide_the_rest() -> None:
    from tooling.lineage.model_columns import model_column_lineage
    from tooling.lineage.relations import RelationIndex

    schema = {"db": {"s": {"a": {"id": "int", "x": "int"}}}}
    result = model_column_lineage(
        "select id, x from db.s.a union all select * from db.s.unknown",
        schema=schema,
        relations=RelationIndex({}),
        dialect="duckdb",
        columns=["id", "x"],
    )
    # Both are unknown (the second branch cannot be expanded); what was found is kept.
    assert result["id"].status == "unknown"
    assert result["id"].upstream == [ColumnRef(None, "db.s.a", "id")]
    assert "db.s.unknown" in (result["id"].reason or "")
    assert result["x"].status == "unknown"
