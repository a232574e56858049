"""Column-level lineage with sqlglot over each model's compiled SQL.

For every column of every model (and snapshot) the upstream columns it derives
from, in the relations the model reads. The compiled SQL is qualified with the
parents' columns (from ``catalog.json``, else the documented columns in the
manifest), so ``select *``, CTEs, aliased joins, unions, aggregates, window
functions and ``case`` expressions resolve. Whatever sqlglot cannot resolve (a
``select *`` over a relation of unknown columns, an ambiguous unqualified
column, SQL it cannot parse) is reported as ``unknown`` with a reason, never
guessed.

Each upstream column also records whether at least one path to it keeps the
value recoverable ("unmasked"): a path is *masking* when the column passes
through a hash function (md5, sha1/sha2/sha256/sha512, standard_hash,
farm_fingerprint, hash), a predicate (``is null``, comparisons, ``in``, ``like``:
the result is a boolean), or ``count``/``length``. The PII rule builds on that.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlglot import exp
from sqlglot import parse_one as sqlglot_parse_one
from sqlglot.lineage import Node, lineage

logging.getLogger("sqlglot").setLevel(logging.ERROR)

Status = Literal["resolved", "unknown", "constant"]

# dbt adapter type -> sqlglot dialect (None: sqlglot's generic dialect).
DIALECTS = {
    "duckdb": "duckdb",
    "postgres": "postgres",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "databricks": "databricks",
    "spark": "spark",
    "trino": "trino",
    "athena": "athena",
    "clickhouse": "clickhouse",
    "sqlserver": "tsql",
    "fabric": "tsql",
    "mysql": "mysql",
    "sqlite": "sqlite",
    "oracle": "oracle",
    "teradata": "teradata",
}

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

SNAPSHOT_COLUMNS = frozenset(
    {"dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "dbt_is_deleted"}
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


@dataclass
class ColumnLineage:
    column: str
    status: Status
    upstream: list[ColumnRef] = field(default_factory=list)
    unmasked: list[ColumnRef] = field(default_factory=list)
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "status": self.status,
            "upstream": [ref.__dict__ for ref in self.upstream],
            "unmasked": [ref.__dict__ for ref in self.unmasked],
            "reason": self.reason,
        }


def sql_dialect(manifest: dict[str, Any]) -> str | None:
    adapter = (manifest.get("metadata") or {}).get("adapter_type")
    return DIALECTS.get(str(adapter).lower()) if adapter else None


def _norm(*parts: str | None) -> str:
    return ".".join(p.lower() for p in parts if p)


def _entry_identifier(entry: dict[str, Any]) -> str:
    return str(entry.get("identifier") or entry.get("alias") or entry.get("name"))


class RelationIndex:
    """Finds the manifest node behind a table reference in compiled SQL."""

    def __init__(self, manifest: dict[str, Any]) -> None:
        self.full: dict[str, str] = {}
        partial: dict[str, set[str]] = {}
        for section in ("nodes", "sources"):
            for uid, entry in (manifest.get(section) or {}).items():
                if entry.get("resource_type") not in ("model", "source", "seed", "snapshot"):
                    continue
                ident = _entry_identifier(entry)
                db, schema = entry.get("database"), entry.get("schema")
                self.full[_norm(db, schema, ident)] = uid
                partial.setdefault(_norm(schema, ident), set()).add(uid)
                partial.setdefault(_norm(ident), set()).add(uid)
        self.partial = {k: next(iter(v)) for k, v in partial.items() if len(v) == 1}

    def lookup(self, table: exp.Table) -> tuple[str | None, str]:
        name = _norm(table.catalog, table.db, table.name)
        uid = self.full.get(name) or self.partial.get(name)
        return uid, name


def relation_columns(
    manifest: dict[str, Any], catalog: dict[str, Any] | None
) -> dict[str, tuple[tuple[str, str, str], dict[str, str]]]:
    """Per node: ((database, schema, identifier), {column: type}).

    Columns and their order come from the catalog (what the warehouse holds);
    without a catalog entry, from the columns documented in the manifest.
    """
    out: dict[str, tuple[tuple[str, str, str], dict[str, str]]] = {}
    cat_entries: dict[str, Any] = {}
    for section in ("nodes", "sources"):
        cat_entries.update((catalog or {}).get(section) or {})
    for section in ("nodes", "sources"):
        for uid, entry in (manifest.get(section) or {}).items():
            if entry.get("resource_type") not in ("model", "source", "seed", "snapshot"):
                continue
            cat = cat_entries.get(uid)
            if cat and cat.get("columns"):
                meta = cat.get("metadata") or {}
                where = (
                    str(meta.get("database") or entry.get("database") or ""),
                    str(meta.get("schema") or entry.get("schema") or ""),
                    str(meta.get("name") or _entry_identifier(entry)),
                )
                ordered = sorted(cat["columns"].values(), key=lambda c: c.get("index") or 0)
                cols = {str(c["name"]): str(c.get("type") or "unknown") for c in ordered}
            else:
                where = (
                    str(entry.get("database") or ""),
                    str(entry.get("schema") or ""),
                    _entry_identifier(entry),
                )
                cols = {
                    str(c.get("name") or name): str(c.get("data_type") or "unknown")
                    for name, c in (entry.get("columns") or {}).items()
                }
            out[uid] = (where, cols)
    return out


def _masking_ancestor(column: exp.Column, stop: exp.Expr) -> bool:
    node = column.parent
    while node is not None and node is not stop:
        if isinstance(node, MASKING_TYPES):
            return True
        if isinstance(node, exp.Anonymous) and str(node.name).lower() in HASH_FUNCTIONS:
            return True
        node = node.parent
    return isinstance(stop, MASKING_TYPES)


def _edge_masks(parent: Node, child: Node) -> bool:
    """Whether every use of ``child``'s column in ``parent``'s expression is masked."""
    table, _, column = child.name.rpartition(".")
    uses = [
        c
        for c in parent.expression.find_all(exp.Column)
        if c.name == column and (not table or c.table == table)
    ]
    return bool(uses) and all(_masking_ancestor(c, parent.expression) for c in uses)


def _has_columns(expression: exp.Expr) -> bool:
    return any(True for _ in expression.find_all(exp.Column))


def _collect(root: Node, relations: RelationIndex, column: str) -> ColumnLineage:
    refs: set[ColumnRef] = set()
    unmasked: set[ColumnRef] = set()
    reasons: list[str] = []
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
            col = node.name.rpartition(".")[2]
            uid, relation = relations.lookup(expression)
            if col == "*" or isinstance(node.expression, exp.Star):
                reasons.append(f"select * over {relation}, whose columns are not known")
                continue
            ref = ColumnRef(uid, relation, col)
            refs.add(ref)
            if not masked:
                unmasked.add(ref)
            continue
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
        return ColumnLineage(column, "unknown", sorted(refs), sorted(unmasked), "; ".join(reasons))
    if not refs:
        return ColumnLineage(
            column, "constant", reason="derives from no column (constant or count)"
        )
    return ColumnLineage(column, "resolved", sorted(refs), sorted(unmasked))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


def _per_column(
    sql: str, schema: dict[str, Any], dialect: str | None, columns: list[str]
) -> dict[str, Node | str] | None:
    """Lineage one column at a time (slow path); None when the SQL does not parse."""
    try:
        sqlglot_parse_one(sql, dialect=dialect)
    except Exception:
        return None
    out: dict[str, Node | str] = {}
    for column in columns:
        try:
            out[column] = lineage(column, sql, schema, dialect=dialect, trim_selects=False)
        except Exception as exc:
            out[column] = f"sqlglot could not analyse this column: {_first_line(exc)}"
    return out


def model_column_lineage(
    sql: str,
    *,
    schema: dict[str, Any],
    relations: RelationIndex,
    dialect: str | None,
    columns: Iterable[str] = (),
) -> dict[str, ColumnLineage]:
    """Lineage of every output column of one compiled SELECT.

    ``schema`` is sqlglot's nested mapping ``{db: {schema: {table: {col: type}}}}``
    for the relations the SQL reads; ``columns`` the columns the model is known to
    have (from the catalog): any not found in the SQL is reported unknown.
    """
    expected = list(columns)
    try:
        roots = lineage(None, sql, schema, dialect=dialect, trim_selects=False)
    except Exception as exc:  # sqlglot raises more than SqlglotError on odd SQL
        # One bad projection must not hide the others: retry column by column.
        roots = _per_column(sql, schema, dialect, expected)
        if roots is None:
            reason = f"sqlglot could not analyse the SQL: {_first_line(exc)}"
            return {c: ColumnLineage(c, "unknown", reason=reason) for c in expected}
    found: dict[str, ColumnLineage] = {}
    star_reason: str | None = None
    for name, root in roots.items():
        if isinstance(root, str):
            found[name.lower()] = ColumnLineage(name, "unknown", reason=root)
            continue
        if name == "*" or isinstance(root.expression, exp.Star):
            star_reason = _collect(root, relations, name).reason or "unresolved select *"
            continue
        found[name.lower()] = _collect(root, relations, name)
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
    return out


def compute_column_lineage(
    manifest: dict[str, Any],
    catalog: dict[str, Any] | None,
    *,
    only: Iterable[str] | None = None,
) -> dict[str, dict[str, ColumnLineage]]:
    """Column lineage of every model and snapshot (or of those in ``only``):
    {unique_id: {column: lineage}}."""
    wanted = set(only) if only is not None else None
    dialect = sql_dialect(manifest)
    relations = RelationIndex(manifest)
    known = relation_columns(manifest, catalog)
    out: dict[str, dict[str, ColumnLineage]] = {}
    for uid, entry in (manifest.get("nodes") or {}).items():
        if entry.get("resource_type") not in ("model", "snapshot"):
            continue
        if wanted is not None and uid not in wanted:
            continue
        own_columns = list(known.get(uid, ((), {}))[1])
        sql = entry.get("compiled_code")
        if not sql or entry.get("language", "sql") != "sql":
            reason = (
                "not a SQL model"
                if entry.get("language", "sql") != "sql"
                else "no compiled SQL in the manifest (run dbt compile or build)"
            )
            out[uid] = {c: ColumnLineage(c, "unknown", reason=reason) for c in own_columns}
            continue
        schema: dict[str, Any] = {}
        for parent in (entry.get("depends_on") or {}).get("nodes") or []:
            if parent not in known:
                continue
            (db, sch, table), cols = known[parent]
            if cols:
                schema.setdefault(db, {}).setdefault(sch, {})[table] = cols
        cols = model_column_lineage(
            sql, schema=schema, relations=relations, dialect=dialect, columns=own_columns
        )
        if entry.get("resource_type") == "snapshot":
            for name, item in cols.items():
                if item.status == "unknown" and name.lower() in SNAPSHOT_COLUMNS:
                    item.reason = "added by dbt's snapshot materialisation"
        out[uid] = cols
    return out


def column_children(
    lineage_map: dict[str, dict[str, ColumnLineage]],
) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Reverse edges: (node, column) -> the (node, column) pairs derived from it."""
    children: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for uid, cols in lineage_map.items():
        for col, item in cols.items():
            for ref in item.upstream:
                if ref.node:
                    children.setdefault((ref.node, ref.column.lower()), []).append((uid, col))
    return children


@dataclass
class ColumnTrace:
    node: str | None
    column: str
    relation: str | None = None
    status: Status | None = None
    reason: str | None = None
    edges: list[ColumnTrace] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "column": self.column,
            "relation": self.relation,
            "status": self.status,
            "reason": self.reason,
            "edges": [e.as_dict() for e in self.edges],
        }


def _lookup_col(cols: dict[str, ColumnLineage], column: str) -> ColumnLineage | None:
    return cols.get(column) or next(
        (v for k, v in cols.items() if k.lower() == column.lower()), None
    )


def trace_column(
    lineage_map: dict[str, dict[str, ColumnLineage]],
    uid: str,
    column: str,
    *,
    direction: Literal["up", "down"],
    depth: int | None,
) -> ColumnTrace:
    """The tree of columns a column derives from (up) or feeds (down), ``depth`` hops."""
    children = column_children(lineage_map) if direction == "down" else {}

    def build(
        node: str | None, col: str, relation: str | None, level: int, path: set
    ) -> ColumnTrace:
        item = _lookup_col(lineage_map.get(node or "", {}), col)
        trace = ColumnTrace(
            node, col, relation, item.status if item else None, item.reason if item else None
        )
        if (depth is not None and level >= depth) or (node, col.lower()) in path:
            return trace
        here = path | {(node, col.lower())}
        if direction == "up":
            for ref in item.upstream if item else []:
                trace.edges.append(build(ref.node, ref.column, ref.relation, level + 1, here))
        elif node is not None:
            for child, child_col in children.get((node, col.lower()), []):
                trace.edges.append(build(child, child_col, None, level + 1, here))
        return trace

    return build(uid, column, None, 0, set())
