"""Data for the interactive model graph page (graph.html + assets/graph.js).

The page gets every graph node with what dbt's selector methods match on
(fqn, tags, file paths, package, source name) and the edges as index pairs, in
one JSON data block. The block is safe inside ``<script>``: every ``<`` is written
as ``\\u003c``, so no manifest string can close the element.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from tooling.lineage.graph import LineageGraph


def _tags(entry: dict[str, Any]) -> list[str]:
    config = entry.get("config") or {}
    return sorted({str(t) for t in (*(entry.get("tags") or []), *(config.get("tags") or []))})


def _patch_path(entry: dict[str, Any]) -> str | None:
    patch = entry.get("patch_path")
    return str(patch).split("://", 1)[-1] if patch else None


def graph_data(
    graph: LineageGraph, entries: dict[str, dict[str, Any]], href: Callable[[str], str]
) -> dict[str, Any]:
    order = graph.depth_order()
    index = {uid: i for i, uid in enumerate(order)}
    nodes = []
    for uid in order:
        node, entry = graph.nodes[uid], entries.get(uid) or {}
        nodes.append(
            {
                "id": uid,
                "label": node.label,
                "name": node.name,
                "type": node.resource_type,
                "fqn": [str(part) for part in entry.get("fqn") or [node.name]],
                "tags": _tags(entry),
                "path": entry.get("original_file_path"),
                "patch": _patch_path(entry),
                "pkg": entry.get("package_name") or "",
                "src": entry.get("source_name") or "",
                "href": href(uid),
            }
        )
    edges: list[int] = []
    for uid in order:
        for child in graph.children.get(uid, []):
            edges += [index[uid], index[child]]
    return {"nodes": nodes, "edges": edges}


def script_json(data: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace("\u2028", "\\u2028"))
