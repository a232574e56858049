"""The sample's payment API pages (JSON) and web events (NDJSON).

Methods of the generator (:class:`tooling.sample.generate._Generator`).
"""

from __future__ import annotations

from tooling.sample.catalog import (
    DAY,
    METHODS_SQL,
    PAGE_SIZE,
    PRODUCTS,
    SITE_PAGES,
    sql_list,
)


class StreamExports:
    """API pages and event files, one or two SQL statements per entity."""

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
        device = f"{sql_list(('ios', 'android', 'macos', 'windows'))}[os_i + 1] AS os, {browser_case} AS browser"
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
        products = sql_list(p[0] for p in PRODUCTS)
        pages = sql_list((*SITE_PAGES, "/checkout", "/checkout/confirmation"))
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
