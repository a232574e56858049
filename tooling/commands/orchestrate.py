"""`dataops orchestrate`: the project as an Airflow DAG, and its monitoring step."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from tooling.console import console, err_console
from tooling.errors import UsageError
from tooling.options import STATE, ProjectDir, SourcesFile, Target, Warehouse

app = typer.Typer(
    help="Run the project from an orchestrator (Apache Airflow + astronomer-cosmos).",
    no_args_is_help=True,
)

DAG_ID = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


@app.command("airflow")
def airflow(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the DAG file into.")],
    dag_id: Annotated[str, typer.Option("--dag-id", help="The DAG's id.")] = "dataops",
    schedule: Annotated[
        str, typer.Option("--schedule", help="Cron expression, or 'none' for manual runs only.")
    ] = "0 3 * * *",
    retries: Annotated[
        int, typer.Option("--retries", min=0, help="Retries of each source's ingestion.")
    ] = 2,
    retry_delay: Annotated[
        int,
        typer.Option("--retry-delay", min=0, help="Seconds before the first retry (doubles)."),
    ] = 60,
    max_retry_delay: Annotated[
        int, typer.Option("--max-retry-delay", min=0, help="Cap of the retry delay, seconds.")
    ] = 900,
    test_behavior: Annotated[
        str,
        typer.Option(
            "--test-behavior",
            help="BUILD (one `dbt build` task per node, its tests included) or AFTER_EACH "
            "(a run and a test task per model: twice the dbt invocations).",
        ),
    ] = "BUILD",
    dbt_executable: Annotated[
        Path | None,
        typer.Option("--dbt-executable", help="dbt of the project's env. Default: .venv/bin/dbt."),
    ] = None,
    dataops_executable: Annotated[
        Path | None,
        typer.Option("--dataops-executable", help="dataops of the project's env (.venv/bin)."),
    ] = None,
    airflow_python: Annotated[
        Path | None,
        typer.Option(
            "--airflow-python",
            help="Python of Airflow's env: its Airflow and Cosmos versions are checked "
            "against the pins.",
        ),
    ] = None,
    sources: SourcesFile = None,
    project_dir: ProjectDir = None,
    target: Target = None,
    warehouse: Warehouse = None,
) -> None:
    """Write <out>/<dag-id>_dag.py: one ingestion task per source, dbt via Cosmos, monitoring."""
    if not DAG_ID.match(dag_id):
        raise UsageError(f"--dag-id {dag_id!r}: use letters, digits, '_', '.', '-'")
    from tooling.orchestration.airflow import TEST_BEHAVIORS, DagOptions, write_dag

    if test_behavior.upper() not in TEST_BEHAVIORS:
        raise UsageError(f"--test-behavior must be one of {', '.join(TEST_BEHAVIORS)}")
    settings = STATE.settings(
        project_dir=project_dir, target=target, warehouse=warehouse, sources=sources
    )
    options = DagOptions(
        dag_id=dag_id,
        schedule=None if schedule.lower() == "none" else schedule,
        retries=retries,
        retry_delay_seconds=retry_delay,
        max_retry_delay_seconds=max_retry_delay,
        test_behavior=test_behavior.upper(),
        dbt_executable=dbt_executable.absolute() if dbt_executable else None,
        dataops_executable=dataops_executable.absolute() if dataops_executable else None,
        airflow_python=airflow_python,
    )
    path = write_dag(settings, out, options)
    console.print(f"wrote {path}", markup=False, soft_wrap=True)


@app.command("record")
def record(
    run_id: Annotated[str, typer.Option("--run-id", help="The orchestrator's run id.")],
    artifacts: Annotated[
        Path, typer.Option("--artifacts", help="Folder the DAG's tasks left their results in.")
    ],
    started_at: Annotated[
        str | None,
        typer.Option("--started-at", help="When the run started (ISO 8601). Default: now."),
    ] = None,
    project_dir: ProjectDir = None,
    target: Target = None,
    warehouse: Warehouse = None,
) -> None:
    """Record an orchestrated run in the monitoring store and alert; exit 1 if it failed."""
    if not run_id.strip():
        raise UsageError("--run-id is empty")
    try:
        started = datetime.fromisoformat(started_at) if started_at else datetime.now(UTC)
    except ValueError:
        raise UsageError(f"--started-at {started_at!r} is not an ISO 8601 time") from None
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    settings = STATE.settings(project_dir=project_dir, target=target, warehouse=warehouse)
    from tooling.orchestration.record import record_orchestrated_run

    run = record_orchestrated_run(settings, run_id=run_id, artifacts=artifacts, started_at=started)
    console.print(run.outcome.summary(), markup=False, soft_wrap=True)
    merged = run.merged
    console.print(
        f"run {run_id}: {merged.results} dbt result(s), {len(merged.failed)} failed, "
        f"{merged.skipped} node(s) not run, {len(run.failed_loads)} failed load(s)",
        markup=False,
        soft_wrap=True,
    )
    if not run.ok:
        culprits = [*run.failed_loads, *merged.failed][:5]
        err_console.print(
            "error: the orchestrated run failed" + (f": {', '.join(culprits)}" if culprits else ""),
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
