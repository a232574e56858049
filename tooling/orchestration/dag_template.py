"""Airflow DAG for a dataops project, written by `dataops orchestrate airflow`.

Runs inside Airflow's own environment (Apache Airflow 3 + astronomer-cosmos);
every dataops and dbt command runs in the project's pinned environment through
its executables, so the two never share one resolver. The graph:

    ingest_<source> (one per source, retries with exponential backoff)
      -> the dbt project as Cosmos tasks (DbtTaskGroup "dbt"): each node waits
         only for the ingestion of the sources it reads, so a failed source
         stops only the models downstream of its raw tables
      -> record_monitoring (runs whatever happened upstream): merges the dbt
         artifacts of the run, records it in the monitoring store with the
         Airflow run id, sends alerts; fails when the run failed.

Regenerate instead of editing: the settings are in CONFIG below.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

CONFIG: dict = {}  # @dataops-config: replaced by the generator


def _root() -> Path:
    """The project root: DATAOPS_HOME, else CONFIG['root'] (relative to this file)."""
    home = os.environ.get("DATAOPS_HOME")
    if home:
        return Path(home)
    return (Path(__file__).parent / CONFIG["root"]).resolve()


def _check_versions() -> None:
    """One clear line (not a stack of import errors) for versions outside the pins."""
    for package, series in CONFIG["pins"].items():
        try:
            found = version(package)
        except PackageNotFoundError:
            raise RuntimeError(
                f"dataops DAG: {package} is not installed (pinned: {series}.x)"
            ) from None
        if not (found == series or found.startswith(series + ".")):
            raise RuntimeError(
                f"dataops DAG: {package} {found} is outside the pin {series}.x; "
                "install orchestration/airflow/requirements.txt"
            )


_check_versions()

from airflow.providers.standard.operators.bash import BashOperator  # noqa: E402
from airflow.sdk import DAG  # noqa: E402
from cosmos import (  # noqa: E402
    DbtTaskGroup,
    ExecutionConfig,
    ProfileConfig,
    ProjectConfig,
    RenderConfig,
)
from cosmos.constants import (  # noqa: E402
    ExecutionMode,
    InvocationMode,
    LoadMode,
    TestBehavior,
)

ROOT = _root()
PROJECT = ROOT / CONFIG["project_dir"]
MANIFEST = ROOT / CONFIG["manifest"]
ARTIFACTS = ROOT / CONFIG["artifacts_dir"]
BIN = {name: str(ROOT / path) for name, path in CONFIG["executables"].items()}
ENV = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    **({"DATAOPS_WAREHOUSE": str(ROOT / CONFIG["warehouse"])} if CONFIG["warehouse"] else {}),
    "DATAOPS_TARGET": CONFIG["target"],
}

if CONFIG["warehouse"]:
    # DuckDB creates the file but not its folder: a seed task may run before any
    # ingestion task has made it.
    Path(ENV["DATAOPS_WAREHOUSE"]).parent.mkdir(parents=True, exist_ok=True)


def _task_folder(run_id: str) -> Path:
    return ARTIFACTS / re.sub(r"[^\w.-]", "_", run_id)


def keep_run_results(project_dir: str, context: dict, **_: object) -> None:
    """Cosmos callback: keep each dbt task's run_results.json for the monitoring task.

    Cosmos runs every task in a throwaway copy of the project; the copies'
    artifacts would be lost with it.
    """
    results = Path(project_dir) / "target" / "run_results.json"
    if not results.is_file():
        return
    ti = context["ti"]
    folder = _task_folder(context["run_id"]) / "tasks"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(results, folder / f"{ti.task_id}.{ti.try_number}.json")


def _source_dependencies() -> dict[str, set[str]]:
    """dbt source unique_id -> ingestion source name, from the manifest's raw schemas."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    schemas = CONFIG["raw_schemas"]
    out: dict[str, set[str]] = {}
    for uid, source in (manifest.get("sources") or {}).items():
        name = schemas.get(str(source.get("schema", "")).lower())
        if name:
            out.setdefault(uid, set()).add(name)
    return out


with DAG(
    dag_id=CONFIG["dag_id"],
    schedule=CONFIG["schedule"],
    catchup=False,
    max_active_runs=1,
    # DuckDB allows one writer per file: one task at a time on a DuckDB warehouse.
    max_active_tasks=CONFIG["max_active_tasks"],
    tags=["dataops"],
    default_args={"owner": "dataops"},
) as dag:
    ingest = {
        source["name"]: BashOperator(
            task_id=f"ingest_{source['name']}",
            bash_command=f"{shlex.quote(BIN['dataops'])} ingest --source {shlex.quote(source['name'])}",
            cwd=str(ROOT),
            env=ENV,
            append_env=True,
            retries=source["retries"],
            retry_delay=timedelta(seconds=source["retry_delay_seconds"]),
            retry_exponential_backoff=True,
            max_retry_delay=timedelta(seconds=source["max_retry_delay_seconds"]),
        )
        for source in CONFIG["sources"]
    }

    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=PROJECT,
            manifest_path=MANIFEST,
            project_name=CONFIG["project_name"],
            install_dbt_deps=False,
            env_vars=ENV,
        ),
        profile_config=ProfileConfig(
            profile_name=CONFIG["profile_name"],
            target_name=CONFIG["target"],
            profiles_yml_filepath=ROOT / CONFIG["profiles_yml"],
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=BIN["dbt"],
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior[CONFIG["test_behavior"]],
            # A test of two models (relationships) runs once both are built.
            should_detach_multiple_parents_tests=True,
            emit_datasets=False,
        ),
        operator_args={"callback": keep_run_results, "retries": 0, "install_deps": False},
    )

    # A node waits for the ingestion of exactly the sources it reads; its own
    # downstream nodes follow through the dbt graph (upstream_failed propagates).
    readers = _source_dependencies()
    for uid, node in dbt.dbt_graph.filtered_nodes.items():
        task = dbt.tasks_map.get(uid)
        if task is None:
            continue
        for dependency in node.depends_on:
            for source in readers.get(dependency, ()):
                if source in ingest:
                    ingest[source] >> task

    record = BashOperator(
        task_id="record_monitoring",
        bash_command=(
            f"{shlex.quote(BIN['dataops'])} orchestrate record"
            ' --run-id "$AIRFLOW_RUN_ID" --started-at "$AIRFLOW_RUN_STARTED"'
            f" --artifacts {shlex.quote(str(ARTIFACTS))}"
        ),
        cwd=str(ROOT),
        env={
            **ENV,
            "AIRFLOW_RUN_ID": "{{ run_id }}",
            "AIRFLOW_RUN_STARTED": "{{ dag_run.start_date.isoformat() }}",
        },
        append_env=True,
        trigger_rule="all_done",
        retries=0,
    )
    [*ingest.values(), dbt] >> record
