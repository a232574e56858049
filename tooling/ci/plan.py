"""`dataops ci plan`: what changed against production, why, what it impacts, how it breaks.

dbt decides *what* is modified (``state:modified``, through the runner); this
module explains *why* by comparing the two manifests itself (SQL checksums,
configs, contracts, the macros a node calls, seed checksums, source
definitions), walks the branch manifest's ``child_map`` for the downstream
impact (what ``state:modified+`` selects), and classifies each modified model's
schema change. Works on dicts; never prints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tooling.manifest import ManifestGraph, resource_type, walk

BUILDABLE = {"model", "seed", "snapshot"}
TESTS = {"test", "unit_test"}
# How plans and reports name each resource type (dbt's unique-id prefixes), in order.
TYPE_LABELS = {
    "model": ("model", "models"),
    "seed": ("seed", "seeds"),
    "snapshot": ("snapshot", "snapshots"),
    "test": ("data test", "data tests"),
    "unit_test": ("unit test", "unit tests"),
    "semantic_model": ("semantic model", "semantic models"),
    "metric": ("metric", "metrics"),
    "saved_query": ("saved query", "saved queries"),
    "exposure": ("exposure", "exposures"),
    "source": ("source", "sources"),
    "analysis": ("analysis", "analyses"),
}
# Config keys that differ between environments without a change to the project.
VOLATILE_CONFIG = {"database", "schema"}


@dataclass
class ModifiedNode:
    unique_id: str
    resource_type: str
    name: str
    path: str | None
    reasons: list[str]
    # models: non-breaking | breaking (columns) | breaking: rows | unknown
    change_class: str | None = None
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    columns_retyped: list[str] = field(default_factory=list)
    row_changes: list[str] = field(default_factory=list)  # SQL scope: filters, joins, grouping
    value_changes: list[str] = field(default_factory=list)  # existing columns, new expressions
    sql_note: str | None = None  # why the compiled SQL could not be compared


@dataclass
class Plan:
    state_dir: str | None
    full: bool
    modified: list[ModifiedNode] = field(default_factory=list)
    impacted: list[str] = field(default_factory=list)  # state:modified+ (incl. tests)
    deleted: list[str] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)  # impacted subgraph

    @property
    def modified_ids(self) -> list[str]:
        return [m.unique_id for m in self.modified]

    @property
    def impacted_buildable(self) -> list[str]:
        return [u for u in self.impacted if u.split(".", 1)[0] in BUILDABLE]

    def impacted_by_type(self) -> dict[str, int]:
        """Impacted nodes counted per resource type (``model``, ``test``, ``metric`` ...)."""
        return count_by_type(self.impacted)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["edges"] = [list(e) for e in self.edges]
        out["impacted_by_type"] = self.impacted_by_type()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return cls(
            state_dir=data.get("state_dir"),
            full=bool(data.get("full")),
            modified=[ModifiedNode(**m) for m in data.get("modified", [])],
            impacted=list(data.get("impacted", [])),
            deleted=list(data.get("deleted", [])),
            edges=[(a, b) for a, b in data.get("edges", [])],
        )


def count_by_type(uids: list[str]) -> dict[str, int]:
    """Node ids counted per resource type, in ``TYPE_LABELS`` order."""
    counts: dict[str, int] = {}
    for uid in uids:
        kind = resource_type(uid)
        counts[kind] = counts.get(kind, 0) + 1
    order = list(TYPE_LABELS)
    return dict(
        sorted(counts.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 99, kv[0]))
    )


def describe_counts(counts: dict[str, int]) -> str:
    """``{"model": 3, "test": 1}`` -> ``3 models, 1 data test``."""
    parts = []
    for kind, n in counts.items():
        one, many = TYPE_LABELS.get(kind, (kind.replace("_", " "), kind.replace("_", " ") + "s"))
        parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts) or "nothing"


def _node(manifest: dict[str, Any], uid: str) -> dict[str, Any] | None:
    return ManifestGraph.of(manifest).node(uid)


def _macro_closure(manifest: dict[str, Any], macros: list[str]) -> set[str]:
    """The macros given and every macro they call, transitively."""
    calls = {
        uid: (macro.get("depends_on") or {}).get("macros") or []
        for uid, macro in (manifest.get("macros") or {}).items()
    }
    return set(walk(calls, macros))


def _differing_keys(new: dict[str, Any], old: dict[str, Any], ignore: set[str]) -> list[str]:
    keys = (set(new) | set(old)) - ignore
    return sorted(k for k in keys if new.get(k) != old.get(k))


def reasons_for(uid: str, new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    """Why ``uid`` differs between the branch manifest ``new`` and production ``old``."""
    n, o = _node(new, uid), _node(old, uid)
    if n is None:
        return ["deleted"]
    if o is None:
        return ["new node"]
    rtype = n.get("resource_type")
    reasons: list[str] = []
    if rtype == "source":
        keys = _differing_keys(
            n,
            o,
            {
                "created_at",
                "database",
                "relation_name",
                "unrendered_database",
                "path",
                "original_file_path",
                "patch_path",
            },
        )
        if keys:
            reasons.append("source definition: " + ", ".join(keys))
        return reasons or ["source definition"]
    if (n.get("checksum") or {}).get("checksum") != (o.get("checksum") or {}).get("checksum"):
        reasons.append("seed contents" if rtype == "seed" else "SQL body")
    keys = _differing_keys(
        n.get("unrendered_config") or {}, o.get("unrendered_config") or {}, {"contract"}
    )
    if not keys:
        keys = _differing_keys(n.get("config") or {}, o.get("config") or {}, VOLATILE_CONFIG)
        keys = [k for k in keys if k != "contract"]
    if keys:
        reasons.append("config: " + ", ".join(keys))
    nc, oc = n.get("contract") or {}, o.get("contract") or {}
    if nc.get("enforced") != oc.get("enforced") or (
        nc.get("enforced") and nc.get("checksum") != oc.get("checksum")
    ):
        reasons.append("contract")
    new_macros = _macro_closure(new, (n.get("depends_on") or {}).get("macros", []))
    for macro in sorted(new_macros):
        nm = new.get("macros", {}).get(macro, {})
        om = old.get("macros", {}).get(macro)
        if om is None or nm.get("macro_sql") != om.get("macro_sql"):
            reasons.append(f"macro {nm.get('name', macro.rsplit('.', 1)[-1])}")
    if not reasons and n.get("description") != o.get("description"):
        reasons.append("description")
    return reasons or ["other (dbt state:modified)"]


def descendants(manifest: dict[str, Any], roots: list[str]) -> list[str]:
    """``roots`` and everything downstream of them in the manifest's child map."""
    return list(ManifestGraph.of(manifest).descendants(roots))


def _norm_type(value: str | None) -> str | None:
    return None if value is None else "".join(str(value).lower().split())


def declared_columns(node: dict[str, Any]) -> dict[str, str | None] | None:
    """A model's columns from its enforced contract (name -> type), else None."""
    if not (node.get("contract") or {}).get("enforced"):
        return None
    cols = node.get("columns") or {}
    if not cols:
        return None
    return {name.lower(): _norm_type(c.get("data_type")) for name, c in cols.items()}


def catalog_columns(catalog: dict[str, Any] | None, uid: str) -> dict[str, str | None] | None:
    if not catalog:
        return None
    entry = catalog.get("nodes", {}).get(uid)
    if not entry:
        return None
    cols = sorted(entry.get("columns", {}).values(), key=lambda c: c.get("index", 0))
    return {c["name"].lower(): _norm_type(c.get("type")) for c in cols}


def classify(
    old: dict[str, str | None] | None, new: dict[str, str | None] | None
) -> tuple[str, list[str], list[str], list[str]]:
    """(class, added, removed, retyped) from two name -> type mappings."""
    if old is None or new is None:
        return "unknown", [], [], []
    added = [c for c in new if c not in old]
    removed = [c for c in old if c not in new]
    retyped = [
        c
        for c in new
        if c in old and old[c] and new[c] and _norm_type(old[c]) != _norm_type(new[c])
    ]
    return ("breaking" if removed or retyped else "non-breaking"), added, removed, retyped


def build_plan(
    *,
    new: dict[str, Any],
    old: dict[str, Any] | None,
    modified_ids: list[str],
    old_catalog: dict[str, Any] | None = None,
    state_dir: str | None = None,
) -> Plan:
    """The plan from dbt's ``state:modified`` ids and both manifests.

    With no production manifest (``--full``) every node counts as new.
    """
    if old is None:
        every = [*new.get("nodes", {})]
        plan = Plan(state_dir=None, full=True, impacted=every)
        plan.edges = _edges(new, set(every))
        return plan
    plan = Plan(state_dir=state_dir, full=False)
    # dbt's indirect selection adds the tests of modified nodes: they are impact, not cause.
    for uid in (u for u in modified_ids if u.split(".", 1)[0] not in TESTS):
        n = _node(new, uid) or {}
        rtype = n.get("resource_type", uid.split(".", 1)[0])
        item = ModifiedNode(
            unique_id=uid,
            resource_type=rtype,
            name=n.get("name", uid.rsplit(".", 1)[-1]),
            path=n.get("original_file_path"),
            reasons=reasons_for(uid, new, old),
        )
        if rtype == "model":
            o = _node(old, uid)
            new_cols = declared_columns(n)
            old_cols = None
            if o is not None:
                old_cols = declared_columns(o) or catalog_columns(old_catalog, uid)
            cls, added, removed, retyped = classify(old_cols, new_cols)
            if o is None:
                cls = "non-breaking"  # a new model breaks nobody downstream
            item.change_class = cls
            item.columns_added, item.columns_removed, item.columns_retyped = added, removed, retyped
        plan.modified.append(item)
    plan.impacted = descendants(new, plan.modified_ids)
    old_buildable = {
        u for u, n in old.get("nodes", {}).items() if n.get("resource_type") in BUILDABLE
    }
    plan.deleted = sorted(old_buildable - set(new.get("nodes", {})))
    plan.edges = _edges(new, set(plan.impacted))
    return plan


def _edges(manifest: dict[str, Any], members: set[str]) -> list[tuple[str, str]]:
    keep = {u for u in members if resource_type(u) in BUILDABLE | {"source"}}
    children = ManifestGraph.of(manifest).children
    return sorted((a, b) for a in keep for b in children.get(a, []) if b in keep)


def combined_class(columns_class: str, row_changes: list[str]) -> str:
    """A removed or retyped column breaks; else a changed filter, join or grouping
    breaks the rows; else the column class (non-breaking / unknown) stands."""
    if columns_class == "breaking":
        return "breaking"
    return "breaking: rows" if row_changes else columns_class


def update_classes(plan: Plan, schema_diffs: dict[str, dict[str, list[str]]]) -> None:
    """Replace manifest-based classes by ones from the built relations' real schemas."""
    for item in plan.modified:
        diff = schema_diffs.get(item.unique_id)
        if item.resource_type != "model" or diff is None:
            continue
        item.columns_added = diff["added"]
        item.columns_removed = diff["removed"]
        item.columns_retyped = diff["retyped"]
        columns = "breaking" if diff["removed"] or diff["retyped"] else "non-breaking"
        item.change_class = combined_class(columns, item.row_changes)


def _dialect(manifest: dict[str, Any]) -> str | None:
    from sqlglot.dialects.dialect import Dialect

    adapter = str((manifest.get("metadata") or {}).get("adapter_type") or "")
    try:
        return adapter if adapter and Dialect.get_or_raise(adapter) else None
    except ValueError:
        return None


def classify_sql(plan: Plan, *, new: dict[str, Any], old: dict[str, Any]) -> None:
    """Refine each modified model's class from its compiled SQL in both manifests
    (the CI build's and production's): see ``tooling.ci.sqlscope``."""
    from tooling.ci.sqlscope import scope_change

    dialect = _dialect(new) or _dialect(old)
    new_graph, old_graph = ManifestGraph.of(new), ManifestGraph.of(old)
    for item in plan.modified:
        if item.resource_type != "model":
            continue
        n, o = new_graph.node(item.unique_id), old_graph.node(item.unique_id)
        new_sql = (n or {}).get("compiled_code")
        old_sql = (o or {}).get("compiled_code")
        if not new_sql or not old_sql:
            continue
        change = scope_change(old_sql, new_sql, dialect=dialect)
        item.row_changes, item.value_changes, item.sql_note = (
            change.rows,
            change.values,
            change.error,
        )
        columns = item.change_class or "unknown"
        if columns == "unknown" and change.old_columns is not None and change.new_columns:
            # No contract or catalog: the outer SELECT's column list says it.
            old_cols = dict.fromkeys(change.old_columns)
            new_cols = dict.fromkeys(change.new_columns)
            columns, item.columns_added, item.columns_removed, _ = classify(old_cols, new_cols)
        item.change_class = combined_class(columns, change.rows)
