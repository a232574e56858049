"""The SQL-scope change class (tooling.ci.sqlscope) on hand-written query pairs.

The end-to-end cases on real compiled SQL are in test_ci_labs_project.py; these
pin each clause, and that environment-only differences (the catalog a ref
renders with) are no change.
"""

from __future__ import annotations

import pytest

from tooling.ci.sqlscope import scope_change

BASE = (
    'with orders as (select * from "prod"."main"."stg_orders"), '
    "totals as (select customer_id, count(*) as n, sum(amount) as total from orders "
    "where status != 'returned' group by customer_id) "
    "select customer_id, n, total from totals"
)


@pytest.mark.parametrize(
    ("new", "rows"),
    [
        (BASE.replace('"prod"', '"ci"'), []),  # only the catalog differs
        (BASE.replace("!= 'returned'", "= 'completed'"), ["filter (where) in cte totals"]),
        (BASE.replace("group by customer_id", "group by all"), ["grouping (group) in cte totals"]),
        (BASE + " where n > 1", ["filter (where) in final select"]),
        (
            BASE.replace("select customer_id, n", "select distinct customer_id, n"),
            ["distinct (distinct) in final select"],
        ),
        (BASE + " limit 10", ["limit (limit) in final select"]),
        (BASE.replace('"stg_orders"', '"stg_orders_v2"'), ["source relation (from) in cte orders"]),
        (BASE.replace("sum(amount) as total", "sum(amount) as total, max(amount) as top"), []),
    ],
)
def test_row_deciding_clauses(new: str, rows: list[str]) -> None:
    assert scope_change(BASE, new).rows == rows


def test_joins_and_set_operations() -> None:
    joined = "select a.id, a.x from a left join b on a.id = b.id"
    assert scope_change(joined, joined.replace("left join", "inner join")).rows == [
        "join (joins) in final select"
    ]
    assert scope_change(joined, joined.replace("a.id = b.id", "a.x = b.id")).rows == [
        "join (joins) in final select"
    ]
    added = "select a.id, a.x, b.y from a left join b on a.id = b.id"
    assert scope_change(joined, added).rows == []
    assert scope_change(
        "select 1 as x from a union all select 1 from b",
        "select 1 as x from a union select 1 from b",
    ).rows == ["set operation (union/intersect/except)"]


def test_values_and_columns() -> None:
    change = scope_change(BASE, BASE.replace("sum(amount) as total", "sum(amount) * 2 as total"))
    assert change.rows == [] and change.values == ["total in cte totals"]
    dropped = scope_change("select a, b from t", "select a from t")
    assert (dropped.old_columns, dropped.new_columns) == (["a", "b"], ["a"])
    assert scope_change("select * from t", "select a from t").old_columns is None


def test_unparsable_sql_is_reported_not_guessed() -> None:
    change = scope_change("select ((", "select 1")
    assert change.rows == [] and change.error and "\n" not in change.error
