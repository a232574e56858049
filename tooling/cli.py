"""The `dataops` command: a thin Typer layer over the library functions.

Each command lives in ``tooling/commands/``; this module wires them together,
holds the shared options, and turns user errors into one readable line.
"""

from __future__ import annotations

import sys
import traceback
from typing import Annotated

import typer

from ingestion.errors import IngestionError
from tooling.commands import build as build_cmd
from tooling.commands import docs as docs_cmd
from tooling.commands import generate as generate_cmd
from tooling.commands import ingest as ingest_cmd
from tooling.commands import lineage as lineage_cmd
from tooling.console import err_console
from tooling.errors import DataOpsError
from tooling.options import STATE, ProjectDir, Target, Warehouse

app = typer.Typer(
    name="dataops",
    help="Tested, versioned, monitored data pipelines around dbt and DuckDB.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    project_dir: ProjectDir = None,
    target: Target = None,
    warehouse: Warehouse = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks for errors.")
    ] = False,
) -> None:
    """dataops: ingest, build, lint, check, slim CI, docs and monitoring for dbt projects."""
    STATE.project_dir = project_dir
    STATE.target = target
    STATE.warehouse = warehouse
    STATE.verbose = verbose


app.command("build")(build_cmd.build)
app.command("generate")(generate_cmd.generate)
app.add_typer(ingest_cmd.app, name="ingest")
app.add_typer(docs_cmd.app, name="docs")
app.command("lineage")(lineage_cmd.lineage)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one line per user error, tracebacks only with -v.

    Typer (standalone mode) prints usage errors itself and exits 2; the
    toolkit's own errors propagate out of it and are printed here.
    """
    try:
        app(args=argv, prog_name="dataops")
    except (DataOpsError, IngestionError) as exc:
        if STATE.verbose:
            traceback.print_exc()
        err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
        sys.exit(getattr(exc, "exit_code", 1))
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
