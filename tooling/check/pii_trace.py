"""Column tracing for the PII rule, by column name through the layers.

This is the one function the exact column lineage (``tooling/lineage/``) will
replace: ``tooling.check.rules`` calls ``column_descendants`` through this
module attribute, so swapping it (``pii_trace.column_descendants = exact``)
changes the rule without touching it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tooling.manifest import ManifestGraph

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
    nodes: Mapping[str, Any] = manifest.get("nodes") or {}
    name = column.lower()

    def keeps_name(uid: str) -> bool:
        return uid.startswith(("model.", "snapshot.")) and name in node_columns(
            nodes.get(uid, {}), catalog
        )

    reached = ManifestGraph.of(manifest).descendants([node_id], follow=keeps_name)
    for child in reached:
        if child != node_id:
            yield child, name


column_descendants: Callable[
    [Mapping[str, Any], Mapping[str, Any] | None, str, str], Iterable[ColumnRef]
] = by_name_descendants


def downstream_models(manifest: Mapping[str, Any], start: Iterable[str]) -> set[str]:
    """Models and snapshots downstream of ``start`` (through the child map)."""
    roots = list(start)
    reached = ManifestGraph.of(manifest).descendants(
        roots, follow=lambda uid: uid.startswith(("model.", "snapshot."))
    )
    return set(reached) - set(roots)


def exact_pii_exposures(
    manifest: Mapping[str, Any],
    catalog: Mapping[str, Any] | None,
    pii_sources: Iterable[str],
    is_mart: Callable[[dict[str, Any]], bool],
) -> list[Any] | None:
    """PII exposures by exact column lineage, or None when it cannot be exact.

    Lineage is computed only for the models downstream of sources that declare
    PII columns (every path from a mart back to such a column runs through
    them), so a project without PII pays nothing. It needs compiled SQL: a
    manifest from `dbt parse` has none, and the caller falls back to names.
    """
    from tooling.lineage.columns import compute_column_lineage
    from tooling.lineage.pii import pii_exposures

    nodes: Mapping[str, Any] = manifest.get("nodes") or {}
    scope = downstream_models(manifest, pii_sources)
    if not scope:
        return []
    if any(not (nodes.get(uid) or {}).get("compiled_code") for uid in scope):
        return None
    data = dict(manifest)
    lineage_map = compute_column_lineage(data, dict(catalog) if catalog else None, only=scope)
    return pii_exposures(
        data, dict(catalog) if catalog else None, lineage_map=lineage_map, is_mart=is_mart
    )
