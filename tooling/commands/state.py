"""`dataops state`: publish the production state slim CI compares branches with."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tooling.console import console
from tooling.options import STATE, ProfilesDir, ProjectDir, Target, Vars, Warehouse

app = typer.Typer(help="Production state for slim CI (manifest, results, catalog, warehouse).")


@app.command("publish")
def publish(
    directory: Annotated[
        Path, typer.Argument(help="Folder to write the state into (e.g. the artifact folder).")
    ],
    project_dir: ProjectDir = None,
    target: Target = None,
    warehouse: Warehouse = None,
    profiles_dir: ProfilesDir = None,
    dbt_vars: Vars = None,
) -> None:
    """Copy the last build's manifest, run results, catalog and a PII-free warehouse into DIRECTORY.

    Run it after a main-branch `dataops build`; catalog.json is generated with
    `dbt docs generate` when the build did not write a newer one. The warehouse
    copy holds no PII: PII-tagged columns (and those lineage says carry them) are
    replaced by keyed hashes (key in DATAOPS_PRIVACY_KEY), quarantine tables are
    left out.
    """
    from tooling import production_state as state_mod  # here: other commands skip it

    settings = STATE.settings(
        project_dir=project_dir,
        target=target,
        warehouse=warehouse,
        profiles_dir=profiles_dir,
        vars=dbt_vars,
    )
    published = state_mod.publish(settings, directory)
    for path in published.files:
        console.print(f"wrote {path}")
    columns = sum(len(c) for c in published.hashed.values())
    console.print(
        f"PII: {columns} columns in {len(published.hashed)} tables replaced by keyed hashes; "
        f"{len(published.left_out)} quarantine tables left out",
        markup=False,
    )
    if published.warehouse_sha256:
        console.print(f"warehouse sha256: {published.warehouse_sha256}")
    else:
        console.print("no warehouse copy: production data stays in the target engine")
