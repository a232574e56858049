"""`dataops ci report`: one pull-request report from the plan, the run and the diff.

Also folds in `dataops lint --format json` and `dataops check --format json`
output (read from files, so the report works without those commands), kept to
the files and nodes the branch changed. Markdown is concise with details
collapsed, and starts with a hidden marker so the workflow can find and update
its one comment. Never prints.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tooling.artifacts import bucket
from tooling.ci.diff import DiffResult
from tooling.ci.plan import BUILDABLE, Plan, count_by_type, describe_counts
from tooling.manifest import edges_from_pairs, walk

MARKER = "<!-- dataops-ci-report -->"
MAX_ROWS = 50


def build_report(
    plan: Plan,
    *,
    run: dict[str, Any] | None,
    diff: DiffResult | None,
    lint: dict[str, Any] | None,
    check: dict[str, Any] | None,
    project_prefix: str = "",
) -> dict[str, Any]:
    """The report as data (what `--format json` prints and the Markdown renders)."""
    prefix = project_prefix.strip("/")
    changed_files = sorted(
        {f"{prefix}/{m.path}" if prefix else m.path for m in plan.modified if m.path}
    )
    modified_ids = set(plan.modified_ids)
    impacted = set(plan.impacted)
    report: dict[str, Any] = {
        "full": plan.full,
        "state_dir": plan.state_dir,
        "modified": [
            {
                "unique_id": m.unique_id,
                "resource_type": m.resource_type,
                "name": m.name,
                "path": m.path,
                "reasons": m.reasons,
                "change_class": m.change_class,
                "columns_added": m.columns_added,
                "columns_removed": m.columns_removed,
                "columns_retyped": m.columns_retyped,
                "row_changes": m.row_changes,
                "value_changes": m.value_changes,
                "sql_note": m.sql_note,
                "downstream": [
                    u
                    for u in _downstream(plan, m.unique_id)
                    if u != m.unique_id and u.split(".", 1)[0] in BUILDABLE
                ],
            }
            for m in plan.modified
        ],
        "impacted": [u for u in plan.impacted if u.split(".", 1)[0] in BUILDABLE],
        "impacted_tests": sum(1 for u in plan.impacted if u.split(".", 1)[0] not in BUILDABLE),
        "impacted_by_type": plan.impacted_by_type(),
        "run_by_type": run_by_type(run),
        "skipped": dict((run or {}).get("skipped") or {}),
        "would_break": list((run or {}).get("would_break") or []),
        "deleted": plan.deleted,
        "breaking": [
            m.unique_id for m in plan.modified if (m.change_class or "").startswith("breaking")
        ],
        "changed_files": changed_files,
        "run": run,
        "diff": diff.to_dict() if diff is not None else None,
        "lint": None,
        "check": None,
        "mermaid": mermaid(plan),
    }
    if lint is not None:
        violations = [v for v in lint.get("violations", []) if v.get("path") in changed_files]
        report["lint"] = {"files_linted": lint.get("files_linted"), "violations": violations}
    if check is not None:
        findings = [
            f
            for f in check.get("findings", [])
            if f.get("node") in modified_ids
            or f.get("node") in impacted
            or (f.get("path") and f.get("path") in {m.path for m in plan.modified})
        ]
        report["check"] = {
            "score": check.get("score"),
            "errors": sum(f.get("severity") == "error" for f in findings),
            "warnings": sum(f.get("severity") == "warn" for f in findings),
            "findings": findings,
        }
    report["status"] = status(report)
    return report


def run_by_type(run: dict[str, Any] | None) -> dict[str, dict[str, int]]:
    """The CI run's node statuses (pass / warn / error / skip / no-op) per resource type."""
    by_status: dict[str, list[str]] = {}
    for uid, status in ((run or {}).get("statuses") or {}).items():
        if not uid.startswith("operation."):
            by_status.setdefault(bucket(status), []).append(uid)
    return {status: count_by_type(uids) for status, uids in by_status.items()}


def _downstream(plan: Plan, uid: str) -> list[str]:
    return list(walk(edges_from_pairs(plan.edges), [uid]))


def status(report: dict[str, Any]) -> str:
    run = report.get("run") or {}
    if run and (not run.get("dbt_success", True) or run.get("failed")):
        return "failed"
    if (report.get("check") or {}).get("errors"):
        return "failed"
    if report["breaking"] or report.get("would_break"):
        return "attention"
    if (report.get("lint") or {}).get("violations"):
        return "attention"
    return "passed"


def _mid(uid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", uid)


def mermaid(plan: Plan) -> str:
    """A Mermaid flowchart of the impacted subgraph; modified nodes highlighted."""
    nodes = [u for u in plan.impacted if u.split(".", 1)[0] in BUILDABLE]
    if not nodes or plan.full:
        return ""
    modified = set(plan.modified_ids)
    lines = ["flowchart LR"]
    for uid in nodes:
        label = uid.split(".", 2)[-1]
        lines.append(f'    {_mid(uid)}["{label}"]')
    for a, b in plan.edges:
        if a in nodes and b in nodes:
            lines.append(f"    {_mid(a)} --> {_mid(b)}")
    lines.append("    classDef modified fill:#fde68a,stroke:#b45309")
    marked = [_mid(u) for u in nodes if u in modified]
    if marked:
        lines.append(f"    class {','.join(marked)} modified")
    return "\n".join(lines)


def _name(uid: str) -> str:
    """The short name of a node: data tests without dbt's hash suffix."""
    parts = uid.split(".")
    if parts[0] == "test" and len(parts) == 4:
        return parts[2]
    return uid.split(".", 2)[-1]


def _fmt(value: Any) -> str:
    text = "NULL" if value is None else str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 40 else text[:37] + "..."


ICONS = {"passed": "✅", "attention": "⚠️", "failed": "❌"}


def render_markdown(report: dict[str, Any]) -> str:
    out: list[str] = [MARKER, f"## {ICONS[report['status']]} dataops slim CI: {report['status']}"]
    run = report.get("run") or {}
    modified = report["modified"]
    if report["full"]:
        out.append("")
        out.append("Full build (no production state).")
        out += _render_run(report)
    else:
        built = len(run.get("built", [])) if run else 0
        line = f"{len(modified)} modified; impact: {describe_counts(report['impacted_by_type'])}"
        if run:
            line += (
                "; nothing to build"
                if run.get("nothing_to_build")
                else f"; {built} nodes built in {run.get('wall_seconds', 0):.1f}s"
            )
            if run.get("failed"):
                line += f"; **{len(run['failed'])} failed**: " + ", ".join(
                    f"`{_name(u)}`" for u in run["failed"][:10]
                )
        if report["breaking"]:
            line += "; **breaking:** " + ", ".join(f"`{_name(u)}`" for u in report["breaking"])
        out += ["", line]
        out += _render_run(report)
    if modified:
        out += ["", "| node | why modified | change | downstream |", "|---|---|---|---|"]
        for m in modified[:MAX_ROWS]:
            change = m["change_class"] or ""
            cols = []
            if m["columns_added"]:
                cols.append("+" + ", +".join(m["columns_added"]))
            if m["columns_removed"]:
                cols.append("-" + ", -".join(m["columns_removed"]))
            if m["columns_retyped"]:
                cols.append("~" + ", ~".join(m["columns_retyped"]))
            if m.get("row_changes"):
                cols.append("rows: " + ", ".join(m["row_changes"]))
            if m.get("value_changes"):
                cols.append("values: " + ", ".join(m["value_changes"]))
            if cols:
                change += f" ({'; '.join(cols)})"
            down = ", ".join(f"`{_name(u)}`" for u in m["downstream"][:8])
            if len(m["downstream"]) > 8:
                down += f" +{len(m['downstream']) - 8} more"
            out.append(
                f"| `{_name(m['unique_id'])}` ({m['resource_type']}) | "
                f"{'; '.join(m['reasons'])} | {change} | {down or 'none'} |"
            )
    if report["deleted"]:
        out += ["", "Deleted: " + ", ".join(f"`{_name(u)}`" for u in report["deleted"])]
    diff = report.get("diff")
    if diff and (diff["models"] or diff["skipped"]):
        out += ["", "### Data diff (branch vs production)"]
        for m in diff["models"]:
            out += _render_model_diff(m)
        for uid, why in diff["skipped"].items():
            out.append(f"- `{_name(uid)}`: not diffed ({why})")
    lint = report.get("lint")
    if lint is not None:
        v = lint["violations"]
        out += ["", f"<details><summary>Lint: {len(v)} violation(s) in changed files</summary>", ""]
        for item in v[:MAX_ROWS]:
            out.append(
                f"- `{item['path']}:{item['line']}:{item['column']}` "
                f"{item['code']}: {item['description']}"
            )
        out += ["", "</details>"]
    check = report.get("check")
    if check is not None:
        out += [
            "",
            f"<details><summary>Governance: {check['errors']} error(s), {check['warnings']} "
            f"warning(s) on impacted nodes (project score {check['score']})</summary>",
            "",
        ]
        for f in check["findings"][:MAX_ROWS]:
            out.append(f"- {f['severity']} `{_name(f['node'])}` {f['rule']}: {f['message']}")
        out += ["", "</details>"]
    if report["mermaid"]:
        out += [
            "",
            "<details><summary>Impacted graph</summary>",
            "",
            "```mermaid",
            report["mermaid"],
            "```",
            "",
            "</details>",
        ]
    return "\n".join(out) + "\n"


STATUS_WORDS = {
    "pass": "passed",
    "warn": "warned",
    "error": "failed",
    "skip": "skipped",
    "no-op": "no-op",
}


def _render_run(report: dict[str, Any]) -> list[str]:
    """The run per resource type, the verdict (what would break) and every skipped node."""
    out: list[str] = []
    by_type = report.get("run_by_type") or {}
    if by_type:
        out += [
            "",
            "Run: "
            + "; ".join(
                f"{STATUS_WORDS.get(status, status)} {describe_counts(counts)}"
                for status, counts in sorted(
                    by_type.items(),
                    key=lambda kv: list(STATUS_WORDS).index(kv[0]) if kv[0] in STATUS_WORDS else 99,
                )
            ),
        ]
    broken = report.get("would_break") or []
    if broken:
        items = []
        for b in broken:
            why = (
                f"skipped: {', '.join(f'`{_name(c)}`' for c in b['because'])} failed"
                if b["because"]
                else b["status"]
            )
            items.append(f"`{_name(b['unique_id'])}` ({b['resource_type']}, {why})")
        out += ["", "**Would break:** " + ", ".join(items)]
    skipped = report.get("skipped") or {}
    if skipped:
        out += [
            "",
            f"<details><summary>Skipped: {len(skipped)} node(s) because an upstream failed"
            "</summary>",
            "",
            "| skipped node | type | failed upstream |",
            "|---|---|---|",
        ]
        for uid, causes in list(skipped.items())[:MAX_ROWS]:
            cause = ", ".join(f"`{_name(c)}`" for c in causes) or "unknown"
            out.append(f"| `{_name(uid)}` | {uid.split('.', 1)[0]} | {cause} |")
        out += ["", "</details>"]
    return out


def _render_model_diff(m: dict[str, Any]) -> list[str]:
    name = _name(m["unique_id"])
    bits = [f"rows {m['rows_prod']:,} → {m['rows_ci']:,}"]
    if m["rows_added"] is not None:
        bits.append(f"+{m['rows_added']:,} / -{m['rows_removed']:,} / ~{m['rows_changed']:,} rows")
    schema = []
    schema += [f"+{c}" for c in m["columns_added"]]
    schema += [f"-{c}" for c in m["columns_removed"]]
    schema += [f"~{r['column']} ({r['prod']} → {r['ci']})" for r in m["columns_retyped"]]
    if schema:
        bits.append("columns " + ", ".join(schema))
    lines = ["", f"<details><summary><code>{name}</code>: {'; '.join(bits)}</summary>", ""]
    if m.get("note"):
        lines.append(f"_{m['note']}_")
    if m["primary_key"]:
        lines.append(f"Primary key: `{', '.join(m['primary_key'])}`.")
    if m["changed_by_column"]:
        lines += ["", "| column | changed values |", "|---|---|"]
        lines += [f"| `{c}` | {n:,} |" for c, n in m["changed_by_column"].items()]
    for kind in ("added", "removed", "changed"):
        rows = m["samples"].get(kind) or []
        if not rows:
            continue
        lines += ["", f"Sample {kind} rows:", ""]
        for r in rows:
            parts = []
            for k, v in r.items():
                if isinstance(v, dict):
                    parts.append(f"{k}: {_fmt(v['prod'])} → {_fmt(v['ci'])}")
                else:
                    parts.append(f"{k}={_fmt(v)}")
            lines.append("- " + ", ".join(parts))
    lines += ["", "</details>"]
    return lines


def project_prefix(project_dir: Path, root: Path) -> str:
    """The dbt project folder relative to the repository root (lint paths use the root)."""
    try:
        return project_dir.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return ""
