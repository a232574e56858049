"""Recording overhead of monitoring: `dataops build` with and without recording.

Goal (issue 7): at most 1.02 (build wall time with recording / the same build
with `--no-monitor`). Both run as subprocesses, alternately, on the same
already-built project, so the ratio is what recording adds after the run:
reading run_results.json / manifest.json / sources.json, copying the load
audit and row counts, the checks and the incident bookkeeping. Two projects:
the sample (ingestion included: nothing new to load) and a generated N-model
project (benchmarks/synthetic_project.py, no ingestion).

Besides the wall-time ratio (noisy on a shared machine), each recorded run
reports the seconds spent in recording itself (`--log-format json`,
event monitor.recorded); their median over the build's median is printed as a
second, low-noise estimate of the same ratio.

    uv run python benchmarks/bench_monitor.py [--repeats 3] [--models 500]
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
from collections.abc import Callable
from pathlib import Path

from _common import alternate, report
from synthetic_project import make_project

from tooling.devtools.workspace import copy_repo

REPO = Path(__file__).resolve().parents[1]
DATAOPS = str(Path(sys.executable).parent / "dataops")


def runner(
    args: list[str], cwd: Path, env: dict[str, str], sink: list[float] | None
) -> Callable[[], None]:
    def run() -> None:
        result = subprocess.run(
            [DATAOPS, "--log-format", "json", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise SystemExit(f"{args} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        if sink is not None:
            for line in result.stdout.splitlines():
                event = json.loads(line)
                if event.get("event") == "monitor.recorded":
                    sink.append(float(event["seconds"]))

    return run


def measure(name: str, args: list[str], cwd: Path, env: dict[str, str], repeats: int) -> None:
    recording: list[float] = []
    runner([*args, "--no-monitor"], cwd, env, None)()  # warm: parse, load, caches
    runner([*args, "--monitor"], cwd, env, recording)()  # first recording creates the store
    recording.clear()
    ours, base = alternate(
        runner([*args, "--monitor"], cwd, env, recording),
        runner([*args, "--no-monitor"], cwd, env, None),
        repeats=repeats,
    )
    ratio = report(f"{name}: build with recording vs without", ours, base, higher_is_better=False)
    inner = statistics.median(recording)
    direct = (statistics.median(base) + inner) / statistics.median(base)
    print(
        f"{name}: recording itself median {inner:.3f}s {[round(t, 3) for t in recording]}; "
        f"(build + recording) / build = {direct:.4f}"
    )
    print(
        f"{name}: goal <= 1.02: wall-time ratio {'met' if ratio <= 1.02 else 'NOT met'}, "
        f"direct estimate {'met' if direct <= 1.02 else 'NOT met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--skip-sample", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("DATAOPS_")}
    try:
        if not args.skip_sample:
            copy = work / "repo"
            copy_repo(REPO, copy)
            measure("sample project", ["build", "--quiet"], copy, env, args.repeats)
        if args.models:
            synth = make_project(work / "synth", args.models)
            measure(
                f"{args.models}-model project",
                ["build", "--quiet", "--project-dir", str(synth)],
                work,
                env,
                args.repeats,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
