"""`dataops build`: ingest the sources, then build and test the dbt project."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ingestion.errors import IngestionError
from tooling.artifacts import disabled_models
from tooling.console import BarProgress, console, err_console, new_table
from tooling.errors import DataOpsError, UsageError
from tooling.eventlog import LOG
from tooling.options import STATE, ProfilesDir, ProjectDir, Target, Vars, Warehouse

if TYPE_CHECKING:
    from rich.table import Table

    from tooling.monitor import RecordOutcome
    from tooling.pipeline import BuildOutcome

STATUSES = ("pass", "warn", "error", "skip", "no-op")


def summary_tables(outcome: BuildOutcome) -> list[Table]:
    tables = []
    if outcome.ingested:
        loaded = new_table("Rows loaded per source")
        loaded.add_column("source")
        loaded.add_column("rows", justify="right")
        loaded.add_column("entities loaded / skipped", justify="right")
        for source, rows in outcome.rows_per_source.items():
            mine = [r for r in outcome.ingested if r.source == source]
            done = sum(r.status == "loaded" for r in mine)
            loaded.add_row(source, f"{rows:,}", f"{done} / {len(mine) - done}")
        tables.append(loaded)
    if outcome.published:
        moved = [p for p in outcome.published if p.published]
        published = new_table(
            f"Raw tables published to {outcome.target_type}: {len(moved)} moved, "
            f"{len(outcome.published) - len(moved)} unchanged"
        )
        published.add_column("table")
        published.add_column("rows", justify="right")
        published.add_column("published")
        for p in outcome.published:
            published.add_row(p.table, f"{p.rows:,}", "yes" if p.published else "unchanged")
        tables.append(published)
    nodes = new_table("dbt build")
    nodes.add_column("resource")
    counted = outcome.run.counts()
    # no-op (dbt's NO-OP: saved queries) only gets a column when a node has it.
    shown = [s for s in STATUSES if s != "no-op" or any(c.get(s) for c in counted.values())]
    for status in shown:
        nodes.add_column(status, justify="right")
    for resource, counts in sorted(counted.items()):
        nodes.add_row(resource, *(str(counts.get(s, 0)) for s in shown))
    tables.append(nodes)
    return tables


def emit_events(outcome: BuildOutcome, recorded: RecordOutcome | None) -> None:
    """`--log-format json`: the build's summary as events, one JSON object each."""
    for r in outcome.ingested:
        LOG.emit(
            "ingest.entity",
            source=r.source,
            entity=r.entity,
            status=r.status,
            rows=r.rows,
            files=len(r.files),
            batch_id=r.batch_id,
        )
    for resource, counts in sorted(outcome.run.counts().items()):
        LOG.emit("build.resource", resource=resource, **{s: counts.get(s, 0) for s in STATUSES})
    if outcome.freshness_error:
        LOG.emit("freshness.failed", level="warning", message=outcome.freshness_error)
    if recorded is not None:
        LOG.emit(
            "monitor.recorded" if recorded.recorded else "monitor.skipped",
            level="info" if recorded.recorded else "warning",
            message=recorded.summary(),
            run_id=recorded.run_id,
            new_incidents=len(recorded.new_incidents),
            resolved_incidents=len(recorded.resolved_incidents),
            open_incidents=recorded.open_incidents,
            seconds=round(recorded.seconds, 4),
        )
    LOG.emit(
        "build.finished",
        level="info" if outcome.ok else "error",
        ok=outcome.ok,
        failed=[n.unique_id for n in outcome.run.failed],
        wall_seconds=round(outcome.wall_seconds, 3),
    )


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
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress display and no dbt log lines.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="dbt's full log instead of the progress display (and tracebacks).",
        ),
    ] = False,
    freshness: Annotated[
        bool | None,
        typer.Option(
            "--freshness/--no-freshness",
            help="Also run `dbt source freshness` for monitoring. Default: "
            "[tool.dataops.monitor] freshness, else off.",
            show_default=False,
        ),
    ] = None,
    alert_webhook: Annotated[
        str | None,
        typer.Option(
            "--alert-webhook",
            help="Post monitoring alerts to this Slack-compatible webhook (a secret: never "
            "printed). Default: DATAOPS_ALERT_WEBHOOK, else [tool.dataops.monitor] webhook.",
            show_default=False,
        ),
    ] = None,
    monitor: Annotated[
        bool | None,
        typer.Option(
            "--monitor/--no-monitor",
            help="Record the run in the monitoring store (never fails the build). Default: "
            "on, unless DATAOPS_MONITOR=0 or [tool.dataops.monitor] enabled = false.",
            show_default=False,
        ),
    ] = None,
    dbt_vars: Vars = None,
    project_dir: ProjectDir = None,
    target: Target = None,
    warehouse: Warehouse = None,
    profiles_dir: ProfilesDir = None,
) -> None:
    """Ingest new source files, then `dbt build` (seeds, models, snapshots, tests)."""
    # The pipeline (DuckDB, the pydantic config, dbt) is imported here, not at start-up:
    # `dataops check`, `lint` and `--help` should not pay for it.
    from tooling.ingestion_runs import relative
    from tooling.monitor import record_run
    from tooling.monitor.config import load as monitor_settings
    from tooling.pipeline import build as run_build
    from tooling.progress import BuildProgress

    settings = STATE.settings(
        project_dir=project_dir,
        target=target,
        warehouse=warehouse,
        profiles_dir=profiles_dir,
        vars=dbt_vars,
    )
    monitor_config = monitor_settings(
        settings, webhook=alert_webhook, freshness=freshness, enabled=monitor
    )
    started_at = datetime.now(UTC)
    STATE.verbose = STATE.verbose or verbose
    # Default: live progress and no dbt console log; --verbose, --quiet and
    # --log-format json keep dbt's own output (full, errors only, JSON).
    live = not (LOG.json or STATE.verbose or quiet)
    display = BuildProgress(err_console, console) if live else BarProgress(enabled=not LOG.json)
    try:
        with display as progress:
            outcome = run_build(
                settings,
                select=select,
                exclude=exclude,
                full_refresh=full_refresh,
                skip_ingest=skip_ingest,
                progress=progress,
                quiet=quiet,
                freshness=monitor_config.freshness,
                dbt_callbacks=[display.on_dbt_event] if isinstance(display, BuildProgress) else (),
            )
    except (DataOpsError, IngestionError) as exc:
        # The run stopped before dbt wrote its artifacts: record that it failed.
        if monitor_config.enabled and not isinstance(exc, UsageError):
            failed = record_run(
                settings,
                command="build",
                started_at=started_at,
                finished_at=datetime.now(UTC),
                status="error",
                target_dir=settings.target_dir,
                ingested=None,
                config=monitor_config,
                error=str(exc),
            )
            if LOG.json:
                LOG.emit(
                    "monitor.recorded" if failed.recorded else "monitor.skipped",
                    level="warning",
                    message=failed.summary(),
                )
            else:
                err_console.print(failed.summary(), markup=False, soft_wrap=True)
        raise
    # Monitoring, after the run and from its artifacts; never fails the build.
    recorded = (
        record_run(
            settings,
            command="build",
            started_at=outcome.started_at,
            finished_at=outcome.finished_at or outcome.started_at,
            status="success" if outcome.ok else "fail",
            target_dir=settings.target_dir,
            ingested=outcome.ingested,
            config=monitor_config,
        )
        if monitor_config.enabled
        else None
    )
    if LOG.json:
        emit_events(outcome, recorded)
        if not outcome.ok:
            raise typer.Exit(1)
        return
    if outcome.freshness_error:
        console.print(f"source freshness failed: {outcome.freshness_error}")
    if recorded is not None:
        console.print(recorded.summary(), markup=False, soft_wrap=True)
    if outcome.ingest_skipped_reason:
        console.print(f"ingestion skipped: {outcome.ingest_skipped_reason}")
    disabled = disabled_models(settings.target_dir)
    if disabled:
        console.print(
            f"notice: {len(disabled)} model(s) disabled by config on this target "
            f"({settings.target or 'default'}): {', '.join(disabled)}",
            markup=False,
            soft_wrap=True,
        )
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
        for node in failed[:5]:
            err_console.print(f"  {node.unique_id}: {node.reason}", markup=False, soft_wrap=True)
        raise typer.Exit(1)
    console.print("[green]build passed[/green]")
