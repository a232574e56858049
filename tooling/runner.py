"""The one module that talks to dbt: its programmatic runner, in this process.

Everything else reads the artifacts dbt writes (``target/*.json``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling.errors import DataOpsError
from tooling.settings import Settings


@dataclass
class DbtInvocation:
    success: bool
    command: list[str]
    target_dir: Path
    node_count: int | None


def prepare_environment(settings: Settings) -> None:
    """Environment dbt and the profile read: warehouse path, no tracking."""
    os.environ["DATAOPS_WAREHOUSE"] = str(settings.warehouse)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    if settings.target:
        os.environ["DATAOPS_TARGET"] = settings.target


def base_args(settings: Settings) -> list[str]:
    args = ["--project-dir", str(settings.project_dir)]
    if settings.profiles_dir is not None:
        args += ["--profiles-dir", str(settings.profiles_dir)]
    if settings.target:
        args += ["--target", settings.target]
    return args


def invoke(
    settings: Settings,
    command: Sequence[str],
    *,
    quiet: bool = False,
    extra: Sequence[str] = (),
    manifest: Any = None,
) -> DbtInvocation:
    """Run one dbt command (e.g. ``["build", "--select", "x"]``) in-process.

    ``manifest`` (from :func:`parse_manifest`) lets a second command in the
    same process skip parsing the project again.
    """
    from dbt.cli.main import dbtRunner  # imported late: dbt is slow to import

    prepare_environment(settings)
    args = [*command, *base_args(settings), *extra]
    if quiet:
        args = ["--quiet", *args]
    try:
        result = dbtRunner(manifest=manifest).invoke(args)
    except Exception as exc:  # dbtRunner raises only for programmer errors
        raise DataOpsError(f"dbt {command[0]} could not start: {exc}") from exc
    if result.exception is not None:
        message = str(result.exception).strip().splitlines()
        first = next((ln.strip() for ln in message if ln.strip()), type(result.exception).__name__)
        raise DataOpsError(f"dbt {command[0]} failed: {first}")
    node_count = None
    payload = result.result
    if payload is not None and hasattr(payload, "results"):
        node_count = len(payload.results)
    return DbtInvocation(
        success=bool(result.success),
        command=args,
        target_dir=settings.target_dir,
        node_count=node_count,
    )


def list_unique_ids(
    settings: Settings,
    select: Sequence[str],
    *,
    state: Path | None = None,
    exclude: Sequence[str] = (),
    extra: Sequence[str] = (),
    manifest: Any = None,
) -> list[str]:
    """`dbt ls` of a selection (e.g. ``state:modified+`` with ``state``): unique ids."""
    import json

    command = ["ls", "--select", *select, "--output", "json", "--output-keys", "unique_id"]
    if exclude:
        command += ["--exclude", *exclude]
    if state is not None:
        command += ["--state", str(state)]
    from dbt.cli.main import dbtRunner

    prepare_environment(settings)
    # ls prints its output as log events: silence them, read result.result instead.
    args = ["--quiet", "--log-level", "none", *command, *base_args(settings), *extra]
    result = dbtRunner(manifest=manifest).invoke(args)
    if result.exception is not None or not result.success:
        first = str(result.exception or "selection failed").strip().splitlines()[0]
        raise DataOpsError(f"dbt ls failed: {first}")
    ids = []
    for line in result.result or []:
        ids.append(json.loads(line)["unique_id"] if line.startswith("{") else line)
    return ids


def parse_manifest(settings: Settings, *, extra: Sequence[str] = ()) -> Any:
    """`dbt parse` (writes manifest.json); returns dbt's Manifest object for reuse."""
    from dbt.cli.main import dbtRunner

    prepare_environment(settings)
    result = dbtRunner().invoke(["--quiet", "parse", *base_args(settings), *extra])
    if result.exception is not None or not result.success:
        first = str(result.exception or "parse failed").strip().splitlines()[0]
        raise DataOpsError(f"dbt parse failed: {first}")
    return result.result
