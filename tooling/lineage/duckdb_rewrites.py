"""DuckDB SQL that sqlglot's lineage cannot follow, rewritten into SQL it can.

``PIVOT`` statements become the SELECT they compute, ``COLUMNS(...)`` (a regex
or a lambda over a relation's columns) expands to the columns it selects, and
``UNION BY NAME`` becomes a positional union of the same columns. Each rewrite
needs the parents' columns (sqlglot's nested schema mapping); when they are
not known, the SQL is left as it is and the caller reports what it cannot
resolve.
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp
from sqlglot.optimizer.qualify import qualify


def table_columns(schema: dict[str, Any], table: exp.Table) -> list[str] | None:
    """A table's columns in sqlglot's nested schema mapping (names compared
    case-insensitively, missing parts matching any), None when not there."""
    wanted = [part.lower() if part else None for part in (table.catalog, table.db, table.name)]
    found = []
    for db, schemas in schema.items():
        for sch, tables in schemas.items():
            for name, cols in tables.items():
                have = [db.lower(), sch.lower(), name.lower()]
                if all(w is None or w == h for w, h in zip(wanted, have, strict=True)):
                    found.append(list(cols))
    return found[0] if len(found) == 1 else None


def pivot_as_select(
    tree: exp.Pivot, schema: dict[str, Any], expected: list[str]
) -> exp.Select | str:
    """DuckDB's ``PIVOT`` statement as the SELECT it computes, column for column:
    the group columns, and per value column (``<value>[_<value>...][_<alias>]``)
    the ``USING`` aggregate over a ``CASE`` on the ``ON`` columns. Values come from
    the ``IN`` lists, else (they are the data's) from the columns the catalog
    lists; the group columns from ``GROUP BY``, else every column of the pivoted
    table that is neither pivoted nor aggregated. A reason instead when that is
    not known."""
    on_parts = list(tree.expressions)
    usings = list(tree.args.get("using") or [])
    if not on_parts or not usings:
        return "a PIVOT statement without ON or USING"
    on_columns = {c.name.lower() for part in on_parts for c in part.find_all(exp.Column)}
    used = {c.name.lower() for u in usings for c in u.find_all(exp.Column)}
    group = tree.args.get("group")
    if group is not None:
        keys = [g.copy() for g in group.expressions]
    else:
        source = tree.this
        cols = table_columns(schema, source) if isinstance(source, exp.Table) else None
        if cols is None:
            return "a PIVOT statement without GROUP BY over a relation of unknown columns"
        keys = [exp.column(c) for c in cols if c.lower() not in on_columns | used]
    key_names = {k.alias_or_name.lower() for k in keys}

    def aggregate(using: exp.Expr, condition: exp.Expr, name: str) -> exp.Expr:
        agg = (using.this if isinstance(using, exp.Alias) else using).copy()
        value = agg.this if isinstance(agg.this, exp.Expr) else None
        then = exp.Literal.number(1) if value is None or isinstance(value, exp.Star) else value
        agg.set("this", exp.Case(ifs=[exp.If(this=condition, true=then.copy())]))
        return exp.alias_(agg, name, quoted=True)

    def suffix(using: exp.Expr) -> str:
        if isinstance(using, exp.Alias):
            return "_" + using.alias
        return "" if len(usings) == 1 else "_" + using.sql(dialect="duckdb").lower()

    projections: list[exp.Expr] = []
    if all(isinstance(p, exp.In) and p.expressions for p in on_parts):
        combos: list[list[tuple[exp.Expr, exp.Expr]]] = [[]]
        for part in on_parts:
            combos = [[*c, (part.this, v)] for c in combos for v in part.expressions]
        for combo in combos:
            value = "_".join(v.name for _, v in combo)
            condition = exp.and_(
                *(exp.EQ(this=col.copy(), expression=v.copy()) for col, v in combo)
            )
            for using in usings:
                projections.append(aggregate(using, condition, value + suffix(using)))
    elif expected:
        targets = [p.this if isinstance(p, exp.In) else p for p in on_parts]
        condition = exp.and_(
            *(exp.Not(this=exp.Is(this=t.copy(), expression=exp.Null())) for t in targets)
        )
        for name in expected:
            if name.lower() in key_names:
                continue
            using = next((u for u in usings if suffix(u) and name.endswith(suffix(u))), usings[0])
            projections.append(aggregate(using, condition, name))
    else:
        return "a PIVOT statement over the data's values (no IN list): its columns need a catalog"
    select = exp.select(*keys, *projections).from_(tree.this.copy())
    if group is not None or keys:
        select = select.group_by(*(k.copy() for k in keys))
    if tree.args.get("with_"):
        select.set("with_", tree.args["with_"].copy())
    return select


def _from_columns(
    tree: exp.Expr, select: exp.Select, schema: dict[str, Any], dialect: str | None
) -> list[str] | None:
    """The columns a SELECT's FROM and JOINs offer, in order: ``select *`` over them,
    expanded by sqlglot against the schema (None when it cannot)."""
    source = select.args.get("from_")
    if source is None:
        return None
    probe = exp.Select(expressions=[exp.Star()], from_=source.copy())
    for join in select.args.get("joins") or []:
        probe.append("joins", join.copy())
    with_ = tree.args.get("with_")
    if with_ is not None and select is not tree:
        probe.set("with_", with_.copy())
    try:
        qualified = qualify(
            probe, schema=schema, dialect=dialect, expand_stars=True, validate_qualify_columns=False
        )
    except Exception:
        return None
    names = [p.alias_or_name for p in qualified.selects]
    return None if "*" in names or not names else names


def expand_columns(tree: exp.Expr, schema: dict[str, Any], dialect: str | None) -> None:
    """DuckDB's ``COLUMNS(...)`` in a projection, replaced by one projection per
    column it matches (a regular expression, found anywhere in the name, or ``*``
    with its ``EXCLUDE``), each named after its column as DuckDB does; sqlglot
    leaves the expression as it is, so the columns it stands for were not found.
    Lambdas and relations of unknown columns are left alone."""
    for select in list(tree.find_all(exp.Select)):
        if not any(p.find(exp.Columns) for p in select.expressions):
            continue
        available = _from_columns(tree, select, schema, dialect)
        if available is None:
            continue
        expanded: list[exp.Expr] = []
        for proj in select.expressions:
            found = proj.find(exp.Columns)
            names = _columns_matched(found, available) if found is not None else None
            if names is None:
                expanded.append(proj)
                continue
            for name in names:
                copy = proj.copy()
                column = exp.column(name, quoted=True)
                target = copy.find(exp.Columns)
                if target is copy:
                    expanded.append(column)
                    continue
                target.replace(column)  # type: ignore[union-attr]
                expanded.append(copy if isinstance(copy, exp.Alias) else exp.alias_(copy, name))
        select.set("expressions", expanded)


def by_name_unions(tree: exp.Expr) -> None:
    """``UNION [ALL] BY NAME`` (DuckDB) as the positional union it computes: every
    branch selects every name any branch has, in first-seen order, NULL where it
    has none. sqlglot reads a union's columns off its first branch, so the names
    only later branches have were not found. Branches with a ``*`` are left alone."""
    for union in list(tree.find_all(exp.SetOperation)):
        if not union.args.get("by_name") or isinstance(union.parent, exp.SetOperation):
            continue
        branches: list[exp.Expr] = []
        stack: list[exp.Expr] = [union]
        while stack:
            node = stack.pop()
            if isinstance(node, exp.SetOperation) and node.args.get("by_name"):
                stack.extend([node.expression, node.this])
            else:
                branches.append(node)
        if not all(isinstance(b, exp.Select) for b in branches):
            continue
        if any(
            isinstance(p, exp.Star) or p.find(exp.Star) for b in branches for p in b.expressions
        ):
            continue
        names: dict[str, str] = {}
        for branch in branches:
            for proj in branch.expressions:
                names.setdefault(proj.alias_or_name.lower(), proj.alias_or_name)
        for branch in branches:
            have = {p.alias_or_name.lower(): p for p in branch.expressions}
            branch.set(
                "expressions",
                [have.get(key) or exp.alias_(exp.Null(), name) for key, name in names.items()],
            )
        node = union
        while isinstance(node, exp.SetOperation) and node.args.get("by_name"):
            node.set("by_name", None)
            node = node.this


def _columns_matched(columns: exp.Columns, available: list[str]) -> list[str] | None:
    arg = columns.this
    if isinstance(arg, exp.Literal) and arg.is_string:
        try:
            pattern = re.compile(arg.this)
        except re.error:
            return None
        return [name for name in available if pattern.search(name)]
    if isinstance(arg, exp.Star):
        skip = {c.name.lower() for c in arg.args.get("except_") or []}
        return [name for name in available if name.lower() not in skip]
    return None
