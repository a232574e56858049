"""`dataops ci`: slim CI against production state: plan, run, diff, report."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tooling.console import console, err_console, new_table
from tooling.options import STATE, ProfilesDir, ProjectDir, Target, Vars

if TYPE_CHECKING:  # the ci modules load when a ci command runs, not at start-up
    from rich.table import Table

    from tooling.ci.plan import Plan
    from tooling.settings import Settings

app = typer.Typer(
    help="Slim CI: build what a branch changed against deferred production data, "
    "diff the data, and write one pull-request report."
)

StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state",
        help="Production state folder (`dataops state publish` output). Default: ci/state.",
        show_default=False,
    ),
]
Full = Annotated[
    bool,
    typer.Option("--full", help="No state needed: treat every node as changed, build all."),
]
CiDir = Annotated[
    Path | None,
    typer.Option(
        "--ci-dir",
        help="Folder for the CI DuckDB file, dbt artifacts and plan/diff JSON. Default: ci/out.",
        show_default=False,
    ),
]


class PlanFormat(StrEnum):
    table = "table"
    json = "json"


class ReportFormat(StrEnum):
    markdown = "markdown"
    json = "json"


def _paths(
    state: Path | None,
    ci_dir: Path | None,
    project_dir: Path | None,
    target: str | None,
    *,
    profiles_dir: Path | None = None,
    dbt_vars: str | None = None,
) -> tuple[Settings, Path, Path]:
    from tooling.ci.paths import default_ci_dir

    settings = STATE.settings(
        project_dir=project_dir, target=target, profiles_dir=profiles_dir, vars=dbt_vars
    )
    state_dir = (state or settings.root / "ci" / "state").resolve()
    out = (ci_dir or default_ci_dir(settings)).resolve()
    return settings, state_dir, out


def plan_table(plan: Plan) -> Table:
    from tooling.ci.plan import BUILDABLE
    from tooling.manifest import edges_from_pairs, walk

    table = new_table("Modified nodes")
    for column in ("node", "type", "why modified", "change", "downstream"):
        table.add_column(column)
    children = edges_from_pairs(plan.edges)
    impacted = set(plan.impacted)
    for m in plan.modified:
        down = [
            u
            for u in walk(children, [m.unique_id])
            if u != m.unique_id and u in impacted and u.split(".", 1)[0] in BUILDABLE
        ]
        change = m.change_class or ""
        if m.columns_removed:
            change += " (-" + ", -".join(m.columns_removed) + ")"
        if m.row_changes:
            change += " (" + ", ".join(m.row_changes) + ")"
        table.add_row(m.name, m.resource_type, "; ".join(m.reasons), change, str(len(down)))
    return table


@app.command("plan")
def plan(
    state: StateDir = None,
    full: Full = False,
    output_format: Annotated[
        PlanFormat, typer.Option("--format", help="table, or json for machines.")
    ] = PlanFormat.table,
    ci_dir: CiDir = None,
    dbt_vars: Vars = None,
    project_dir: ProjectDir = None,
    target: Target = None,
    profiles_dir: ProfilesDir = None,
) -> None:
    """List modified nodes with the reason, change class and downstream impact."""
    settings, state_dir, out = _paths(
        state, ci_dir, project_dir, target, profiles_dir=profiles_dir, dbt_vars=dbt_vars
    )
    from tooling.ci import workflow  # DuckDB and dbt: not at start-up
    from tooling.ci.plan import describe_counts

    result = workflow.plan(settings, state_dir=state_dir, full=full, ci_dir=out)
    if output_format is PlanFormat.json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    if result.full:
        console.print(f"full: {len(result.impacted_buildable)} buildable nodes")
        return
    if not result.modified:
        console.print("no modified nodes: nothing to build")
        return
    console.print(plan_table(result))
    console.print(f"impact (state:modified+): {describe_counts(result.impacted_by_type())}")
    if result.deleted:
        console.print("deleted: " + ", ".join(result.deleted))


@app.command("run")
def run(
    state: StateDir = None,
    full: Full = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Hide dbt's log lines.")] = False,
    ci_dir: CiDir = None,
    dbt_vars: Vars = None,
    project_dir: ProjectDir = None,
    target: Target = None,
    profiles_dir: ProfilesDir = None,
) -> None:
    """Build state:modified+ with --defer into an isolated CI DuckDB file.

    The production file is attached read-only, so deferred refs read
    production data; nothing writes to it.
    """
    settings, state_dir, out = _paths(
        state, ci_dir, project_dir, target, profiles_dir=profiles_dir, dbt_vars=dbt_vars
    )
    from tooling.ci import workflow  # DuckDB and dbt: not at start-up
    from tooling.ci.paths import CiPaths

    outcome = workflow.run(settings, state_dir=state_dir, full=full, ci_dir=out, quiet=quiet)
    if outcome.nothing_to_build:
        console.print("no modified nodes: nothing to build")
    else:
        console.print(
            f"built {len(outcome.built)} nodes ({len(outcome.plan.modified)} modified) "
            f"into {CiPaths(out).warehouse} in {outcome.wall_seconds:.1f}s"
        )
    for uid, causes in outcome.skipped.items():
        console.print(f"skipped: {uid} (failed upstream: {', '.join(causes) or 'unknown'})")
    for item in outcome.would_break:
        console.print(f"would break: {item['unique_id']} ({item['resource_type']})")
    if not outcome.ok:
        names = ", ".join(outcome.failed[:5])
        err_console.print(f"error: CI build failed: {len(outcome.failed)} node(s): {names}")
        raise typer.Exit(1)
    console.print("[green]slim CI passed[/green]")


@app.command("diff")
def diff(
    state: StateDir = None,
    downstream: Annotated[
        bool, typer.Option("--downstream", help="Also diff the impacted downstream models.")
    ] = False,
    output_format: Annotated[
        PlanFormat, typer.Option("--format", help="table, or json for machines.")
    ] = PlanFormat.table,
    ci_dir: CiDir = None,
    project_dir: ProjectDir = None,
    target: Target = None,
) -> None:
    """Diff each modified model's CI build against production, inside DuckDB."""
    settings, state_dir, out = _paths(state, ci_dir, project_dir, target)
    from tooling.ci import workflow  # DuckDB and dbt: not at start-up

    result = workflow.run_diff(settings, state_dir=state_dir, ci_dir=out, downstream=downstream)
    if output_format is PlanFormat.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
        return
    table = new_table("Data diff (branch vs production)")
    for column in ("model", "rows prod", "rows CI", "added", "removed", "changed", "columns"):
        table.add_column(column, justify="left" if column in ("model", "columns") else "right")
    for m in result.models:
        cols = [f"+{c}" for c in m.columns_added] + [f"-{c}" for c in m.columns_removed]
        cols += [f"~{r['column']}" for r in m.columns_retyped]
        table.add_row(
            m.unique_id.split(".", 2)[-1],
            f"{m.rows_prod:,}",
            f"{m.rows_ci:,}",
            *(
                str(v) if v is not None else "-"
                for v in (m.rows_added, m.rows_removed, m.rows_changed)
            ),
            ", ".join(cols),
        )
    console.print(table)
    for uid, why in result.skipped.items():
        console.print(f"not diffed: {uid} ({why})")


@app.command("report")
def report(
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="markdown (the PR comment) or json.")
    ] = ReportFormat.markdown,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the report to this file too.")
    ] = None,
    lint_json: Annotated[
        Path | None, typer.Option("--lint-json", help="`dataops lint --format json` output.")
    ] = None,
    check_json: Annotated[
        Path | None, typer.Option("--check-json", help="`dataops check --format json` output.")
    ] = None,
    ci_dir: CiDir = None,
    project_dir: ProjectDir = None,
    target: Target = None,
) -> None:
    """Write the pull-request report: impact, reasons, classes, data diffs, lint, graph."""
    settings, _, out = _paths(None, ci_dir, project_dir, target)
    from tooling.ci import pr_report, workflow  # DuckDB and dbt: not at start-up

    data = workflow.make_report(settings, ci_dir=out, lint_json=lint_json, check_json=check_json)
    text = (
        json.dumps(data, indent=2, default=str) + "\n"
        if output_format is ReportFormat.json
        else pr_report.render_markdown(data)
    )
    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(text, encoding="utf-8")
    print(text, end="")
