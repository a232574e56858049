"""The model-level lineage graph: models, sources, seeds, snapshots, exposures and
the semantic layer (semantic models, metrics, saved queries).

Built from ``manifest.json`` (``depends_on.nodes``); tests, macros and other
resource types are left out. Works for any dbt project: nothing here knows a
model name.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tooling.errors import DataOpsError, UsageError
from tooling.manifest import walk as manifest_walk

GRAPH_TYPES = (
    "model",
    "source",
    "seed",
    "snapshot",
    "exposure",
    "semantic_model",
    "metric",
    "saved_query",
)
# Manifest sections holding graph nodes.
GRAPH_SECTIONS = ("nodes", "sources", "exposures", "semantic_models", "metrics", "saved_queries")


@dataclass
class GraphNode:
    unique_id: str
    name: str
    resource_type: str
    label: str
    relation_name: str | None = None


@dataclass
class LineageGraph:
    nodes: dict[str, GraphNode] = field(default_factory=dict)
    parents: dict[str, list[str]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)

    def depth_order(self) -> list[str]:
        """Node ids in topological order (parents first); cycles, if any, appended last."""
        indegree = {uid: len(self.parents.get(uid, [])) for uid in self.nodes}
        queue = deque(sorted(uid for uid, deg in indegree.items() if deg == 0))
        order: list[str] = []
        while queue:
            uid = queue.popleft()
            order.append(uid)
            for child in self.children.get(uid, []):
                indegree[child] -= 1
                if indegree[child] == 0:
                    queue.append(child)
        seen = set(order)
        order += sorted(uid for uid in self.nodes if uid not in seen)
        return order


# The newest manifest schema this code reads: dbt 1.11 writes v12.
MANIFEST_SCHEMA = 12
_SCHEMA_VERSION = re.compile(r"/manifest/v(\d+)\.json$")


def check_manifest_schema(manifest: dict[str, Any]) -> None:
    """Refuse, in one line, a manifest from a newer dbt schema than we read."""
    metadata = manifest.get("metadata") or {}
    found = _SCHEMA_VERSION.search(str(metadata.get("dbt_schema_version") or ""))
    if found and int(found.group(1)) > MANIFEST_SCHEMA:
        raise DataOpsError(
            f"manifest.json is dbt schema v{found.group(1)} (dbt {metadata.get('dbt_version')}), "
            f"newer than the v{MANIFEST_SCHEMA} this toolkit reads (dbt 1.11); "
            "parse the project with dbt 1.11 (`dataops build`)"
        )


def node_label(entry: dict[str, Any]) -> str:
    """Short display name: ``source_name.table`` for sources, the name otherwise."""
    if entry.get("resource_type") == "source":
        return f"{entry.get('source_name')}.{entry.get('name')}"
    return str(entry.get("name"))


def graph_entries(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every manifest entry that belongs on the lineage graph, by unique_id."""
    entries: dict[str, dict[str, Any]] = {}
    for section in GRAPH_SECTIONS:
        for uid, entry in (manifest.get(section) or {}).items():
            if entry.get("resource_type") in GRAPH_TYPES:
                entries[uid] = entry
    return entries


def build_graph(manifest: dict[str, Any]) -> LineageGraph:
    entries = graph_entries(manifest)
    graph = LineageGraph()
    for uid, entry in entries.items():
        graph.nodes[uid] = GraphNode(
            unique_id=uid,
            name=str(entry.get("name")),
            resource_type=str(entry.get("resource_type")),
            label=node_label(entry),
            relation_name=entry.get("relation_name"),
        )
        graph.parents[uid] = []
        graph.children.setdefault(uid, [])
    for uid, entry in entries.items():
        depends = (entry.get("depends_on") or {}).get("nodes") or []
        for parent in dict.fromkeys(depends):
            if parent in entries:
                graph.parents[uid].append(parent)
                graph.children.setdefault(parent, []).append(uid)
    return graph


def walk(graph: LineageGraph, start: str, *, direction: str, depth: int | None) -> dict[str, int]:
    """Nodes reachable from ``start`` going ``up`` or ``down``, with their distance."""
    edges = graph.parents if direction == "up" else graph.children
    return manifest_walk(edges, [start], depth=depth)


def neighbourhood(
    graph: LineageGraph, uid: str, upstream: int | None, downstream: int | None
) -> set[str]:
    """The node plus ``upstream`` levels of parents and ``downstream`` levels of children."""
    up = walk(graph, uid, direction="up", depth=upstream)
    down = walk(graph, uid, direction="down", depth=downstream)
    return set(up) | set(down)


def resolve_node(manifest: dict[str, Any], text: str) -> str:
    """A unique_id from what a user typed: the unique_id, a name, or ``source.table``."""
    entries = graph_entries(manifest)
    if text in entries:
        return text
    matches = sorted(
        uid for uid, entry in entries.items() if text in (entry.get("name"), node_label(entry))
    )
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(
            f"no model, source, seed, snapshot, exposure, semantic model, metric "
            f"or saved query named {text!r}"
        )
    raise UsageError(f"{text!r} is ambiguous: {', '.join(matches)}; pass the unique_id")


_MERMAID_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def mermaid_id(uid: str) -> str:
    return "n_" + _MERMAID_UNSAFE.sub("_", uid)


def mermaid_text(text: str) -> str:
    """A label safe inside ``["..."]``: quotes and angle brackets as entity codes."""
    return (
        text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )


def to_mermaid(
    graph: LineageGraph,
    node_ids: Iterable[str],
    *,
    highlight: Iterable[str] = (),
    context: Iterable[str] = (),
) -> str:
    """A Mermaid ``flowchart LR`` of the given nodes and the edges between them.

    ``highlight`` nodes get the ``changed`` class, ``context`` nodes the dimmed
    ``context`` class (shown for orientation, not part of the selection).
    """
    chosen = [uid for uid in graph.depth_order() if uid in set(node_ids)]
    keep = set(chosen)
    lines = ["flowchart LR"]
    for uid in chosen:
        node = graph.nodes[uid]
        lines.append(f'    {mermaid_id(uid)}["{mermaid_text(node.label)} ({node.resource_type})"]')
    for uid in chosen:
        for child in graph.children.get(uid, []):
            if child in keep:
                lines.append(f"    {mermaid_id(uid)} --> {mermaid_id(child)}")
    marked = [uid for uid in chosen if uid in set(highlight)]
    dimmed = [uid for uid in chosen if uid in set(context)]
    if marked:
        lines.append("    classDef changed fill:#ffe8a3,stroke:#b07d00,stroke-width:2px")
        lines.append(f"    class {','.join(mermaid_id(u) for u in marked)} changed")
    if dimmed:
        lines.append("    classDef context fill:#f4f4f4,stroke:#bbb,color:#777")
        lines.append(f"    class {','.join(mermaid_id(u) for u in dimmed)} context")
    return "\n".join(lines) + "\n"


def impacted_subgraph_mermaid(
    manifest: dict[str, Any],
    node_ids: Iterable[str],
    *,
    parents: bool = True,
    max_nodes: int = 150,
) -> str:
    """Mermaid for a pull request: the changed nodes, everything downstream of them
    (the impact), and, with ``parents``, their direct parents as dimmed context.

    Unknown ids (tests, deleted nodes) are ignored; an empty selection gives a
    one-node chart saying so. Past ``max_nodes`` (GitHub renders large charts
    poorly) the nodes nearest the changes are kept and one note node counts the rest.
    """
    graph = build_graph(manifest)
    changed = [uid for uid in dict.fromkeys(node_ids) if uid in graph.nodes]
    if not changed:
        return 'flowchart LR\n    none["no models, sources, seeds or snapshots changed"]\n'
    distance: dict[str, int] = {}
    for uid in changed:
        for node, hops in walk(graph, uid, direction="down", depth=None).items():
            distance[node] = min(hops, distance.get(node, hops))
    context: set[str] = set()
    if parents:
        for uid in changed:
            context |= {p for p in graph.parents.get(uid, []) if p not in distance}
    ranked = sorted(distance, key=lambda u: (distance[u], u))
    budget = max(max_nodes - len(context), len(changed))
    kept, dropped = set(ranked[:budget]), len(ranked) - min(budget, len(ranked))
    chart = to_mermaid(graph, kept | context, highlight=changed, context=context)
    if dropped:
        chart += f'    more["... and {dropped} more downstream nodes"]\n'
    return chart
