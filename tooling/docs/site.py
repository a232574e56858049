"""The static lineage site, rendered from dbt's artifacts. Never prints, never calls dbt.

Pages are Jinja2 templates with autoescaping on, so every string that comes
from the manifest (names, descriptions, tags, SQL) is HTML-escaped. The site is
plain files: it works offline and from ``file://``; search is a few lines of
vanilla JavaScript shipped in ``assets/``.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment

from tooling.docs.column_graph import column_graph
from tooling.docs.graph_page import graph_data, script_json
from tooling.docs.graph_svg import render_svg
from tooling.jinja_env import environment
from tooling.lineage.columns import column_children, compute_column_lineage, lineage_counts
from tooling.lineage.graph import GRAPH_SECTIONS, LineageGraph, build_graph, neighbourhood
from tooling.lineage.model_columns import ColumnLineage
from tooling.lineage.relations import relation_columns

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
# Third-party files shipped with the site, with their licences (see README).
VENDORED = ("vendor/cytoscape.min.js", "vendor/cytoscape.LICENSE.txt")


@dataclass
class SiteOutcome:
    out_dir: Path
    pages: int
    models: int
    columns: int
    columns_resolved: int
    columns_unknown: int
    columns_not_produced: int
    lineage_seconds: float
    render_seconds: float
    bytes_written: int


# The dbt commands whose run_results.json says what ran here (`compile` and
# `docs generate` write one too, with "success" for nodes that never ran).
RUN_COMMANDS = frozenset({"build", "run", "test", "seed", "snapshot"})


@dataclass
class RunStatus:
    status: str
    command: str
    at: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "command": self.command, "at": self.at}


def _when(text: Any) -> str | None:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def run_statuses(run_results: dict[str, Any] | None) -> tuple[dict[str, RunStatus], str | None]:
    """Status per node from a real build/run/test/seed/snapshot, with the time it
    ran; and why there are none (None when the results were used)."""
    if not run_results:
        return {}, "no run_results.json"
    command = str((run_results.get("args") or {}).get("which") or "")
    if command not in RUN_COMMANDS:
        shown = f"`dbt {command}`" if command else "an unknown dbt command"
        return {}, f"run_results.json is from {shown}, which runs nothing"
    generated = (run_results.get("metadata") or {}).get("generated_at")
    out: dict[str, RunStatus] = {}
    for result in run_results.get("results") or []:
        finished = next(
            (
                t.get("completed_at")
                for t in result.get("timing") or []
                if t.get("name") == "execute"
            ),
            None,
        )
        out[str(result.get("unique_id"))] = RunStatus(
            str(result.get("status")), f"dbt {command}", _when(finished or generated)
        )
    return out, None


def page_name(uid: str) -> str:
    return _UNSAFE.sub("_", uid) + ".html"


def _env() -> Environment:
    return environment("tooling.docs")


def _meta(entry: dict[str, Any]) -> dict[str, Any]:
    return {**(entry.get("meta") or {}), **((entry.get("config") or {}).get("meta") or {})}


def _access(config: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Who may do what (dbt ``grants``: privilege -> roles), e.g. [("select", [...])]."""
    grants = config.get("grants") or {}
    if not isinstance(grants, dict):
        return []
    out = []
    for privilege, roles in sorted(grants.items()):
        names = [roles] if isinstance(roles, str) else [str(r) for r in roles or []]
        if names:
            out.append((str(privilege).lstrip("+"), names))
    return out


def _owner(entry: dict[str, Any], groups: dict[str, Any]) -> str | None:
    owner = entry.get("owner")
    if isinstance(owner, dict) and (owner.get("name") or owner.get("email")):
        return " ".join(str(v) for v in (owner.get("name"), owner.get("email")) if v)
    meta_owner = _meta(entry).get("owner")
    if meta_owner:
        return str(meta_owner)
    group = entry.get("group") or (entry.get("config") or {}).get("group")
    if group:
        for g in groups.values():
            if g.get("name") == group:
                gowner = g.get("owner") or {}
                who = " ".join(str(v) for v in (gowner.get("name"), gowner.get("email")) if v)
                return f"group {group}" + (f" ({who})" if who else "")
    return None


def _pii(column: dict[str, Any]) -> str | None:
    meta = {**(column.get("meta") or {}), **((column.get("config") or {}).get("meta") or {})}
    tags = [*(column.get("tags") or []), *((column.get("config") or {}).get("tags") or [])]
    if "pii" in meta and meta["pii"] not in (False, "false", None):
        return "true" if meta["pii"] is True else str(meta["pii"])
    if any(str(t).lower() == "pii" for t in tags):
        return "true"
    return None


def _tests_by_node(
    manifest: dict[str, Any], statuses: dict[str, RunStatus]
) -> tuple[dict[str, list[dict]], dict[tuple[str, str], list[dict]]]:
    node_tests: dict[str, list[dict]] = {}
    column_tests: dict[tuple[str, str], list[dict]] = {}
    for uid, entry in (manifest.get("nodes") or {}).items():
        if entry.get("resource_type") != "test":
            continue
        attached = entry.get("attached_node") or next(
            iter((entry.get("depends_on") or {}).get("nodes") or []), None
        )
        if not attached:
            continue
        name = (entry.get("test_metadata") or {}).get("name") or entry.get("name")
        ran = statuses.get(uid)
        item = {
            "unique_id": uid,
            "name": name,
            "status": ran.status if ran else None,
            "at": ran.at if ran else None,
        }
        column = entry.get("column_name")
        if column:
            column_tests.setdefault((attached, str(column).lower()), []).append(item)
        else:
            node_tests.setdefault(attached, []).append(item)
    return node_tests, column_tests


def _safe_url(url: Any) -> str | None:
    text = str(url or "")
    return text if text.startswith(("http://", "https://")) else None


def _ref_label(ref_node: str | None, relation: str, column: str, graph: LineageGraph) -> str:
    if ref_node and ref_node in graph.nodes:
        return f"{graph.nodes[ref_node].label}.{column}"
    return f"{relation}.{column}"


def build_site(
    manifest: dict[str, Any],
    catalog: dict[str, Any] | None,
    run_results: dict[str, Any] | None,
    out_dir: Path,
    *,
    levels: int = 2,
    lineage_map: dict[str, dict[str, ColumnLineage]] | None = None,
) -> SiteOutcome:
    """Write the lineage site into ``out_dir`` (index.html, graph.html, nodes/, assets/,
    lineage.json). Files of a previous build there are replaced, ``dbt/`` is kept."""
    started = time.perf_counter()
    if lineage_map is None:
        lineage_map = compute_column_lineage(manifest, catalog)
    lineage_seconds = time.perf_counter() - started
    render_started = time.perf_counter()

    graph = build_graph(manifest)
    known = relation_columns(manifest, catalog)
    statuses, no_status = run_statuses(run_results)
    node_tests, column_tests = _tests_by_node(manifest, statuses)
    groups = manifest.get("groups") or {}
    entries: dict[str, dict[str, Any]] = {}
    for section in GRAPH_SECTIONS:
        entries.update(manifest.get(section) or {})
    project = str((manifest.get("metadata") or {}).get("project_name") or "dbt project")
    common = {
        "project": project,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "has_catalog": catalog is not None,
        "has_run_results": not no_status,
        "no_run_status": no_status,
    }

    for sub in ("nodes", "assets"):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    (out_dir / "nodes").mkdir(parents=True, exist_ok=True)
    (out_dir / "assets").mkdir(parents=True, exist_ok=True)
    static = resources.files("tooling.docs") / "static"
    (out_dir / "assets" / "vendor").mkdir()
    for asset in ("style.css", "search.js", "graph.js", "columns.js", *VENDORED):
        (out_dir / "assets" / asset).write_bytes((static / asset).read_bytes())

    env = _env()
    node_tpl = env.get_template("node.html")
    written = 0

    def href_from_node(uid: str) -> str:
        return page_name(uid)

    reverse = column_children(lineage_map)

    for uid in graph.depth_order():
        node = graph.nodes[uid]
        entry = entries[uid]
        catalog_cols = known.get(uid, ((), {}))[1]
        documented = entry.get("columns") or {}
        doc_by_lower = {str(v.get("name") or k).lower(): v for k, v in documented.items()}
        node_lineage = lineage_map.get(uid, {})
        # A model's columns are those its lineage lists (what it produces, plus
        # the documented ones flagged as not produced): the counts use the same.
        names = list(node_lineage) or (
            list(catalog_cols)
            + [
                str(v.get("name") or k)
                for k, v in documented.items()
                if str(v.get("name") or k).lower() not in {c.lower() for c in catalog_cols}
            ]
        )
        lower_lineage = {k.lower(): v for k, v in node_lineage.items()}
        columns = []
        for name in names:
            doc = doc_by_lower.get(name.lower(), {})
            pii = _pii(doc)
            item = lower_lineage.get(name.lower())
            kind = item.kind if item else None
            if node.resource_type in ("source", "seed"):
                status, reason, upstream = "source", None, []
            elif item is None:
                status, reason, upstream = "unknown", "no lineage computed for this column", []
            else:
                status, reason = item.status, item.reason
                upstream = [
                    {
                        "label": _ref_label(r.node, r.relation, r.column, graph),
                        "href": f"{page_name(r.node)}#col-{r.column}" if r.node else None,
                    }
                    for r in item.upstream
                ]
            columns.append(
                {
                    "name": name,
                    "type": catalog_cols.get(name) or doc.get("data_type"),
                    "description": doc.get("description") or "",
                    "pii": pii,
                    "pii_class": "raw"
                    if pii in ("true", "True")
                    else ("masked" if pii else "none"),
                    "tests": column_tests.get((uid, name.lower()), []),
                    "lineage_status": status,
                    "kind": kind,
                    "reason": reason,
                    "upstream": upstream,
                }
            )
        config = entry.get("config") or {}
        focus = neighbourhood(graph, uid, levels, levels)
        column_data = column_graph(
            uid,
            [c["name"] for c in columns if c["lineage_status"] != "not_produced"],
            lineage_map,
            reverse,
            graph,
            levels,
            href_from_node,
        )
        context = {
            **common,
            "root": "../",
            "levels": levels,
            "n": {
                "unique_id": uid,
                "label": node.label,
                "resource_type": node.resource_type,
                "relation": entry.get("relation_name"),
                "path": entry.get("original_file_path"),
                "materialized": config.get("materialized"),
                "owner": _owner(entry, groups),
                "access": _access(config),
                "tags": sorted({*(entry.get("tags") or []), *(config.get("tags") or [])}),
                "run": statuses.get(uid),
                "url": _safe_url(entry.get("url")),
                "description": entry.get("description") or "",
                "columns": columns,
                "node_tests": node_tests.get(uid, []),
                "parents": [
                    {
                        "href": href_from_node(p),
                        "label": graph.nodes[p].label,
                        "resource_type": graph.nodes[p].resource_type,
                    }
                    for p in graph.parents.get(uid, [])
                ],
                "children": [
                    {
                        "href": href_from_node(c),
                        "label": graph.nodes[c].label,
                        "resource_type": graph.nodes[c].resource_type,
                    }
                    for c in graph.children.get(uid, [])
                ],
                "sql": entry.get("compiled_code") or entry.get("raw_code") or "",
            },
            "column_json": script_json(column_data) if column_data["edges"] else None,
            "focus_svg": render_svg(
                graph, focus, href=href_from_node, focus=uid, title=f"lineage of {node.label}"
            ),
        }
        path = out_dir / "nodes" / page_name(uid)
        path.write_text(node_tpl.render(**context), encoding="utf-8")
        written += 1

    rows = []
    for uid in sorted(
        graph.nodes, key=lambda u: (graph.nodes[u].resource_type, graph.nodes[u].label)
    ):
        node = graph.nodes[uid]
        entry = entries[uid]
        description = str(entry.get("description") or "")
        tags = " ".join(str(t) for t in entry.get("tags") or [])
        rows.append(
            {
                "href": "nodes/" + page_name(uid),
                "label": node.label,
                "resource_type": node.resource_type,
                "summary": description[:160] + ("…" if len(description) > 160 else ""),
                "search": f"{node.label} {node.resource_type} {tags} {description[:400]}",
            }
        )
    counts: dict[str, int] = {}
    for node in graph.nodes.values():
        counts[node.resource_type] = counts.get(node.resource_type, 0) + 1
    (out_dir / "index.html").write_text(
        env.get_template("index.html").render(
            **common,
            root="",
            nodes=rows,
            counts=", ".join(f"{v} {k}s" for k, v in sorted(counts.items())),
        ),
        encoding="utf-8",
    )
    edge_count = sum(len(v) for v in graph.children.values())
    (out_dir / "graph.html").write_text(
        env.get_template("graph.html").render(
            **common,
            root="",
            levels=levels,
            node_count=len(graph.nodes),
            edge_count=edge_count,
            data_json=script_json(
                graph_data(graph, entries, href=lambda u: "nodes/" + page_name(u))
            ),
        ),
        encoding="utf-8",
    )
    (out_dir / "lineage.json").write_text(
        json.dumps(
            {
                uid: {col: item.as_dict() for col, item in cols.items()}
                for uid, cols in sorted(lineage_map.items())
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    written += 2
    total_bytes = sum(
        p.stat().st_size
        for p in out_dir.rglob("*")
        if p.is_file() and p.relative_to(out_dir).parts[0] != "dbt"
    )
    column_counts = lineage_counts(lineage_map)
    return SiteOutcome(
        out_dir=out_dir,
        pages=written,
        models=sum(1 for n in graph.nodes.values() if n.resource_type == "model"),
        columns=column_counts["columns"],
        columns_resolved=column_counts["resolved"] + column_counts["constant"],
        columns_unknown=column_counts["unknown"],
        columns_not_produced=column_counts["not_produced"],
        lineage_seconds=lineage_seconds,
        render_seconds=time.perf_counter() - render_started,
        bytes_written=total_bytes,
    )
