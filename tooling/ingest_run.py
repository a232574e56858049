"""Run ingestion for the CLI and describe its results (no printing here)."""

from __future__ import annotations

from pathlib import Path

from ingestion.config import load_config
from ingestion.loader import EntityResult, Progress, ingest
from tooling.settings import Settings


def run_ingest(
    settings: Settings,
    *,
    source: str | None = None,
    entity: str | None = None,
    full_refresh: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
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
    )


def results_rows(results: list[EntityResult]) -> list[list[str]]:
    return [
        [
            r.table,
            r.load,
            r.status,
            str(len(r.files)),
            str(r.skipped_files),
            f"{r.rows:,}",
            f"{r.seconds:.2f}s",
        ]
        for r in results
    ]


def relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
