"""Data for the interactive model graph page (graph.html + assets/graph.js).

The page gets every graph node with what dbt's selector methods match on
(fqn, tags, file paths, package, source name) and the edges as index pairs, in
one JSON data block. The block is column-wise and leaves out what the page can
rebuild (a label equal to the name, a page link that follows the site's naming,
empty tags, repeated packages, types, fqn prefixes and patch files as indexes
into small tables): at 2,000 nodes it is a third of the size of one object per
node, and the browser has less to fetch and parse before the first frame. The
block is safe inside ``<script>``: every ``<`` is written as ``\\u003c``, so no
manifest string can close the element.
"""

from __future__ import annotations

import json
import re
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


# The page link graph.js builds when the data has none: the site's page naming.
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def default_href(uid: str) -> str:
    return "nodes/" + _UNSAFE.sub("_", uid) + ".html"


def _code(table: list[Any], codes: dict[Any, int], value: Any) -> int:
    key = json.dumps(value)
    if key not in codes:
        codes[key] = len(table)
        table.append(value)
    return codes[key]


def graph_data(
    graph: LineageGraph, entries: dict[str, dict[str, Any]], href: Callable[[str], str]
) -> dict[str, Any]:
    order = graph.depth_order()
    index = {uid: i for i, uid in enumerate(order)}
    tables: dict[str, list[Any]] = {"types": [], "pkgs": [], "prefixes": [], "patches": []}
    codes: dict[str, dict[Any, int]] = {name: {} for name in tables}
    columns: dict[str, list[Any]] = {key: [] for key in ("id", "name", "type", "fqn", "path")}
    columns.update(pkg=[], patch=[])
    # Keyed by the node's index as a string (what JSON object keys are).
    sparse: dict[str, dict[str, Any]] = {key: {} for key in ("label", "fqn_full", "tags")}
    sparse.update(src={}, href={})
    for k, uid in enumerate(order):
        node, entry = graph.nodes[uid], entries.get(uid) or {}
        fqn = [str(part) for part in entry.get("fqn") or [node.name]]
        columns["id"].append(uid)
        columns["name"].append(node.name)
        columns["type"].append(_code(tables["types"], codes["types"], node.resource_type))
        if fqn[-1] == node.name:
            columns["fqn"].append(_code(tables["prefixes"], codes["prefixes"], fqn[:-1]))
        else:
            columns["fqn"].append(-1)
            sparse["fqn_full"][str(k)] = fqn
        columns["path"].append(entry.get("original_file_path") or "")
        columns["pkg"].append(_code(tables["pkgs"], codes["pkgs"], entry.get("package_name") or ""))
        patch = _patch_path(entry)
        columns["patch"].append(
            -1 if patch is None else _code(tables["patches"], codes["patches"], patch)
        )
        if node.label != node.name:
            sparse["label"][str(k)] = node.label
        if tags := _tags(entry):
            sparse["tags"][str(k)] = tags
        if src := entry.get("source_name"):
            sparse["src"][str(k)] = src
        if (link := href(uid)) != default_href(uid):
            sparse["href"][str(k)] = link
    edges: list[int] = []
    for uid in order:
        for child in graph.children.get(uid, []):
            edges += [index[uid], index[child]]
    return {**columns, **sparse, **tables, "edges": edges}


def graph_nodes(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The nodes of ``graph_data`` one object each, as graph.js rebuilds them."""
    out = []
    for k, uid in enumerate(data["id"]):
        key = str(k)
        name = data["name"][k]
        prefix = data["fqn"][k]
        patch = data["patch"][k]
        out.append(
            {
                "id": uid,
                "label": data["label"].get(key, name),
                "name": name,
                "type": data["types"][data["type"][k]],
                "fqn": data["fqn_full"][key] if prefix < 0 else [*data["prefixes"][prefix], name],
                "tags": data["tags"].get(key, []),
                "path": data["path"][k] or None,
                "patch": None if patch < 0 else data["patches"][patch],
                "pkg": data["pkgs"][data["pkg"][k]],
                "src": data["src"].get(key, ""),
                "href": data["href"].get(key) or default_href(uid),
            }
        )
    return out


def script_json(data: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace("\u2028", "\\u2028"))
