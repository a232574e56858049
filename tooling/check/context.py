"""What every governance rule reads and returns: the project's nodes, and its findings.

``Context.build`` keeps the project's own models and sources (plus those of the
packages asked for); a rule returns ``Result``: how many nodes it checked and
the findings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tooling.check.conventions import PRESETS, Convention
from tooling.manifest import LAYER_ORDER, ManifestGraph
from tooling.manifest import layer as manifest_layer

LAYERS = LAYER_ORDER


@dataclass
class Finding:
    rule: str
    node: str
    path: str | None
    message: str
    severity: str = "error"

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "node": self.node,
            "path": self.path,
            "message": self.message,
        }


@dataclass
class Context:
    manifest: Mapping[str, Any]
    catalog: Mapping[str, Any] | None
    project: str
    models: dict[str, dict[str, Any]]
    sources: dict[str, dict[str, Any]]
    all_nodes: dict[str, dict[str, Any]]
    graph: ManifestGraph
    convention: Convention = PRESETS["dataops"]
    _coverage: tuple[int, int] = (0, 0)

    @classmethod
    def build(
        cls,
        manifest: Mapping[str, Any],
        catalog: Mapping[str, Any] | None,
        *,
        convention: Convention | None = None,
        packages: bool | list[str] = False,
    ) -> Context:
        """The project's own models and sources (plus those of ``packages``: True for
        every package, or a list of package names)."""
        nodes: dict[str, dict[str, Any]] = dict(manifest.get("nodes") or {})
        sources: dict[str, dict[str, Any]] = dict(manifest.get("sources") or {})
        graph = ManifestGraph.of(manifest)
        project = graph.project_name
        if not project:
            packages = Counter(
                n.get("package_name") for n in nodes.values() if n.get("resource_type") == "model"
            )
            project = packages.most_common(1)[0][0] if packages else ""

        def checked(entry: Mapping[str, Any]) -> bool:
            package = entry.get("package_name")
            if package == project or packages is True:
                return True
            return isinstance(packages, list) and package in packages

        models = {
            uid: n for uid, n in nodes.items() if n.get("resource_type") == "model" and checked(n)
        }
        own_sources = {uid: s for uid, s in sources.items() if checked(s)}
        if not manifest.get("child_map"):
            manifest = {**manifest, "child_map": graph.children}
        return cls(
            manifest=manifest,
            catalog=catalog,
            project=project,
            models=models,
            sources=own_sources,
            all_nodes={**nodes, **sources},
            graph=graph,
            convention=convention or PRESETS["dataops"],
        )

    def layer(self, node: Mapping[str, Any]) -> str | None:
        """The node's layer under this project's convention (its folder under the model path)."""
        return manifest_layer(node, self.convention.layers)

    def column_coverage(self) -> float | None:
        documented, total = self._coverage
        return round(100.0 * documented / total, 1) if total else None


def parents(node: Mapping[str, Any]) -> list[str]:
    return list((node.get("depends_on") or {}).get("nodes") or [])


def finding(rule: str, node: Mapping[str, Any], message: str) -> Finding:
    return Finding(
        rule=rule,
        node=str(node.get("unique_id")),
        path=node.get("original_file_path"),
        message=message,
    )


def node_config(node: Mapping[str, Any]) -> Mapping[str, Any]:
    return node.get("config") or {}


Result = tuple[int, list[Finding]]
