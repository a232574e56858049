"""`dataops monitor`: open incidents and the observability report."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated

import typer

from tooling.console import console, new_table
from tooling.eventlog import LOG
from tooling.options import STATE, ProjectDir, Warehouse

app = typer.Typer(
    help="Run history, open incidents and the observability report.", no_args_is_help=True
)


class OutputFormat(enum.StrEnum):
    table = "table"
    json = "json"


Store = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Monitoring DuckDB file. Default: DATAOPS_MONITOR_STORE, else [tool.dataops.monitor]"
        " store, else monitoring.duckdb next to the warehouse.",
        show_default=False,
    ),
]


@app.command("status")
def status(
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="table or json."),
    ] = OutputFormat.table,
    store: Store = None,
    project_dir: ProjectDir = None,
    warehouse: Warehouse = None,
) -> None:
    """Print the open incidents (exit 0 either way; use --format json for machines)."""
    from tooling.monitor.config import load as monitor_settings
    from tooling.monitor.history import connect_read, incidents_as_dicts, open_incidents

    settings = STATE.settings(project_dir=project_dir, warehouse=warehouse, require_project=False)
    config = monitor_settings(settings, store=store)
    con = connect_read(config.store)
    try:
        incidents = open_incidents(con)
    finally:
        con.close()
    if output_format is OutputFormat.json:
        print(json.dumps({"open_incidents": incidents_as_dicts(incidents)}, indent=2))
        return
    if LOG.json:
        for incident in incidents:
            LOG.emit("monitor.incident", **incidents_as_dicts([incident])[0])
        return
    if not incidents:
        console.print("no open incidents")
        return
    table = new_table(f"{len(incidents)} open incident(s)")
    for column in ("severity", "check", "key", "detail", "opened (UTC)"):
        table.add_column(column)
    for i in incidents:
        table.add_row(i.severity, i.check_name, i.key, i.detail, i.opened_at)
    console.print(table)


@app.command("report")
def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "monitoring-report.html"
    ),
    last: Annotated[int, typer.Option("--last", help="How many recent runs to chart.")] = 50,
    store: Store = None,
    project_dir: ProjectDir = None,
    warehouse: Warehouse = None,
) -> None:
    """Write a static, offline HTML report with charts of the run history."""
    from tooling.monitor.config import load as monitor_settings
    from tooling.monitor.html_report import write_report

    settings = STATE.settings(project_dir=project_dir, warehouse=warehouse, require_project=False)
    config = monitor_settings(settings, store=store)
    data = write_report(config.store, out, last=last)
    if LOG.json:
        LOG.emit(
            "monitor.report", path=str(out), runs=len(data.runs), open_incidents=len(data.incidents)
        )
        return
    console.print(
        f"report written to {out} ({len(data.runs)} run(s), {len(data.incidents)} open incident(s))"
    )
