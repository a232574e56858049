"""Data for the column graph on a model's page (assets/columns.js draws it).

The columns within ``levels`` hops of the model's own columns, upstream through
each column's upstream references and downstream through the reverse edges,
with the kind of transformation that made each column.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tooling.lineage.graph import LineageGraph
from tooling.lineage.model_columns import ColumnLineage

Key = tuple[str, str]  # (node or relation, lower-cased column)


def column_graph(
    uid: str,
    own: list[str],
    lineage_map: dict[str, dict[str, ColumnLineage]],
    children: dict[Key, list[tuple[str, str]]],
    graph: LineageGraph,
    levels: int,
    href: Callable[[str], str],
) -> dict[str, Any]:
    names: dict[Key, tuple[str | None, str, str]] = {}  # key -> (node, relation, column)
    level: dict[Key, int] = {}
    edges: set[tuple[Key, Key]] = set()

    def item(node: str | None, column: str) -> ColumnLineage | None:
        cols = lineage_map.get(node or "") or {}
        return cols.get(column) or next(
            (v for k, v in cols.items() if k.lower() == column.lower()), None
        )

    start = [(uid, c) for c in own]
    for node, col in start:
        key = (node, col.lower())
        names[key], level[key] = (node, node, col), 0
    for direction in (-1, 1):
        frontier = [(node, col.lower()) for node, col in start]
        for hop in range(1, levels + 1):
            nxt: list[Key] = []
            for key in frontier:
                node, _, col = names[key]
                if direction < 0:
                    found = item(node, col)
                    refs = [
                        (r.node, r.relation, r.column) for r in (found.upstream if found else [])
                    ]
                else:
                    refs = [(c, c, cc) for c, cc in children.get((node or "", col.lower()), [])]
                for ref_node, relation, ref_col in refs:
                    other = (ref_node or relation, ref_col.lower())
                    edges.add((other, key) if direction < 0 else (key, other))
                    if other not in names:
                        names[other], level[other] = (ref_node, relation, ref_col), hop * direction
                        nxt.append(other)
            frontier = nxt
    order = sorted(names, key=lambda k: (level[k], names[k][1], k[1]))
    index = {key: i for i, key in enumerate(order)}
    nodes = []
    for key in order:
        node, relation, col = names[key]
        owner = graph.nodes[node].label if node in graph.nodes else relation
        found = item(node, col)
        nodes.append(
            {
                "id": f"{node or relation}.{col}",
                "model": owner,
                "column": col,
                "level": level[key],
                "kind": found.kind if found else None,
                "status": found.status if found else ("source" if node else "external"),
                "href": f"{href(node)}#col-{col}" if node else None,
            }
        )
    return {
        "nodes": nodes,
        "edges": sorted([index[a], index[b]] for a, b in edges if a in index and b in index),
    }
