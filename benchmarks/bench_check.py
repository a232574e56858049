"""`dataops check` on the manifest of a generated N-model dbt project (default 1,000).

Goal (issues 4 and 10): at most 2 s wall for the whole command, including the
stale-manifest test (which finds nothing to re-parse here) and the convention
preset (the generated project has no [tool.dataops]: ``dbt-labs``). Prints the command's
wall time (a subprocess: interpreter start, imports, reading manifest.json, all
rules, JSON output), the in-process time of reading the artifacts and of the
rules alone, and, for scale, the `dbt parse` that made the manifest. The
baseline the issue names, dbt-project-evaluator, runs its rules as dbt models in
the warehouse and needs `dbt deps` (the package hub is unreachable here), so it
is not run; its cost is at least a full `dbt build` of its ~50 models on top of
the parse.

    uv run python benchmarks/bench_check.py [--models 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synthetic_project import make_project

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO))

from tooling.check import load_artifacts, run_checks  # noqa: E402
from tooling.staleness import stale_reason  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DATAOPS_")},
        "DO_NOT_TRACK": "1",
    }
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        project = make_project(Path(tmp) / "proj", args.models)
        env["DATAOPS_WAREHOUSE"] = str(Path(tmp) / "bench.duckdb")
        start = time.perf_counter()
        parsed = subprocess.run(
            [str(BIN / "dataops"), "check", "--parse", "--project-dir", str(project), "-f", "json"],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
        )
        parse_s = time.perf_counter() - start
        if not parsed.stdout.strip():
            raise SystemExit(f"dbt parse failed:\n{parsed.stderr[-2000:]}")
        manifest_mb = (project / "target" / "manifest.json").stat().st_size / 1e6
        print(
            f"{args.models}-model project: manifest.json {manifest_mb:.1f} MB; "
            f"`dataops check --parse` (dbt parse + check) {parse_s:.1f}s"
        )

        wall, cpu = [], []
        for _ in range(args.repeats):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            result = subprocess.run(
                [str(BIN / "dataops"), "check", "--project-dir", str(project), "-f", "json"],
                cwd=tmp,
                env=env,
                capture_output=True,
                text=True,
            )
            wall.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            # CPU seconds (user + sys): what the command costs on a machine others share.
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            data = json.loads(result.stdout)
        load, rules, stale = [], [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            manifest, catalog = load_artifacts(project / "target")
            load.append(time.perf_counter() - start)
            start = time.perf_counter()
            reason = stale_reason(project, project / "target" / "manifest.json", manifest)
            stale.append(time.perf_counter() - start)
            assert reason is None, f"the fresh manifest was found stale: {reason}"
            start = time.perf_counter()
            # The generated project has no [tool.dataops]: as the command judges it.
            report = run_checks(manifest, catalog, configured=False)
            rules.append(time.perf_counter() - start)
        assert report.as_dict() == data
        median = statistics.median(wall)
        print(
            f"dataops check (subprocess): median {median:.2f}s {[round(t, 2) for t in wall]}; "
            f"goal <= 2 s: {'met' if median <= 2 else 'NOT met'}; "
            f"ratio to goal {median / 2:.2f}; CPU (user+sys) median "
            f"{statistics.median(cpu):.2f}s {[round(t, 2) for t in cpu]}"
        )
        print(
            f"in-process: read artifacts {statistics.median(load):.2f}s, "
            f"stale-manifest test {statistics.median(stale):.2f}s (nothing to re-parse), "
            f"12 rules {statistics.median(rules):.2f}s; "
            f"{report.models} models, score {report.score}, {report.errors} error(s) "
            f"({len({f.rule for f in report.findings})} rule(s) failing)"
        )


if __name__ == "__main__":
    main()
