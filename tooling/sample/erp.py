"""The ERP exports of the sample: customers, orders, order items, products, stores, supplies.

Methods of the generator (:class:`tooling.sample.generate._Generator`), which
provides ``sql``, ``csv``, ``daily_csv`` and the window's dimensions.
"""

from __future__ import annotations

from tooling.sample.catalog import (
    AREA_CODES,
    CITIES,
    DAY,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    MIXED_CASE_DOMAINS,
    OPEN_SECONDS,
    OPEN_WINDOW,
    PRICE_CHANGES,
    PRODUCTS,
    PROPENSITY_WEIGHTS,
    STORE_SHARES,
    STORES,
    SUPPLIES,
    sql_list,
)


class ErpExports:
    """Daily CSV exports, one or two SQL statements per entity."""

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
                       {sql_list(FIRST_NAMES)}[rnd(customer_id, 'c_first') % {len(FIRST_NAMES)} + 1]
                           AS first_name,
                       {sql_list(LAST_NAMES)}[rnd(customer_id, 'c_last') % {len(LAST_NAMES)} + 1]
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
                            || '@' || {sql_list(MIXED_CASE_DOMAINS)}[di]
                        WHEN he < 3 THEN NULL
                        ELSE lower(replace(first_name || '.' || last_name, ' ', ''))
                            || customer_id || '@' || {sql_list(EMAIL_DOMAINS)}[di]
                   END AS email,
                   CASE WHEN rnd(customer_id, 'c_phone') % 100 >= 3 THEN
                       printf('(%03d) 555-%04d',
                              {sql_list(AREA_CODES)}[rnd(customer_id, 'c_area') % {len(AREA_CODES)} + 1],
                              rnd(customer_id, 'c_number') % 10000)
                   END AS phone,
                   {sql_list(CITIES)}[ci + 1] AS city,
                   CASE WHEN (customer_id = 1 OR hr % 100 < 5) AND day < {last}
                        THEN day + 1 + (hr // 100) % least(7, {last} - day)
                   END AS reexport_day,
                   {sql_list(CITIES)}[(ci + 1 + rnd(customer_id, 'c_new_city') % {n_cities - 1})
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
