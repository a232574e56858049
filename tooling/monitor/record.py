"""Record one run into the monitoring store, check it, and alert. Never raises.

Called after `dataops build` (and `dataops ci run`). Everything is read from
the artifacts the run left behind and from the warehouse's load audit, so the
run itself carries no hooks; the only cost is this function, after the run.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ingestion.redact import redact, redact_value
from tooling.artifacts import load_manifest
from tooling.monitor import checks, collect, ml
from tooling.monitor.alerts import Delivery, IncidentNote, build_message, mask_url, post
from tooling.monitor.config import MonitorConfig
from tooling.monitor.config import load as load_config
from tooling.monitor.store import StoreLocked, insert_rows, open_recording
from tooling.settings import Settings


@dataclass
class RecordOutcome:
    recorded: bool
    store: Path | None = None
    run_id: str | None = None
    skipped_reason: str | None = None
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    new_incidents: list[IncidentNote] = field(default_factory=list)
    resolved_incidents: list[IncidentNote] = field(default_factory=list)
    open_incidents: int = 0
    alert: Delivery | None = None
    webhook: str | None = None  # masked
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for the console (never holds the webhook URL)."""
        if self.skipped_reason:
            return f"monitoring: recording skipped: {self.skipped_reason}"
        if self.error:
            return f"monitoring: recording failed (the build is unaffected): {self.error}"
        parts = [
            f"monitoring: recorded run {self.run_id}",
            ", ".join(f"{v} {k}" for k, v in self.counts.items()),
            f"{len(self.new_incidents)} new / {len(self.resolved_incidents)} resolved / "
            f"{self.open_incidents} open incident(s)",
        ]
        if self.alert is not None:
            state = "sent" if self.alert.delivered else f"NOT delivered ({self.alert.error})"
            parts.append(
                f"{self.alert.kind} to {self.webhook} {state} after {self.alert.attempts} attempt(s)"
            )
        return "; ".join(parts)


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def record_run(
    settings: Settings,
    *,
    command: str,
    started_at: datetime,
    finished_at: datetime,
    status: str,
    target_dir: Path,
    ingested: list[Any] | None,
    config: MonitorConfig | None = None,
    webhook: str | None = None,
    error: str | None = None,
    orchestrator_run_id: str | None = None,
) -> RecordOutcome:
    """Record the run; a locked store gives an outcome saying it was skipped.

    ``error``: the run stopped before dbt wrote its artifacts (ingestion failed,
    the project did not compile); the run is recorded with that message and no
    nodes, since ``target/`` still holds the previous run's files.
    ``orchestrator_run_id``: the id an orchestrator gave the run (Airflow's run id).
    """
    clock = time.perf_counter()
    try:
        config = config or load_config(settings, webhook=webhook)
    except Exception as exc:
        return RecordOutcome(False, error=f"bad monitoring configuration: {exc}")
    if not config.enabled:
        return RecordOutcome(False, store=config.store, skipped_reason="monitoring is disabled")
    try:
        recording = open_recording(config.store, settings.warehouse)
    except StoreLocked as exc:
        return RecordOutcome(False, store=config.store, skipped_reason=str(exc))
    except Exception as exc:
        return RecordOutcome(False, store=config.store, error=f"{type(exc).__name__}: {exc}")
    outcome = RecordOutcome(True, store=config.store)
    con = recording.con
    try:
        _record(
            con,
            recording.warehouse,
            settings,
            config,
            outcome,
            command=command,
            started_at=started_at,
            finished_at=finished_at,
            status=status,
            target_dir=target_dir,
            ingested=ingested,
            error=error,
            orchestrator_run_id=orchestrator_run_id,
        )
        if config.webhook and (outcome.new_incidents or outcome.resolved_incidents):
            outcome.webhook = mask_url(config.webhook)
            run = con.execute(
                "select run_id, command, target, git_commit, status from runs where run_id = ?",
                [outcome.run_id],
            ).fetchone()
            assert run is not None
            message = build_message(
                new=outcome.new_incidents,
                resolved=outcome.resolved_incidents,
                still_open=outcome.open_incidents,
                run=dict(
                    zip(("run_id", "command", "target", "git_commit", "status"), run, strict=True)
                ),
            )
            outcome.alert = post(
                config.webhook,
                message,
                attempts=config.webhook_attempts,
                backoff=config.webhook_backoff_seconds,
                timeout=config.webhook_timeout_seconds,
            )
            con.execute(
                "insert into alerts values (?, ?, ?, ?, ?, ?, ?, now())",
                redact_value(
                    [
                        outcome.run_id,
                        outcome.alert.kind,
                        outcome.alert.delivered,
                        outcome.alert.attempts,
                        len(outcome.new_incidents),
                        len(outcome.resolved_incidents),
                        outcome.alert.error,
                    ]
                ),
            )
    except Exception as exc:  # monitoring must never fail the build
        outcome.recorded = False
        outcome.error = redact(f"{type(exc).__name__}: {exc}")
        if config.webhook:
            outcome.error = outcome.error.replace(config.webhook, mask_url(config.webhook))
    finally:
        recording.close()
    outcome.seconds = time.perf_counter() - clock
    return outcome


def _record(
    con: duckdb.DuckDBPyConnection,
    alias: str | None,
    settings: Settings,
    config: MonitorConfig,
    outcome: RecordOutcome,
    *,
    command: str,
    started_at: datetime,
    finished_at: datetime,
    status: str,
    target_dir: Path,
    ingested: list[Any] | None,
    error: str | None = None,
    orchestrator_run_id: str | None = None,
) -> None:
    if error is None:
        run = collect.read_run_artifacts(target_dir)
        freshness = collect.read_freshness(target_dir)
    else:
        run = collect.RunArtifacts(error=error)
        freshness = None
    run_id = uuid.uuid4().hex[:12]
    outcome.run_id = run_id
    started_at, finished_at = _as_utc(started_at), _as_utc(finished_at)

    con.execute("begin transaction")
    try:
        _record_in_transaction(
            con,
            alias,
            run_id,
            run,
            freshness,
            settings,
            config,
            outcome,
            command=command,
            started_at=started_at,
            finished_at=finished_at,
            status=status,
            target_dir=target_dir,
            ingested=ingested,
            orchestrator_run_id=orchestrator_run_id,
        )
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def _record_in_transaction(
    con: duckdb.DuckDBPyConnection,
    alias: str | None,
    run_id: str,
    run: collect.RunArtifacts,
    freshness: tuple[str | None, list[collect.FreshnessRow]] | None,
    settings: Settings,
    config: MonitorConfig,
    outcome: RecordOutcome,
    *,
    command: str,
    started_at: datetime,
    finished_at: datetime,
    status: str,
    target_dir: Path,
    ingested: list[Any] | None,
    orchestrator_run_id: str | None = None,
) -> None:
    con.execute(
        "insert into runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        redact_value(
            [
                run_id,
                command,
                settings.target or run.target or "default",
                str(settings.project_dir),
                collect.git_commit(settings.root),
                started_at,
                finished_at,
                (finished_at - started_at).total_seconds(),
                status,
                run.invocation_id,
                run.dbt_version,
                run.error,
                orchestrator_run_id,
            ]
        ),
    )
    if run.nodes:
        insert_rows(
            con,
            "node_results",
            [
                [
                    run_id,
                    n.unique_id,
                    n.resource_type,
                    n.name,
                    n.status,
                    n.execution_time,
                    n.rows_affected,
                    n.failures,
                    n.message,
                ]
                for n in run.nodes
            ],
        )
    outcome.counts["nodes"] = len(run.nodes)

    outcome.counts["freshness"] = 0
    if freshness is not None:
        invocation, rows = freshness
        seen = con.execute(
            "select count(*) from source_freshness where invocation_id = ?", [invocation]
        ).fetchone()
        if rows and not (seen and seen[0]):
            insert_rows(
                con,
                "source_freshness",
                [
                    [
                        run_id,
                        invocation,
                        r.unique_id,
                        r.source_name,
                        r.table_name,
                        r.status,
                        r.max_loaded_at,
                        r.snapshotted_at,
                        r.age_s,
                        r.error,
                    ]
                    for r in rows
                ],
            )
            outcome.counts["freshness"] = len(rows)

    outcome.counts["load batches"] = 0
    outcome.counts["tables"] = 0
    relations: list[tuple[str, str]] = []
    manifest: dict[str, Any] = {}
    if (target_dir / "manifest.json").is_file():
        manifest = load_manifest(target_dir)
        relations = collect.tracked_relations(manifest, config.tracked_materializations)
    # PostgreSQL / Spark targets: the relations live in the engine; count them there.
    from tooling.engines.counts import engine_row_counts

    counted = engine_row_counts(settings, relations) if relations else None
    if counted is not None:
        insert_rows(con, "table_rows", [[run_id, *row] for row in counted])
        outcome.counts["tables"] = len(counted)
    if alias is not None:
        outcome.counts["load batches"] = collect.copy_load_batches(con, alias, run_id)
        if counted is None:
            outcome.counts["tables"] = collect.copy_row_counts(con, alias, run_id, relations)
        model_runs = ml.copy_model_runs(con, alias, run_id, manifest, run.nodes)
        if model_runs:
            outcome.counts["model runs"] = model_runs
    elif ingested:
        # The warehouse could not be opened (held by another process): fall back to
        # the batches this process loaded, as the loader reported them.
        rows = [
            [
                run_id,
                r.batch_id,
                r.source,
                r.entity,
                r.load,
                r.status,
                len(r.files),
                r.skipped_files,
                r.rows,
                started_at,
                finished_at,
                r.error,
            ]
            for r in ingested
        ]
        insert_rows(con, "load_batches", rows)
        outcome.counts["load batches"] = len(rows)

    findings = checks.evaluate(con, run_id, config) + ml.evaluate(con, run_id, config)
    # Only non-ok findings are kept: later baselines need to know the incidents.
    kept = [f for f in findings if f.status == "fail"]
    insert_rows(
        con,
        "check_results",
        [
            [run_id, f.check_name, f.key, f.status, f.severity, f.value, f.lower, f.upper, f.detail]
            for f in kept
        ],
    )
    _update_incidents(con, run_id, findings, outcome)


def _update_incidents(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    findings: list[checks.Finding],
    outcome: RecordOutcome,
) -> None:
    open_rows = con.execute(
        "select incident_id, check_name, key, severity, detail from incidents "
        "where closed_run is null"
    ).fetchall()
    open_by_fp = {f"{r[1]}:{r[2]}": r for r in open_rows}
    failing = {f.fingerprint: f for f in findings if f.status == "fail"}
    passing = {f.fingerprint for f in findings if f.status == "ok"}
    for fp, finding in failing.items():
        if fp in open_by_fp:
            con.execute(
                "update incidents set last_run = ?, detail = ? where incident_id = ?",
                [run_id, redact(finding.detail), open_by_fp[fp][0]],
            )
            continue
        con.execute(
            "insert into incidents values (?, ?, ?, ?, ?, ?, now(), ?, null, null)",
            redact_value(
                [
                    uuid.uuid4().hex[:12],
                    finding.check_name,
                    finding.key,
                    finding.severity,
                    finding.detail,
                    run_id,
                    run_id,
                ]
            ),
        )
        outcome.new_incidents.append(
            IncidentNote(finding.check_name, finding.key, finding.severity, finding.detail)
        )
    for fp, row in open_by_fp.items():
        if fp in passing and fp not in failing:
            con.execute(
                "update incidents set closed_run = ?, closed_at = now() where incident_id = ?",
                [run_id, row[0]],
            )
            outcome.resolved_incidents.append(IncidentNote(row[1], row[2], row[3], row[4] or ""))
    still = con.execute("select count(*) from incidents where closed_run is null").fetchone()
    outcome.open_incidents = int(still[0]) if still else 0
