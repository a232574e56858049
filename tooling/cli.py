"""The `dataops` command: a thin Typer layer over the library functions.

Each command lives in ``tooling/commands/``; this module wires them together,
holds the shared options, and turns user errors into one readable line.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from ingestion.errors import IngestionError
from ingestion.redact import redact
from tooling.commands import build as build_cmd
from tooling.commands import check as check_cmd
from tooling.commands import ci as ci_cmd
from tooling.commands import docs as docs_cmd
from tooling.commands import generate as generate_cmd
from tooling.commands import ingest as ingest_cmd
from tooling.commands import lineage as lineage_cmd
from tooling.commands import lint as lint_cmd
from tooling.commands import monitor as monitor_cmd
from tooling.commands import orchestrate as orchestrate_cmd
from tooling.commands import privacy as privacy_cmd
from tooling.commands import state as state_cmd
from tooling.console import err_console
from tooling.errors import DataOpsError
from tooling.eventlog import LOG, LogFormat
from tooling.options import STATE, ProfilesDir, ProjectDir, Target, Vars, Warehouse

app = typer.Typer(
    name="dataops",
    help="Tested, versioned, monitored data pipelines around dbt and DuckDB.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def versions() -> list[tuple[str, str]]:
    """Installed versions of dataops, dbt-core, every dbt adapter and DuckDB (no imports)."""
    from importlib import metadata

    names = ["dataops", "dbt-core"]
    adapters = sorted(
        dist.metadata["Name"].lower()
        for dist in metadata.distributions()
        if (dist.metadata["Name"] or "").lower().startswith("dbt-")
        and dist.metadata["Name"].lower()
        not in {
            "dbt-core",
            "dbt-adapters",
            "dbt-common",
            "dbt-extractor",
            "dbt-semantic-interfaces",
            "dbt-protos",
        }
    )
    out = []
    for name in [*names, *dict.fromkeys(adapters), "duckdb"]:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return out


def _print_version(value: bool) -> None:
    if value:
        for name, version in versions():
            typer.echo(f"{name} {version}")
        raise typer.Exit()


@app.callback()
def root(
    project_dir: ProjectDir = None,
    target: Target = None,
    warehouse: Warehouse = None,
    profiles_dir: ProfilesDir = None,
    dbt_vars: Vars = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks for errors.")
    ] = False,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format",
            help="text (default) or json: one JSON object per event and line, for log shipping.",
        ),
    ] = LogFormat.text,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the versions of dataops, dbt-core, the dbt adapters and DuckDB.",
        ),
    ] = False,
) -> None:
    """dataops: ingest, build, lint, check, slim CI, docs and monitoring for dbt projects."""
    STATE.project_dir = project_dir
    STATE.target = target
    STATE.warehouse = warehouse
    STATE.profiles_dir = profiles_dir
    STATE.vars = dbt_vars
    STATE.verbose = verbose
    LOG.configure(log_format.value)


app.command("build")(build_cmd.build)
app.command("check")(check_cmd.check)
app.command("generate")(generate_cmd.generate)
app.add_typer(ingest_cmd.app, name="ingest")
app.command("lint")(lint_cmd.lint)
app.add_typer(docs_cmd.app, name="docs")
app.command("lineage")(lineage_cmd.lineage)
app.add_typer(monitor_cmd.app, name="monitor")
app.add_typer(state_cmd.app, name="state")
app.add_typer(ci_cmd.app, name="ci")
app.add_typer(orchestrate_cmd.app, name="orchestrate")
app.add_typer(privacy_cmd.app, name="privacy")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one line per user error, tracebacks only with -v.

    Typer (standalone mode) prints usage errors itself and exits 2; the
    toolkit's own errors propagate out of it and are printed here. Anything
    else is a bug of ours: one line naming a file with the traceback, exit 70.
    """
    try:
        app(args=argv, prog_name="dataops")
    except (DataOpsError, IngestionError) as exc:
        _verbose_traceback()
        _one_line(str(exc))
        sys.exit(getattr(exc, "exit_code", 1))
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except OSError as exc:
        if not exc.filename:
            _internal_error(exc)
        # An unwritable --out, a full disk, a missing folder: the user's to fix.
        _verbose_traceback()
        culprit = exc.filename if not exc.filename2 else f"{exc.filename} -> {exc.filename2}"
        _one_line(f"cannot access {culprit}: {exc.strerror or exc}")
        sys.exit(1)
    except Exception as exc:  # the last guard: never a bare traceback
        _internal_error(exc)


def _verbose_traceback() -> None:
    if STATE.verbose:
        sys.stderr.write(redact(traceback.format_exc()))


def _one_line(message: str, **fields: str) -> None:
    if LOG.json:
        LOG.emit("error", level="error", message=message, **fields)
    else:
        err_console.print(f"error: {message}", markup=False, soft_wrap=True)


def _internal_error(exc: BaseException) -> None:
    log = write_crash_log()
    _verbose_traceback()
    first = (f"{exc}".splitlines() or [""])[0]
    _one_line(
        f"internal error ({type(exc).__name__}): {first}; traceback in {log}",
        traceback_file=str(log),
    )
    sys.exit(INTERNAL_ERROR)


INTERNAL_ERROR = 70  # EX_SOFTWARE (sysexits.h)


def write_crash_log() -> Path | str:
    """Write the current exception's traceback (redacted) to a file; return its path.

    ``$DATAOPS_CRASH_DIR`` or the user cache folder; the system temp folder if
    that cannot be written.
    """
    text = redact("".join(traceback.format_exc()))
    name = f"dataops-crash-{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}.log"
    folders = [Path(d) for d in (os.environ.get("DATAOPS_CRASH_DIR"),) if d]
    folders += [Path.home() / ".cache" / "dataops", Path(tempfile.gettempdir())]
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
        except OSError:
            continue
        return folder / name
    return "<no writable folder for the traceback>"


def entry() -> None:
    """The console script: :func:`main`, then a fast process exit.

    After a dbt command the heap holds several parsed manifests (hundreds of
    thousands of objects); letting the interpreter tear them down one by one
    takes most of a second on a 500-model project, and it is pure waste for a
    process that is about to exit. So: run the exit handlers (dbt-duckdb closes
    its connections in one, logging flushes in another), flush the streams,
    and leave with ``os._exit``. Library callers and tests use :func:`main`,
    which returns or raises normally.
    """
    try:
        main()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # sys.exit("message"): what the interpreter would print
            print(exc.code, file=sys.stderr)
            code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe, as at any exit
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
