"""`dataops ingest`: land the declared sources in the DuckDB warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tooling.console import BarProgress, console
from tooling.ingest_run import relative, results_rows, run_ingest
from tooling.options import STATE, ProjectDir, Warehouse

app = typer.Typer(help="Land raw data (files, APIs, databases) in DuckDB.")


def ingest_table(results: list, title: str = "Ingestion") -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("table", "mode", "status", "new files", "skipped files", "rows", "time"):
        table.add_column(column, justify="right" if column in ("rows", "time") else "left")
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
    sources: Annotated[
        Path | None,
        typer.Option(
            "--sources",
            help="Sources YAML. Default: [tool.dataops] sources.",
            envvar="DATAOPS_SOURCES",
        ),
    ] = None,
    landing_root: Annotated[
        Path | None,
        typer.Option(
            "--landing-root",
            help="Folder the source globs are relative to.",
            envvar="DATAOPS_LANDING_ROOT",
        ),
    ] = None,
    project_dir: ProjectDir = None,
    warehouse: Warehouse = None,
) -> None:
    """Load new source files into raw_<source>.<entity>; files already loaded are skipped."""
    if ctx.invoked_subcommand is not None:
        return
    settings = STATE.settings(
        project_dir=project_dir,
        warehouse=warehouse,
        sources=sources,
        landing_root=landing_root,
        require_project=False,
    )
    with BarProgress(enabled=not dry_run) as progress:
        results = run_ingest(
            settings,
            source=source,
            entity=entity,
            full_refresh=full_refresh,
            dry_run=dry_run,
            progress=progress,
        )
    title = "Ingestion plan (dry run)" if dry_run else "Ingestion"
    console.print(ingest_table(results, title))
    console.print(f"warehouse: {relative(settings.warehouse, Path.cwd())}")
