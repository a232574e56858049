"""dbt's manifest as a graph: the one home for walks, node lookups, tests per node,
primary keys, layers and the project file.

Every command that reads ``manifest.json`` goes through here instead of
walking ``child_map`` itself. Plain dicts in, plain data out (a 15 MB manifest
stays a dict; nothing is copied into model objects); never prints.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tooling.errors import DataOpsError

# Manifest sections that hold graph members, in lookup order.
SECTIONS = (
    "nodes",
    "sources",
    "exposures",
    "metrics",
    "semantic_models",
    "saved_queries",
    "unit_tests",
)
# The folders directly under a model path that name a layer (dbt Labs' structure guide).
DEFAULT_LAYERS: Mapping[str, str] = {
    "staging": "staging",
    "intermediate": "intermediate",
    "marts": "marts",
}
LAYER_ORDER = ("staging", "intermediate", "marts")

Edges = Mapping[str, Iterable[str]]


def resource_type(uid: str) -> str:
    """``model`` of ``model.pkg.name`` (dbt's unique ids start with the resource type)."""
    return uid.split(".", 1)[0]


def walk(
    edges: Edges,
    start: Iterable[str],
    *,
    depth: int | None = None,
    follow: Callable[[str], bool] | None = None,
) -> dict[str, int]:
    """Breadth-first from ``start`` along ``edges``: every reached id -> its distance.

    The start ids are included (distance 0), in order; then nodes by distance.
    ``depth`` stops after that many hops; ``follow(uid)`` False leaves a node out
    and does not walk through it.
    """
    seen: dict[str, int] = {}
    for uid in start:
        seen.setdefault(uid, 0)
    queue = deque(seen)
    while queue:
        uid = queue.popleft()
        hops = seen[uid]
        if depth is not None and hops >= depth:
            continue
        for nxt in edges.get(uid, ()):
            if nxt in seen or (follow is not None and not follow(nxt)):
                continue
            seen[nxt] = hops + 1
            queue.append(nxt)
    return seen


def edges_from_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """(parent, child) pairs -> parent -> children."""
    children: dict[str, list[str]] = {}
    for parent, child in pairs:
        children.setdefault(parent, []).append(child)
    return children


def layer(node: Mapping[str, Any], layers: Mapping[str, str] = DEFAULT_LAYERS) -> str | None:
    """The layer of a model: the folder directly under its model path (fqn[1]), mapped
    through ``layers`` (folder -> layer); None outside a layer folder."""
    fqn = node.get("fqn") or []
    return layers.get(fqn[1]) if len(fqn) > 2 else None


def read_project_file(project_dir: Path) -> dict[str, Any]:
    """``dbt_project.yml`` of a project as a dict (one clear error when unreadable)."""
    path = project_dir / "dbt_project.yml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataOpsError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise DataOpsError(f"{path} is not a YAML mapping")
    return data


@dataclass
class KeyTests:
    """The key-shaped data tests of one node."""

    unique: list[str] = field(default_factory=list)
    not_null: set[str] = field(default_factory=set)
    combinations: list[list[str]] = field(default_factory=list)  # columns per combination test


@dataclass
class ManifestGraph:
    """Parent/child maps, lookups and tests per node over a manifest dict.

    ``child_map``/``parent_map`` are dbt's when the manifest has them; a
    hand-made manifest without them gets them from ``depends_on``.
    """

    manifest: Mapping[str, Any]
    children: Mapping[str, list[str]]
    parents: Mapping[str, list[str]]
    _tests: dict[str, list[dict[str, Any]]] | None = None

    @classmethod
    def of(cls, manifest: Mapping[str, Any]) -> ManifestGraph:
        child_map = manifest.get("child_map")
        parent_map = manifest.get("parent_map")
        if child_map and parent_map:
            return cls(manifest, child_map, parent_map)
        children: dict[str, list[str]] = {}
        parents: dict[str, list[str]] = {}
        for section in SECTIONS:
            for uid, entry in (manifest.get(section) or {}).items():
                children.setdefault(uid, [])
                ups = list(dict.fromkeys((entry.get("depends_on") or {}).get("nodes") or []))
                parents[uid] = ups
                for parent in ups:
                    children.setdefault(parent, []).append(uid)
        return cls(manifest, child_map or children, parents)

    # --- lookups -------------------------------------------------------------------

    @property
    def project_name(self) -> str:
        return str((self.manifest.get("metadata") or {}).get("project_name") or "")

    def node(self, uid: str) -> dict[str, Any] | None:
        """The manifest entry of any graph member (node, source, exposure, metric ...)."""
        for section in SECTIONS:
            found = (self.manifest.get(section) or {}).get(uid)
            if found is not None:
                return found
        return None

    def of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        """Entries of the given resource types, by unique_id."""
        wanted = set(types)
        return {
            uid: entry
            for section in SECTIONS
            for uid, entry in (self.manifest.get(section) or {}).items()
            if entry.get("resource_type", resource_type(uid)) in wanted
        }

    # --- walks ---------------------------------------------------------------------

    def descendants(
        self,
        roots: Iterable[str],
        *,
        depth: int | None = None,
        follow: Callable[[str], bool] | None = None,
    ) -> dict[str, int]:
        """``roots`` and everything below them (what ``roots+`` selects), with distances."""
        return walk(self.children, roots, depth=depth, follow=follow)

    def ancestors(
        self,
        roots: Iterable[str],
        *,
        depth: int | None = None,
        follow: Callable[[str], bool] | None = None,
    ) -> dict[str, int]:
        """``roots`` and everything above them (what ``+roots`` selects), with distances."""
        return walk(self.parents, roots, depth=depth, follow=follow)

    def failed_upstream(self, uid: str, failed: Iterable[str]) -> list[str]:
        """Which of the ``failed`` nodes made dbt skip ``uid``: failed ancestors, and
        failed tests of its ancestors (``dbt build`` skips the children of a node
        whose tests fail)."""
        failed = set(failed)
        above = self.ancestors([uid])
        causes = []
        for fid in sorted(failed):
            if fid == uid:
                continue
            tested = self.parents.get(fid, [])
            if (
                fid in above
                # a data test of an ancestor (not of uid itself: uid ran before its tests)
                or (resource_type(fid) == "test" and any(p in above and p != uid for p in tested))
                # a unit test of uid or an ancestor: the model is skipped when it fails
                or (resource_type(fid) == "unit_test" and any(p in above for p in tested))
            ):
                causes.append(fid)
        return causes

    # --- tests and keys ------------------------------------------------------------

    def tests_for(self, uid: str) -> list[dict[str, Any]]:
        """Data tests of a node: those attached to it (else, for tests dbt did not
        attach, every node they depend on)."""
        if self._tests is None:
            index: dict[str, list[dict[str, Any]]] = {}
            for test in (self.manifest.get("nodes") or {}).values():
                if test.get("resource_type") != "test":
                    continue
                attached = test.get("attached_node")
                targets = [attached] if attached else (test.get("depends_on") or {}).get("nodes")
                for target in targets or []:
                    index.setdefault(target, []).append(test)
            self._tests = index
        return self._tests.get(uid, [])

    def key_tests(
        self, uid: str, combination_tests: Iterable[str] = ("unique_combination_of_columns",)
    ) -> KeyTests:
        """The unique / not_null / unique-combination tests of a node."""
        combos = set(combination_tests)
        out = KeyTests()
        for test in self.tests_for(uid):
            meta = test.get("test_metadata") or {}
            name = str(meta.get("name") or "")
            kwargs = meta.get("kwargs") or {}
            column = str(test.get("column_name") or kwargs.get("column_name") or "")
            if name == "unique" and column:
                out.unique.append(column)
            elif name == "not_null" and column:
                out.not_null.add(column)
            elif name.split(".")[-1] in combos:
                cols = kwargs.get("combination_of_columns")
                out.combinations.append([str(c) for c in cols] if isinstance(cols, list) else [])
        return out

    def primary_key(self, uid: str) -> list[str]:
        """A model's key, from what its project declares: a primary_key constraint,
        else a unique test (preferring one also tested not_null), else a
        unique-combination test, else the ``unique_key`` config."""
        node = self.node(uid) or {}
        for constraint in node.get("constraints") or []:
            if constraint.get("type") == "primary_key" and constraint.get("columns"):
                return list(constraint["columns"])
        for name, col in (node.get("columns") or {}).items():
            if any(c.get("type") == "primary_key" for c in col.get("constraints") or []):
                return [name]
        keys = self.key_tests(uid)
        not_null = {c.lower() for c in keys.not_null}
        for column in sorted(keys.unique, key=lambda c: (c.lower() not in not_null, c)):
            return [column]
        for combo in keys.combinations:
            if combo:
                return combo
        key = (node.get("config") or {}).get("unique_key")
        if isinstance(key, str) and key:
            return [key]
        if isinstance(key, list) and key:
            return [str(k) for k in key]
        return []

    def has_primary_key_test(
        self, uid: str, combination_tests: Iterable[str] = ("unique_combination_of_columns",)
    ) -> bool:
        """unique + not_null on one column, or a unique-combination test."""
        keys = self.key_tests(uid, combination_tests)
        unique = {c.lower() for c in keys.unique}
        return bool(unique & {c.lower() for c in keys.not_null}) or bool(keys.combinations)
