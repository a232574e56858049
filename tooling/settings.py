"""Where things are: the one place every command takes its paths from.

Precedence, highest first: command-line options, environment variables
(``DATAOPS_PROJECT_DIR``, ``DATAOPS_TARGET``, ``DATAOPS_WAREHOUSE``,
``DATAOPS_SOURCES``, ``DATAOPS_LANDING_ROOT``), the ``[tool.dataops]`` table of
the nearest ``pyproject.toml`` (paths relative to it), then defaults relative
to the current folder. Works for any dbt project given ``--project-dir``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooling.errors import DataOpsError

DEFAULTS = {
    "project_dir": "dbt_project",
    "warehouse": "warehouse/dataops.duckdb",
    "sources": "ingestion/sources.yml",
    "landing_root": "data/sample",
}


@dataclass(frozen=True)
class Settings:
    root: Path
    project_dir: Path
    warehouse: Path
    sources: Path
    landing_root: Path
    target: str | None = None
    profiles_dir: Path | None = None
    tool_config: dict[str, Any] = field(default_factory=dict)

    @property
    def target_dir(self) -> Path:
        return self.project_dir / "target"

    @property
    def manifest_path(self) -> Path:
        return self.target_dir / "manifest.json"


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.dataops] table, walking up."""
    for folder in [start, *start.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise DataOpsError(f"cannot read {candidate}: {exc}") from None
            if "dataops" in data.get("tool", {}):
                return candidate
    return None


def load_tool_config(pyproject: Path | None) -> dict[str, Any]:
    if pyproject is None:
        return {}
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    config = data.get("tool", {}).get("dataops", {})
    if not isinstance(config, dict):
        raise DataOpsError(f"{pyproject}: [tool.dataops] must be a table")
    return config


def resolve(
    *,
    project_dir: Path | None = None,
    target: str | None = None,
    warehouse: Path | None = None,
    sources: Path | None = None,
    landing_root: Path | None = None,
    cwd: Path | None = None,
    require_project: bool = True,
) -> Settings:
    cwd = (cwd or Path.cwd()).resolve()
    pyproject = find_pyproject(cwd)
    config = load_tool_config(pyproject)
    root = pyproject.parent if pyproject else cwd

    def pick(option: Path | None, env: str, key: str) -> Path:
        if option is not None:
            return (cwd / option).resolve()
        if os.environ.get(env):
            return (cwd / os.environ[env]).resolve()
        return (root / str(config.get(key, DEFAULTS[key]))).resolve()

    project = pick(project_dir, "DATAOPS_PROJECT_DIR", "project_dir")
    if require_project and not (project / "dbt_project.yml").is_file():
        raise DataOpsError(
            f"no dbt project at {project} (dbt_project.yml not found); pass --project-dir"
        )
    # A foreign project without its own [tool.dataops] keeps its warehouse next to it.
    foreign = project_dir is not None and not project.is_relative_to(root)
    base_root = project if foreign else root
    wh = warehouse or (
        Path(os.environ["DATAOPS_WAREHOUSE"]) if os.environ.get("DATAOPS_WAREHOUSE") else None
    )
    warehouse_path = (
        (cwd / wh).resolve()
        if wh is not None
        else (base_root / str(config.get("warehouse", DEFAULTS["warehouse"]))).resolve()
    )
    profiles = project if (project / "profiles.yml").is_file() else None
    if profiles is None and os.environ.get("DBT_PROFILES_DIR"):
        profiles = Path(os.environ["DBT_PROFILES_DIR"]).resolve()
    return Settings(
        root=root,
        project_dir=project,
        warehouse=warehouse_path,
        sources=pick(sources, "DATAOPS_SOURCES", "sources"),
        landing_root=pick(landing_root, "DATAOPS_LANDING_ROOT", "landing_root"),
        target=target or os.environ.get("DATAOPS_TARGET") or None,
        profiles_dir=profiles,
        tool_config=config,
    )
