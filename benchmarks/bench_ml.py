"""The ML stage's cost: training and scoring as a share of the whole `dataops build`.

For each scale (default 1 and 10) the generator writes a landing folder, a copy of the
repository is built once to warm it, then `dataops build --skip-ingest` runs
`--repeats` times; from each build's `run_results.json` the execution times of the two
dbt Python models (training: fct_reorder_model_runs, scoring:
fct_customer_score_candidates) are divided by the build's wall time. Peak memory of the
training step: the maximum resident set size of a `dbt run` of fct_reorder_model_runs
alone, against that of a `dbt run` of the SQL feature mart alone (the same dbt process
without training), so the difference is what training adds.

    uv run python benchmarks/bench_ml.py [--scales 1 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tooling.devtools.workspace import copy_repo
from tooling.sample.generate import generate

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TRAIN = "model.dataops.fct_reorder_model_runs"
SCORE = "model.dataops.fct_customer_score_candidates"


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def peak_rss_mib(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Max RSS of one child process (ru_maxrss of a fresh `python -c` wrapper)."""
    wrapper = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd], cwd=cwd, env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{out.stderr[-2000:]}")
    return int(out.stdout.strip()) / 1024


def node_times(target: Path) -> dict[str, float]:
    data = json.loads((target / "run_results.json").read_text())
    return {r["unique_id"]: float(r.get("execution_time") or 0) for r in data["results"]}


def bench(scale: float, repeats: int, work: Path) -> None:
    repo = copy_repo(REPO, work / f"repo-{scale}")
    landing = work / f"landing-{scale}"
    generate(landing, scale)
    env = {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "DATAOPS_LANDING_ROOT": str(landing),
        "DATAOPS_MONITOR": "0",
    }
    dataops = str(BIN / "dataops")
    run([dataops, "build", "--quiet"], repo, env)  # ingest and warm up
    shares, train_s, score_s, walls = [], [], [], []
    for _ in range(repeats):
        wall = run([dataops, "build", "--quiet", "--skip-ingest"], repo, env)
        times = node_times(repo / "dbt_project" / "target")
        walls.append(wall)
        train_s.append(times[TRAIN])
        score_s.append(times[SCORE])
        shares.append((times[TRAIN] + times[SCORE]) / wall)
    rows = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import duckdb, json, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
                "print(json.dumps(c.execute('select training_rows, holdout_rows, scoring_rows, "
                "roc_auc, baseline_roc_auc from marts.fct_reorder_model_runs "
                "order by trained_at desc limit 1').fetchone()))",
                str(repo / "warehouse" / "dataops.duckdb"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    dbt = str(BIN / "dbt")
    project = repo / "dbt_project"
    dbt_env = {
        **env,
        "DBT_PROFILES_DIR": str(project),
        "DATAOPS_WAREHOUSE": str(repo / "warehouse" / "dataops.duckdb"),
    }
    with_training = peak_rss_mib([dbt, "run", "-s", "fct_reorder_model_runs"], project, dbt_env)
    without = peak_rss_mib([dbt, "run", "-s", "fct_customer_features"], project, dbt_env)
    print(
        f"scale {scale}: training rows {rows[0]:,}, holdout {rows[1]:,}, scored {rows[2]:,}; "
        f"holdout AUC {rows[3]:.3f} (baseline {rows[4]:.3f})"
    )
    print(
        f"  build wall median {statistics.median(walls):.1f}s {[round(w, 1) for w in walls]}; "
        f"training median {statistics.median(train_s):.2f}s {[round(t, 2) for t in train_s]}, "
        f"scoring median {statistics.median(score_s):.2f}s {[round(t, 2) for t in score_s]}"
    )
    print(
        f"  share of the build (training + scoring) / wall: median "
        f"{statistics.median(shares):.3f} range {min(shares):.3f}-{max(shares):.3f}"
    )
    print(
        f"  peak RSS: dbt run of the training model {with_training:.0f} MiB vs the feature "
        f"mart alone {without:.0f} MiB (training adds {with_training - without:.0f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ml-"))
    try:
        for scale in args.scales:
            bench(scale, args.repeats, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
