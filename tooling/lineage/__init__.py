"""Model- and column-level lineage derived from dbt's artifacts (manifest, catalog).

Plain functions over the artifact dicts: no printing, no dbt calls.
"""

from tooling.lineage.columns import compute_column_lineage, trace_column
from tooling.lineage.graph import (
    LineageGraph,
    build_graph,
    impacted_subgraph_mermaid,
    neighbourhood,
    resolve_node,
    to_mermaid,
)
from tooling.lineage.model_columns import ColumnLineage, ColumnRef, model_column_lineage
from tooling.lineage.pii import PiiExposure, pii_exposures

__all__ = [
    "ColumnLineage",
    "ColumnRef",
    "LineageGraph",
    "PiiExposure",
    "build_graph",
    "compute_column_lineage",
    "impacted_subgraph_mermaid",
    "model_column_lineage",
    "neighbourhood",
    "pii_exposures",
    "resolve_node",
    "to_mermaid",
    "trace_column",
]
