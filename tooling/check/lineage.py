"""Column tracing for the PII rule, by column name through the layers.

This is the one function the exact column lineage (``tooling/lineage/``) will
replace: ``tooling.check.rules`` calls ``column_descendants`` through this
module attribute, so swapping it (``lineage.column_descendants = exact``)
changes the rule without touching it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

ColumnRef = tuple[str, str]  # (unique_id, column name)


def node_columns(node: Mapping[str, Any], catalog: Mapping[str, Any] | None = None) -> set[str]:
    """Lower-cased column names of a node: the catalog's (actual) plus the YAML's."""
    names = {str(c).lower() for c in (node.get("columns") or {})}
    if catalog:
        uid = node.get("unique_id", "")
        entry = (catalog.get("nodes") or {}).get(uid) or (catalog.get("sources") or {}).get(uid)
        if entry:
            names |= {str(c).lower() for c in (entry.get("columns") or {})}
    return names


def by_name_descendants(
    manifest: Mapping[str, Any],
    catalog: Mapping[str, Any] | None,
    node_id: str,
    column: str,
) -> Iterable[ColumnRef]:
    """Every (model, column) downstream of ``node_id.column`` that keeps its name.

    A column is followed into a child model when the child has a column of the
    same name; renaming or dropping it (``email`` -> ``email_hash``) ends the trail.
    """
    child_map: Mapping[str, list[str]] = manifest.get("child_map") or {}
    nodes: Mapping[str, Any] = manifest.get("nodes") or {}
    name = column.lower()
    seen = {node_id}
    queue = deque([node_id])
    while queue:
        current = queue.popleft()
        for child in child_map.get(current, []):
            if child in seen or not child.startswith(("model.", "snapshot.")):
                continue
            seen.add(child)
            if name in node_columns(nodes.get(child, {}), catalog):
                yield child, name
                queue.append(child)


column_descendants: Callable[
    [Mapping[str, Any], Mapping[str, Any] | None, str, str], Iterable[ColumnRef]
] = by_name_descendants
