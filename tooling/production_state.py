"""Production state for slim CI: publish it after a main build, load and validate it.

A state directory holds dbt's ``manifest.json``, ``run_results.json`` and
``catalog.json`` of a production build, plus ``warehouse.duckdb``: a consistent,
PII-free copy of the production DuckDB file (``tooling.privacy.state_copy``:
PII columns replaced by keyed hashes, quarantine tables left out).
Where the directory travels (an Actions artifact, a download) is the
workflow's business. Never prints.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooling.artifacts import read_json
from tooling.dbt_invoke import invoke
from tooling.errors import DataOpsError
from tooling.manifest import read_project_file
from tooling.settings import Settings

STATE_ARTIFACTS = ("manifest.json", "run_results.json", "catalog.json")
STATE_WAREHOUSE = "warehouse.duckdb"


@dataclass
class PublishedState:
    directory: Path
    files: list[Path] = field(default_factory=list)
    warehouse_sha256: str | None = None
    hashed: dict[str, list[str]] = field(default_factory=dict)  # relation -> PII columns
    left_out: list[str] = field(default_factory=list)  # quarantine tables not copied


@dataclass
class ProductionState:
    directory: Path
    manifest: dict[str, Any]
    catalog: dict[str, Any] | None
    warehouse: Path | None

    @property
    def project_name(self) -> str:
        return str(self.manifest.get("metadata", {}).get("project_name", ""))

    @property
    def database(self) -> str | None:
        """The catalog name production relations were built in (DuckDB: the file stem)."""
        for node in self.manifest.get("nodes", {}).values():
            if node.get("resource_type") in {"model", "seed", "snapshot"} and node.get("database"):
                return str(node["database"])
        return None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def project_name(project_dir: Path) -> str:
    """The `name:` of a dbt project, read from its dbt_project.yml."""
    name = read_project_file(project_dir).get("name")
    if not name:
        raise DataOpsError(f"{project_dir / 'dbt_project.yml'} has no `name:`")
    return str(name)


def built_relations(manifest: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(schema, identifier) of every relation the manifest's models, seeds, snapshots build."""
    out = {}
    for uid, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") not in {"model", "seed", "snapshot"}:
            continue
        if (node.get("config") or {}).get("materialized") == "ephemeral":
            continue
        name = node.get("alias") or node.get("identifier") or node.get("name")
        out[(str(node.get("schema") or "").lower(), str(name).lower())] = uid
    return out


def missing_relations(warehouse: Path, manifest: dict[str, Any]) -> list[str]:
    """The manifest's built relations (``schema.name``) the DuckDB file does not hold."""
    import duckdb

    expected = built_relations(manifest)
    if not expected:
        return []
    try:
        con = duckdb.connect(str(warehouse))  # as copy_warehouse: dbt may hold it open
    except duckdb.Error as exc:
        raise DataOpsError(f"cannot open the warehouse {warehouse} to publish it: {exc}") from None
    try:
        present = {
            (schema.lower(), name.lower())
            for schema, name in con.execute(
                "select schema_name, table_name from duckdb_tables() "
                "where database_name = current_database() "
                "union all select schema_name, view_name from duckdb_views() "
                "where database_name = current_database() and not internal"
            ).fetchall()
        }
    finally:
        con.close()
    return sorted(f"{s}.{n}" for s, n in expected if (s, n) not in present)


def publish(settings: Settings, dest: Path) -> PublishedState:
    """Write the production state of the last build of ``settings`` into ``dest``."""
    target = settings.target_dir
    # On PostgreSQL or Spark production data stays in the engine (slim CI defers to
    # it there): the state is the artifacts only, no warehouse copy.
    try:
        on_duckdb = settings.adapter_type == "duckdb"
    except DataOpsError:  # no profile to ask: the warehouse given is a DuckDB file
        on_duckdb = True
    warehouse = settings.warehouse if on_duckdb else None  # the profile's path unless overridden
    if warehouse is not None and not warehouse.is_file():
        raise DataOpsError(f"cannot publish state: no warehouse file at {warehouse}")
    if warehouse is not None and (target / "manifest.json").is_file():
        # Before `dbt docs generate`: a catalog must not be taken from the wrong file.
        manifest = read_json(target / "manifest.json", what="manifest.json", hint="")
        lacking = missing_relations(warehouse, manifest)
        if lacking:
            total = len(built_relations(manifest))
            shown = ", ".join(lacking[:3]) + (" ..." if len(lacking) > 3 else "")
            raise DataOpsError(
                f"cannot publish state: the warehouse {warehouse} lacks {len(lacking)} of "
                f"the manifest's {total} built relations ({shown}); publish the file the "
                "build wrote (the dbt profile's path, or --warehouse)"
            )
    catalog, results = target / "catalog.json", target / "run_results.json"
    build_results = results.read_bytes() if results.is_file() else None
    if build_results is not None and (
        not catalog.is_file() or catalog.stat().st_mtime < results.stat().st_mtime
    ):
        # catalog.json (the production column types) comes from `dbt docs generate`,
        # which rewrites run_results.json: keep the build's (and its time).
        if not on_duckdb:
            from tooling.engines import require_engine

            require_engine(
                settings,
                "state publish runs `dbt docs generate` there for catalog.json "
                "(the production column types)",
            )
        stat = results.stat()
        invoke(settings, ["docs", "generate"], quiet=True)
        results.write_bytes(build_results)
        os.utime(results, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    missing = [name for name in STATE_ARTIFACTS if not (target / name).is_file()]
    if missing:
        raise DataOpsError(
            f"cannot publish state: {', '.join(missing)} missing in {target}; "
            "run `dataops build` (and `dbt docs generate` for catalog.json) first"
        )
    dest.mkdir(parents=True, exist_ok=True)
    out = PublishedState(directory=dest)
    for name in STATE_ARTIFACTS:
        shutil.copyfile(target / name, dest / name)
        out.files.append(dest / name)
    if not on_duckdb:
        (dest / STATE_WAREHOUSE).unlink(missing_ok=True)
        return out
    assert warehouse is not None
    # Slim CI runs a branch's own code on this copy: no PII value, no quarantined record.
    from tooling.privacy.state_copy import pii_free_copy

    manifest = read_json(target / "manifest.json", what="manifest.json", hint="")
    catalog_data = read_json(catalog, what="catalog.json", hint="")
    report = pii_free_copy(warehouse, dest / STATE_WAREHOUSE, manifest, catalog_data)
    out.hashed, out.left_out = report.hashed, report.left_out
    out.files.append(dest / STATE_WAREHOUSE)
    out.warehouse_sha256 = sha256(dest / STATE_WAREHOUSE)
    return out


def load(state_dir: Path, project_dir: Path) -> ProductionState:
    """Read and validate a state directory for the project at ``project_dir``.

    Errors name what is wrong: no directory, no manifest, or a manifest of
    another dbt project.
    """
    if not state_dir.is_dir():
        raise DataOpsError(
            f"state directory {state_dir} not found; download the production state "
            "(`dataops state publish` output) there, or pass --full to build everything"
        )
    manifest = read_json(
        state_dir / "manifest.json",
        what="production manifest.json",
        hint="the state directory must hold the output of `dataops state publish`; or pass --full",
    )
    expected = project_name(project_dir)
    found = manifest.get("metadata", {}).get("project_name")
    if found != expected:
        raise DataOpsError(
            f"state directory {state_dir} belongs to dbt project {found!r}, not {expected!r}; "
            "pass the state of this project, or --full"
        )
    catalog_path = state_dir / "catalog.json"
    catalog = (
        read_json(catalog_path, what="production catalog.json", hint="")
        if catalog_path.is_file()
        else None
    )
    warehouse = state_dir / STATE_WAREHOUSE
    return ProductionState(
        directory=state_dir,
        manifest=manifest,
        catalog=catalog,
        warehouse=warehouse if warehouse.is_file() else None,
    )
