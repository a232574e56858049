"""One model's column lineage: sqlglot over its compiled SQL, qualified with its parents' columns.

For every output column, the upstream columns it derives from and how it is
transformed (its kind), or ``unknown`` with a reason when sqlglot cannot resolve
it (a ``select *`` over a relation of unknown columns, an ambiguous unqualified
column, SQL it cannot parse); never guessed.

Each upstream column also records whether at least one path to it keeps the
value recoverable ("unmasked"): a path is *masking* when the column passes
through a hash function (md5, sha1/sha2/sha256/sha512, standard_hash,
farm_fingerprint, hash), a predicate (``is null``, comparisons, ``in``, ``like``:
the result is a boolean), or ``count``/``length``. The PII rule builds on that.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlglot import exp
from sqlglot import parse_one as sqlglot_parse_one
from sqlglot.lineage import Node, lineage

from tooling.lineage import duckdb_rewrites
from tooling.lineage.relations import RelationIndex

logging.getLogger("sqlglot").setLevel(logging.ERROR)

# "not_produced": documented in YAML but not in what the model produces (the
# catalog, else the compiled SQL's output columns).
Status = Literal["resolved", "unknown", "constant", "not_produced"]
Kind = Literal["passthrough", "rename", "cast", "aggregate", "expression", "constant"]
NOT_PRODUCED = "documented but not produced by the model's SQL"
# Function name of the stand-in for a projection sqlglot cannot analyse.
UNRESOLVED = "dataops_unresolved_"
_QUOTED = re.compile(r"'([^']+)'")


HASH_FUNCTIONS = frozenset(
    {
        "md5",
        "sha",
        "sha1",
        "sha2",
        "sha256",
        "sha512",
        "hash",
        "hashbytes",
        "standard_hash",
        "farm_fingerprint",
        "xxhash32",
        "xxhash64",
        "murmur3",
        "crc32",
    }
)


# Expression types whose result no longer carries the input value.
MASKING_TYPES: tuple[type[exp.Expr], ...] = (
    exp.MD5,
    exp.MD5Digest,
    exp.MD5NumberLower64,
    exp.MD5NumberUpper64,
    exp.SHA,
    exp.SHA2,
    exp.SHA1Digest,
    exp.SHA2Digest,
    exp.StandardHash,
    exp.FarmFingerprint,
    exp.Predicate,
    exp.Exists,
    exp.Count,
    exp.CountIf,
    exp.Length,
)


@dataclass(frozen=True, order=True)
class ColumnRef:
    """One upstream column: the manifest node (None for a relation dbt does not
    know), the relation as ``database.schema.table`` and the column name."""

    node: str | None
    relation: str
    column: str


def sort_refs(refs: Iterable[ColumnRef]) -> list[ColumnRef]:
    """Upstream columns in a stable order; a relation dbt does not know (node None)
    sorts with the others, where comparing None with a node id would raise."""
    return sorted(refs, key=lambda r: (r.node or "", r.relation, r.column))


@dataclass
class ColumnLineage:
    column: str
    status: Status
    upstream: list[ColumnRef] = field(default_factory=list)
    unmasked: list[ColumnRef] = field(default_factory=list)
    reason: str | None = None
    kind: Kind | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "status": self.status,
            "kind": self.kind,
            "upstream": [ref.__dict__ for ref in self.upstream],
            "unmasked": [ref.__dict__ for ref in self.unmasked],
            "reason": self.reason,
        }


def _masking_ancestor(column: exp.Column, stop: exp.Expr) -> bool:
    node = column.parent
    while node is not None and node is not stop:
        if isinstance(node, MASKING_TYPES):
            return True
        if isinstance(node, exp.Anonymous) and str(node.name).lower() in HASH_FUNCTIONS:
            return True
        node = node.parent
    return isinstance(stop, MASKING_TYPES)


def _split_name(name: str) -> tuple[str, str]:
    """A lineage node's name (``table.column``, as sqlglot writes the column: each
    part quoted or not) as its table and column, unquoted."""
    if '"' not in name and "`" not in name:
        table, _, column = name.rpartition(".")
        return table, column
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(name):
        ch = name[i]
        if quote:
            if ch == quote and name[i + 1 : i + 2] == quote:  # a doubled quote is one
                current.append(ch)
                i += 1
            elif ch == quote:
                quote = None
            else:
                current.append(ch)
        elif ch in '"`':
            quote = ch
        elif ch == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return ".".join(parts[:-1]), parts[-1]


def _edge_masks(parent: Node, child: Node) -> bool:
    """Whether every use of ``child``'s column in ``parent``'s expression is masked."""
    table, column = _split_name(child.name)
    uses = [
        c
        for c in parent.expression.find_all(exp.Column)
        if c.name == column and (not table or c.table == table)
    ]
    return bool(uses) and all(_masking_ancestor(c, parent.expression) for c in uses)


def _has_columns(expression: exp.Expr) -> bool:
    return any(True for _ in expression.find_all(exp.Column))


_KIND_RANK: dict[str, int] = {
    "passthrough": 0,
    "rename": 1,
    "cast": 2,
    "expression": 3,
    "aggregate": 4,
}


def _step_kind(expression: exp.Expr) -> str | None:
    """How one lineage step transforms its input (None: it just passes a column on)."""
    inner = expression.this if isinstance(expression, exp.Alias) else expression
    if isinstance(inner, (exp.Column, exp.Star, exp.Table, exp.Null)):
        return None  # a NULL passes nothing on: the other branches of a union say
    if isinstance(inner, exp.Cast) and isinstance(inner.this, exp.Column):
        return "cast"
    if isinstance(inner, exp.AggFunc) or (
        inner.find(exp.AggFunc) is not None and inner.find(exp.Window) is None
    ):
        return "aggregate"
    return "expression"


def _is_stand_in(expression: exp.Expr) -> str | None:
    for func in expression.find_all(exp.Anonymous):
        name = str(func.name).lower()
        if name.startswith(UNRESOLVED):
            return name
    return None


def _collect(
    root: Node, relations: RelationIndex, column: str, markers: dict[str, str] | None = None
) -> ColumnLineage:
    refs: set[ColumnRef] = set()
    unmasked: set[ColumnRef] = set()
    reasons: list[str] = []
    kind = "passthrough"
    seen: set[tuple[int, bool]] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, masked = stack.pop()
        key = (id(node), masked)
        if key in seen:
            continue
        seen.add(key)
        expression = node.expression
        if isinstance(expression, exp.Table):
            col = _split_name(node.name)[1]
            uid, relation = relations.lookup(expression)
            if col == "*" or isinstance(node.expression, exp.Star):
                reasons.append(f"select * over {relation}, whose columns are not known")
                continue
            ref = ColumnRef(uid, relation, col)
            refs.add(ref)
            if not masked:
                unmasked.add(ref)
            continue
        if markers:
            stand_in = _is_stand_in(expression)
            if stand_in is not None:
                reasons.append(markers.get(stand_in, "sqlglot could not analyse this column"))
                continue
        step = _step_kind(expression)
        if step is not None and _KIND_RANK[step] > _KIND_RANK[kind]:
            kind = step
        if isinstance(expression, exp.Placeholder):
            reasons.append(f"cannot tell which relation {node.name!r} comes from")
            continue
        if isinstance(expression, exp.Star):
            if not node.downstream:
                reasons.append("select * over a relation whose columns are not known")
            for child in node.downstream:
                stack.append((child, masked))
            continue
        if not node.downstream:
            if _has_columns(expression):
                reasons.append(f"cannot resolve {expression.sql()[:80]}")
            continue
        for child in node.downstream:
            stack.append((child, masked or _edge_masks(node, child)))
    if reasons:
        reason = "; ".join(reasons)
        return ColumnLineage(column, "unknown", sort_refs(refs), sort_refs(unmasked), reason)
    if not refs:
        return ColumnLineage(
            column,
            "constant",
            reason="derives from no column (constant or count)",
            kind="constant",
        )
    if kind == "passthrough" and any(r.column.lower() != column.lower() for r in refs):
        kind = "rename"
    return ColumnLineage(column, "resolved", sort_refs(refs), sort_refs(unmasked), kind=kind)  # type: ignore[arg-type]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


# Full analyses tried while looking for the projections sqlglot fails on.
MAX_TRIALS = 60


def _lineage_roots(tree: exp.Expr, schema: dict[str, Any], dialect: str | None) -> dict[str, Node]:
    return lineage(None, tree, schema, dialect=dialect, trim_selects=False)


def _isolate(
    tree: exp.Expr, schema: dict[str, Any], dialect: str | None, error: str
) -> tuple[dict[str, Node | str], dict[str, str]] | None:
    """Replace the projections sqlglot fails on by stand-in functions, one at a
    time, until the rest of the query analyses; their reasons by stand-in name (None:
    no such set found within ``MAX_TRIALS`` analyses).

    sqlglot qualifies the whole query at once, so one projection it cannot handle
    (a scalar subquery over a relation of unknown columns, say) fails every column.
    A stand-in keeps the projection's name, so whatever reads it is unknown too.
    """
    markers: dict[str, str] = {}
    budget = MAX_TRIALS
    while budget > 0:
        hint = set(_QUOTED.findall(error))
        candidates = [
            proj
            for select in tree.find_all(exp.Select)
            for proj in select.expressions
            if not isinstance(proj, exp.Star) and _is_stand_in(proj) is None
        ]
        # Projections that mention the identifier the error names go first.
        candidates.sort(key=lambda p: not hint & {c.name for c in p.find_all(exp.Column)})
        progress = False
        for proj in candidates:
            if budget <= 0:
                break
            budget -= 1
            key = f"{UNRESOLVED}{len(markers)}"
            name = proj.alias_or_name
            func = exp.Anonymous(this=key, expressions=[])
            stand_in = exp.alias_(func, name) if name else func
            proj.replace(stand_in)
            reason = f"sqlglot could not analyse {proj.sql(dialect=dialect)[:60]}: {error}"
            try:
                roots = _lineage_roots(tree, schema, dialect)
            except Exception as exc:
                again = _first_line(exc)
                if again != error:  # this one failed; another projection fails too
                    markers[key] = reason
                    error, progress = again, True
                    break
                stand_in.replace(proj)
                continue
            markers[key] = reason
            return roots, markers
        if not progress:
            break
    return None


def _per_column(
    tree: exp.Expr, schema: dict[str, Any], dialect: str | None, error: str
) -> tuple[dict[str, Node | str], dict[str, str]] | str:
    """Last resort: sqlglot's lineage one output column at a time."""
    names = [s.alias_or_name for s in tree.selects if not isinstance(s, exp.Star)]
    out: dict[str, Node | str] = {}
    for name in names[:MAX_TRIALS]:
        try:
            out[name] = lineage(name, tree, schema, dialect=dialect, trim_selects=False)
        except Exception as exc:
            out[name] = f"sqlglot could not analyse this column: {_first_line(exc)}"
    if not out or all(isinstance(v, str) for v in out.values()):
        return f"sqlglot could not analyse the SQL: {error}"
    return out, {}


def _analyse(
    sql: str, schema: dict[str, Any], dialect: str | None, expected: list[str] | None = None
) -> tuple[dict[str, Node | str], dict[str, str]] | str:
    """sqlglot's lineage roots per output column and the stand-ins' reasons, or why
    the SQL cannot be analysed at all."""
    try:
        tree = sqlglot_parse_one(sql, dialect=dialect)
    except Exception as exc:  # sqlglot raises more than SqlglotError on odd SQL
        return f"sqlglot could not parse the SQL: {_first_line(exc)}"
    if isinstance(tree, exp.Pivot) and not tree.args.get("unpivot"):
        rewritten = duckdb_rewrites.pivot_as_select(tree, schema, expected or [])
        if isinstance(rewritten, str):
            return rewritten
        tree = rewritten
    if not isinstance(tree, exp.Query):
        kind = "UNPIVOT" if isinstance(tree, exp.Pivot) else type(tree).__name__.upper()
        return f"not a query sqlglot can analyse (a {kind} statement)"
    if tree.find(exp.Columns) is not None:
        duckdb_rewrites.expand_columns(tree, schema, dialect)
    duckdb_rewrites.by_name_unions(tree)
    try:
        return _lineage_roots(tree, schema, dialect), {}
    except Exception as exc:
        error = _first_line(exc)
    isolated = _isolate(tree.copy(), schema, dialect, error)
    return isolated if isolated is not None else _per_column(tree, schema, dialect, error)


def model_column_lineage(
    sql: str,
    *,
    schema: dict[str, Any],
    relations: RelationIndex,
    dialect: str | None,
    columns: Iterable[str] = (),
    documented: Iterable[str] = (),
) -> dict[str, ColumnLineage]:
    """Lineage of every output column of one compiled SELECT.

    ``schema`` is sqlglot's nested mapping ``{db: {schema: {table: {col: type}}}}``
    for the relations the SQL reads; ``columns`` the columns the model is known to
    have (from the catalog; empty: what the SQL produces): any not found in the SQL
    is reported unknown. ``documented`` columns (YAML) the model does not produce
    are ``not_produced``.
    """
    expected = list(columns)
    analysed = _analyse(sql, schema, dialect, expected)
    if isinstance(analysed, str):
        names = expected or list(documented)
        return {c: ColumnLineage(c, "unknown", reason=analysed) for c in names}
    roots, markers = analysed
    found: dict[str, ColumnLineage] = {}
    star_reason: str | None = None
    for name, root in roots.items():
        if isinstance(root, str):
            found[name.lower()] = ColumnLineage(name, "unknown", reason=root)
            continue
        if name == "*" or isinstance(root.expression, exp.Star):
            star_reason = _collect(root, relations, name).reason or "unresolved select *"
            continue
        found[name.lower()] = _collect(root, relations, name, markers)
    out: dict[str, ColumnLineage] = {}
    for col in expected:
        hit = found.pop(col.lower(), None)
        if hit is not None:
            hit.column = col
            out[col] = hit
        else:
            reason = star_reason or "column not found in the compiled SQL"
            out[col] = ColumnLineage(col, "unknown", reason=reason)
    for hit in found.values():
        out[hit.column] = hit
    have = {c.lower() for c in out}
    for col in documented:
        if col.lower() in have:
            continue
        if star_reason is not None and not expected:
            out[col] = ColumnLineage(col, "unknown", reason=star_reason)
        else:
            out[col] = ColumnLineage(col, "not_produced", reason=NOT_PRODUCED)
    return out
