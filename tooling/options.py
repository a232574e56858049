"""Options shared by the root callback and the commands.

``dataops --project-dir X build`` and ``dataops build --project-dir X`` both
work; a value given to the command wins over the root one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from tooling import settings as settings_mod

ProjectDir = Annotated[
    Path | None,
    typer.Option(
        "--project-dir",
        help="dbt project folder (holds dbt_project.yml). Default: [tool.dataops] "
        "project_dir, else ./dbt_project.",
        envvar="DATAOPS_PROJECT_DIR",
        show_default=False,
    ),
]
Target = Annotated[
    str | None,
    typer.Option("--target", "-t", help="dbt target from profiles.yml.", envvar="DATAOPS_TARGET"),
]
Warehouse = Annotated[
    Path | None,
    typer.Option(
        "--warehouse",
        help="DuckDB warehouse file. Default: [tool.dataops] warehouse, else the "
        "dbt profile's DuckDB path.",
        envvar="DATAOPS_WAREHOUSE",
        show_default=False,
    ),
]

ProfilesDir = Annotated[
    Path | None,
    typer.Option(
        "--profiles-dir",
        help="Folder holding profiles.yml. Default: DBT_PROFILES_DIR, else the current "
        "folder, the project folder, ~/.dbt (as dbt looks).",
        show_default=False,
    ),
]
Vars = Annotated[
    str | None,
    typer.Option(
        "--vars",
        help="dbt variables as a YAML or JSON mapping, e.g. '{key: value}', passed to every "
        "dbt invocation. Default: [tool.dataops] vars (--vars keys win).",
        show_default=False,
    ),
]

SourcesFile = Annotated[
    Path | None,
    typer.Option(
        "--sources",
        help="Sources YAML. Default: [tool.dataops] sources.",
        envvar="DATAOPS_SOURCES",
    ),
]


@dataclass
class AppState:
    project_dir: Path | None = None
    target: str | None = None
    warehouse: Path | None = None
    profiles_dir: Path | None = None
    vars: str | None = None
    verbose: bool = False

    def settings(
        self,
        *,
        project_dir: Path | None = None,
        target: str | None = None,
        warehouse: Path | None = None,
        sources: Path | None = None,
        landing_root: Path | None = None,
        profiles_dir: Path | None = None,
        vars: str | None = None,
        require_project: bool = True,
    ) -> settings_mod.Settings:
        return settings_mod.resolve(
            project_dir=project_dir or self.project_dir,
            target=target or self.target,
            warehouse=warehouse or self.warehouse,
            sources=sources,
            landing_root=landing_root,
            profiles_dir=profiles_dir or self.profiles_dir,
            vars=vars if vars is not None else self.vars,
            require_project=require_project,
        )


STATE = AppState()
