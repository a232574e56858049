"""Record an orchestrated run (one Airflow DAG run) in the monitoring store.

Each Cosmos task ran dbt on one node in a copy of the project and left its
``run_results.json`` in ``<artifacts>/<run id>/tasks/<task>.<try>.json``. They
are merged into one ``run_results.json`` (the last try of each task; a node no
task ran, because a source it reads failed to load, is recorded ``skipped`` as
dbt itself records a node skipped after an upstream failure), written with the
manifest into ``<artifacts>/<run id>/target/``, and recorded from there like a
`dataops build`, with the orchestrator's run id.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from tooling.artifacts import load_manifest, read_json
from tooling.monitor import RecordOutcome, record_run
from tooling.monitor.config import MonitorConfig
from tooling.settings import Settings

RESOURCES = ("model", "seed", "snapshot")
TRY = re.compile(r"^(?P<task>.+)\.(?P<try>\d+)\.json$")


@dataclass
class Merged:
    target_dir: Path
    results: int
    skipped: int
    failed: list[str]


def run_folder(artifacts: Path, run_id: str) -> Path:
    return artifacts / re.sub(r"[^\w.-]", "_", run_id)


def merge_run_results(settings: Settings, folder: Path) -> Merged:
    """One run_results.json out of the tasks' ones, plus skipped rows for nodes never run."""
    latest: dict[str, tuple[int, Path]] = {}
    for path in sorted((folder / "tasks").glob("*.json")):
        match = TRY.match(path.name)
        if match is None:
            continue
        attempt = int(match["try"])
        if latest.get(match["task"], (-1, path))[0] < attempt:
            latest[match["task"]] = (attempt, path)
    results: dict[str, dict[str, Any]] = {}
    metadata: dict[str, Any] = {}
    args: dict[str, Any] = {}
    elapsed = 0.0
    for _, path in sorted(latest.values(), key=lambda item: item[1].stat().st_mtime):
        data = read_json(path, what="a task's run_results.json", hint="re-run the task")
        metadata = metadata or dict(data.get("metadata") or {})
        args = args or dict(data.get("args") or {})
        elapsed += float(data.get("elapsed_time") or 0.0)
        for item in data.get("results") or []:
            results[str(item.get("unique_id"))] = item
    manifest = load_manifest(settings.target_dir)
    skipped = 0
    for uid, node in sorted((manifest.get("nodes") or {}).items()):
        if node.get("resource_type") in RESOURCES and uid not in results:
            results[uid] = {
                "unique_id": uid,
                "status": "skipped",
                "execution_time": 0.0,
                "message": "not run: an upstream task failed in the orchestrator",
                "failures": None,
                "adapter_response": {},
                "timing": [],
                "thread_id": None,
            }
            skipped += 1
    target = folder / "target"
    target.mkdir(parents=True, exist_ok=True)
    merged = {"metadata": metadata, "results": list(results.values())}
    merged.update({"elapsed_time": elapsed, "args": args})
    (target / "run_results.json").write_text(json.dumps(merged), encoding="utf-8")
    shutil.copyfile(settings.manifest_path, target / "manifest.json")
    failed = sorted(uid for uid, item in results.items() if item.get("status") in ("error", "fail"))
    return Merged(target, len(results) - skipped, skipped, failed)


def failed_loads(settings: Settings, since: datetime) -> list[str]:
    """source.entity of the load batches that failed since the run started."""
    if not settings.warehouse.is_file():
        return []
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        rows = con.execute(
            "select distinct source || '.' || entity from dataops_meta.load_batches "
            "where status = 'failed' and started_at >= ? order by 1",
            [since],
        ).fetchall()
    return [str(r[0]) for r in rows]


@dataclass
class OrchestratedRun:
    merged: Merged
    failed_loads: list[str]
    outcome: RecordOutcome

    @property
    def ok(self) -> bool:
        return not (self.merged.failed or self.merged.skipped or self.failed_loads)


def record_orchestrated_run(
    settings: Settings,
    *,
    run_id: str,
    artifacts: Path,
    started_at: datetime,
    config: MonitorConfig | None = None,
) -> OrchestratedRun:
    folder = run_folder(artifacts, run_id)
    merged = merge_run_results(settings, folder)
    loads = failed_loads(settings, started_at)
    status = "success" if not (merged.failed or merged.skipped or loads) else "fail"
    outcome = record_run(
        settings,
        command="airflow",
        started_at=started_at,
        finished_at=datetime.now(UTC),
        status=status,
        target_dir=merged.target_dir,
        ingested=None,
        config=config,
        orchestrator_run_id=run_id,
    )
    return OrchestratedRun(merged, loads, outcome)
