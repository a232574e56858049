"""Slim CI against a full `dbt build`, on a generated N-model project.

Goals: with one staging model changed, `dataops ci run` (plan with
`state:modified`, prepare the CI file, build `state:modified+` deferred to the
attached production file) takes at most 0.20 of the wall time of a full
`dbt build` of the same branch (issue 10; 0.25 in issue 5), and at most 1.15 of
a bare `dbt build -s state:modified+ --defer --state ...` of the same change
(issue 10: the toolkit's cost around dbt). All three run as subprocesses, in
turn, in the same run; the full build writes its own DuckDB file, the bare
deferred build a copy of production (same catalog name, so deferred refs
resolve in it). Also prints nodes built against nodes total.

    uv run python benchmarks/bench_slim_ci.py [--models 500] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import report, timed
from synthetic_project import make_project

BIN = Path(sys.executable).parent
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tooling.manifest import ManifestGraph  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Run ``cmd``; return the CPU time (user + system) it and its children took."""
    before = children_cpu()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return children_cpu() - before


def descendants(manifest: dict, root: str) -> set[str]:
    return set(ManifestGraph.of(manifest).descendants([root]))


def count_results(target: Path) -> int:
    """Nodes dbt ran (project hooks, `operation.*`, are not nodes of the graph)."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    return sum(not r["unique_id"].startswith("operation.") for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--change",
        choices=["median", "first"],
        default="median",
        help="Which staging model to change: the one with the median number of descendants "
        "(a representative change), or the first by name.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-slim-ci-"))
    try:
        project = make_project(work / "synth", args.models)
        prod = work / "prod.duckdb"
        env = {**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        dataops = str(BIN / "dataops")
        common = ["--project-dir", str(project)]
        # main: a full build, then publish the production state.
        run(
            [dataops, "build", "--quiet", "--skip-ingest", *common, "--warehouse", str(prod)],
            work,
            env,
        )
        total = count_results(project / "target")
        run(
            [dataops, "state", "publish", str(work / "state"), *common, "--warehouse", str(prod)],
            work,
            env,
        )
        # the branch: one staging model changed.
        manifest = json.loads((project / "target" / "manifest.json").read_text())
        fanout = sorted(
            (len(descendants(manifest, uid)), manifest["nodes"][uid]["original_file_path"])
            for uid in manifest["nodes"]
            if uid.startswith("model.")
            and manifest["nodes"][uid]["original_file_path"].startswith("models/staging/")
        )
        sizes = [n for n, _ in fanout]
        if args.change == "first":
            chosen = min(fanout, key=lambda item: item[1])
        else:
            chosen = fanout[len(fanout) // 2]
        stg = project / chosen[1]
        print(
            f"staging models: {len(sizes)}; nodes at or below one (itself, descendants, tests): "
            f"min {sizes[0]}, median {sizes[len(sizes) // 2]}, max {sizes[-1]}; "
            f"changing {stg.stem} ({chosen[0]})"
        )
        stg.write_text(stg.read_text().replace("lower(status)", "upper(status)"))
        baseline_db = work / "baseline.duckdb"
        ci_dir = work / "ci"

        cpu: dict[str, list[float]] = {"slim CI": [], "full": [], "bare deferred": []}

        def ours() -> None:
            cpu["slim CI"].append(
                run(
                    [
                        dataops,
                        "ci",
                        "run",
                        "--state",
                        str(work / "state"),
                        "--ci-dir",
                        str(ci_dir),
                        *common,
                    ],
                    work,
                    env,
                )
            )

        def baseline() -> None:
            cpu["full"].append(
                run(
                    [
                        str(BIN / "dbt"),
                        "--quiet",
                        "build",
                        *common,
                        "--profiles-dir",
                        str(project),
                        "--target-path",
                        str(work / "baseline-target"),
                    ],
                    work,
                    {**env, "DATAOPS_WAREHOUSE": str(baseline_db)},
                )
            )

        bare_dir = work / "bare"
        bare_dir.mkdir()
        shutil.copyfile(work / "state" / "warehouse.duckdb", bare_dir / prod.name)

        def bare() -> None:
            cpu["bare deferred"].append(
                run(
                    [
                        str(BIN / "dbt"),
                        "--quiet",
                        "build",
                        "--select",
                        "state:modified+",
                        "--defer",
                        "--state",
                        str(work / "state"),
                        *common,
                        "--profiles-dir",
                        str(project),
                        "--target-path",
                        str(work / "bare-target"),
                    ],
                    work,
                    {**env, "DATAOPS_WAREHOUSE": str(bare_dir / prod.name)},
                )
            )

        ours_t, base_t, bare_t = [], [], []
        for _ in range(args.repeats):  # in turn, so drift on the machine hits all three
            base_t.append(timed(baseline))
            ours_t.append(timed(ours))
            bare_t.append(timed(bare))
        built = count_results(ci_dir / "target")
        full = count_results(work / "baseline-target")
        for label, target in (
            ("slim CI", ci_dir / "target"),
            ("full", work / "baseline-target"),
            ("bare deferred", work / "bare-target"),
        ):
            elapsed = json.loads((target / "run_results.json").read_text())["elapsed_time"]
            print(f"{label}: dbt's own elapsed time (last run) {elapsed:.1f}s")
        for label, times in cpu.items():
            print(
                f"{label}: CPU time (user + system) median {statistics.median(times):.2f}s "
                f"{[round(t, 2) for t in times]}"
            )
        ours_cpu = statistics.median(cpu["slim CI"])
        print(
            f"CPU time ratios (medians, not the goals, which are wall time): slim CI / full "
            f"{ours_cpu / statistics.median(cpu['full']):.3f}, slim CI / bare deferred "
            f"{ours_cpu / statistics.median(cpu['bare deferred']):.3f}"
        )
        print(f"project: {args.models} models; changed: {stg.stem}")
        ratio = report(
            "slim CI (dataops ci run) vs full dbt build", ours_t, base_t, higher_is_better=False
        )
        bare_ratio = report(
            "slim CI (dataops ci run) vs bare dbt build -s state:modified+ --defer",
            ours_t,
            bare_t,
            higher_is_better=False,
        )
        bare_built = count_results(work / "bare-target")
        print(
            f"nodes built: slim CI {built}, bare deferred dbt {bare_built}, of {full} "
            f"(full build; main build ran {total})"
        )
        print(f"goal: ratio to full <= 0.20 -> {'met' if ratio <= 0.20 else 'NOT met'}")
        print(f"goal: ratio to bare <= 1.15 -> {'met' if bare_ratio <= 1.15 else 'NOT met'}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
