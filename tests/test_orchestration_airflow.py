"""The generated Airflow DAG, run for real: Apache Airflow 3 + astronomer-cosmos.

Airflow lives in its own virtual environment (``ci/airflow-venv.sh``: exactly
orchestration/airflow/requirements.txt, cached by a hash of it), never in the
project's. `airflow dags test` runs the DAG in-process with an SQLite metadata
database and no scheduler, against a copy of the repository whose dbt and
dataops are the project's own executables.

1. A clean run: the marts have the row counts a plain `dataops build` of the
   same sample gives (built in another copy), and the monitoring store holds
   one run carrying the Airflow run id read from Airflow's own database.
2. The erp source's files are broken: ``ingest_erp`` fails after its retry,
   every dbt task downstream of erp's raw tables is upstream_failed (the set
   comes from the manifest's graph, walked here), the payments and events
   models are built, and monitoring records the failed run with its run id.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from conftest import REPO

from tooling.devtools.airflow_run import Airflow, airflow_python, project_copy, run_dataops

pytestmark = [pytest.mark.e2e, pytest.mark.airflow]


def mart_counts(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
        ).fetchall()
        return {
            t: con.execute(f'select count(*) from marts."{t}"').fetchone()[0] for (t,) in tables
        }


@pytest.fixture(scope="module")
def expected_marts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """What a plain `dataops build` of the same sample gives, in a copy of its own."""
    root = project_copy(REPO, tmp_path_factory.mktemp("reference") / "repo")
    built = run_dataops(root, "build", "--quiet", "--no-monitor")
    assert built.returncode == 0, built.stdout + built.stderr
    counts = mart_counts(root / "warehouse" / "dataops.duckdb")
    assert len(counts) >= 5 and all(counts.values())
    return counts


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Airflow:
    base = tmp_path_factory.mktemp("airflow")
    root = project_copy(REPO, base / "repo")
    python = airflow_python(REPO)
    return Airflow.for_copy(python, base, root, "--retries", "1", "--retry-delay", "1")


def monitoring_runs(root: Path) -> list[tuple]:
    with duckdb.connect(str(root / "warehouse" / "monitoring.duckdb"), read_only=True) as con:
        return con.execute(
            "select run_id, command, status, orchestrator_run_id from runs order by started_at"
        ).fetchall()


def node_statuses(root: Path, monitor_run: str) -> dict[str, str]:
    with duckdb.connect(str(root / "warehouse" / "monitoring.duckdb"), read_only=True) as con:
        return dict(
            con.execute(
                "select unique_id, status from node_results where run_id = ?", [monitor_run]
            ).fetchall()
        )


def manifest(root: Path) -> dict:
    return json.loads((root / "dbt_project" / "target" / "manifest.json").read_text())


def downstream_of_source(data: dict, source: str) -> set[str]:
    """Models, seeds and snapshots that read raw_<source> tables, directly or not."""
    children: dict[str, set[str]] = {}
    for uid, node in data["nodes"].items():
        for parent in (node.get("depends_on") or {}).get("nodes", []):
            children.setdefault(parent, set()).add(uid)
    frontier = [u for u, s in data["sources"].items() if s["schema"] == f"raw_{source}"]
    seen: set[str] = set()
    while frontier:
        for child in children.get(frontier.pop(), ()):
            if child not in seen:
                seen.add(child)
                frontier.append(child)
    return {u for u in seen if data["nodes"][u]["resource_type"] in ("model", "seed", "snapshot")}


def build_tasks(data: dict) -> dict[str, str]:
    """Cosmos' task id (test behavior BUILD) of each model, seed and snapshot."""
    return {
        uid: f"dbt.{node['name']}_{node['resource_type']}_build"
        for uid, node in data["nodes"].items()
        if node["resource_type"] in ("model", "seed", "snapshot")
    }


def test_a_clean_run_builds_the_marts_and_records_the_airflow_run_id(
    airflow: Airflow, expected_marts: dict[str, int]
) -> None:
    run = airflow.dags_test()
    run_id, tasks = run.run_id, {t: (r.state, r.tries) for t, r in run.tasks.items()}
    assert run.state == "success", {t: s for t, s in tasks.items() if s[0] != "success"}
    assert all(s == "success" for s, _ in tasks.values()), tasks
    data = manifest(airflow.project)
    nodes = build_tasks(data)
    assert set(nodes.values()) <= set(tasks), "every model, seed and snapshot is a task"
    assert {"ingest_erp", "ingest_payments", "ingest_events", "record_monitoring"} <= set(tasks)

    assert mart_counts(airflow.project / "warehouse" / "dataops.duckdb") == expected_marts

    runs = monitoring_runs(airflow.project)
    assert len(runs) == 1
    monitor_run, command, status, orchestrator_run = runs[0]
    assert (command, status, orchestrator_run) == ("airflow", "success", run_id)
    statuses = node_statuses(airflow.project, monitor_run)
    assert {statuses.get(uid) for uid in nodes} == {"success"}
    # Every test of a model, seed or snapshot ran and passed (in its node's task, or
    # detached once all its parents were built); Cosmos does not render sources.
    tests = [
        u
        for u, n in data["nodes"].items()
        if n["resource_type"] == "test"
        and not all(d.startswith("source.") for d in n["depends_on"]["nodes"])
    ]
    assert tests and {statuses.get(u) for u in tests} == {"pass"}


def test_a_broken_source_stops_only_its_downstream_after_its_retries(airflow: Airflow) -> None:
    root = airflow.project
    sources = root / "ingestion" / "sources.yml"
    text = sources.read_text()
    assert "  - name: erp\n" in text
    sources.write_text(text.replace("  - name: erp\n", "  - name: erp\n    max_bad_rows: 0\n", 1))
    broken = root / "data" / "sample" / "erp" / "customers" / "customers_2099-01-01.csv"
    broken.write_text(
        "customer_id,first_name,last_name,email,phone,city,signed_up_at,updated_at\n"
        "not-a-number,A,B,a@b.c,1,X,not-a-time,not-a-time\n"
    )

    run = airflow.dags_test()
    run_id, tasks = run.run_id, {t: (r.state, r.tries) for t, r in run.tasks.items()}
    assert run.state == "failed"
    assert tasks["ingest_erp"] == ("failed", 2), "one try and one retry"
    assert tasks["ingest_payments"][0] == tasks["ingest_events"][0] == "success"

    data = manifest(root)
    nodes = build_tasks(data)
    after_erp = downstream_of_source(data, "erp")
    assert after_erp and len(after_erp) < len(nodes)
    for uid, task in nodes.items():
        expected = "upstream_failed" if uid in after_erp else "success"
        assert tasks[task][0] == expected, (task, tasks[task])
    assert tasks["record_monitoring"][0] == "failed"  # it records, then fails the run

    runs = [r for r in monitoring_runs(root) if r[3] == run_id]
    assert len(runs) == 1, "one monitoring run for the Airflow run"
    monitor_run, command, status, _ = runs[0]
    assert (command, status) == ("airflow", "fail")
    statuses = node_statuses(root, monitor_run)
    for uid in nodes:
        assert statuses[uid] == ("skipped" if uid in after_erp else "success"), uid
