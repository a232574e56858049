"""The production state slim CI defers to, and the copy of its manifest dbt compares with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tooling import state as state_mod
from tooling.ci.paths import CiPaths
from tooling.errors import DataOpsError
from tooling.settings import Settings


def load_state(settings: Settings, state_dir: Path | None, full: bool) -> Any:
    if state_dir is None or (full and not state_dir.is_dir()):
        if not full:
            raise DataOpsError("pass --state DIR (the production state) or --full")
        return None
    try:
        return state_mod.load(state_dir, settings.project_dir)
    except DataOpsError:
        if full:
            return None
        raise


def dbt_state(prod: state_mod.ProductionState, paths: CiPaths) -> Path:
    """The state folder dbt reads: production's, with source databases made comparable.

    A source without an explicit database renders with the target's catalog,
    which on DuckDB is the file name: production's differs from the CI file's.
    Projects with dbt's ``state_modified_compare_more_unrendered_values`` flag
    compare the unrendered value; without it, dbt would call every source (and
    so the whole project) modified. Rewriting those defaulted source databases
    to the CI catalog has the flag's effect. Models keep production's catalog,
    which is what their deferred refs render.
    """
    folder = paths.dbt_state
    folder.mkdir(parents=True, exist_ok=True)
    # Only the manifest: `state:modified` and `--defer` need nothing else, and dbt
    # would spend seconds loading a run_results.json it does not use here.
    # Without a production file (PostgreSQL) sources render the same in CI: keep them.
    ci_catalog = paths.warehouse.stem if prod.warehouse is not None else prod.database
    sources = {
        uid: {**source, "database": ci_catalog}
        if source.get("database") == prod.database and not source.get("unrendered_database")
        else source
        for uid, source in prod.manifest.get("sources", {}).items()
    }
    manifest = {**prod.manifest, "sources": sources}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder
