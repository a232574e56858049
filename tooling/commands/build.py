"""`dataops build`: ingest the sources, then build and test the dbt project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tooling.build import BuildOutcome
from tooling.build import build as run_build
from tooling.console import BarProgress, console, err_console
from tooling.ingest_run import relative
from tooling.options import STATE, ProjectDir, Target, Warehouse

STATUSES = ("pass", "warn", "error", "skip")


def summary_tables(outcome: BuildOutcome) -> list[Table]:
    tables = []
    if outcome.ingested:
        loaded = Table(title="Rows loaded per source", title_justify="left")
        loaded.add_column("source")
        loaded.add_column("rows", justify="right")
        loaded.add_column("entities loaded / skipped", justify="right")
        for source, rows in outcome.rows_per_source.items():
            mine = [r for r in outcome.ingested if r.source == source]
            done = sum(r.status == "loaded" for r in mine)
            loaded.add_row(source, f"{rows:,}", f"{done} / {len(mine) - done}")
        tables.append(loaded)
    nodes = Table(title="dbt build", title_justify="left")
    nodes.add_column("resource")
    for status in STATUSES:
        nodes.add_column(status, justify="right")
    for resource, counts in sorted(outcome.run.counts().items()):
        nodes.add_row(resource, *(str(counts.get(s, 0)) for s in STATUSES))
    tables.append(nodes)
    return tables


def build(
    select: Annotated[
        list[str] | None,
        typer.Option("--select", "-s", help="dbt selector(s) of nodes to build (repeatable)."),
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="dbt selector(s) to leave out.")
    ] = None,
    full_refresh: Annotated[
        bool,
        typer.Option("--full-refresh", help="Reload raw tables and rebuild incremental models."),
    ] = False,
    skip_ingest: Annotated[
        bool, typer.Option("--skip-ingest", help="Do not ingest; build from what is loaded.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Hide dbt's log lines.")] = False,
    project_dir: ProjectDir = None,
    target: Target = None,
    warehouse: Warehouse = None,
) -> None:
    """Ingest new source files, then `dbt build` (seeds, models, snapshots, tests)."""
    settings = STATE.settings(project_dir=project_dir, target=target, warehouse=warehouse)
    with BarProgress() as progress:
        outcome = run_build(
            settings,
            select=select,
            exclude=exclude,
            full_refresh=full_refresh,
            skip_ingest=skip_ingest,
            progress=progress,
            quiet=quiet,
        )
    if outcome.ingest_skipped_reason:
        console.print(f"ingestion skipped: {outcome.ingest_skipped_reason}")
    for table in summary_tables(outcome):
        console.print(table)
    console.print(
        f"warehouse: {relative(settings.warehouse, Path.cwd())}  "
        f"wall time: {outcome.wall_seconds:.1f}s"
    )
    if not outcome.ok:
        failed = outcome.run.failed
        names = ", ".join(n.unique_id for n in failed[:5]) + (" ..." if len(failed) > 5 else "")
        err_console.print(
            f"error: build failed: {len(failed)} node(s) errored or failed"
            + (f": {names}" if names else "")
        )
        raise typer.Exit(1)
    console.print("[green]build passed[/green]")
