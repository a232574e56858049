"""Write an Airflow DAG (astronomer-cosmos) for a dataops project.

The DAG file is :mod:`tooling.orchestration.dag_template` with its ``CONFIG``
filled in from the project: its ingestion sources, its dbt manifest (project
and profile names, which raw schemas the dbt sources read) and the paths of
the project's own ``dataops`` and ``dbt`` executables. Everything that would
otherwise surface as an import error inside Airflow is checked here first and
reported as one line.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingestion.config import load_config
from ingestion.errors import IngestionError
from tooling.artifacts import load_manifest
from tooling.errors import UsageError
from tooling.settings import Settings

# The series the DAG is tested with (orchestration/airflow/requirements.txt pins
# the exact versions of everything): a version outside them is refused.
PINS = {"apache-airflow": "3.3", "astronomer-cosmos": "1.15"}
TEMPLATE = Path(__file__).with_name("dag_template.py")
MARKER = "CONFIG: dict = {}  # @dataops-config: replaced by the generator"
TEST_BEHAVIORS = ("BUILD", "AFTER_EACH")


@dataclass(frozen=True)
class DagOptions:
    dag_id: str = "dataops"
    schedule: str | None = "0 3 * * *"
    retries: int = 2
    retry_delay_seconds: int = 60
    max_retry_delay_seconds: int = 900
    test_behavior: str = "BUILD"
    dbt_executable: Path | None = None
    dataops_executable: Path | None = None
    airflow_python: Path | None = None
    artifacts_dir: Path | None = None


def _relative(path: Path, start: Path) -> str:
    """``path`` relative to ``start`` when inside it (the DAG moves with the project)."""
    # absolute, not resolved: a symlinked .venv stays under the project
    path, start = Path(os.path.abspath(path)), Path(os.path.abspath(start))
    return os.path.relpath(path, start) if path.is_relative_to(start) else str(path)


def _executable(path: Path, what: str) -> Path:
    if not path.is_file():
        raise UsageError(f"{what} not found at {path}: pass an existing executable")
    if not os.access(path, os.X_OK):
        raise UsageError(f"{what} at {path} is not executable")
    return path


def check_airflow(python: Path) -> dict[str, str]:
    """The Airflow and Cosmos versions of the interpreter Airflow runs in, checked."""
    _executable(python, "Airflow's python (--airflow-python)")
    probe = (
        "import json\nfrom importlib.metadata import version, PackageNotFoundError\n"
        "out = {}\n"
        f"for p in {sorted(PINS)!r}:\n"
        "    try: out[p] = version(p)\n"
        "    except PackageNotFoundError: out[p] = None\n"
        "print(json.dumps(out))\n"
    )
    try:
        done = subprocess.run(
            [str(python), "-c", probe], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise UsageError(f"cannot run Airflow's python {python}: {exc}") from None
    if done.returncode != 0:
        raise UsageError(f"cannot run Airflow's python {python}: exit {done.returncode}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for package, series in PINS.items():
        got = found.get(package)
        if got is None:
            raise UsageError(f"{package} is not installed for {python} (pinned: {series}.x)")
        if not (got == series or got.startswith(series + ".")):
            raise UsageError(
                f"{package} {got} (at {python}) is outside the pin {series}.x; "
                "install orchestration/airflow/requirements.txt"
            )
    return found


def dag_config(settings: Settings, out: Path, options: DagOptions) -> dict[str, Any]:
    """The DAG's CONFIG: everything read and checked from the project."""
    if not settings.sources.is_file():
        raise UsageError(
            f"the project has no sources to ingest ({settings.sources} not found): "
            "the DAG runs one ingestion task per source"
        )
    try:
        sources = load_config(settings.sources).sources
    except IngestionError as exc:
        raise UsageError(str(exc)) from None
    if not sources:
        raise UsageError(f"{settings.sources} declares no sources")
    manifest = load_manifest(settings.target_dir)
    metadata = manifest.get("metadata") or {}
    project_name = str(metadata.get("project_name") or "")
    if not project_name:
        raise UsageError(f"{settings.manifest_path} names no project: run `dbt parse` again")
    if options.test_behavior not in TEST_BEHAVIORS:
        raise UsageError(f"--test-behavior must be one of {', '.join(TEST_BEHAVIORS)}")
    profile = settings.profile  # as dbt resolves it; one line on error
    adapter = profile.adapter_type

    bin_dir = settings.root / ".venv" / "bin"
    dbt = _executable(options.dbt_executable or bin_dir / "dbt", "dbt executable")
    dataops = _executable(options.dataops_executable or bin_dir / "dataops", "dataops executable")
    if options.airflow_python is not None:
        check_airflow(options.airflow_python)

    raw_schemas = {f"raw_{s.name}".lower(): s.name for s in sources}
    read = {
        str(s.get("schema", "")).lower() for s in (manifest.get("sources") or {}).values()
    } & set(raw_schemas)
    if not read:
        raise UsageError(
            f"no dbt source of {settings.manifest_path} reads a raw schema of "
            f"{settings.sources} ({', '.join(sorted(raw_schemas))})"
        )

    home = Path(os.path.abspath(out))
    root = settings.root
    # The root is written relative to the DAG file when the DAG lives inside it.
    root_from_dag = os.path.relpath(root, home) if home.is_relative_to(root) else str(root)

    def rel(path: Path) -> str:
        return _relative(path, root)

    return {
        "dag_id": options.dag_id,
        "schedule": options.schedule,
        "root": root_from_dag,
        "project_dir": rel(settings.project_dir),
        "project_name": project_name,
        "manifest": rel(settings.manifest_path),
        "profiles_yml": rel(profile.profiles_dir / "profiles.yml"),
        "profile_name": profile.profile_name,
        "target": profile.target_name,
        "warehouse": rel(settings.warehouse) if adapter == "duckdb" else None,
        "max_active_tasks": 1 if adapter == "duckdb" else 8,
        "artifacts_dir": rel(options.artifacts_dir or settings.root / "orchestration" / "runs"),
        "executables": {"dbt": rel(dbt), "dataops": rel(dataops)},
        "raw_schemas": raw_schemas,
        "sources": [
            {
                "name": s.name,
                "retries": options.retries,
                "retry_delay_seconds": options.retry_delay_seconds,
                "max_retry_delay_seconds": options.max_retry_delay_seconds,
            }
            for s in sources
        ],
        "test_behavior": options.test_behavior,
        "pins": dict(PINS),
    }


def python_literal(value: Any, depth: int = 0) -> str:
    """``value`` as Python source the way ruff formats it: one item a line, trailing commas.

    The magic trailing comma keeps every level expanded, so `ruff format` (a
    pre-commit hook) leaves a generated DAG exactly as written.
    """
    pad, inner = "    " * depth, "    " * (depth + 1)
    if isinstance(value, dict) and value:
        items = [
            f"{inner}{json.dumps(k)}: {python_literal(v, depth + 1)}," for k, v in value.items()
        ]
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list | tuple) and value:
        items = [f"{inner}{python_literal(v, depth + 1)}," for v in value]
        return "[\n" + "\n".join(items) + f"\n{pad}]"
    if isinstance(value, str):
        return json.dumps(value)
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    return "{}" if isinstance(value, dict) else "[]"


def render_dag(config: dict[str, Any]) -> str:
    template = TEMPLATE.read_text(encoding="utf-8")
    assert MARKER in template, "the DAG template lost its CONFIG marker"
    return template.replace(MARKER, f"CONFIG: dict = {python_literal(config)}")


def write_dag(settings: Settings, out: Path, options: DagOptions) -> Path:
    """Check the project, then write ``<out>/<dag_id>_dag.py``; returns its path."""
    config = dag_config(settings, out, options)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{options.dag_id}_dag.py"
    path.write_text(render_dag(config), encoding="utf-8")
    return path
