"""`dataops docs`: build the dbt docs and the lineage site, serve them on loopback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tooling.console import console, err_console, new_table
from tooling.options import STATE, ProfilesDir, ProjectDir, Target, Vars, Warehouse
from tooling.staleness import refresh_if_stale

app = typer.Typer(help="The dbt docs site plus a lineage site with column-level lineage.")

Out = Annotated[
    Path | None,
    typer.Option("--out", help="Site folder. Default: site/ at the repository root."),
]


def _size(num: int) -> str:
    return f"{num / 1_000_000:.1f} MB" if num >= 1_000_000 else f"{num / 1000:.0f} kB"


@app.command("build")
def build(
    out: Out = None,
    skip_dbt: Annotated[
        bool,
        typer.Option(
            "--skip-dbt",
            help="Do not run `dbt docs generate`; build from the artifacts already in target/.",
        ),
    ] = False,
    levels: Annotated[
        int, typer.Option("--levels", min=1, max=10, help="Levels up and down in focus views.")
    ] = 2,
    project_dir: ProjectDir = None,
    target: Target = None,
    warehouse: Warehouse = None,
    profiles_dir: ProfilesDir = None,
    dbt_vars: Vars = None,
) -> None:
    """Run `dbt docs generate` (with its static page) and build the lineage site."""
    settings = STATE.settings(
        project_dir=project_dir,
        target=target,
        warehouse=warehouse,
        profiles_dir=profiles_dir,
        vars=dbt_vars,
    )
    from tooling.docs.assemble import build_docs  # heavy (sqlglot, jinja): load on use

    if skip_dbt:
        refreshed = refresh_if_stale(settings, settings.target_dir)
        if refreshed.note:
            err_console.print(refreshed.note, markup=False, soft_wrap=True)

    outcome = build_docs(settings, out_dir=out, skip_dbt=skip_dbt, levels=levels)
    site = outcome.site
    table = new_table("Lineage site")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("pages", str(site.pages))
    table.add_row("models", str(site.models))
    table.add_row("columns (models, snapshots)", str(site.columns))
    table.add_row("  with resolved lineage", str(site.columns_resolved))
    table.add_row("  unknown", str(site.columns_unknown))
    table.add_row("documented but not produced", str(site.columns_not_produced))
    table.add_row("column lineage time", f"{site.lineage_seconds:.2f}s")
    table.add_row("render time", f"{site.render_seconds:.2f}s")
    table.add_row("lineage site size (without dbt/)", _size(site.bytes_written))
    console.print(table)
    if not outcome.catalog_found:
        console.print("no catalog.json: column types and select * expansion use documented columns")
    console.print(f"lineage site: {outcome.out_dir / 'index.html'}")
    if outcome.dbt_dir is not None:
        console.print(
            f"dbt docs: {outcome.dbt_dir / 'index.html'} (single file: static_index.html)"
        )


@app.command("serve")
def serve(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free).")
    ] = 8080,
    out: Out = None,
    project_dir: ProjectDir = None,
) -> None:
    """Serve the built sites (lineage at /, dbt docs at /dbt/) on loopback until Ctrl+C."""
    settings = STATE.settings(project_dir=project_dir, require_project=False)
    from tooling.docs.assemble import default_out
    from tooling.docs.serve import make_server

    folder = (out or default_out(settings)).resolve()
    server = make_server(folder, port)
    host, bound = server.server_address[:2]
    console.print(f"serving {folder}")
    console.print(f"lineage site: http://{host}:{bound}/")
    console.print(f"dbt docs: http://{host}:{bound}/dbt/")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.server_close()
