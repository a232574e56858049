"""`dataops build` as a function: ingest, then one `dbt build` in this process."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingestion.results import EntityResult, Progress, summarize
from ingestion.warehouse import connect
from tooling.artifacts import RunSummary, read_run_results
from tooling.dbt_invoke import fewer_collections, invoke
from tooling.engines import PublishResult, preflight, publish_raw
from tooling.errors import DataOpsError, UsageError
from tooling.ingestion_runs import run_ingest
from tooling.settings import Settings


@dataclass
class BuildOutcome:
    ingested: list[EntityResult] = field(default_factory=list)
    ingest_skipped_reason: str | None = None
    dbt_success: bool = False
    run: RunSummary = field(default_factory=RunSummary)
    wall_seconds: float = 0.0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    freshness_ran: bool = False
    freshness_error: str | None = None
    target_type: str = "duckdb"
    published: list[PublishResult] = field(default_factory=list)

    @property
    def rows_per_source(self) -> dict[str, int]:
        return summarize(self.ingested)

    @property
    def ok(self) -> bool:
        return self.dbt_success and not self.run.failed


def build(
    settings: Settings,
    *,
    select: list[str] | None = None,
    exclude: list[str] | None = None,
    full_refresh: bool = False,
    skip_ingest: bool = False,
    progress: Progress | None = None,
    quiet: bool = False,
    freshness: bool = False,
    dbt_callbacks: Sequence[Callable[[Any], None]] = (),
) -> BuildOutcome:
    """Ingest, then one `dbt build`. ``dbt_callbacks`` (live progress) get dbt's
    events and replace its console log (the log file keeps it)."""
    started = time.perf_counter()
    outcome = BuildOutcome(started_at=datetime.now(UTC))
    # Another engine: check it is reachable before anything is written.
    target = preflight(settings)
    outcome.target_type = target.type
    if skip_ingest:
        outcome.ingest_skipped_reason = "--skip-ingest"
    elif not settings.sources.is_file() and "sources" not in settings.tool_config:
        outcome.ingest_skipped_reason = f"no sources file at {settings.sources}"
    else:
        outcome.ingested = run_ingest(settings, full_refresh=full_refresh, progress=progress)
    if outcome.ingest_skipped_reason and settings.warehouse.suffix == ".duckdb":
        # Fail fast, with a clear message, if another process holds the file.
        connect(settings.warehouse).close()
    # Raw data reaches the target engine: only the tables that changed move.
    outcome.published = publish_raw(settings, target, force=full_refresh)

    command = ["build"]
    if select:
        command += ["--select", *select]
    if exclude:
        command += ["--exclude", *exclude]
    if full_refresh:
        command.append("--full-refresh")
    # dbt's objects live to the end of the build: the collector walks them less often
    # (500 models, 1,100 nodes: 31.7 s -> 29.0 s wall, same peak memory).
    with fewer_collections():
        invocation = invoke(
            settings,
            command,
            quiet=quiet,
            callbacks=dbt_callbacks,
            log_level="none" if dbt_callbacks else None,
        )
    if select and invocation.node_count == 0:
        raise UsageError(f"--select {' '.join(select)} matched no nodes in {settings.project_dir}")
    outcome.dbt_success = invocation.success
    outcome.run = read_run_results(settings.target_dir)
    if freshness:
        # For monitoring: `dbt source freshness` writes target/sources.json (and
        # leaves run_results.json alone). A stale source is not a build failure.
        try:
            invoke(settings, ["source", "freshness"], quiet=quiet or bool(dbt_callbacks))
            outcome.freshness_ran = True
        except DataOpsError as exc:
            outcome.freshness_error = str(exc)
    outcome.finished_at = datetime.now(UTC)
    outcome.wall_seconds = time.perf_counter() - started
    return outcome
