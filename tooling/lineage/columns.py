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

import csv
import logging
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlglot import exp
from sqlglot import parse_one as sqlglot_parse_one
from sqlglot.lineage import Node, lineage

logging.getLogger("sqlglot").setLevel(logging.ERROR)

# "not_produced": documented in YAML but not in what the model produces (the
# catalog, else the compiled SQL's output columns).
Status = Literal["resolved", "unknown", "constant", "not_produced"]
Kind = Literal["passthrough", "rename", "cast", "aggregate", "expression", "constant"]
NOT_PRODUCED = "documented but not produced by the model's SQL"
# Function name of the stand-in for a projection sqlglot cannot analyse.
UNRESOLVED = "dataops_unresolved_"
_QUOTED = re.compile(r"'([^']+)'")

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


def _catalog_ids(catalog: dict[str, Any] | None) -> set[str]:
    """The nodes and sources the catalog lists with their columns."""
    return {
        uid
        for section in ("nodes", "sources")
        for uid, entry in ((catalog or {}).get(section) or {}).items()
        if entry.get("columns")
    }


def _seed_header(entry: dict[str, Any]) -> list[str]:
    """The column names in a seed's CSV header ([] when the file cannot be read)."""
    root, path = entry.get("root_path"), entry.get("original_file_path")
    if not root or not path:
        return []
    try:
        with (Path(str(root)) / str(path)).open(encoding="utf-8-sig", newline="") as handle:
            return [name.strip() for name in next(csv.reader(handle), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def relation_columns(
    manifest: dict[str, Any], catalog: dict[str, Any] | None
) -> dict[str, tuple[tuple[str, str, str], dict[str, str]]]:
    """Per node: ((database, schema, identifier), {column: type}).

    Columns and their order come from the catalog (what the warehouse holds);
    without a catalog entry, from a seed's CSV header, else the columns
    documented in the manifest.
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
                if entry.get("resource_type") == "seed":
                    header = _seed_header(entry)
                    if header:
                        by_lower = {k.lower(): v for k, v in cols.items()}
                        cols = {h: by_lower.get(h.lower(), "unknown") for h in header}
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
    if isinstance(inner, (exp.Column, exp.Star, exp.Table)):
        return None
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
        return ColumnLineage(column, "unknown", sorted(refs), sorted(unmasked), "; ".join(reasons))
    if not refs:
        return ColumnLineage(
            column,
            "constant",
            reason="derives from no column (constant or count)",
            kind="constant",
        )
    if kind == "passthrough" and any(r.column.lower() != column.lower() for r in refs):
        kind = "rename"
    return ColumnLineage(column, "resolved", sorted(refs), sorted(unmasked), kind=kind)  # type: ignore[arg-type]


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
    sql: str, schema: dict[str, Any], dialect: str | None
) -> tuple[dict[str, Node | str], dict[str, str]] | str:
    """sqlglot's lineage roots per output column and the stand-ins' reasons, or why
    the SQL cannot be analysed at all."""
    try:
        tree = sqlglot_parse_one(sql, dialect=dialect)
    except Exception as exc:  # sqlglot raises more than SqlglotError on odd SQL
        return f"sqlglot could not parse the SQL: {_first_line(exc)}"
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
    analysed = _analyse(sql, schema, dialect)
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


def _snapshot_meta_columns(entry: dict[str, Any]) -> list[str]:
    """The columns dbt's snapshot materialisation adds, under their configured names."""
    config = entry.get("config") or {}
    names = config.get("snapshot_meta_column_names") or {}
    wanted = ["dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"]
    if config.get("hard_deletes") == "new_record":
        wanted.append("dbt_is_deleted")
    return [str(names.get(name) or name) for name in wanted]


def _analysis_order(
    nodes: dict[str, Any], wanted: set[str] | None, in_catalog: set[str]
) -> list[str]:
    """Models and snapshots to analyse, parents first: the wanted ones plus, without
    a catalog entry, the ancestors whose produced columns they read."""
    analysable = {
        uid for uid, e in nodes.items() if e.get("resource_type") in ("model", "snapshot")
    }
    todo = set(analysable) if wanted is None else wanted & analysable
    stack = list(todo)
    while stack:
        uid = stack.pop()
        for parent in (nodes[uid].get("depends_on") or {}).get("nodes") or []:
            if parent in analysable and parent not in in_catalog and parent not in todo:
                todo.add(parent)
                stack.append(parent)
    parents = {
        uid: [p for p in (nodes[uid].get("depends_on") or {}).get("nodes") or [] if p in todo]
        for uid in todo
    }
    children: dict[str, list[str]] = {}
    for uid, ps in parents.items():
        for p in ps:
            children.setdefault(p, []).append(uid)
    indegree = {uid: len(ps) for uid, ps in parents.items()}
    queue = deque(uid for uid in nodes if uid in todo and indegree[uid] == 0)
    order: list[str] = []
    while queue:
        uid = queue.popleft()
        order.append(uid)
        for child in children.get(uid, []):
            indegree[child] -= 1
            if indegree[child] == 0:
                queue.append(child)
    done = set(order)
    return order + [uid for uid in nodes if uid in todo and uid not in done]  # cycles


def compute_column_lineage(
    manifest: dict[str, Any],
    catalog: dict[str, Any] | None,
    *,
    only: Iterable[str] | None = None,
) -> dict[str, dict[str, ColumnLineage]]:
    """Column lineage of every model and snapshot (or of those in ``only``):
    {unique_id: {column: lineage}}.

    A model's columns are the catalog's; without a catalog entry, the columns its
    compiled SQL produces, qualified with its parents' columns: their catalog
    entries, else (models, snapshots) what their own SQL produces, worked out
    parents first, else (sources, seeds) the documented columns or the seed file's
    header. Documented columns a model does not produce are ``not_produced``.
    """
    wanted = set(only) if only is not None else None
    dialect = sql_dialect(manifest)
    relations = RelationIndex(manifest)
    known = relation_columns(manifest, catalog)
    in_catalog = _catalog_ids(catalog)
    nodes: dict[str, Any] = manifest.get("nodes") or {}
    produced: dict[str, tuple[tuple[str, str, str], dict[str, str]]] = {}
    out: dict[str, dict[str, ColumnLineage]] = {}
    for uid in _analysis_order(nodes, wanted, in_catalog):
        entry = nodes[uid]
        expected = list(known[uid][1]) if uid in in_catalog else []
        documented = [str(c.get("name") or n) for n, c in (entry.get("columns") or {}).items()]
        sql = entry.get("compiled_code")
        if not sql or entry.get("language", "sql") != "sql":
            reason = (
                "not a SQL model"
                if entry.get("language", "sql") != "sql"
                else "no compiled SQL in the manifest (run dbt compile or build)"
            )
            cols = {c: ColumnLineage(c, "unknown", reason=reason) for c in expected or documented}
        else:
            schema: dict[str, Any] = {}
            for parent in (entry.get("depends_on") or {}).get("nodes") or []:
                found = produced.get(parent) or known.get(parent)
                if found is None:
                    continue
                (db, sch, table), parent_cols = found
                if parent_cols:
                    schema.setdefault(db, {}).setdefault(sch, {})[table] = parent_cols
            cols = model_column_lineage(
                sql,
                schema=schema,
                relations=relations,
                dialect=dialect,
                columns=expected,
                documented=documented,
            )
        if entry.get("resource_type") == "snapshot":
            reason = "added by dbt's snapshot materialisation"
            meta_names = {c.lower() for c in _snapshot_meta_columns(entry)} | SNAPSHOT_COLUMNS
            for name, item in cols.items():
                if item.status in ("unknown", "not_produced") and name.lower() in meta_names:
                    cols[name] = ColumnLineage(name, "unknown", reason=reason)
            if uid not in in_catalog:
                have = {c.lower() for c in cols}
                for name in _snapshot_meta_columns(entry):
                    if name.lower() not in have:
                        cols[name] = ColumnLineage(name, "unknown", reason=reason)
        if uid not in in_catalog:
            types = known.get(uid, ((), {}))[1]
            where = (
                str(entry.get("database") or ""),
                str(entry.get("schema") or ""),
                _entry_identifier(entry),
            )
            produced[uid] = (
                where,
                {
                    name: types.get(name, "unknown")
                    for name, item in cols.items()
                    if item.status != "not_produced"
                },
            )
        if wanted is None or uid in wanted:
            out[uid] = cols
    return {uid: out[uid] for uid in nodes if uid in out}


def lineage_counts(
    lineage_map: dict[str, dict[str, ColumnLineage]],
) -> dict[str, int]:
    """Column counts by status, over exactly what ``lineage.json`` holds."""
    counts = {"columns": 0, "resolved": 0, "constant": 0, "unknown": 0, "not_produced": 0}
    for cols in lineage_map.values():
        for item in cols.values():
            counts[item.status] += 1
            counts["columns"] += item.status != "not_produced"
    return counts


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
