"""Run the generated Airflow DAG for real (tests and benchmarks; not used by the CLI).

Airflow lives in its own virtual environment made by ``ci/airflow-venv.sh``
(exactly orchestration/airflow/requirements.txt, cached by a hash of it);
`airflow dags test` runs a DAG in-process with an SQLite metadata database and
no scheduler. The project is a copy of the repository whose ``.venv`` links to
the repository's, so the DAG's tasks run the project's own dbt and dataops.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tooling.devtools.workspace import copy_repo

DBT_ARGS = ("--project-dir", "dbt_project", "--profiles-dir", "dbt_project")


def airflow_python(repo: Path) -> Path:
    """The Airflow venv's python (created on first use, then cached)."""
    done = subprocess.run(
        ["bash", str(repo / "ci" / "airflow-venv.sh")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ci/airflow-venv.sh failed: {done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def project_copy(repo: Path, dest: Path) -> Path:
    """A copy of the repository whose .venv is the repository's own."""
    root = copy_repo(repo, dest)
    (root / ".venv").symlink_to(repo / ".venv")
    return root


def clean_env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DATAOPS_", "AIRFLOW"))}
    return {**keep, "DO_NOT_TRACK": "1", "COLUMNS": "200", **extra}


def run_dataops(root: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(root / ".venv" / "bin" / "dataops"), *args],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def parse_project(root: Path) -> None:
    """`dbt parse` of the copy's project: the manifest the DAG is generated from."""
    parse = subprocess.run(
        [str(root / ".venv" / "bin" / "dbt"), "parse", "--quiet", *DBT_ARGS],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if parse.returncode != 0:
        raise RuntimeError(f"dbt parse failed: {parse.stdout[-2000:]}")


@dataclass
class TaskRun:
    state: str
    tries: int
    seconds: float


@dataclass
class DagRun:
    run_id: str
    state: str
    seconds: float
    tasks: dict[str, TaskRun] = field(default_factory=dict)


class Airflow:
    """One AIRFLOW_HOME (SQLite metadata DB) with one DAG folder."""

    def __init__(self, python: Path, home: Path, dags: Path, project: Path) -> None:
        self.python, self.home, self.dags, self.project = python, home, dags, project
        self.env = clean_env(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__DAGS_FOLDER=str(dags),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__COSMOS__CACHE_DIR=str(home / "cosmos"),
        )

    @classmethod
    def for_copy(cls, python: Path, base: Path, root: Path, *dag_args: str) -> Airflow:
        """Parse the copy's dbt project, write its DAG into base/dags, migrate the DB."""
        parse_project(root)
        dags = base / "dags"
        args = ("orchestrate", "airflow", "--out", str(dags), "--schedule", "none")
        written = run_dataops(root, *args, "--airflow-python", str(python), *dag_args)
        if written.returncode != 0:
            raise RuntimeError(f"dataops orchestrate airflow failed: {written.stderr}")
        flow = cls(python, base / "home", dags, root)
        migrated = flow.run("db", "migrate", timeout=600)
        if migrated.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed: {migrated.stderr[-2000:]}")
        return flow

    def run(self, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.python.parent / "airflow"), *args],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def runs(self) -> list[str]:
        db = self.home / "airflow.db"
        if not db.is_file():
            return []
        with sqlite3.connect(db) as con:
            return [r[0] for r in con.execute("select run_id from dag_run order by id")]

    def dags_test(self, dag_id: str = "dataops") -> DagRun:
        """`airflow dags test` once; the run's and its tasks' states from Airflow's DB."""
        before = set(self.runs())
        done = self.run("dags", "test", dag_id)
        (self.home / f"dags-test-{len(before)}.log").write_text(done.stdout + done.stderr)
        new = [r for r in self.runs() if r not in before]
        if len(new) != 1:
            raise RuntimeError(f"airflow dags test made no run: {done.stderr[-3000:]}")
        with sqlite3.connect(self.home / "airflow.db") as con:
            state, start, end = con.execute(
                "select state, start_date, end_date from dag_run where run_id = ?", [new[0]]
            ).fetchone()
            run = DagRun(new[0], state, _seconds(start, end))
            for task, ti_state, tries, t_start, t_end in con.execute(
                "select task_id, state, try_number, start_date, end_date from task_instance "
                "where run_id = ?",
                [new[0]],
            ):
                run.tasks[task] = TaskRun(ti_state, tries, _seconds(t_start, t_end))
        return run


def _seconds(start: str | None, end: str | None) -> float:
    if not start or not end:
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
