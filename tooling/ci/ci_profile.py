"""The CI profile: the project's own target output, pointed at the CI warehouse.

On DuckDB the output's path becomes the CI file and the production warehouse
(a private copy) is added under ``attach:`` read-only, with the isolation
plugin locking the connection's settings; on PostgreSQL the same server and
database with a ``<schema>_ci`` schema. The unrendered output is written, so
``env_var()`` calls stay calls and no secret reaches the file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from tooling import production_state as state_mod
from tooling.ci.paths import CiPaths
from tooling.errors import DataOpsError
from tooling.settings import Settings

CI_TARGET = "ci"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataOpsError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise DataOpsError(f"{path} is not a YAML mapping")
    return data


def ci_profile(
    settings: Settings, *, ci_warehouse: Path, attach: list[dict[str, Any]]
) -> tuple[str, dict[str, Any]]:
    """(profile name, profiles.yml content) for CI: the user's target on the CI file."""
    resolved = settings.profile  # dbt's own resolution: profile name, target, adapter
    profile_name, target = resolved.profile_name, resolved.target_name
    if resolved.adapter_type in ("postgres", "spark"):
        # The same server and database (Spark: the same metastore), another schema:
        # CI builds into `<schema>_ci_<layer>` and defers the rest to production's
        # relations. The unrendered output keeps env_var() calls, so no secret is written.
        output = _read_yaml(resolved.profiles_dir / "profiles.yml")[profile_name]["outputs"][target]
        default = "public" if resolved.adapter_type == "postgres" else "default"
        schema = f"{resolved.credentials.get('schema') or default}_ci"
        ci_output = {**output, "schema": schema}
        return profile_name, {
            profile_name: {"target": CI_TARGET, "outputs": {CI_TARGET: ci_output}}
        }
    if resolved.adapter_type != "duckdb":
        raise DataOpsError(
            f"slim CI needs a DuckDB, PostgreSQL or Spark target; {profile_name}.{target} is "
            f"{resolved.adapter_type!r}"
        )
    # The unrendered output: env_var() calls stay calls, so no secret is written.
    profiles = _read_yaml(resolved.profiles_dir / "profiles.yml")
    output = profiles[profile_name]["outputs"][target]
    skip = {"path", "database", "attach", "settings", "plugins"}
    ci_output = {k: v for k, v in output.items() if k not in skip}
    ci_output["path"] = str(ci_warehouse)
    ci_output["attach"] = [*(output.get("attach") or []), *attach]
    # Imported here: the plugin subclasses dbt-duckdb's, and importing dbt costs every
    # `dataops` start ~2 s (`dataops check` must stay under 2 s).
    from tooling.ci import isolation

    # The user's settings are applied by the isolation plugin, before it locks them.
    guards = isolation.guard_settings(
        ci_warehouse=ci_warehouse,
        read_dirs=_seed_dirs(settings.project_dir),
        extra=output.get("settings") or {},
    )
    ci_output["plugins"] = [
        *(output.get("plugins") or []),
        {"module": isolation.MODULE, "config": guards},
    ]
    return profile_name, {profile_name: {"target": CI_TARGET, "outputs": {CI_TARGET: ci_output}}}


def _seed_dirs(project_dir: Path) -> list[Path]:
    """The seed folders: dbt-duckdb's fast seed loader reads them with COPY FROM."""
    paths = _read_yaml(project_dir / "dbt_project.yml").get("seed-paths") or ["seeds"]
    return [project_dir / str(p) for p in paths if isinstance(p, str)]


def ci_settings(
    settings: Settings, paths: CiPaths, prod: state_mod.ProductionState | None
) -> Settings:
    """Settings whose dbt runs write the CI file, with production attached read-only."""
    attach: list[dict[str, Any]] = []
    if prod is not None and prod.warehouse is not None:
        alias = prod.database
        if alias is None:
            raise DataOpsError(f"production manifest in {prod.directory} has no built relations")
        if alias == paths.warehouse.stem:
            raise DataOpsError(
                f"the CI warehouse {paths.warehouse.name} has the production catalog's name "
                f"{alias!r}; choose another --ci-dir file name"
            )
        # A private copy: DuckDB keeps attached files writable by path even with
        # external access off, so the state folder's own file is never attached.
        # (`run` makes the copy before dbt connects; parsing never opens it.)
        copy = paths.production_copy(prod.warehouse)
        attach.append({"path": str(copy.resolve()), "alias": alias, "read_only": True})
    name, content = ci_profile(settings, ci_warehouse=paths.warehouse, attach=attach)
    paths.profiles_dir.mkdir(parents=True, exist_ok=True)
    (paths.profiles_dir / "profiles.yml").write_text(
        "# Generated by `dataops ci`: the project's target on the CI DuckDB file,\n"
        "# production attached read-only. Do not edit.\n" + yaml.safe_dump(content),
        encoding="utf-8",
    )
    del name
    return replace(
        settings, warehouse=paths.warehouse, profiles_dir=paths.profiles_dir, target=CI_TARGET
    )
