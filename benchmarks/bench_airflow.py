"""The Airflow DAG (astronomer-cosmos) against `dataops build` on the same sample.

Airflow 3 + Cosmos run from their own venv (``ci/airflow-venv.sh``; not a
project dependency); `airflow dags test` runs the generated DAG in-process
(SQLite, no scheduler, one task at a time as on a DuckDB warehouse). Each
repeat uses two fresh copies of the repository: one for `dataops build`, one
for the DAG. Printed:

- wall ratio: the DAG run (Airflow's own start/end of the run) / `dataops build`;
- per dbt task: its duration in Airflow, the dbt time of the nodes it ran (from
  the task's run_results.json), and the difference, the overhead per task;
- the fixed cost of one dbt invocation in a subprocess (a bare `dbt build
  --select <seed>` minus its node time), which is the part of that overhead
  the execution mode decides (LOCAL + subprocess pays it once per task).

    uv run python benchmarks/bench_airflow.py [--repeats 1] [--test-behavior BUILD|AFTER_EACH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tooling.devtools.airflow_run import (  # noqa: E402
    DBT_ARGS,
    Airflow,
    airflow_python,
    clean_env,
    project_copy,
    run_dataops,
)
from tooling.orchestration.dag_run import run_folder  # noqa: E402


def dbt_node_seconds(root: Path, run_id: str) -> dict[str, float]:
    """Per Cosmos task: the summed execution_time of the nodes its dbt run reported."""
    tasks = run_folder(root / "orchestration" / "runs", run_id) / "tasks"
    out = {}
    for path in tasks.glob("*.json"):
        task = path.name.rsplit(".", 2)[0]
        results = json.loads(path.read_text())["results"]
        out[task] = sum(float(r.get("execution_time") or 0.0) for r in results)
    return out


def bare_dbt_invocation(root: Path) -> float:
    """Wall of one `dbt build --select payment_methods` subprocess minus its node time."""
    start = time.perf_counter()
    subprocess.run(
        [
            str(root / ".venv" / "bin" / "dbt"),
            "build",
            "--quiet",
            "-s",
            "payment_methods",
            *DBT_ARGS,
        ],
        cwd=root,
        env=clean_env(DATAOPS_WAREHOUSE=str(root / "warehouse" / "dataops.duckdb")),
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - start
    results = json.loads((root / "dbt_project" / "target" / "run_results.json").read_text())
    return wall - sum(float(r["execution_time"]) for r in results["results"])


def once(python: Path, test_behavior: str) -> dict[str, float]:
    tmp = tempfile.mkdtemp(prefix="bench-airflow-")
    result = measure(python, test_behavior, tmp)  # a failure keeps tmp (Airflow's logs)
    shutil.rmtree(tmp)
    return result


def measure(python: Path, test_behavior: str, tmp: str) -> dict[str, float]:
    ref = project_copy(REPO, Path(tmp) / "reference")
    start = time.perf_counter()
    built = run_dataops(ref, "build", "--quiet")
    build_s = time.perf_counter() - start
    if built.returncode != 0:
        raise SystemExit(f"dataops build failed: {built.stderr}")
    invocation = bare_dbt_invocation(ref)

    base = Path(tmp) / "airflow"
    root = project_copy(REPO, base / "repo")
    flow = Airflow.for_copy(python, base, root, "--test-behavior", test_behavior)
    start = time.perf_counter()
    run = flow.dags_test()
    process_s = time.perf_counter() - start
    if run.state != "success":
        bad = {t: r.state for t, r in run.tasks.items() if r.state != "success"}
        raise SystemExit(f"the DAG run failed: {bad}; logs in {flow.home}")
    node = dbt_node_seconds(root, run.run_id)
    dbt_tasks = {t: r for t, r in run.tasks.items() if t.startswith("dbt.")}
    overhead = [r.seconds - node.get(t, 0.0) for t, r in dbt_tasks.items()]
    return {
        "build_s": build_s,
        "dag_s": run.seconds,
        "process_s": process_s,
        "tasks": len(run.tasks),
        "dbt_tasks": len(dbt_tasks),
        "task_median_s": statistics.median(r.seconds for r in dbt_tasks.values()),
        "node_median_s": statistics.median(node.get(t, 0.0) for t in dbt_tasks),
        "overhead_median_s": statistics.median(overhead),
        "overhead_min_s": min(overhead),
        "overhead_max_s": max(overhead),
        "dbt_invocation_s": invocation,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--test-behavior", default="BUILD", choices=["BUILD", "AFTER_EACH"])
    args = parser.parse_args()
    python = airflow_python(REPO)
    rows = [once(python, args.test_behavior) for _ in range(args.repeats)]
    for i, r in enumerate(rows, 1):
        print(
            f"run {i}: dataops build {r['build_s']:.1f} s, DAG run {r['dag_s']:.1f} s "
            f"(airflow dags test process {r['process_s']:.1f} s), ratio "
            f"{r['dag_s'] / r['build_s']:.2f}; {r['tasks']:.0f} tasks, {r['dbt_tasks']:.0f} dbt; "
            f"per dbt task: {r['task_median_s']:.2f} s median, dbt node time "
            f"{r['node_median_s']:.2f} s, overhead {r['overhead_median_s']:.2f} s "
            f"({r['overhead_min_s']:.2f}-{r['overhead_max_s']:.2f}); one bare dbt "
            f"subprocess invocation costs {r['dbt_invocation_s']:.2f} s"
        )
    ratios = [r["dag_s"] / r["build_s"] for r in rows]
    print(f"wall ratio DAG / dataops build: median {statistics.median(ratios):.2f}")
    print(
        "overhead per dbt task: median "
        f"{statistics.median(r['overhead_median_s'] for r in rows):.2f} s, of which a dbt "
        f"subprocess start {statistics.median(r['dbt_invocation_s'] for r in rows):.2f} s"
    )


if __name__ == "__main__":
    main()
