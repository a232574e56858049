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
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

__all__ = ["generate"]

# Sizes at scale 1.0, and floors so that tiny scales still produce a handful of every entity.
BASE_CUSTOMERS = 5_000
BASE_ORDERS = 25_000
BASE_BROWSE_SESSIONS = 26_700  # about 3 events each: ~80k events, plus ~50k from online orders
MIN_CUSTOMERS = 20
MIN_ORDERS = 40
MIN_BROWSE_SESSIONS = 15

PAGE_SIZE = 500
PRICE_CHANGE_DAY = 14  # day index 14, i.e. the 15th day
DEFAULT_START = date(2026, 10, 1)
OPEN_SECONDS = 7 * 3600  # stores take orders from 07:00 ...
OPEN_WINDOW = 15 * 3600  # ... to 22:00
DAY = 86_400

TS_FORMAT = "%Y-%m-%d %H:%M:%S"

# product_id, product_name, product_type, price_cents, description
PRODUCTS: tuple[tuple[str, str, str, int, str], ...] = (
    ("JAF-001", "Nutellaphone Who Dis?", "jaffle", 1100, "Nutella and banana jaffle"),
    ("JAF-002", "Doctor Stew", "jaffle", 1100, "House-made beef stew jaffle"),
    ("JAF-003", "The Krautback", "jaffle", 1200, "Bratwurst, sauerkraut and mustard jaffle"),
    (
        "JAF-004",
        "Flame Impala",
        "jaffle",
        1400,
        "Pulled pork and pineapple with ghost pepper sauce",
    ),
    ("JAF-005", "Mel-Bun", "jaffle", 1200, "Minced beef and melon, savory and sweet"),
    ("JAF-006", "Croque Around the Clock", "jaffle", 1300, "Ham, gruyere and bechamel"),
    ("JAF-007", "Brie Larson", "jaffle", 1300, "Brie, fig jam and rocket"),
    ("JAF-008", "The Reubenator", "jaffle", 1400, "Corned beef, swiss and russian dressing"),
    ("JAF-009", "Say Cheese Louise", "jaffle", 1000, "Three-cheese toastie with chives"),
    ("JAF-010", "Kimcheesy Does It", "jaffle", 1250, "Kimchi and cheddar with sesame"),
    ("BEV-001", "Tangaroo", "beverage", 600, "Mango and tangerine smoothie"),
    ("BEV-002", "Chai and Mighty", "beverage", 500, "Oat milk chai latte"),
    ("BEV-003", "Vanilla Ice", "beverage", 600, "Iced coffee with french vanilla syrup"),
    ("BEV-004", "For Richer or Pourover", "beverage", 700, "Single estate pourover coffee"),
    ("BEV-005", "Adele-ade", "beverage", 400, "Kiwi and lime agua fresca"),
    ("BEV-006", "Brew-tiful Mind", "beverage", 550, "Nitro cold brew"),
)
# The signal behind the ML label (dbt_project/models/ml/): each customer has a fixed buying
# propensity, drawn from its id. Orders and browsing sessions pick their customer among those
# signed up by then with probability proportional to the weight, so a customer's past
# frequency, recency and browsing predict whether it orders again. (cumulative % of
# customers, weight): 15 % "regulars" (weight 30), 25 % "occasional" (6), 60 % "rare" (1).
PROPENSITY_WEIGHTS: tuple[tuple[int, int], ...] = ((15, 30), (40, 6), (100, 1))
# product_id -> new price_cents from PRICE_CHANGE_DAY on
PRICE_CHANGES: dict[str, int] = {"JAF-001": 1200, "JAF-004": 1500, "BEV-002": 550}

# store_id, store_name, city, opened_at (relative to DEFAULT_START), tax_rate
STORES: tuple[tuple[int, str, str, date, str], ...] = (
    (1, "Jaffle Shop Philadelphia", "Philadelphia", date(2016, 9, 1), "0.0600"),
    (2, "Jaffle Shop Brooklyn", "Brooklyn", date(2017, 3, 12), "0.0400"),
    (3, "Jaffle Shop Chicago", "Chicago", date(2018, 4, 29), "0.0625"),
    (4, "Jaffle Shop San Francisco", "San Francisco", date(2018, 5, 9), "0.0750"),
    (5, "Jaffle Shop New Orleans", "New Orleans", date(2019, 3, 10), "0.0400"),
    (6, "Jaffle Shop Los Angeles", "Los Angeles", date(2019, 9, 13), "0.0800"),
)
# Cumulative percentages of orders per store (store 1 is the busiest).
STORE_SHARES: tuple[int, ...] = (25, 45, 60, 75, 87, 100)

# product_id, supply_name, cost_cents, is_perishable
SUPPLIES: tuple[tuple[str, str, int, bool], ...] = (
    ("JAF-001", "Sourdough bread", 120, True),
    ("JAF-001", "Nutella", 90, False),
    ("JAF-001", "Banana", 40, True),
    ("JAF-001", "Compostable jaffle box", 25, False),
    ("JAF-002", "Sourdough bread", 120, True),
    ("JAF-002", "Beef stew", 310, True),
    ("JAF-002", "Compostable jaffle box", 25, False),
    ("JAF-003", "Rye bread", 130, True),
    ("JAF-003", "Bratwurst", 280, True),
    ("JAF-003", "Sauerkraut", 60, True),
    ("JAF-003", "Compostable jaffle box", 25, False),
    ("JAF-004", "White bread", 100, True),
    ("JAF-004", "Pulled pork", 330, True),
    ("JAF-004", "Pineapple", 50, True),
    ("JAF-004", "Ghost pepper sauce", 35, False),
    ("JAF-005", "Milk bun", 110, True),
    ("JAF-005", "Minced beef", 260, True),
    ("JAF-005", "Melon", 45, True),
    ("JAF-006", "Sourdough bread", 120, True),
    ("JAF-006", "Ham", 210, True),
    ("JAF-006", "Gruyere", 190, True),
    ("JAF-007", "Sourdough bread", 120, True),
    ("JAF-007", "Brie", 220, True),
    ("JAF-007", "Fig jam", 70, False),
    ("JAF-008", "Rye bread", 130, True),
    ("JAF-008", "Corned beef", 300, True),
    ("JAF-008", "Russian dressing", 40, False),
    ("JAF-009", "White bread", 100, True),
    ("JAF-009", "Cheddar", 150, True),
    ("JAF-010", "White bread", 100, True),
    ("JAF-010", "Kimchi", 80, True),
    ("JAF-010", "Cheddar", 150, True),
    ("BEV-001", "Mango pulp", 120, True),
    ("BEV-001", "Tangerine juice", 90, True),
    ("BEV-002", "Chai concentrate", 80, False),
    ("BEV-002", "Oat milk", 60, True),
    ("BEV-002", "Hot cup", 12, False),
    ("BEV-003", "Espresso beans", 70, False),
    ("BEV-003", "Vanilla syrup", 30, False),
    ("BEV-004", "Single estate beans", 150, False),
    ("BEV-005", "Kiwi", 60, True),
    ("BEV-005", "Lime", 20, True),
    ("BEV-006", "Cold brew concentrate", 110, False),
)

FIRST_NAMES: tuple[str, ...] = (
    "Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Dennis", "Margaret",
    "Linus", "Radia", "Ken", "Frances", "Donald", "Hedy", "John", "Shafi",
    "Tim", "Sophie", "Guido", "Anita", "Bjarne", "Jean", "Claude", "Mary",
    "Niklaus", "Adele", "Leslie", "Evelyn", "Vint", "Karen", "Yukihiro", "Carol",
    "James", "Lynn", "Robert", "Joan", "Brian", "Annie", "Maurice", "Susan",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Ritchie",
    "Hamilton", "Torvalds", "Perlman", "Thompson", "Allen", "Knuth", "Lamarr",
    "Backus", "Goldwasser", "Berners-Lee", "Wilson", "Van Rossum", "Borg",
    "Stroustrup", "Bartik", "Shannon", "Keller", "Wirth", "Goldberg", "Lamport",
    "Boyd", "Cerf", "Jones", "Matsumoto", "Shaw", "Gosling", "Conway", "Kahn",
    "Clarke", "Kernighan", "Easley", "Wilkes", "Kare",
)  # fmt: skip
CITIES: tuple[str, ...] = (
    "Philadelphia", "Brooklyn", "Chicago", "San Francisco", "New Orleans", "Los Angeles",
    "Oakland", "Evanston", "Camden", "Jersey City", "Metairie", "Pasadena",
)  # fmt: skip
AREA_CODES: tuple[int, ...] = (215, 267, 718, 347, 312, 773, 415, 628, 504, 213, 310, 626)
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net")
MIXED_CASE_DOMAINS: tuple[str, ...] = ("Example.COM", "Example.Org", "EXAMPLE.net")
SITE_PAGES: tuple[str, ...] = ("/", "/menu", "/stores", "/about")
METHODS_SQL = (
    "CASE WHEN {h} % 100 < 50 THEN 'credit_card' WHEN {h} % 100 < 75 THEN 'debit_card' "
    "WHEN {h} % 100 < 90 THEN 'gift_card' ELSE 'voucher' END"
)

ENTITIES: tuple[str, ...] = (
    "customers",
    "orders",
    "order_items",
    "products",
    "stores",
    "supplies",
    "payments",
    "events",
)

# Patterns of the files this module owns under the output folder (stale ones are removed).
_OWNED_PATTERNS: tuple[tuple[str, str], ...] = (
    ("erp/customers", "customers_*.csv"),
    ("erp/orders", "orders_*.csv"),
    ("erp/order_items", "order_items_*.csv"),
    ("erp/products", "products_*.csv"),
    ("erp/stores", "stores_*.csv"),
    ("erp/supplies", "supplies_*.csv"),
    ("payments", "payments_page_*.json"),
    ("events", "events_*.ndjson"),
)


def _lit(value: object) -> str:
    """Render a Python constant as a DuckDB SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}::BIGINT"
    if isinstance(value, Decimal):
        return f"{value}::DECIMAL(6,4)"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    text = str(value).replace("'", "''")
    return f"'{text}'"


def _list(values: Iterable[object]) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


def _values(rows: Sequence[Sequence[object]], columns: Sequence[str]) -> str:
    body = ",\n".join("(" + ", ".join(_lit(v) for v in row) + ")" for row in rows)
    return f"(VALUES {body}) AS t({', '.join(columns)})"


def _count(n: float, minimum: int) -> int:
    return max(minimum, round(n))


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
    for subdir, pattern in _OWNED_PATTERNS:
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


class _Generator:
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
        self.n_customers = _count(BASE_CUSTOMERS * scale, MIN_CUSTOMERS)
        self.n_orders = _count(BASE_ORDERS * scale, MIN_ORDERS)
        self.n_sessions = _count(BASE_BROWSE_SESSIONS * scale, MIN_BROWSE_SESSIONS)
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
            + _values(stores, ("store_id", "store_name", "city", "opened_at", "tax_rate", "tax_bp"))
        )
        products = [
            (i, pid, name, kind, price, desc, PRICE_CHANGES.get(pid))
            for i, (pid, name, kind, price, desc) in enumerate(PRODUCTS)
        ]
        self.sql(
            "CREATE TABLE products AS SELECT * FROM "
            + _values(
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
            + _values(
                supplies, ("supply_id", "product_id", "supply_name", "cost_cents", "is_perishable")
            )
        )

    # --- entities ------------------------------------------------------------------------

    def _customers(self) -> None:
        self.notify("customers")
        span, last, n = self.span, self.last, self.n_customers
        n_cities = len(CITIES)
        # Sign-up times grow with customer_id (spread evenly over the window), so "customers
        # signed up by time t" is always ids 1..k: orders and sessions pick from that prefix.
        self.sql(f"""
            CREATE TABLE customers AS
            WITH b AS (
                SELECT i + 1 AS customer_id,
                       (i * {span} + rnd(i + 1, 'c_time') % {span}) // {n} AS signed_up_s
                FROM range({n}) t(i)
            ), n AS (
                SELECT customer_id, signed_up_s, signed_up_s // {DAY} AS day,
                       {_list(FIRST_NAMES)}[rnd(customer_id, 'c_first') % {len(FIRST_NAMES)} + 1]
                           AS first_name,
                       {_list(LAST_NAMES)}[rnd(customer_id, 'c_last') % {len(LAST_NAMES)} + 1]
                           AS last_name,
                       rnd(customer_id, 'c_email') % 100 AS he,
                       rnd(customer_id, 'c_domain') % {len(EMAIL_DOMAINS)} + 1 AS di,
                       rnd(customer_id, 'c_city') % {n_cities} AS ci,
                       rnd(customer_id, 'c_reexport') AS hr
                FROM b
            )
            SELECT customer_id, signed_up_s, day, first_name, last_name,
                   CASE WHEN customer_id = 1 OR he BETWEEN 3 AND 10 THEN
                            replace(first_name || '.' || last_name, ' ', '') || customer_id
                            || '@' || {_list(MIXED_CASE_DOMAINS)}[di]
                        WHEN he < 3 THEN NULL
                        ELSE lower(replace(first_name || '.' || last_name, ' ', ''))
                            || customer_id || '@' || {_list(EMAIL_DOMAINS)}[di]
                   END AS email,
                   CASE WHEN rnd(customer_id, 'c_phone') % 100 >= 3 THEN
                       printf('(%03d) 555-%04d',
                              {_list(AREA_CODES)}[rnd(customer_id, 'c_area') % {len(AREA_CODES)} + 1],
                              rnd(customer_id, 'c_number') % 10000)
                   END AS phone,
                   {_list(CITIES)}[ci + 1] AS city,
                   CASE WHEN (customer_id = 1 OR hr % 100 < 5) AND day < {last}
                        THEN day + 1 + (hr // 100) % least(7, {last} - day)
                   END AS reexport_day,
                   {_list(CITIES)}[(ci + 1 + rnd(customer_id, 'c_new_city') % {n_cities - 1})
                                   % {n_cities} + 1] AS new_city
            FROM n
            ORDER BY customer_id
        """)
        self.sql("""
            CREATE TABLE customer_rows AS
            SELECT * FROM (
                SELECT day AS file_day, customer_id, first_name, last_name, email, phone, city,
                       signed_up_s, signed_up_s AS updated_s
                FROM customers
                UNION ALL
                SELECT reexport_day, customer_id, first_name, last_name, email, phone, new_city,
                       signed_up_s, day_time(reexport_day, rnd(customer_id, 'c_reexport_time'))
                FROM customers WHERE reexport_day IS NOT NULL
            ) ORDER BY file_day, customer_id, updated_s
        """)
        self.counts["customers"] = self.daily_csv(
            "customer_rows",
            "customer_id, first_name, last_name, email, phone, city, "
            "ts(signed_up_s) AS signed_up_at, ts(updated_s) AS updated_at",
            "customer_id, updated_s",
            "erp/customers",
            "customers",
        )
        # Keep only what later entities need: who had signed up by when.
        # and how often each one buys and browses (the signal behind the ML label, see
        # PROPENSITY_WEIGHTS): cum_start/cum_end are running sums of the weights by
        # customer_id, so a weighted pick among customers 1..k is an ASOF join on a number
        # drawn below cum_end of customer k.
        segments = " ".join(
            f"WHEN rnd(customer_id, 'c_propensity') % 100 < {share} THEN {weight}"
            for share, weight in PROPENSITY_WEIGHTS
        )
        self.sql(f"""
            CREATE TABLE signups AS
            SELECT customer_id, signed_up_s, weight,
                   sum(weight) OVER (ORDER BY customer_id) - weight AS cum_start,
                   sum(weight) OVER (ORDER BY customer_id) AS cum_end
            FROM (SELECT customer_id, signed_up_s, CASE {segments} END AS weight FROM customers)
            ORDER BY customer_id
        """)
        self.sql("DROP TABLE customer_rows")
        self.sql("DROP TABLE customers")

    def _orders(self) -> None:
        self.notify("orders")
        last, n = self.last, self.n_orders
        window = self.days * OPEN_WINDOW  # opening hours in the whole window
        store_case = " ".join(
            f"WHEN rnd(order_id, 'o_store') % 100 < {share} THEN {store_id}"
            for store_id, share in enumerate(STORE_SHARES, start=1)
        )
        # Orders are spread evenly over the opening hours (07:00-22:00) of the window, in
        # order_id order. Lifecycle paths: 'direct' (placed -> completed after 1-3 days),
        # 'shipped' (placed -> shipped next day -> completed 2-3 days after ordering),
        # 'returned' (completed after 1-3 days, returned 1-5 days later) and 'stuck' (stays
        # placed: its only payment failed). Orders 1-4 have fixed paths so that every quirk
        # exists at any scale: 1 is returned, 2 is stuck, 3 has a failed charge first, 4 has
        # the charge that is updated on a later page.
        self.sql(f"""
            CREATE TABLE orders AS
            WITH b AS (
                SELECT i + 1 AS order_id,
                       (i * {window} + rnd(i + 1, 'o_time') % {window}) // {n} AS p
                FROM range({n}) t(i)
            ), t AS (
                SELECT order_id, p // {OPEN_WINDOW} AS day,
                       (p // {OPEN_WINDOW}) * {DAY} + {OPEN_SECONDS} + p % {OPEN_WINDOW}
                           AS ordered_s
                FROM b
            ), c AS (
                SELECT t.*,
                       CASE WHEN rnd(order_id, 'o_guest') % 100 > 0
                            THEN rnd(order_id, 'o_customer') % s.cum_end
                       END AS pick
                FROM t ASOF LEFT JOIN signups s ON t.ordered_s >= s.signed_up_s
            ), cp AS (
                SELECT c.*, w.customer_id
                FROM c ASOF LEFT JOIN signups w ON c.pick >= w.cum_start
            ), pp AS (
                SELECT order_id, day, ordered_s, customer_id,
                       CASE {store_case} END AS store_id,
                       CASE WHEN order_id = 1 THEN 'returned'
                            WHEN order_id = 2 THEN 'stuck'
                            WHEN order_id <= 4 THEN 'direct'
                            WHEN rnd(order_id, 'o_path') % 1000 < 10 THEN 'stuck'
                            WHEN rnd(order_id, 'o_path') % 1000 < 30 THEN 'returned'
                            WHEN rnd(order_id, 'o_path') % 1000 < 330 THEN 'shipped'
                            ELSE 'direct'
                       END AS path,
                       rnd(order_id, 'o_delay') AS hd,
                       rnd(order_id, 'o_online') % 100 < 50 AS online,
                       1 + rnd(order_id, 'o_items') % 4 AS n_items,
                       rnd(order_id, 'o_product') % {len(PRODUCTS)} AS base_product
                FROM cp
            ), d AS (
                SELECT *,
                       CASE WHEN path = 'shipped' THEN day + 1 END AS ship_day,
                       CASE WHEN order_id = 1 THEN day + 1
                            WHEN path = 'shipped' THEN day + 2 + hd % 2
                            WHEN path <> 'stuck' THEN day + 1 + hd % 3
                       END AS complete_day
                FROM pp
            ), e AS (
                SELECT *,
                       CASE WHEN order_id = 1 THEN complete_day + 1
                            WHEN path = 'returned' THEN complete_day + 1 + (hd // 7) % 5
                       END AS return_day
                FROM d
            )
            SELECT order_id, day, ordered_s, customer_id, store_id, path, online, n_items,
                   base_product, ship_day, complete_day, return_day,
                   day_time(ship_day, rnd(order_id, 'o_ship_time')) AS ship_s,
                   day_time(complete_day, rnd(order_id, 'o_complete_time')) AS complete_s,
                   day_time(return_day, rnd(order_id, 'o_return_time')) AS return_s,
                   path = 'stuck' OR order_id = 3 OR rnd(order_id, 'o_failed') % 100 < 3
                       AS failed_first,
                   path <> 'stuck' AND (order_id = 4 OR rnd(order_id, 'o_pay_quirk') % 500 = 0)
                       AS payment_quirk,
                   sum(n_items) OVER (ORDER BY order_id) - n_items AS item_offset
            FROM e
            ORDER BY order_id
        """)
        columns = "order_id, customer_id, store_id, ordered_s"
        self.sql(f"""
            CREATE TABLE order_rows AS
            SELECT * FROM (
                SELECT day AS file_day, {columns}, 'placed' AS status, ordered_s AS updated_s
                FROM orders
                UNION ALL
                SELECT ship_day, {columns}, 'shipped', ship_s
                FROM orders WHERE ship_day <= {last}
                UNION ALL
                SELECT complete_day, {columns}, 'completed', complete_s
                FROM orders WHERE complete_day <= {last}
                UNION ALL
                SELECT return_day, {columns}, 'returned', return_s
                FROM orders WHERE return_day <= {last}
            ) ORDER BY file_day, order_id, updated_s
        """)
        self.counts["orders"] = self.daily_csv(
            "order_rows",
            "order_id, customer_id, store_id, ts(ordered_s) AS ordered_at, status, "
            "ts(updated_s) AS updated_at",
            "order_id, updated_s",
            "erp/orders",
            "orders",
        )
        self.sql("DROP TABLE order_rows")

    def _order_items(self) -> None:
        self.notify("order_items")
        # Item k of an order sells product (base + 5k) % 16: 1-4 distinct products per order.
        self.sql(f"""
            CREATE TABLE items AS
            WITH x AS (
                SELECT order_id, day, ordered_s, base_product, item_offset,
                       unnest(range(n_items)) AS k
                FROM orders
            ), y AS (
                SELECT *, item_offset + k + 1 AS order_item_id,
                       rnd(item_offset + k + 1, 'i_quantity') % 10 AS hq
                FROM x
            )
            SELECT y.order_item_id, y.order_id, y.day, p.product_id,
                   CASE WHEN hq < 6 THEN 1 WHEN hq < 9 THEN 2 ELSE 3 END AS quantity,
                   CASE WHEN p.new_price_cents IS NOT NULL AND y.ordered_s >= {self.change_s}
                        THEN p.new_price_cents ELSE p.price_cents
                   END AS unit_price_cents
            FROM y JOIN products p ON p.idx = (y.base_product + 5 * y.k) % {len(PRODUCTS)}
            ORDER BY y.order_item_id
        """)
        self.sql(f"""
            CREATE TABLE item_rows AS
            SELECT * FROM (
                SELECT day AS file_day, * FROM items
                UNION ALL
                SELECT day + 1, * FROM items
                WHERE (order_item_id = 1 OR rnd(order_item_id, 'i_duplicate') % 200 = 0)
                  AND day < {self.last}
            ) ORDER BY file_day, order_item_id
        """)
        self.counts["order_items"] = self.daily_csv(
            "item_rows",
            "order_item_id, order_id, product_id, quantity, unit_price_cents",
            "order_item_id",
            "erp/order_items",
            "order_items",
        )
        # tax = round(subtotal * tax_rate) half up, in integers: tax_bp is the rate * 10000.
        self.sql("""
            CREATE TABLE order_totals AS
            SELECT o.order_id, i.subtotal + (i.subtotal * s.tax_bp + 5000) // 10000 AS total
            FROM orders o
            JOIN (SELECT order_id, sum(quantity * unit_price_cents) AS subtotal
                  FROM items GROUP BY order_id) i USING (order_id)
            JOIN stores s USING (store_id)
            ORDER BY o.order_id
        """)
        self.sql("DROP TABLE item_rows")
        self.sql("DROP TABLE items")

    def _products(self) -> None:
        self.notify("products")
        columns = "product_id, product_name, product_type, {price} AS price_cents, description"
        self.csv(
            f"SELECT {columns.format(price='price_cents')}, ts({6 * 3600}) AS updated_at "
            "FROM products ORDER BY idx",
            "erp/products",
            f"products_{self.first_day}.csv",
        )
        self.csv(
            f"SELECT {columns.format(price='new_price_cents')}, ts({self.change_s}) AS updated_at "
            "FROM products WHERE new_price_cents IS NOT NULL ORDER BY idx",
            "erp/products",
            f"products_{self.day_list[self.change_day].isoformat()}.csv",
        )
        self.counts["products"] = len(PRODUCTS) + len(PRICE_CHANGES)

    def _stores(self) -> None:
        self.notify("stores")
        self.csv(
            "SELECT store_id, store_name, city, strftime(opened_at, '%Y-%m-%d') AS opened_at, "
            "tax_rate FROM stores ORDER BY store_id",
            "erp/stores",
            f"stores_{self.first_day}.csv",
        )
        self.counts["stores"] = len(STORES)

    def _supplies(self) -> None:
        self.notify("supplies")
        self.csv(
            "SELECT supply_id, product_id, supply_name, cost_cents, is_perishable "
            "FROM supplies ORDER BY supply_id",
            "erp/supplies",
            f"supplies_{self.first_day}.csv",
        )
        self.counts["supplies"] = len(SUPPLIES)

    def _payments(self) -> None:
        self.notify("payments")
        charge_method = METHODS_SQL.format(h="rnd(order_id, 'p_method')")
        failed_method = METHODS_SQL.format(h="rnd(order_id, 'p_failed_method')")
        # The quirky charge of order 4 is settled at 23:00 on the last day, so its second
        # record lands on a later page than its first whenever there is more than one page.
        forced_late = self.last * DAY + 23 * 3600
        self.sql(f"""
            CREATE TABLE payments AS
            WITH o AS (
                SELECT * FROM orders JOIN order_totals USING (order_id)
            ), logical AS (
                SELECT order_id, 0 AS seq, 'charge' AS kind, 'failed' AS status,
                       ordered_s + 5 + rnd(order_id, 'p_failed_time') % 30 AS created_s,
                       total AS amount_cents, {failed_method} AS method, false AS quirk
                FROM o WHERE failed_first
                UNION ALL
                SELECT order_id, 1, 'charge', 'succeeded',
                       ordered_s + 40 + rnd(order_id, 'p_charge_time') % 60,
                       total, {charge_method}, payment_quirk
                FROM o WHERE path <> 'stuck'
                UNION ALL
                SELECT order_id, 2, 'refund', 'succeeded', return_s, -total, {charge_method},
                       false
                FROM o WHERE return_day <= {self.last}
            ), numbered AS (
                SELECT *,
                       printf('pay_%07d', row_number() OVER (ORDER BY created_s, order_id, seq))
                           AS payment_id,
                       rnd(order_id * 4 + seq, 'p_updated') AS hu
                FROM logical
            )
            SELECT * FROM (
                SELECT payment_id, order_id, method, kind,
                       CASE WHEN quirk THEN 'failed' ELSE status END AS status,
                       amount_cents, created_s, created_s + 1 + hu % 5 AS updated_s
                FROM numbered
                UNION ALL
                SELECT payment_id, order_id, method, kind, status, amount_cents, created_s,
                       CASE WHEN order_id = 4 THEN {forced_late}
                            ELSE least(created_s + (1 + hu % 3) * {DAY} + hu % 3600,
                                       {self.span - 1})
                       END
                FROM numbered WHERE quirk
            ) ORDER BY updated_s, payment_id
        """)
        self.counts["payments"] = self.scalar("SELECT count(*) FROM payments")
        n_pages = max(1, -(-self.counts["payments"] // PAGE_SIZE))
        # One JSON document per page, rendered by DuckDB; Python only writes each to its file.
        result = self.con.execute(f"""
            WITH r AS (
                SELECT *, row_number() OVER (ORDER BY updated_s, payment_id) - 1 AS rn
                FROM payments
            )
            SELECT page, to_json({{
                'data': data, 'page': page,
                'next_page': CASE WHEN page < {n_pages} THEN page + 1 END
            }})
            FROM (
                SELECT rn // {PAGE_SIZE} + 1 AS page,
                       list({{
                           'payment_id': payment_id, 'order_id': order_id, 'method': method,
                           'kind': kind, 'status': status, 'amount_cents': amount_cents,
                           'created_at': ts(created_s), 'updated_at': ts(updated_s)
                       }} ORDER BY rn) AS data
                FROM r GROUP BY page
            )
            ORDER BY page
        """)
        while batch := result.fetchmany(100):
            for page, document in batch:
                target = self.path("payments", f"payments_page_{page:04d}.json")
                target.write_text(document + "\n", encoding="utf-8")
        self.sql("DROP TABLE payments")
        self.sql("DROP TABLE order_totals")

    def _events(self) -> None:
        self.notify("events")
        n_products = len(PRODUCTS)
        session_span = self.span - 900  # browsing sessions last under 10 minutes
        browser_case = (
            "CASE os_i WHEN 0 THEN ['safari', 'app'][1 + hb % 2] "
            "WHEN 1 THEN ['chrome', 'app'][1 + hb % 2] "
            "WHEN 2 THEN ['safari', 'chrome', 'firefox'][1 + hb % 3] "
            "ELSE ['chrome', 'firefox'][1 + hb % 2] END"
        )
        device = f"{_list(('ios', 'android', 'macos', 'windows'))}[os_i + 1] AS os, {browser_case} AS browser"
        # page_i: 0 = the product's page, 1-4 = SITE_PAGES, 5 = checkout, 6 = confirmation.
        self.sql(f"""
            CREATE TABLE event_rows AS
            WITH funnel AS (
                SELECT order_id, customer_id, ordered_s, base_product,
                       ordered_s - 60 - rnd(order_id, 'e_checkout') % 120 AS checkout_s,
                       rnd(order_id, 'e_cart') % 240 AS cart_gap,
                       rnd(order_id, 'e_view') % 300 AS view_gap,
                       rnd(order_id, 'e_os') % 4 AS os_i, rnd(order_id, 'e_browser') AS hb,
                       unnest(range(4)) AS k
                FROM orders WHERE online
            ), funnel_events AS (
                SELECT 0 AS src, order_id AS src_id, k, customer_id, {device},
                       ['page_view', 'add_to_cart', 'checkout', 'purchase'][k + 1] AS event_type,
                       [checkout_s - 90 - cart_gap - view_gap, checkout_s - 60 - cart_gap,
                        checkout_s, ordered_s][k + 1] AS occurred_s,
                       [0, 0, 5, 6][k + 1] AS page_i,
                       CASE WHEN k < 2 THEN base_product END AS product_i,
                       CASE WHEN k = 3 THEN order_id END AS order_id
                FROM funnel
            ), session_picks AS (
                SELECT s.session_no, s.start_s,
                       CASE WHEN rnd(s.session_no, 's_anonymous') % 100 >= 48
                            THEN rnd(s.session_no, 's_customer') % u.cum_end
                       END AS pick
                FROM (
                    SELECT j + 1 AS session_no,
                           (j * {session_span} + rnd(j + 1, 's_time') % {session_span})
                               // {self.n_sessions} AS start_s
                    FROM range({self.n_sessions}) t(j)
                ) s
                ASOF LEFT JOIN signups u ON s.start_s >= u.signed_up_s
            ), browse AS (
                SELECT p.session_no, p.start_s, w.customer_id,
                       rnd(p.session_no, 's_os') % 4 AS os_i,
                       rnd(p.session_no, 's_browser') AS hb,
                       unnest(range(1 + rnd(p.session_no, 's_events') % 5)) AS k
                FROM session_picks p ASOF LEFT JOIN signups w ON p.pick >= w.cum_start
            ), browse_typed AS (
                SELECT *,
                       CASE WHEN k = 0 OR rnd(session_no * 8 + k, 'b_type') % 100 < 65
                                THEN 'page_view'
                            WHEN rnd(session_no * 8 + k, 'b_type') % 100 < 90 THEN 'add_to_cart'
                            ELSE 'checkout'
                       END AS event_type,
                       rnd(session_no * 8 + k, 'b_page') % 10 AS hp,
                       rnd(session_no * 8 + k, 'b_product') % {n_products} AS pi
                FROM browse
            ), browse_events AS (
                SELECT 1 AS src, session_no AS src_id, k, customer_id, {device}, event_type,
                       start_s + k * 120 + rnd(session_no * 8 + k, 'b_time') % 120 AS occurred_s,
                       CASE WHEN event_type = 'checkout' THEN 5
                            WHEN event_type = 'add_to_cart' OR hp < 6 THEN 0
                            ELSE hp - 5
                       END AS page_i,
                       CASE WHEN event_type = 'add_to_cart' OR (event_type = 'page_view' AND hp < 6)
                            THEN pi
                       END AS product_i,
                       NULL::BIGINT AS order_id
                FROM browse_typed
            ), numbered AS (
                SELECT row_number() OVER (ORDER BY occurred_s, src, src_id, k) AS event_no, *
                FROM (SELECT * FROM funnel_events UNION ALL SELECT * FROM browse_events)
            )
            SELECT * FROM (
                SELECT occurred_s // {DAY} AS file_day, 0 AS dup_copy, * FROM numbered
                UNION ALL
                -- the duplicated lines: in the next day's file when after 23:00, else the same
                SELECT CASE WHEN occurred_s % {DAY} >= 82800 AND occurred_s // {DAY} < {self.last}
                            THEN occurred_s // {DAY} + 1 ELSE occurred_s // {DAY}
                       END,
                       1, *
                FROM numbered WHERE event_no = 1 OR rnd(event_no, 'e_duplicate') % 1000 = 0
            ) ORDER BY file_day, occurred_s, event_no, dup_copy
        """)
        products = _list(p[0] for p in PRODUCTS)
        pages = _list((*SITE_PAGES, "/checkout", "/checkout/confirmation"))
        session = (
            f"'ses_' || substr(md5(CASE src WHEN 0 THEN 'order:' ELSE 'browse:' END "
            f"|| src_id || ':' || {self.seed}), 1, 16)"
        )
        for index, day in enumerate(self.day_list):
            self.copy(
                f"""
                SELECT printf('evt_%08d', event_no) AS event_id, event_type,
                       ts(occurred_s) AS occurred_at, customer_id, {session} AS session_id,
                       {{
                           'page': CASE WHEN page_i = 0 THEN '/products/' || {products}[product_i + 1]
                                        ELSE {pages}[page_i] END,
                           'product_id': {products}[product_i + 1],
                           'order_id': order_id,
                           'device': {{'os': os, 'browser': browser}}
                       }} AS payload
                FROM event_rows WHERE file_day = {index}
                ORDER BY occurred_s, event_no, dup_copy
                """,
                self.path("events", f"events_{day.isoformat()}.ndjson"),
                "FORMAT json",
            )
        self.counts["events"] = self.scalar("SELECT count(*) FROM event_rows")
        self.sql("DROP TABLE event_rows")
