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
        help="DuckDB warehouse file. Default: [tool.dataops] warehouse, else "
        "warehouse/dataops.duckdb.",
        envvar="DATAOPS_WAREHOUSE",
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
    verbose: bool = False

    def settings(
        self,
        *,
        project_dir: Path | None = None,
        target: str | None = None,
        warehouse: Path | None = None,
        sources: Path | None = None,
        landing_root: Path | None = None,
        require_project: bool = True,
    ) -> settings_mod.Settings:
        return settings_mod.resolve(
            project_dir=project_dir or self.project_dir,
            target=target or self.target,
            warehouse=warehouse or self.warehouse,
            sources=sources,
            landing_root=landing_root,
            require_project=require_project,
        )


STATE = AppState()
