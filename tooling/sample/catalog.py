"""The sample business's fixed catalogue (menu, stores, supplies, names) and sizes.

Plus the helpers that turn Python constants into DuckDB SQL literals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

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
OWNED_PATTERNS: tuple[tuple[str, str], ...] = (
    ("erp/customers", "customers_*.csv"),
    ("erp/orders", "orders_*.csv"),
    ("erp/order_items", "order_items_*.csv"),
    ("erp/products", "products_*.csv"),
    ("erp/stores", "stores_*.csv"),
    ("erp/supplies", "supplies_*.csv"),
    ("payments", "payments_page_*.json"),
    ("events", "events_*.ndjson"),
)


def sql_lit(value: object) -> str:
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


def sql_list(values: Iterable[object]) -> str:
    return "[" + ", ".join(sql_lit(v) for v in values) + "]"


def sql_values(rows: Sequence[Sequence[object]], columns: Sequence[str]) -> str:
    body = ",\n".join("(" + ", ".join(sql_lit(v) for v in row) + ")" for row in rows)
    return f"(VALUES {body}) AS t({', '.join(columns)})"


def count_at_least(n: float, minimum: int) -> int:
    return max(minimum, round(n))
