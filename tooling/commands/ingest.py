"""`dataops ingest`: land the declared sources in the DuckDB warehouse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tooling.console import BarProgress, console, err_console, new_table
from tooling.errors import UsageError
from tooling.options import STATE, ProjectDir, SourcesFile, Warehouse

app = typer.Typer(help="Land raw data (files, APIs, databases) in DuckDB.")

if TYPE_CHECKING:
    from rich.table import Table


def ingest_table(results: list, title: str = "Ingestion") -> Table:
    from tooling.ingestion_runs import results_rows

    table = new_table(title)
    columns = (
        "table",
        "mode",
        "status",
        "new files",
        "skipped files",
        "rows",
        "quarantined",
        "drift",
        "high-water mark",
        "time",
    )
    for column in columns:
        table.add_column(
            column, justify="right" if column in ("rows", "quarantined", "time") else "left"
        )
    for row in results_rows(results):
        table.add_row(*row)
    return table


@app.callback(invoke_without_command=True)
def ingest(
    ctx: typer.Context,
    source: Annotated[
        str | None,
        typer.Option("--source", help="Only this source (a name from the sources YAML)."),
    ] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="Only this entity.")] = None,
    full_refresh: Annotated[
        bool,
        typer.Option("--full-refresh", help="Rebuild the tables from every matched file."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be loaded; write nothing.")
    ] = False,
    sources: SourcesFile = None,
    landing_root: Annotated[
        Path | None,
        typer.Option(
            "--landing-root",
            help="Folder the source globs are relative to.",
            envvar="DATAOPS_LANDING_ROOT",
        ),
    ] = None,
    max_bad_rows: Annotated[
        int | None,
        typer.Option(
            "--max-bad-rows",
            help="Fail an entity's load when more rows than this go to quarantine "
            "(overrides max_bad_rows in the sources YAML).",
            min=0,
        ),
    ] = None,
    project_dir: ProjectDir = None,
    warehouse: Warehouse = None,
) -> None:
    """Load new data into raw_<source>.<entity>: files, REST APIs, PostgreSQL tables."""
    if ctx.invoked_subcommand is not None:
        return
    settings = STATE.settings(
        project_dir=project_dir,
        warehouse=warehouse,
        sources=sources,
        landing_root=landing_root,
        require_project=False,
    )
    # Ingestion (DuckDB, the pydantic config) is imported when it runs, not at start-up.
    from tooling.ingestion_runs import relative, run_ingest, warnings

    with BarProgress(enabled=not dry_run) as progress:
        results = run_ingest(
            settings,
            source=source,
            entity=entity,
            full_refresh=full_refresh,
            dry_run=dry_run,
            progress=progress,
            max_bad_rows=max_bad_rows,
        )
    for line in warnings(results):
        err_console.print(f"warning: {line}", markup=False, soft_wrap=True)
    title = "Ingestion plan (dry run)" if dry_run else "Ingestion"
    console.print(ingest_table(results, title))
    console.print(f"warehouse: {relative(settings.warehouse, Path.cwd())}")


@app.command("status")
def status(
    sources: SourcesFile = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    project_dir: ProjectDir = None,
    warehouse: Warehouse = None,
) -> None:
    """Per entity: last load, high-water mark, rows, drift events and quarantined rows."""
    if output not in ("table", "json"):
        raise UsageError(f"--format must be table or json, not {output!r}")
    settings = STATE.settings(
        project_dir=project_dir, warehouse=warehouse, sources=sources, require_project=False
    )
    from tooling.ingestion_runs import ingest_status, status_rows

    statuses = ingest_status(settings)
    if output == "json":
        print(json.dumps([s.as_dict() for s in statuses], indent=2))
        return
    table = new_table("Ingestion status")
    for column in (
        "table",
        "last load (UTC)",
        "status",
        "high-water mark",
        "rows",
        "drift events",
        "quarantined",
    ):
        table.add_column(column, justify="right" if column in ("rows", "quarantined") else "left")
    for row in status_rows(statuses):
        table.add_row(*row)
    console.print(table)
