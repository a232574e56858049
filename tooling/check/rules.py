"""The governance rules: plain functions over the manifest (and catalog).

Each rule returns ``(checked, findings)``: how many nodes it evaluated and what
failed. Layers come from the model's folder (``fqn``): ``staging``,
``intermediate`` and ``marts`` directly under a model path, as in dbt Labs'
structure guide. Nothing here knows a model name of any particular project.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tooling.check import pii_trace
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


def _finding(rule: str, node: Mapping[str, Any], message: str) -> Finding:
    return Finding(
        rule=rule,
        node=str(node.get("unique_id")),
        path=node.get("original_file_path"),
        message=message,
    )


def _config(node: Mapping[str, Any]) -> Mapping[str, Any]:
    return node.get("config") or {}


# --- rules ---------------------------------------------------------------------------

Result = tuple[int, list[Finding]]


def naming(ctx: Context, options: Mapping[str, Any]) -> Result:
    """Names per layer (and sub-folder) as the project's convention says."""
    conv = ctx.convention
    out = []
    for node in ctx.models.values():
        name, where = str(node.get("name")), ctx.layer(node)
        fqn = node.get("fqn") or []
        if where is None:
            if not conv.require_layer:
                continue
            claimed = conv.claims(name)
            folders = ", ".join(f for fs in conv.folders.values() for f in fs)
            out.append(
                _finding(
                    "naming",
                    node,
                    f"{name} is named like a {claimed[0]} model but is not in a "
                    f"{'/ or '.join(conv.folders[claimed[0]]) or claimed[0]}/ folder"
                    if claimed
                    else f"{name} is not in a layer folder ({folders})",
                )
            )
            continue
        folder = str(fqn[2]) if len(fqn) > 3 else None
        patterns = conv.patterns(where, folder)
        if patterns and not any(fnmatch.fnmatchcase(name, p) for p in patterns):
            place = f"{fqn[1]}/{folder}/" if folder else f"{fqn[1]}/"
            out.append(
                _finding(
                    "naming",
                    node,
                    f"{name} is in {place} and should match {' or '.join(patterns)} "
                    f"(convention {conv.name})",
                )
            )
    return len(ctx.models), out


def source_outside_staging(ctx: Context, options: Mapping[str, Any]) -> Result:
    out = []
    for node in ctx.models.values():
        srcs = [p for p in parents(node) if p.startswith("source.")]
        if srcs and ctx.layer(node) != "staging":
            out.append(
                _finding(
                    "source-outside-staging",
                    node,
                    f"calls source() ({', '.join(srcs)}) outside staging; only staging "
                    "models select from sources",
                )
            )
    return len(ctx.models), out


def layer_order(ctx: Context, options: Mapping[str, Any]) -> Result:
    out = []
    for node in ctx.models.values():
        mine = ctx.layer(node)
        if mine is None:
            continue
        later = []
        for parent_id in parents(node):
            parent = ctx.all_nodes.get(parent_id, {})
            theirs = ctx.layer(parent) if parent.get("resource_type") == "model" else None
            if theirs and LAYERS.index(theirs) > LAYERS.index(mine):
                later.append(f"{parent_id} ({theirs})")
        if later:
            out.append(
                _finding(
                    "layer-order",
                    node,
                    f"{mine} model refs a later layer: {', '.join(later)}",
                )
            )
    return len(ctx.models), out


def direct_join_to_source(ctx: Context, options: Mapping[str, Any]) -> Result:
    out = []
    for node in ctx.models.values():
        ps = parents(node)
        srcs = [p for p in ps if p.startswith("source.")]
        models = [p for p in ps if p.startswith(("model.", "snapshot.", "seed."))]
        if srcs and (models or ctx.layer(node) == "marts"):
            what = (
                f"joins {', '.join(srcs)} with {', '.join(models)}"
                if models
                else (f"mart selects straight from {', '.join(srcs)}")
            )
            out.append(
                _finding(
                    "direct-join-to-source",
                    node,
                    f"{what}; go through a staging model instead",
                )
            )
    return len(ctx.models), out


def model_description(ctx: Context, options: Mapping[str, Any]) -> Result:
    out = [
        _finding("model-description", node, f"{node.get('name')} has no description")
        for node in ctx.models.values()
        if not str(node.get("description") or "").strip()
    ]
    return len(ctx.models), out


def column_docs(ctx: Context, options: Mapping[str, Any]) -> Result:
    minimum = float(options.get("min_coverage", 100))
    out, documented_total, total = [], 0, 0
    for uid, node in ctx.models.items():
        declared = {
            str(k).lower(): str((v or {}).get("description") or "").strip()
            for k, v in (node.get("columns") or {}).items()
        }
        columns = set(declared) | pii_trace.node_columns(node, ctx.catalog)
        if not columns:
            continue
        missing = sorted(c for c in columns if not declared.get(c))
        documented = len(columns) - len(missing)
        documented_total += documented
        total += len(columns)
        coverage = 100.0 * documented / len(columns)
        if coverage < minimum:
            shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
            out.append(
                _finding(
                    "column-docs",
                    node,
                    f"{coverage:.0f}% of columns documented ({documented}/{len(columns)}); "
                    f"undocumented: {shown}",
                )
            )
        del uid
    ctx._coverage = (documented_total, total)
    return len(ctx.models), out


def primary_key_test(ctx: Context, options: Mapping[str, Any]) -> Result:
    combination = tuple(options.get("combination_tests", ["unique_combination_of_columns"]))
    out = []
    for uid, node in ctx.models.items():
        if not ctx.graph.has_primary_key_test(uid, combination):
            out.append(
                _finding(
                    "primary-key-test",
                    node,
                    "no primary-key test: unique + not_null on one column, or a "
                    f"{combination[0]} test",
                )
            )
    return len(ctx.models), out


def mart_contract(ctx: Context, options: Mapping[str, Any]) -> Result:
    marts = [n for n in ctx.models.values() if ctx.layer(n) == "marts"]
    out = [
        _finding("mart-contract", node, "mart without an enforced contract (contract: enforced)")
        for node in marts
        if not ((_config(node).get("contract") or {}).get("enforced"))
    ]
    return len(marts), out


# Adapters without roles: dbt skips their grants (dbt-duckdb; see macros/grants.sql).
NO_GRANTS = frozenset({"duckdb", "sqlite"})


def mart_grants(ctx: Context, options: Mapping[str, Any]) -> Result:
    """Marts say who may read them (``grants: {select: [...]}``) where grants apply.

    Checked when the target has roles, and on any target once the project declares
    grants somewhere (it manages access in dbt, so every mart must say).
    """
    adapter = str((ctx.manifest.get("metadata") or {}).get("adapter_type") or "")
    declares = any(_config(n).get("grants") for n in ctx.models.values())
    if adapter in NO_GRANTS and not declares:
        return 0, []
    marts = [n for n in ctx.models.values() if ctx.layer(n) == "marts"]
    out = [
        _finding(
            "mart-grants",
            node,
            "mart declares no readers (grants: {select: [roles]} in its config)",
        )
        for node in marts
        if not ((_config(node).get("grants") or {}).get("select"))
    ]
    return len(marts), out


def _has_threshold(freshness: Any) -> bool:
    if not isinstance(freshness, Mapping):
        return False
    return any(
        isinstance(freshness.get(k), Mapping) and freshness[k].get("count")
        for k in ("warn_after", "error_after")
    )


def source_freshness(ctx: Context, options: Mapping[str, Any]) -> Result:
    out = []
    for source in ctx.sources.values():
        fresh = source.get("freshness") or _config(source).get("freshness")
        if not _has_threshold(fresh):
            out.append(
                _finding(
                    "source-freshness",
                    source,
                    f"source {source.get('source_name')}.{source.get('name')} has no "
                    "freshness (warn_after/error_after)",
                )
            )
        elif not (source.get("loaded_at_field") or source.get("loaded_at_query")) and not (
            options.get("allow_metadata_freshness", False)
        ):
            out.append(
                _finding(
                    "source-freshness",
                    source,
                    f"source {source.get('source_name')}.{source.get('name')} has freshness "
                    "but no loaded_at_field",
                )
            )
    return len(ctx.sources), out


def model_owner(ctx: Context, options: Mapping[str, Any]) -> Result:
    out = []
    for node in ctx.models.values():
        config = _config(node)
        meta = {**(node.get("meta") or {}), **(config.get("meta") or {})}
        if not (meta.get("owner") or config.get("group") or node.get("group")):
            out.append(_finding("model-owner", node, "no owner: set meta.owner or a group"))
    return len(ctx.models), out


_JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_STRINGS = re.compile(r"'(?:[^']|'')*'")
_IDENT = r'(?:"[^"]+"|[A-Za-z_][\w$]*)'
_QUALIFIED = re.compile(
    rf"\b(?:from|join)\s+({_IDENT}\s*\.\s*{_IDENT}(?:\s*\.\s*{_IDENT})?)(?!\s*\()",
    re.I,
)


def hardcoded_relations(raw_code: str) -> list[str]:
    """``schema.table`` / ``db.schema.table`` names after FROM/JOIN in the raw SQL.

    Jinja, comments and string literals are blanked first, so ``{{ ref() }}``,
    ``{{ source() }}`` and ``read_csv('a.b')`` never match.
    """
    text = _JINJA.sub(" ", raw_code)
    text = _COMMENTS.sub(" ", text)
    text = _STRINGS.sub("''", text)
    return [
        re.sub(r"\s+", "", m.group(1))
        for m in _QUALIFIED.finditer(text)
        if _enclosing_function(text, m.start()) not in _FROM_FUNCTIONS
    ]


# Functions whose arguments use FROM: `extract(year from orders.ordered_at)`.
_FROM_FUNCTIONS = {"extract", "trim", "substring", "position", "overlay"}


def _enclosing_function(text: str, pos: int) -> str | None:
    """Name of the function whose unclosed parenthesis surrounds ``pos``, if any."""
    depth = 0
    for i in range(pos - 1, -1, -1):
        char = text[i]
        if char == ")":
            depth += 1
        elif char == "(":
            if depth == 0:
                name = re.search(r"(\w+)\s*$", text[:i])
                return name.group(1).lower() if name else None
            depth -= 1
    return None


def hardcoded_relation(ctx: Context, options: Mapping[str, Any]) -> Result:
    nodes = [
        n
        for n in ctx.all_nodes.values()
        if n.get("package_name") == ctx.project
        and n.get("resource_type") in ("model", "snapshot", "analysis", "test")
        and not n.get("test_metadata")  # generic tests are rendered from macros
        and n.get("raw_code")
    ]
    out = []
    for node in nodes:
        found = hardcoded_relations(str(node.get("raw_code")))
        if found:
            out.append(
                _finding(
                    "hardcoded-relation",
                    node,
                    f"hard-coded relation(s) {', '.join(sorted(set(found)))}; use ref() or "
                    "source()",
                )
            )
    return len(nodes), out


def _is_pii(column: Mapping[str, Any], tag: str) -> bool:
    config = column.get("config") or {}
    tags = [*(column.get("tags") or []), *(config.get("tags") or [])]
    meta = {**(column.get("meta") or {}), **(config.get("meta") or {})}
    return tag in [str(t).lower() for t in tags] or bool(meta.get(tag))


def pii_to_mart(ctx: Context, options: Mapping[str, Any]) -> Result:
    """A PII-tagged source column must not reach a mart unmasked.

    With compiled SQL in the manifest (after `dbt build`/`compile`) the rule
    follows exact column lineage (tooling.lineage): any path, through renames,
    joins and `select *`, with hashing recognised as masking. On a `dbt parse`
    manifest it falls back to following the column name through the layers.
    Option ``lineage``: ``auto`` (default), ``exact`` or ``name``.
    """
    tag = str(options.get("tag", "pii")).lower()
    mode = str(options.get("lineage", "auto")).lower()
    pii_columns = {
        (source_id, str(name))
        for source_id, source in ctx.sources.items()
        for name, column in (source.get("columns") or {}).items()
        if _is_pii(column or {}, tag)
    }
    checked = len(pii_columns)
    if mode in ("auto", "exact") and tag == "pii":
        exposures = pii_trace.exact_pii_exposures(
            ctx.manifest,
            ctx.catalog,
            sorted({source_id for source_id, _ in pii_columns}),
            is_mart=lambda e: e.get("resource_type") == "model" and ctx.layer(e) == "marts",
        )
        if exposures is not None:
            return checked, [
                _finding(
                    "pii-to-mart", ctx.all_nodes.get(e.mart, {"unique_id": e.mart}), e.message()
                )
                for e in exposures
            ]
        if mode == "exact":
            return checked, [
                Finding(
                    rule="pii-to-mart",
                    node=ctx.project or "project",
                    path=None,
                    message="exact PII lineage needs compiled SQL: run `dataops build` or "
                    "`dbt compile` first",
                )
            ]
    out = []
    for source_id, column_name in sorted(pii_columns):
        for node_id, reached in pii_trace.column_descendants(
            ctx.manifest, ctx.catalog, source_id, column_name
        ):
            node = ctx.all_nodes.get(node_id, {})
            if node.get("resource_type") == "model" and ctx.layer(node) == "marts":
                out.append(
                    _finding(
                        "pii-to-mart",
                        node,
                        f"column {reached} is PII in {source_id} and reaches this mart "
                        "unmasked (same column name through the layers; build for exact "
                        "lineage)",
                    )
                )
    return checked, out


@dataclass(frozen=True)
class Rule:
    func: Callable[[Context, Mapping[str, Any]], Result]
    description: str
    default_severity: str = "error"
    options: tuple[str, ...] = ()


RULES: dict[str, Rule] = {
    "naming": Rule(
        naming,
        "models named per layer and folder as the convention says "
        "(dataops: stg_<source>__, int_, fct_/dim_)",
    ),
    "source-outside-staging": Rule(source_outside_staging, "only staging calls source()"),
    "layer-order": Rule(layer_order, "no model refs a later layer"),
    "direct-join-to-source": Rule(
        direct_join_to_source, "no source joined with models, no mart straight from a source"
    ),
    "model-description": Rule(model_description, "every model has a description"),
    "column-docs": Rule(column_docs, "every column documented", options=("min_coverage",)),
    "primary-key-test": Rule(
        primary_key_test,
        "every model has unique + not_null on a column or a unique-combination test",
        options=("combination_tests",),
    ),
    "mart-contract": Rule(mart_contract, "marts have enforced contracts"),
    "mart-grants": Rule(
        mart_grants, "marts declare their readers (grants: select) where grants apply"
    ),
    "source-freshness": Rule(
        source_freshness,
        "sources declare freshness and loaded_at_field",
        options=("allow_metadata_freshness",),
    ),
    "model-owner": Rule(model_owner, "every model has an owner (meta.owner or group)"),
    "hardcoded-relation": Rule(hardcoded_relation, "no hard-coded database/schema names in SQL"),
    "pii-to-mart": Rule(
        pii_to_mart,
        "no PII-tagged source column reaches a mart unmasked",
        options=("tag", "lineage"),
    ),
}
