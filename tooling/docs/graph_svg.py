"""Model-level graphs as inline SVG: a small layered layout, no JavaScript needed.

Layers are the longest path from the roots of the drawn subgraph; nodes in a
layer are ordered by the mean position of their parents (one barycentre pass),
which keeps most edges short. Every string is escaped here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from markupsafe import Markup, escape

from tooling.lineage.graph import LineageGraph

NODE_W = 210
NODE_H = 26
GAP_X = 70
GAP_Y = 12
PAD = 10
MAX_LABEL = 30


def _layers(graph: LineageGraph, nodes: set[str]) -> dict[str, int]:
    layer: dict[str, int] = {}
    for uid in graph.depth_order():
        if uid not in nodes:
            continue
        parents = [p for p in graph.parents.get(uid, []) if p in nodes and p in layer]
        layer[uid] = 1 + max((layer[p] for p in parents), default=-1)
    return layer


def render_svg(
    graph: LineageGraph,
    node_ids: Iterable[str],
    *,
    href: Callable[[str], str],
    focus: str | None = None,
    title: str = "lineage graph",
) -> Markup:
    nodes = set(node_ids) & set(graph.nodes)
    if not nodes:
        return Markup("")
    layer = _layers(graph, nodes)
    columns: dict[int, list[str]] = {}
    position: dict[str, float] = {}
    for uid in sorted(nodes, key=lambda u: (layer[u], graph.nodes[u].label)):
        columns.setdefault(layer[uid], []).append(uid)
    for depth in sorted(columns):
        members = columns[depth]
        if depth > 0:

            def key(uid: str) -> tuple[float, str]:
                ps = [position[p] for p in graph.parents.get(uid, []) if p in position]
                return (sum(ps) / len(ps) if ps else 1e9, graph.nodes[uid].label)

            members.sort(key=key)
        for i, uid in enumerate(members):
            position[uid] = i
    xy = {
        uid: (PAD + layer[uid] * (NODE_W + GAP_X), PAD + int(position[uid]) * (NODE_H + GAP_Y))
        for uid in nodes
    }
    width = PAD * 2 + (max(columns) + 1) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + max(len(m) for m in columns.values()) * (NODE_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    for uid in sorted(nodes):
        x1, y1 = xy[uid]
        for child in graph.children.get(uid, []):
            if child not in nodes:
                continue
            x2, y2 = xy[child]
            sx, sy, ex, ey = x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2
            mid = (sx + ex) / 2
            parts.append(f'<path class="edge" d="M{sx},{sy} C{mid},{sy} {mid},{ey} {ex},{ey}"/>')
    for uid in sorted(nodes):
        node = graph.nodes[uid]
        x, y = xy[uid]
        label = node.label if len(node.label) <= MAX_LABEL else node.label[: MAX_LABEL - 1] + "…"
        cls = f"node {node.resource_type}" + (" focus" if uid == focus else "")
        parts.append(
            f'<a href="{escape(href(uid))}" class="{escape(cls)}" data-id="{escape(uid)}">'
            f"<title>{escape(node.label)} ({escape(node.resource_type)})</title>"
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="5"/>'
            f'<text x="{x + 8}" y="{y + NODE_H / 2 + 4}">{escape(label)}</text></a>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
