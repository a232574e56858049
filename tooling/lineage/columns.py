"""Column-level lineage of a whole project, and the queries over it.

For every column of every model (and snapshot) the upstream columns it derives
from, in the relations the model reads. Models are analysed in dependency order
(``model_columns.py``: sqlglot over the compiled SQL) against the columns of the
relations they read (``relations.py``: the catalog, a seed's header, else the
documented columns), so ``select *``, CTEs, aliased joins, unions, aggregates,
window functions and ``case`` expressions resolve. Whatever cannot be resolved
is reported as ``unknown`` with a reason, never guessed. Counts, children and
column traces read the computed map.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from tooling.lineage.model_columns import ColumnLineage, Status, model_column_lineage, sort_refs
from tooling.lineage.relations import (
    RelationIndex,
    catalog_ids,
    entry_identifier,
    relation_columns,
    sql_dialect,
)

SNAPSHOT_COLUMNS = frozenset(
    {"dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "dbt_is_deleted"}
)


def _snapshot_meta_columns(entry: dict[str, Any]) -> dict[str, str]:
    """The columns dbt's snapshot materialisation adds: {role: configured name}."""
    config = entry.get("config") or {}
    names = config.get("snapshot_meta_column_names") or {}
    wanted = ["dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"]
    if config.get("hard_deletes") == "new_record":
        wanted.append("dbt_is_deleted")
    return {role: str(names.get(role) or role) for role in wanted}


SNAPSHOT_REASON = "added by dbt's snapshot materialisation"


def _snapshot_lineage(
    entry: dict[str, Any], cols: dict[str, ColumnLineage]
) -> dict[str, ColumnLineage]:
    """The lineage of the columns dbt's snapshot materialisation adds, from the
    snapshot's config and the lineage of its own columns, as dbt computes them
    (``build_snapshot_table`` and the strategies): ``dbt_scd_id`` is a hash of the
    unique key and the updated-at value; ``dbt_updated_at``, ``dbt_valid_from`` and
    ``dbt_valid_to`` are the updated-at value (the ``updated_at`` column; the
    snapshot's run time for the check strategy without one); ``dbt_is_deleted`` a
    literal. Unknown when the config does not say, or names a column the
    snapshot's SQL does not produce."""
    config = entry.get("config") or {}
    strategy = config.get("strategy")
    key = config.get("unique_key")
    keys = [str(k) for k in key] if isinstance(key, list) else [str(key)] if key else []
    updated = config.get("updated_at")
    by_lower = {name.lower(): item for name, item in cols.items()}
    out: dict[str, ColumnLineage] = {}

    def source(column: str) -> ColumnLineage | None:
        item = by_lower.get(column.lower())
        return item if item is not None and item.status != "not_produced" else None

    def unknown(name: str, why: str) -> ColumnLineage:
        return ColumnLineage(name, "unknown", reason=f"{SNAPSHOT_REASON}: {why}")

    def derived(name: str, items: list[ColumnLineage], *, hashed: bool) -> ColumnLineage:
        bad = [i for i in items if i.status == "unknown"]
        if bad:
            return unknown(name, f"from {bad[0].column}, which is unknown ({bad[0].reason})")
        refs = sort_refs({r for i in items for r in i.upstream})
        if not refs:
            reason = "derives from no column (constant or count)"
            return ColumnLineage(name, "constant", reason=reason, kind="constant")
        unmasked = [] if hashed else sort_refs({r for i in items for r in i.unmasked})
        kind = "expression" if hashed or len(items) > 1 else (items[0].kind or "passthrough")
        if kind == "passthrough":
            kind = "rename"  # the value under dbt's name
        return ColumnLineage(name, "resolved", refs, unmasked, kind=kind)  # type: ignore[arg-type]

    run_time = ColumnLineage(
        "", "constant", reason="the snapshot's run time (check strategy)", kind="constant"
    )
    if strategy == "timestamp" or (strategy == "check" and updated):
        time_item = source(str(updated)) if updated else None
        missing_time = None if time_item else f"updated_at {updated!r} is not a column of its SQL"
    elif strategy == "check":
        time_item, missing_time = run_time, None
    else:
        time_item, missing_time = None, f"no strategy in the manifest ({strategy!r})"
    key_items = [source(k) for k in keys]
    missing_key = (
        "no unique_key in the manifest"
        if not keys
        else None
        if all(key_items)
        else f"unique_key {key!r} is not a column of its SQL"
    )
    for role, name in _snapshot_meta_columns(entry).items():
        if role == "dbt_is_deleted":
            out[name] = ColumnLineage(
                name, "constant", reason="'True' or 'False', set by dbt", kind="constant"
            )
        elif role == "dbt_scd_id":
            why = missing_key or missing_time
            out[name] = (
                unknown(name, why) if why else derived(name, [*key_items, time_item], hashed=True)  # type: ignore[list-item]
            )
        elif missing_time or time_item is None:
            out[name] = unknown(name, str(missing_time))
        elif time_item is run_time:
            out[name] = ColumnLineage(name, "constant", reason=run_time.reason, kind="constant")
        else:
            out[name] = derived(name, [time_item], hashed=False)
    return out


def _read_relations(nodes: dict[str, Any], uid: str) -> list[str]:
    """The nodes whose relations a node's compiled SQL reads: its parents and, for an
    ephemeral parent (dbt inlines its compiled SQL as a ``__dbt__cte__`` CTE), that
    parent's own, transitively."""
    out: list[str] = []
    seen: set[str] = set()
    stack = list(reversed((nodes[uid].get("depends_on") or {}).get("nodes") or []))
    while stack:
        parent = stack.pop()
        if parent in seen:
            continue
        seen.add(parent)
        out.append(parent)
        entry = nodes.get(parent) or {}
        if (entry.get("config") or {}).get("materialized") == "ephemeral":
            stack.extend(reversed((entry.get("depends_on") or {}).get("nodes") or []))
    return out


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
    in_catalog = catalog_ids(catalog)
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
            for parent in _read_relations(nodes, uid):
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
            meta = _snapshot_lineage(entry, cols)
            meta_names = {c.lower() for c in meta} | SNAPSHOT_COLUMNS
            for name, item in list(cols.items()):
                if item.status in ("unknown", "not_produced") and name.lower() in meta_names:
                    cols[name] = next(
                        (
                            ColumnLineage(name, m.status, m.upstream, m.unmasked, m.reason, m.kind)
                            for m_name, m in meta.items()
                            if m_name.lower() == name.lower()
                        ),
                        ColumnLineage(name, "unknown", reason=SNAPSHOT_REASON),
                    )
            if uid not in in_catalog:
                have = {c.lower() for c in cols}
                for name, item in meta.items():
                    if name.lower() not in have:
                        cols[name] = item
        if uid not in in_catalog:
            types = known.get(uid, ((), {}))[1]
            where = (
                str(entry.get("database") or ""),
                str(entry.get("schema") or ""),
                entry_identifier(entry),
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
