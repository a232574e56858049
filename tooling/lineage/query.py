"""What `dataops lineage` shows, as data: node and column lineage around one node."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tooling.errors import UsageError
from tooling.lineage.columns import (
    ColumnTrace,
    compute_column_lineage,
    relation_columns,
    trace_column,
)
from tooling.lineage.graph import (
    LineageGraph,
    build_graph,
    mermaid_id,
    mermaid_text,
    neighbourhood,
    to_mermaid,
    walk,
)


@dataclass
class NodeTree:
    unique_id: str
    label: str
    resource_type: str
    edges: list[NodeTree] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "unique_id": self.unique_id,
            "label": self.label,
            "resource_type": self.resource_type,
            "edges": [e.as_dict() for e in self.edges],
        }


@dataclass
class NodeLineage:
    graph: LineageGraph
    unique_id: str
    upstream: NodeTree
    downstream: NodeTree
    nodes: set[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.unique_id,
            "upstream": self.upstream.as_dict()["edges"],
            "downstream": self.downstream.as_dict()["edges"],
            "nodes": sorted(self.nodes),
            "edges": sorted(
                [parent, child]
                for parent in self.nodes
                for child in self.graph.children.get(parent, [])
                if child in self.nodes
            ),
        }

    def mermaid(self) -> str:
        return to_mermaid(self.graph, self.nodes, highlight=[self.unique_id])


def _tree(graph: LineageGraph, uid: str, direction: str, depth: int | None) -> NodeTree:
    edges = graph.parents if direction == "up" else graph.children

    def build(current: str, level: int, path: frozenset[str]) -> NodeTree:
        node = graph.nodes[current]
        tree = NodeTree(current, node.label, node.resource_type)
        if (depth is not None and level >= depth) or current in path:
            return tree
        for nxt in edges.get(current, []):
            tree.edges.append(build(nxt, level + 1, path | {current}))
        return tree

    return build(uid, 0, frozenset())


def node_lineage(
    manifest: dict[str, Any], uid: str, upstream: int | None, downstream: int | None
) -> NodeLineage:
    graph = build_graph(manifest)
    return NodeLineage(
        graph=graph,
        unique_id=uid,
        upstream=_tree(graph, uid, "up", upstream),
        downstream=_tree(graph, uid, "down", downstream),
        nodes=neighbourhood(graph, uid, upstream, downstream),
    )


@dataclass
class ColumnReport:
    unique_id: str
    column: str
    upstream: ColumnTrace
    downstream: ColumnTrace

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.unique_id,
            "column": self.column,
            "status": self.upstream.status,
            "reason": self.upstream.reason,
            "upstream": [e.as_dict() for e in self.upstream.edges],
            "downstream": [e.as_dict() for e in self.downstream.edges],
        }

    def mermaid(self, graph: LineageGraph) -> str:
        def label(trace: ColumnTrace) -> str:
            owner = graph.nodes[trace.node].label if trace.node in graph.nodes else trace.relation
            return f"{owner}.{trace.column}"

        def key(trace: ColumnTrace) -> str:
            return mermaid_id(f"{trace.node or trace.relation}.{trace.column}")

        lines = ["flowchart LR"]
        seen: set[str] = set()
        edges: set[str] = set()

        def visit(trace: ColumnTrace, up: bool) -> None:
            if key(trace) not in seen:
                seen.add(key(trace))
                lines.append(f'    {key(trace)}["{mermaid_text(label(trace))}"]')
            for edge in trace.edges:
                visit(edge, up)
                arrow = (
                    f"    {key(edge)} --> {key(trace)}"
                    if up
                    else f"    {key(trace)} --> {key(edge)}"
                )
                edges.add(arrow)

        visit(self.upstream, True)
        visit(self.downstream, False)
        return "\n".join([*lines, *sorted(edges)]) + "\n"


def column_report(
    manifest: dict[str, Any],
    catalog: dict[str, Any] | None,
    uid: str,
    column: str,
    upstream: int | None,
    downstream: int | None,
) -> ColumnReport:
    """Column lineage around ``uid.column``; only the models in reach are analysed."""
    graph = build_graph(manifest)
    reach = set(walk(graph, uid, direction="up", depth=upstream)) | set(
        walk(graph, uid, direction="down", depth=downstream)
    )
    lineage_map = compute_column_lineage(manifest, catalog, only=reach)
    known_columns = list(relation_columns(manifest, catalog).get(uid, ((), {}))[1])
    mine = lineage_map.get(uid, {})
    own = [c for c, item in mine.items() if item.status != "not_produced"] or known_columns
    match = next((c for c in own if c.lower() == column.lower()), None)
    label = graph.nodes[uid].label
    if match is None:
        if any(c.lower() == column.lower() for c in mine):
            raise UsageError(f"{label}.{column} is documented but not produced by the model's SQL")
        listed = ", ".join(own[:30]) or "none known (no catalog and no compiled SQL)"
        raise UsageError(f"{label} has no column {column!r}; columns: {listed}")
    return ColumnReport(
        unique_id=uid,
        column=match,
        upstream=trace_column(lineage_map, uid, match, direction="up", depth=upstream),
        downstream=trace_column(lineage_map, uid, match, direction="down", depth=downstream),
    )
