"""Slim CI against a full `dbt build`, on a generated N-model project.

Goal (issue 5): with one staging model changed, `dataops ci run` (plan with
`state:modified`, prepare the CI file, build `state:modified+` deferred to the
attached production file) takes at most 0.25 of the wall time of a full
`dbt build` of the same branch. Both run as subprocesses, alternately, in the
same run; the baseline builds into its own DuckDB file. Also prints nodes built
against nodes total.

    uv run python benchmarks/bench_slim_ci.py [--models 500] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import alternate, report
from synthetic_project import make_project

BIN = Path(sys.executable).parent
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tooling.manifest import ManifestGraph  # noqa: E402


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


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

        def ours() -> None:
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

        def baseline() -> None:
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

        ours_t, base_t = alternate(ours, baseline, repeats=args.repeats)
        built = count_results(ci_dir / "target")
        full = count_results(work / "baseline-target")
        for label, target in (("slim CI", ci_dir / "target"), ("full", work / "baseline-target")):
            elapsed = json.loads((target / "run_results.json").read_text())["elapsed_time"]
            print(f"{label}: dbt's own elapsed time (last run) {elapsed:.1f}s")
        print(f"project: {args.models} models; changed: {stg.stem}")
        ratio = report(
            "slim CI (dataops ci run) vs full dbt build", ours_t, base_t, higher_is_better=False
        )
        print(f"nodes built: slim CI {built} of {full} (full build; main build ran {total})")
        print(f"goal: ratio <= 0.25 -> {'met' if ratio <= 0.25 else 'NOT met'}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
