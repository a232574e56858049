"""Tests of the sample-data generator: every property is checked on the written files, with
plain DuckDB SQL that reads them back independently of how they were generated."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from tooling.sample.generate import ENTITIES, generate

ROOT = Path(__file__).resolve().parents[1]
DAYS = 28
SCALE = 0.02


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("sample")
    return out, generate(out, SCALE)


@pytest.fixture(scope="module")
def con(sample: tuple[Path, dict[str, int]]) -> Iterator[duckdb.DuckDBPyConnection]:
    """Views over the sample files, read with the column types pinned in sources.yml."""
    out, _ = sample
    spec = yaml.safe_load((ROOT / "ingestion" / "sources.yml").read_text())
    connection = duckdb.connect()
    for source in spec["sources"]:
        for entity in source["entities"]:
            columns = ", ".join(f"'{k}': '{v}'" for k, v in entity["columns"].items())
            location = (out / entity["location"]).as_posix()
            if source["format"] == "csv":
                reader = (
                    f"read_csv('{location}', header = true, delim = ',', filename = true, "
                    f"columns = {{{columns}}}, timestampformat = '%Y-%m-%d %H:%M:%S')"
                )
            elif source["format"] == "json_pages":
                reader = (
                    f"(SELECT unnest(data, recursive := true), filename "
                    f"FROM read_json('{location}', filename = true, "
                    f"columns = {{'data': 'STRUCT({_struct(entity['columns'])})[]', "
                    f"'page': 'BIGINT', 'next_page': 'BIGINT'}}))"
                )
            else:
                reader = (
                    f"read_json('{location}', format = 'newline_delimited', filename = true, "
                    f"columns = {{{columns}}})"
                )
            connection.execute(f"CREATE VIEW {entity['name']} AS SELECT * FROM {reader}")
    # Latest version of each order and the de-duplicated order items.
    connection.execute("""
        CREATE VIEW orders_latest AS
        SELECT * FROM orders QUALIFY row_number() OVER (
            PARTITION BY order_id ORDER BY updated_at DESC) = 1
    """)
    connection.execute("""
        CREATE VIEW items_dedup AS
        SELECT DISTINCT order_item_id, order_id, product_id, quantity, unit_price_cents
        FROM order_items
    """)
    connection.execute("""
        CREATE VIEW payments_latest AS
        SELECT * FROM payments QUALIFY row_number() OVER (
            PARTITION BY payment_id ORDER BY updated_at DESC) = 1
    """)
    yield connection
    connection.close()


def _struct(columns: dict[str, str]) -> str:
    return ", ".join(f"{name} {kind}" for name, kind in columns.items())


def one(con: duckdb.DuckDBPyConnection, query: str) -> Any:
    row = con.execute(query).fetchone()
    assert row is not None
    return row[0]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# --- API ------------------------------------------------------------------------------------


def test_deterministic_byte_identical(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", 0.01, seed=3)
    second = generate(tmp_path / "b", 0.01, seed=3)
    assert first == second
    files_a, files_b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert files_a.keys() == files_b.keys()
    assert files_a == files_b
    other = generate(tmp_path / "c", 0.01, seed=4)
    assert _files(tmp_path / "c") != files_a
    assert set(other) == set(first)


@pytest.mark.parametrize("scale", [0, -1, -0.5, math.nan, math.inf])
def test_bad_scale_raises(tmp_path: Path, scale: float) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path, scale)


@pytest.mark.parametrize("days", [1, 0, -3])
def test_too_few_days_raises(tmp_path: Path, days: int) -> None:
    with pytest.raises(ValueError, match="days"):
        generate(tmp_path, 0.01, days=days)


def test_progress_reports_each_entity(tmp_path: Path) -> None:
    labels: list[str] = []
    generate(tmp_path, 0.005, days=3, progress=labels.append)
    assert labels == list(ENTITIES)


def test_returned_keys(sample: tuple[Path, dict[str, int]]) -> None:
    _, counts = sample
    assert list(counts) == [
        "customers",
        "orders",
        "order_items",
        "products",
        "stores",
        "supplies",
        "payments",
        "events",
    ]


def test_counts_equal_rows_in_files(
    sample: tuple[Path, dict[str, int]], con: duckdb.DuckDBPyConnection
) -> None:
    _, counts = sample
    for entity in ENTITIES:
        assert one(con, f"SELECT count(*) FROM {entity}") == counts[entity], entity


def test_sizes_at_scale_one_fiftieth(sample: tuple[Path, dict[str, int]]) -> None:
    _, counts = sample
    assert counts["products"] == 16 + 3
    assert counts["stores"] == 6
    assert 30 <= counts["supplies"] <= 50
    assert 100 <= counts["customers"] <= 120  # 100 customers plus re-exports
    assert 500 * 2 <= counts["orders"] <= 500 * 3  # 500 orders, most exported 2-3 times
    assert 1_100 <= counts["order_items"] <= 1_400
    assert 450 <= counts["payments"] <= 650
    assert 2_000 <= counts["events"] <= 3_200
    assert 4_000 <= sum(counts.values()) <= 7_000


def test_tiny_scale_still_has_every_entity_and_quirk(tmp_path: Path) -> None:
    counts = generate(tmp_path, 0.0001, days=4)
    assert all(rows > 0 for rows in counts.values()), counts
    c = duckdb.connect()
    items = (tmp_path / "erp/order_items/*.csv").as_posix()
    assert c.execute(
        f"SELECT count(*) FROM (SELECT order_item_id FROM read_csv('{items}') "
        "GROUP BY ALL HAVING count(*) > 1)"
    ).fetchone() == (1,)
    pages = (tmp_path / "payments/*.json").as_posix()
    assert c.execute(
        f"SELECT count(*) FROM (SELECT unnest(data, recursive := true) FROM read_json('{pages}')) "
        "WHERE kind = 'refund'"
    ).fetchone() == (1,)


def test_rerun_into_same_folder_removes_stale_files(tmp_path: Path) -> None:
    generate(tmp_path, 0.2, days=6)
    (tmp_path / "README.md").write_text("kept")
    generate(tmp_path, 0.005, days=3)
    assert len(list((tmp_path / "erp/orders").glob("*.csv"))) == 3
    assert len(list((tmp_path / "events").glob("*.ndjson"))) == 3
    assert sorted(p.name for p in (tmp_path / "payments").iterdir()) == ["payments_page_0001.json"]
    assert (tmp_path / "README.md").read_text() == "kept"


# --- layout and formats ------------------------------------------------------------------------


def test_file_layout(sample: tuple[Path, dict[str, int]]) -> None:
    out, _ = sample
    days = [date(2026, 10, d).isoformat() for d in range(1, DAYS + 1)]
    for entity in ("customers", "orders", "order_items"):
        names = sorted(p.name for p in (out / "erp" / entity).iterdir())
        assert names == [f"{entity}_{d}.csv" for d in days]
    assert sorted(p.name for p in (out / "events").iterdir()) == [
        f"events_{d}.ndjson" for d in days
    ]
    assert sorted(p.name for p in (out / "erp/products").iterdir()) == [
        "products_2026-10-01.csv",
        "products_2026-10-15.csv",
    ]
    assert [p.name for p in (out / "erp/stores").iterdir()] == ["stores_2026-10-01.csv"]
    assert [p.name for p in (out / "erp/supplies").iterdir()] == ["supplies_2026-10-01.csv"]


def test_csv_headers_match_the_contract(sample: tuple[Path, dict[str, int]]) -> None:
    out, _ = sample
    spec = yaml.safe_load((ROOT / "ingestion" / "sources.yml").read_text())
    erp = next(s for s in spec["sources"] if s["name"] == "erp")
    for entity in erp["entities"]:
        expected = ",".join(entity["columns"])
        files = sorted(out.glob(entity["location"]))
        assert files, entity["name"]
        for path in files:
            assert path.read_text().splitlines()[0] == expected, path


def test_timestamps_and_dates_are_plain_text(sample: tuple[Path, dict[str, int]]) -> None:
    out, _ = sample
    c = duckdb.connect()
    ts = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
    checks = {
        "erp/customers/*.csv": ["signed_up_at", "updated_at"],
        "erp/orders/*.csv": ["ordered_at", "updated_at"],
        "erp/products/*.csv": ["updated_at"],
    }
    for glob, columns in checks.items():
        for column in columns:
            bad = c.execute(
                f"SELECT count(*) FROM read_csv('{(out / glob).as_posix()}', all_varchar = true) "
                f"WHERE NOT regexp_matches({column}, '{ts}')"
            ).fetchone()
            assert bad == (0,), (glob, column)
    stores = (out / "erp/stores/stores_2026-10-01.csv").read_text().splitlines()
    assert stores[1].split(",")[-2:] == ["2016-09-01", "0.0600"]
    for line in (out / "events/events_2026-10-02.ndjson").read_text().splitlines()[:20]:
        event = json.loads(line)
        assert list(event) == [
            "event_id",
            "event_type",
            "occurred_at",
            "customer_id",
            "session_id",
            "payload",
        ]
        assert list(event["payload"]) == ["page", "product_id", "order_id", "device"]
        assert list(event["payload"]["device"]) == ["os", "browser"]


def test_payment_pages_chain(sample: tuple[Path, dict[str, int]]) -> None:
    out, _ = sample
    pages = sorted((out / "payments").iterdir())
    assert len(pages) >= 2
    for number, path in enumerate(pages, start=1):
        assert path.name == f"payments_page_{number:04d}.json"
        document = json.loads(path.read_text())
        assert list(document) == ["data", "page", "next_page"]
        assert document["page"] == number
        assert document["next_page"] == (number + 1 if number < len(pages) else None)
        assert 0 < len(document["data"]) <= 500
        if number < len(pages):
            assert len(document["data"]) == 500


def test_pages_are_ordered_by_updated_at(sample: tuple[Path, dict[str, int]]) -> None:
    out, _ = sample
    keys = [
        (record["updated_at"], record["payment_id"])
        for path in sorted((out / "payments").iterdir())
        for record in json.loads(path.read_text())["data"]
    ]
    assert keys == sorted(keys)


# --- customers ---------------------------------------------------------------------------------


def test_customers_appear_on_their_sign_up_day(con: duckdb.DuckDBPyConnection) -> None:
    assert (
        one(
            con,
            """
            SELECT count(*) FROM (
                SELECT * FROM customers
                QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY updated_at) = 1)
            WHERE updated_at <> signed_up_at
               OR NOT filename LIKE '%customers_' || strftime(signed_up_at, '%Y-%m-%d') || '.csv'
            """,
        )
        == 0
    )


def test_customer_quirks(con: duckdb.DuckDBPyConnection) -> None:
    assert one(con, "SELECT count(*) FROM customers WHERE email <> lower(email)") >= 1
    assert one(con, "SELECT count(*) FROM customers WHERE email IS NULL") >= 1
    assert one(con, "SELECT count(*) FROM customers WHERE phone IS NULL") >= 1
    assert one(con, "SELECT count(DISTINCT lower(email)) = count(email) FROM customers "
                    "WHERE updated_at = signed_up_at")  # fmt: skip
    changed = con.execute("""
        SELECT a.customer_id, a.city, b.city, a.filename < b.filename
        FROM customers a JOIN customers b
          ON a.customer_id = b.customer_id AND a.updated_at < b.updated_at
    """).fetchall()
    assert changed, "some customer is re-exported later"
    assert all(old != new and later for _, old, new, later in changed)


# --- orders ------------------------------------------------------------------------------------


def test_order_status_updates_arrive_in_later_files(con: duckdb.DuckDBPyConnection) -> None:
    first = con.execute("""
        SELECT count(*) FROM orders
        WHERE status = 'placed'
          AND (updated_at <> ordered_at
               OR NOT filename LIKE '%orders_' || strftime(ordered_at, '%Y-%m-%d') || '.csv')
    """).fetchone()
    assert first == (0,)
    late = con.execute("""
        SELECT count(*) FROM orders a JOIN orders b USING (order_id)
        WHERE a.status = 'placed' AND b.status = 'completed'
          AND b.updated_at > a.updated_at AND b.filename > a.filename
          AND b.filename LIKE '%orders_' || strftime(b.updated_at, '%Y-%m-%d') || '.csv'
    """).fetchone()
    assert late is not None and late[0] > 100
    statuses = dict(
        con.execute("SELECT status, count(*) FROM orders_latest GROUP BY ALL").fetchall()
    )
    assert set(statuses) == {"placed", "shipped", "completed", "returned"}
    assert statuses["completed"] > 400
    # every update is later than the previous one, and ends in a sensible sequence
    assert (
        one(
            con,
            """
            SELECT count(*) FROM (
                SELECT order_id, string_agg(status, '>' ORDER BY updated_at) AS path
                FROM orders GROUP BY order_id)
            WHERE path NOT IN ('placed', 'placed>completed', 'placed>shipped',
                               'placed>shipped>completed', 'placed>completed>returned')
            """,
        )
        == 0
    )


def test_every_order_customer_exists_and_signed_up_first(con: duckdb.DuckDBPyConnection) -> None:
    assert one(con, "SELECT count(*) FROM orders_latest WHERE customer_id IS NULL") >= 1
    missing = one(
        con,
        """
        SELECT count(*) FROM orders_latest o
        WHERE o.customer_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM customers c
            WHERE c.customer_id = o.customer_id AND c.signed_up_at <= o.ordered_at)
        """,
    )
    assert missing == 0
    assert one(con, "SELECT count(*) FROM orders_latest WHERE store_id NOT IN "
                    "(SELECT store_id FROM stores)") == 0  # fmt: skip


# --- order items and products ------------------------------------------------------------------


def test_duplicate_item_rows_in_consecutive_daily_files(con: duckdb.DuckDBPyConnection) -> None:
    duplicates = con.execute("""
        SELECT order_item_id, count(*) AS copies,
               count(DISTINCT (order_id, product_id, quantity, unit_price_cents)) AS versions,
               min(filename) AS first_file, max(filename) AS second_file
        FROM order_items GROUP BY order_item_id HAVING count(*) > 1
    """).fetchall()
    assert duplicates
    for _, copies, versions, first_file, second_file in duplicates:
        assert (copies, versions) == (2, 1)
        day = date.fromisoformat(first_file[-14:-4])
        assert date.fromisoformat(second_file[-14:-4]).toordinal() == day.toordinal() + 1
    share = len(duplicates) / one(con, "SELECT count(DISTINCT order_item_id) FROM order_items")
    assert share < 0.02


def test_items_are_in_their_order_day_file(con: duckdb.DuckDBPyConnection) -> None:
    assert (
        one(
            con,
            """
            SELECT count(*) FROM (
                SELECT i.order_item_id, min(i.filename) AS first_file, any_value(o.ordered_at) AS t
                FROM order_items i JOIN orders_latest o USING (order_id) GROUP BY ALL)
            WHERE NOT first_file LIKE '%order_items_' || strftime(t, '%Y-%m-%d') || '.csv'
            """,
        )
        == 0
    )
    per_order = con.execute("""
        SELECT min(n), max(n), count(*) FROM (
            SELECT order_id, count(*) AS n, count(DISTINCT product_id) AS d FROM items_dedup
            GROUP BY ALL HAVING n = d)
    """).fetchone()
    assert per_order is not None and per_order[:2] == (1, 4)
    assert per_order[2] == one(con, "SELECT count(*) FROM orders_latest")
    assert one(con, "SELECT min(quantity) || '-' || max(quantity) FROM items_dedup") == "1-3"


def test_price_change_and_prices_in_force(con: duckdb.DuckDBPyConnection) -> None:
    changes = con.execute("""
        SELECT a.product_id, a.price_cents, b.price_cents, b.updated_at
        FROM products a JOIN products b
          ON a.product_id = b.product_id AND a.updated_at < b.updated_at
    """).fetchall()
    assert len(changes) == 3
    assert all(old != new for _, old, new, _ in changes)
    assert {str(updated.date()) for *_, updated in changes} == {"2026-10-15"}
    wrong = one(
        con,
        """
        SELECT count(*) FROM (
            SELECT i.unit_price_cents, p.price_cents FROM items_dedup i
            JOIN orders_latest o USING (order_id)
            JOIN products p ON p.product_id = i.product_id AND p.updated_at <= o.ordered_at
            QUALIFY row_number() OVER (
                PARTITION BY i.order_item_id ORDER BY p.updated_at DESC) = 1)
        WHERE price_cents <> unit_price_cents
        """,
    )
    assert wrong == 0
    assert one(con, "SELECT count(DISTINCT product_id) FROM items_dedup") == 16


def test_reference_data(con: duckdb.DuckDBPyConnection) -> None:
    assert con.execute("SELECT city FROM stores ORDER BY store_id").fetchall() == [
        ("Philadelphia",),
        ("Brooklyn",),
        ("Chicago",),
        ("San Francisco",),
        ("New Orleans",),
        ("Los Angeles",),
    ]
    assert one(con, "SELECT max(opened_at) < DATE '2026-10-01' FROM stores")
    per_product = con.execute(
        "SELECT min(n), max(n), count(*) FROM (SELECT product_id, count(*) n FROM supplies "
        "GROUP BY ALL)"
    ).fetchone()
    assert per_product is not None and per_product[0] >= 1 and per_product[1] <= 4
    assert per_product[2] == 16
    assert one(con, "SELECT count(*) FROM supplies WHERE product_id NOT IN "
                    "(SELECT product_id FROM products)") == 0  # fmt: skip
    assert one(con, "SELECT count(DISTINCT product_type) FROM products") == 2


# --- payments ------------------------------------------------------------------------------------


def test_succeeded_charges_equal_items_plus_tax(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE OR REPLACE TEMP VIEW order_total AS
        SELECT o.order_id, o.status,
               sum(i.quantity * i.unit_price_cents)
               + round(sum(i.quantity * i.unit_price_cents) * any_value(s.tax_rate))::BIGINT
                   AS total
        FROM orders_latest o JOIN items_dedup i USING (order_id) JOIN stores s USING (store_id)
        GROUP BY ALL
    """)
    mismatched = one(
        con,
        """
        SELECT count(*) FROM payments_latest p JOIN order_total t USING (order_id)
        WHERE p.kind = 'charge' AND p.status = 'succeeded' AND p.amount_cents <> t.total
        """,
    )
    assert mismatched == 0
    charges = con.execute("""
        SELECT t.status, count(p.payment_id) AS charges
        FROM order_total t LEFT JOIN payments_latest p
          ON p.order_id = t.order_id AND p.kind = 'charge' AND p.status = 'succeeded'
        GROUP BY t.order_id, t.status
    """).fetchall()
    assert all(n == 1 for status, n in charges if status != "placed")
    assert all(n <= 1 for _, n in charges)
    unpaid = [status for status, n in charges if n == 0]
    assert 1 <= len(unpaid) <= 0.03 * len(charges)
    failed = one(
        con, "SELECT count(DISTINCT order_id) FROM payments_latest WHERE status = 'failed'"
    )
    assert 1 <= failed <= 0.1 * len(charges)


def test_refunds_are_negative_and_belong_to_returned_orders(
    con: duckdb.DuckDBPyConnection,
) -> None:
    refunds = con.execute("""
        SELECT r.amount_cents, c.amount_cents, o.status, r.created_at >= o.updated_at
        FROM payments_latest r
        JOIN orders_latest o USING (order_id)
        JOIN payments_latest c ON c.order_id = r.order_id AND c.kind = 'charge'
                              AND c.status = 'succeeded'
        WHERE r.kind = 'refund'
    """).fetchall()
    assert refunds
    assert all(
        refund < 0 and refund == -charge and status == "returned" and after
        for refund, charge, status, after in refunds
    )
    returned = one(con, "SELECT count(*) FROM orders_latest WHERE status = 'returned'")
    assert returned == len(refunds)
    assert (
        one(con, "SELECT count(*) FROM payments WHERE kind = 'charge' AND amount_cents <= 0") == 0
    )


def test_payment_updated_on_a_later_page(con: duckdb.DuckDBPyConnection) -> None:
    twice = con.execute("""
        SELECT a.payment_id, a.status, b.status, a.filename < b.filename
        FROM payments a JOIN payments b
          ON a.payment_id = b.payment_id AND a.updated_at < b.updated_at
    """).fetchall()
    assert twice
    assert all((old, new) == ("failed", "succeeded") for _, old, new, _ in twice)
    assert any(later_page for *_, later_page in twice)
    assert one(con, "SELECT count(*) - count(DISTINCT payment_id) FROM payments") == len(twice)
    assert one(con, "SELECT count(DISTINCT method) FROM payments") == 4


# --- events --------------------------------------------------------------------------------------


def test_duplicated_event_lines(sample: tuple[Path, dict[str, int]]) -> None:
    out, _ = sample
    lines: dict[str, list[tuple[str, str]]] = {}
    for path in sorted((out / "events").iterdir()):
        for line in path.read_text().splitlines():
            lines.setdefault(json.loads(line)["event_id"], []).append((path.name, line))
    duplicated = {k: v for k, v in lines.items() if len(v) > 1}
    assert duplicated
    for copies in duplicated.values():
        assert len(copies) == 2
        (file_a, line_a), (file_b, line_b) = copies
        assert line_a == line_b
        day_a, day_b = (date.fromisoformat(f[7:17]) for f in (file_a, file_b))
        assert day_b.toordinal() - day_a.toordinal() in (0, 1)


def test_events_shape_and_references(con: duckdb.DuckDBPyConnection) -> None:
    anonymous = one(con, "SELECT avg((customer_id IS NULL)::INT) FROM events")
    assert 0.2 <= anonymous <= 0.4
    assert con.execute("SELECT DISTINCT event_type FROM events ORDER BY ALL").fetchall() == [
        ("add_to_cart",),
        ("checkout",),
        ("page_view",),
        ("purchase",),
    ]
    orphans = one(
        con,
        """
        SELECT count(*) FROM events e
        WHERE event_type = 'purchase' AND NOT EXISTS (
            SELECT 1 FROM orders_latest o
            WHERE o.order_id = (e.payload->>'order_id')::BIGINT
              AND o.ordered_at = e.occurred_at
              AND o.customer_id IS NOT DISTINCT FROM e.customer_id)
        """,
    )
    assert orphans == 0
    assert one(con, "SELECT count(*) FROM events WHERE event_type = 'purchase'") > 100
    assert (
        one(
            con,
            """
            SELECT count(*) FROM events
            WHERE (event_type = 'purchase') <> ((payload->>'order_id') IS NOT NULL)
               OR (event_type = 'add_to_cart' AND (payload->>'product_id') IS NULL)
               OR (payload->'device'->>'os') NOT IN ('ios', 'android', 'macos', 'windows')
               OR (payload->'device'->>'browser') NOT IN ('safari', 'chrome', 'firefox', 'app')
               OR NOT filename LIKE '%events_' || strftime(occurred_at, '%Y-%m-%d') || '.ndjson'
                  AND NOT filename LIKE '%events_'
                      || strftime(occurred_at + INTERVAL 1 DAY, '%Y-%m-%d') || '.ndjson'
            """,
        )
        == 0
    )
    known = one(
        con,
        """
        SELECT count(*) FROM events e WHERE customer_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM customers c
            WHERE c.customer_id = e.customer_id AND c.signed_up_at <= e.occurred_at)
        """,
    )
    assert known == 0


def test_committed_sample_is_current(sample: tuple[Path, dict[str, int]]) -> None:
    out, _ = sample
    committed = {
        name: data for name, data in _files(ROOT / "data" / "sample").items() if name != "README.md"
    }
    assert committed, "data/sample is missing"
    stale = sorted(set(committed.items()) ^ set(_files(out).items()))
    assert not stale, (
        f"data/sample differs from the generator in {len({n for n, _ in stale})} files: "
        "regenerate it with `dataops generate --scale 0.02 --out data/sample`"
    )
