"""What a change to a model's compiled SQL does to its rows, read from the SQL's scope.

Two compiled queries are parsed with sqlglot and compared SELECT by SELECT (the
CTEs and sub-queries in order, then the outer query): a different filter
(``where``/``having``/``qualify``), join, grouping, ``distinct``, ``limit``,
source relation or set operation changes which rows the model holds
("breaking: rows") even when the columns stay the same; an existing column
whose expression changed changes values; a column only added changes nothing
downstream. Relation names are compared without database and schema, since the
CI build's refs point at another catalog than production's. Never prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

# sqlglot names the FROM and WITH arguments `from_`/`with_` (older releases: `from`/`with`).
_FROM = "from_" if "from_" in exp.Select.arg_types else "from"
_WITH = "with_" if "with_" in exp.Select.arg_types else "with"
# Clauses of a SELECT that decide which rows it returns: argument -> (label, shown as).
ROW_CLAUSES = {
    "where": ("filter", "where"),
    "having": ("filter", "having"),
    "qualify": ("filter", "qualify"),
    "joins": ("join", "joins"),
    "laterals": ("join", "lateral"),
    "group": ("grouping", "group"),
    "distinct": ("distinct", "distinct"),
    "limit": ("limit", "limit"),
    "offset": ("limit", "offset"),
    _FROM: ("source relation", "from"),
}


@dataclass
class ScopeChange:
    rows: list[str] = field(default_factory=list)  # e.g. "filter (where) in cte orders"
    values: list[str] = field(default_factory=list)  # existing columns with new expressions
    error: str | None = None  # the SQL could not be compared
    # The outer query's column names (None when it selects `*`: decided by the parents).
    old_columns: list[str] | None = None
    new_columns: list[str] | None = None

    @property
    def breaking_rows(self) -> bool:
        return bool(self.rows)


def _normalise(tree: exp.Expression) -> exp.Expression:
    tree = tree.copy()
    for table in tree.find_all(exp.Table):
        table.set("catalog", None)
        table.set("db", None)
    return tree


def _selects(tree: exp.Expression) -> list[tuple[str, exp.Select]]:
    """(name, select) for every SELECT: CTEs by name, the rest by position."""
    named: list[tuple[str, exp.Select]] = []
    for position, select in enumerate(tree.find_all(exp.Select)):
        parent = select.parent
        name = f"select #{position + 1}"
        if isinstance(parent, exp.CTE):
            name = f"cte {parent.alias_or_name}"
        elif select is tree:
            name = "final select"
        named.append((name, select))
    return named


def _clause(select: exp.Select, key: str) -> str:
    value = select.args.get(key)
    if value is None:
        return ""
    if isinstance(value, list):
        return " ; ".join(v.sql() for v in value)
    return value.sql()


def _without_projections(select: exp.Select) -> exp.Select:
    """The SELECT's row-deciding part (nested selects blanked: compared on their own)."""
    bare = select.copy()
    bare.set("expressions", [exp.Star()])
    bare.set(_WITH, None)
    for sub in list(bare.find_all(exp.Select)):
        if sub is not bare:
            sub.replace(exp.Select(expressions=[exp.Star()]))
    return bare


def _projections(select: exp.Select) -> dict[str, str]:
    return {e.alias_or_name.lower(): e.unalias().sql() for e in select.expressions}


def _set_operations(tree: exp.Expression) -> list[str]:
    return [
        f"{type(node).__name__.lower()}{'' if node.args.get('distinct') else ' all'}"
        for node in tree.find_all(exp.Union, exp.Intersect, exp.Except)
    ]


def _output_columns(tree: exp.Expression) -> list[str] | None:
    """The model's column names from its outer SELECT, None with a ``*`` in it."""
    select = tree if isinstance(tree, exp.Select) else next(tree.find_all(exp.Select), None)
    if select is None or any(isinstance(e, exp.Star) or e.is_star for e in select.expressions):
        return None
    return [e.alias_or_name.lower() for e in select.expressions]


def scope_change(old_sql: str, new_sql: str, *, dialect: str | None = "duckdb") -> ScopeChange:
    """How the rows and values of ``new_sql`` differ from ``old_sql``'s."""
    try:
        old = _normalise(sqlglot.parse_one(old_sql, read=dialect))
        new = _normalise(sqlglot.parse_one(new_sql, read=dialect))
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return ScopeChange(error=f"compiled SQL not parsable by sqlglot: {first[:120]}")
    out = ScopeChange(old_columns=_output_columns(old), new_columns=_output_columns(new))
    if _set_operations(old) != _set_operations(new):
        out.rows.append("set operation (union/intersect/except)")
    old_selects, new_selects = _selects(old), _selects(new)
    old_by_name = dict(old_selects)
    matched: list[tuple[str, exp.Select, exp.Select]] = []
    if [n for n, _ in old_selects] == [n for n, _ in new_selects]:
        matched = [(n, old_by_name[n], s) for n, s in new_selects]
    else:
        # CTEs added, removed or renamed: compare the ones both have, and the final query.
        for name, select in new_selects:
            if name in old_by_name and not name.startswith("select #"):
                matched.append((name, old_by_name[name], select))
        gone = {n for n, _ in old_selects if n.startswith("cte ")} - {n for n, _ in new_selects}
        added = {n for n, _ in new_selects if n.startswith("cte ")} - set(old_by_name)
        if gone or added:
            out.rows.append(
                "query structure ("
                + ", ".join([*(f"-{n}" for n in sorted(gone)), *(f"+{n}" for n in sorted(added))])
                + ")"
            )
        elif len(old_selects) != len(new_selects):
            out.rows.append("query structure (sub-queries added or removed)")
    for name, before, after in matched:
        if _without_projections(before).sql() != _without_projections(after).sql():
            for key, (label, shown) in ROW_CLAUSES.items():
                if _clause(_without_projections(before), key) != _clause(
                    _without_projections(after), key
                ):
                    out.rows.append(f"{label} ({shown}) in {name}")
            if not out.rows:
                out.rows.append(f"query shape in {name}")
        old_cols, new_cols = _projections(before), _projections(after)
        out.values += [
            f"{col} in {name}"
            for col, expr in new_cols.items()
            if col in old_cols and old_cols[col] != expr and col != "*"
        ]
    out.rows = list(dict.fromkeys(out.rows))
    return out
