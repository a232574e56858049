"""Deterministic, vectorised sample data for a fictional jaffle-shop-like retail chain.

Six stores sell toasted sandwiches (jaffles) and beverages; customers sign up, place orders
(in store or online), pay through a payments service and browse the web shop. `generate()`
writes the landing files the ingestion layer reads (see ``ingestion/sources.yml``), one file
per entity per day for ``days`` consecutive days from ``start_date``::

    erp/customers/customers_<YYYY-MM-DD>.csv       erp/products/products_<YYYY-MM-DD>.csv
    erp/orders/orders_<YYYY-MM-DD>.csv             erp/stores/stores_<first-day>.csv
    erp/order_items/order_items_<YYYY-MM-DD>.csv   erp/supplies/supplies_<first-day>.csv
    payments/payments_page_<NNNN>.json             events/events_<YYYY-MM-DD>.ndjson

Every daily file exists for every day (a header-only CSV or an empty NDJSON file when a day
has no rows), so the file set depends only on ``days``. Timestamps are naive UTC written as
``YYYY-MM-DD HH:MM:SS``; dates ``YYYY-MM-DD``; in the CSVs an empty field is NULL.

Everything is generated in DuckDB SQL from ``range()``; pseudo-random values come from
``hash(id, seed, 'salt')`` arithmetic (never ``random()``), so the same arguments give
byte-identical files with the same DuckDB version (``hash()`` may change across DuckDB
releases, which would change, but not break, the sample).

The signal behind the ML stage's label (``dbt_project/models/marts/ml/``: does a customer
order again within 7 days of a cutoff?): every customer has a fixed buying propensity drawn
from its id (``PROPENSITY_WEIGHTS``: 15 % "regulars" of weight 30, 25 % "occasional" of
weight 6, 60 % "rare" of weight 1). Each order and each non-anonymous browsing session picks
its customer among those signed up by then with probability proportional to that weight, so
past frequency, recency and browsing predict the next order at every scale; nothing else
about the files changes with it (row counts and file layout are the same).

The quirks (tests and the staging models rely on them):

* customers: a customer is first exported in the file of the day it signed up
  (``updated_at = signed_up_at``). About 5% are re-exported in a later day's file with a
  different ``city`` and a later ``updated_at`` (a real change: keep the latest per
  ``customer_id``). About 8% of emails are mixed case (``Ada.Lovelace12@Example.COM``;
  compare on ``lower(email)``); about 3% of emails and 3% of phones are NULL.
* orders: each order is exported with status ``placed`` (``updated_at = ordered_at``) in the
  file of its day, then re-exported 1-3 days later, in that later day's file, as ``completed``
  (about 30% go ``shipped`` first, one day after ordering) - a late status update; keep the
  latest ``updated_at`` per ``order_id``. About 2% are then ``returned`` 1-5 days after
  completing. About 1% never leave ``placed`` (their payment failed), and orders near the end
  of the window are still ``placed`` because their update falls after the last day.
  ``customer_id`` is NULL for about 1% of orders (guest checkout); every other
  ``customer_id`` is a customer who signed up on or before ``ordered_at``.
* order_items: 1-4 distinct products per order, ``quantity`` 1-3, ``unit_price_cents`` is the
  product's price in force at ``ordered_at``. About 0.5% of item rows (always at least one) are
  written again, identical, in the next day's file: deduplicate on ``order_item_id``.
* products: the full list of 16 in the first day's file; on day 15 (or the last day, when
  there are fewer days) a second file re-exports 3 products with a new ``price_cents`` and a
  later ``updated_at`` (06:00 that day): an SCD2 price change. Orders from then on use it.
* stores (6) and supplies (43, 1-4 per product) are single reference files of the first day.
* payments: API pages of at most 500 records ordered by ``updated_at``. Every order except the
  never-progressing ``placed`` ones has one ``succeeded`` ``charge`` whose ``amount_cents`` is the
  order total: ``sum(quantity * unit_price_cents) + round(subtotal * tax_rate)`` with the
  store's tax rate, rounded half up to whole cents (exact DECIMAL arithmetic). About 3% of
  orders (and every never-progressing one) have an earlier ``failed`` charge with its own
  ``payment_id``. Every ``returned`` order has a ``succeeded`` ``refund`` of minus the total,
  created when the order was returned. About 0.2% of charges (always at least one) appear
  twice: first ``failed``, then on a later page with the same ``payment_id``, a later
  ``updated_at`` and status ``succeeded``: merge on ``payment_id`` keeping the latest.
* events: ``page_view``/``add_to_cart``/``checkout``/``purchase`` with a nested ``payload``.
  About half the orders are online: each has a 4-event session ending in a ``purchase`` event
  whose ``payload.order_id`` is the order and whose ``occurred_at`` equals ``ordered_at``.
  Browsing sessions add 1-5 events with no purchase; about 30% of events are anonymous
  (``customer_id`` null). About 0.1% of events (always at least one) are written twice,
  identically: in the same day's file, or the next day's when they happened after 23:00.
  Deduplicate on ``event_id``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from tooling.sample.catalog import (
    BASE_BROWSE_SESSIONS,
    BASE_CUSTOMERS,
    BASE_ORDERS,
    DAY,
    DEFAULT_START,
    ENTITIES,
    MIN_BROWSE_SESSIONS,
    MIN_CUSTOMERS,
    MIN_ORDERS,
    OWNED_PATTERNS,
    PRICE_CHANGE_DAY,
    PRICE_CHANGES,
    PRODUCTS,
    STORES,
    SUPPLIES,
    TS_FORMAT,
    count_at_least,
    sql_values,
)
from tooling.sample.erp import ErpExports
from tooling.sample.streams import StreamExports

__all__ = ["ENTITIES", "generate"]


def _validate(scale: float, days: int, start_date: date) -> None:
    if isinstance(scale, bool) or not isinstance(scale, int | float):
        raise ValueError(f"scale must be a number, got {scale!r}")
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive number (e.g. 0.02, 1 or 100), got {scale!r}")
    if isinstance(days, bool) or not isinstance(days, int) or days < 2:
        raise ValueError(f"days must be an integer of at least 2, got {days!r}")
    if not isinstance(start_date, date) or isinstance(start_date, datetime):
        raise ValueError(f"start_date must be a datetime.date, got {start_date!r}")


def _remove_stale(out_dir: Path) -> None:
    for subdir, pattern in OWNED_PATTERNS:
        folder = out_dir / subdir
        if folder.is_dir():
            for stale in sorted(folder.glob(pattern)):
                stale.unlink()


def generate(
    out_dir: Path,
    scale: float = 1.0,
    *,
    seed: int = 7,
    start_date: date = DEFAULT_START,
    days: int = 28,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write the sample landing files under ``out_dir`` and return the rows written per entity.

    ``scale`` 1.0 is about 5,000 customers, 25,000 orders, 62,000 order items, 27,000 payment
    records and 130,000 events; products (16), stores (6) and supplies (43) do not scale.
    Counts are rows in the files, so they include re-exported and duplicated rows. Files this
    generator owns that already exist under ``out_dir`` are removed first, so a smaller run
    into the same folder leaves no stale days or pages behind. ``progress`` is called with each
    entity's name as it is written. Raises ``ValueError`` for ``scale <= 0`` or ``days < 2``.
    """
    _validate(scale, days, start_date)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale(out_dir)
    con = duckdb.connect(":memory:")
    try:
        # COPY ... (SELECT ... ORDER BY ...) writes rows in that order only while insertion
        # order is preserved; it is the default, set explicitly because the files rely on it.
        con.execute("SET preserve_insertion_order = true")
        generator = _Generator(
            con,
            out_dir,
            scale=float(scale),
            seed=int(seed),
            start_date=start_date,
            days=days,
            notify=progress or (lambda _label: None),
        )
        return generator.run()
    finally:
        con.close()


class _Generator(ErpExports, StreamExports):
    """Builds each entity with one or two SQL statements and writes its files."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        out_dir: Path,
        *,
        scale: float,
        seed: int,
        start_date: date,
        days: int,
        notify: Callable[[str], None],
    ) -> None:
        self.con = con
        self.out_dir = out_dir
        self.seed = seed
        self.notify = notify
        self.day_list = [start_date + timedelta(days=d) for d in range(days)]
        self.first_day = start_date.isoformat()
        self.days = days
        self.last = days - 1  # index of the last day
        self.span = days * DAY  # seconds in the window; times are seconds since its start
        self.start_epoch = (start_date - date(1970, 1, 1)).days * DAY
        self.change_day = min(PRICE_CHANGE_DAY, self.last)
        self.change_s = self.change_day * DAY + 6 * 3600
        self.n_customers = count_at_least(BASE_CUSTOMERS * scale, MIN_CUSTOMERS)
        self.n_orders = count_at_least(BASE_ORDERS * scale, MIN_ORDERS)
        self.n_sessions = count_at_least(BASE_BROWSE_SESSIONS * scale, MIN_BROWSE_SESSIONS)
        self.start_date = start_date
        self.counts: dict[str, int] = {}

    # --- plumbing ------------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        self._macros()
        self._reference_tables()
        self._customers()
        self._orders()
        self._order_items()
        self._products()
        self._stores()
        self._supplies()
        self._payments()
        self._events()
        return {name: self.counts[name] for name in ENTITIES}

    def sql(self, statement: str) -> None:
        self.con.execute(statement)

    def scalar(self, query: str) -> int:
        row = self.con.execute(query).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def path(self, subdir: str, name: str) -> Path:
        folder = self.out_dir / subdir
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def copy(self, query: str, path: Path, options: str) -> None:
        quoted = path.as_posix().replace("'", "''")
        self.sql(f"COPY ({query}) TO '{quoted}' ({options})")

    def csv(self, query: str, subdir: str, name: str) -> None:
        self.copy(query, self.path(subdir, name), "FORMAT csv, HEADER true, DELIMITER ','")

    def daily_csv(self, table: str, columns: str, order_by: str, subdir: str, prefix: str) -> int:
        """One CSV per day from ``table`` (which has a ``file_day`` column); returns its rows."""
        for index, day in enumerate(self.day_list):
            self.csv(
                f"SELECT {columns} FROM {table} WHERE file_day = {index} ORDER BY {order_by}",
                subdir,
                f"{prefix}_{day.isoformat()}.csv",
            )
        return self.scalar(f"SELECT count(*) FROM {table}")

    def _macros(self) -> None:
        # rnd(x, salt): a pseudo-random non-negative BIGINT from a row id, the seed and a salt
        # naming the use, so that every use draws independently of the others.
        self.sql(
            f"CREATE MACRO rnd(x, salt) AS (hash(x::BIGINT, {self.seed}::BIGINT, salt) >> 1)::BIGINT"
        )
        # ts(s): seconds since the window start -> 'YYYY-MM-DD HH:MM:SS' (naive UTC).
        self.sql(
            f"CREATE MACRO ts(s) AS strftime(make_timestamp(({self.start_epoch}::BIGINT + s) "
            f"* 1000000), '{TS_FORMAT}')"
        )
        # day_time(d, x): a time between 08:00 and 20:00 on day index d (for ERP updates).
        self.sql(f"CREATE MACRO day_time(d, x) AS d * {DAY} + 28800 + x % 43200")

    def _reference_tables(self) -> None:
        # Store opening dates are real-looking fixed dates; for an early start_date they move
        # back so that every store opened before the first day.
        latest_ok = self.start_date - timedelta(days=1)
        latest_store = max(store[3] for store in STORES)
        shift = timedelta(0)
        if latest_store > latest_ok:
            shift = latest_store - latest_ok + timedelta(days=365)
        stores = [
            (sid, name, city, opened - shift, Decimal(rate), int(Decimal(rate) * 10000))
            for sid, name, city, opened, rate in STORES
        ]
        self.sql(
            "CREATE TABLE stores AS SELECT * FROM "
            + sql_values(
                stores, ("store_id", "store_name", "city", "opened_at", "tax_rate", "tax_bp")
            )
        )
        products = [
            (i, pid, name, kind, price, desc, PRICE_CHANGES.get(pid))
            for i, (pid, name, kind, price, desc) in enumerate(PRODUCTS)
        ]
        self.sql(
            "CREATE TABLE products AS SELECT * FROM "
            + sql_values(
                products,
                (
                    "idx",
                    "product_id",
                    "product_name",
                    "product_type",
                    "price_cents",
                    "description",
                    "new_price_cents",
                ),
            )
        )
        supplies = [
            (f"SUP-{i + 1:03d}", pid, name, cost, perishable)
            for i, (pid, name, cost, perishable) in enumerate(SUPPLIES)
        ]
        self.sql(
            "CREATE TABLE supplies AS SELECT * FROM "
            + sql_values(
                supplies, ("supply_id", "product_id", "supply_name", "cost_cents", "is_perishable")
            )
        )

    # --- entities ------------------------------------------------------------------------
