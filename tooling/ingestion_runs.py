"""Run ingestion for the CLI and describe its results (no printing here)."""

from __future__ import annotations

from pathlib import Path

from ingestion.config import load_config
from ingestion.pipeline import EntityResult, Progress, ingest, status
from ingestion.state import EntityStatus
from tooling.settings import Settings


def run_ingest(
    settings: Settings,
    *,
    source: str | None = None,
    entity: str | None = None,
    full_refresh: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    max_bad_rows: int | None = None,
) -> list[EntityResult]:
    config = load_config(settings.sources)
    return ingest(
        config,
        settings.warehouse,
        settings.landing_root,
        source=source,
        entity=entity,
        full_refresh=full_refresh,
        dry_run=dry_run,
        progress=progress,
        max_bad_rows=max_bad_rows,
    )


def ingest_status(settings: Settings) -> list[EntityStatus]:
    return status(load_config(settings.sources), settings.warehouse)


def status_rows(statuses: list[EntityStatus]) -> list[list[str]]:
    return [
        [
            s.table,
            s.last_load.strftime("%Y-%m-%d %H:%M:%S") if s.last_load else "-",
            s.last_status or "-",
            s.high_water_mark or "-",
            "-" if s.rows is None else f"{s.rows:,}",
            str(s.drift_events),
            f"{s.quarantined_rows:,}",
        ]
        for s in statuses
    ]


def warnings(results: list[EntityResult]) -> list[str]:
    out = [f"{r.table}: schema drift: {ev.describe()}" for r in results for ev in r.drift]
    out += [
        f"{r.table}: {r.quarantined} row(s) quarantined in raw_{r.source}._quarantine_{r.entity}"
        for r in results
        if r.quarantined
    ]
    return out


def results_rows(results: list[EntityResult]) -> list[list[str]]:
    return [
        [
            r.table,
            r.load,
            r.status,
            str(len(r.files)),
            str(r.skipped_files),
            f"{r.rows:,}",
            f"{r.quarantined:,}",
            str(len(r.drift)),
            r.high_water_mark or "-",
            f"{r.seconds:.2f}s",
        ]
        for r in results
    ]


def relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
