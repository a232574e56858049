"""`dataops build` wall time against a bare `dbt build` of the same project.

Goal (issue 2): at most 1.15. Both run as subprocesses on the same, already
ingested warehouse (a copy of the repository in a temporary folder), so the
ratio is what our wrapper adds: the ingestion check (nothing new to load),
settings, the in-process runner and the summary.

    uv run python benchmarks/bench_build.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import alternate, report

from tooling.devtools.workspace import copy_repo

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-build-"))
    try:
        copy = work / "repo"
        copy_repo(REPO, copy)
        env = {
            **os.environ,
            "DO_NOT_TRACK": "1",
            "DATAOPS_WAREHOUSE": str(copy / "warehouse" / "dataops.duckdb"),
        }
        run([str(BIN / "dataops"), "build"], copy, env)  # ingest once; warm partial parse
        project = copy / "dbt_project"
        ours, base = alternate(
            lambda: run([str(BIN / "dataops"), "build", "--quiet"], copy, env),
            lambda: run(
                [
                    str(BIN / "dbt"),
                    "--quiet",
                    "build",
                    "--project-dir",
                    str(project),
                    "--profiles-dir",
                    str(project),
                ],
                copy,
                env,
            ),
            repeats=args.repeats,
        )
        ratio = report("dataops build vs dbt build", ours, base, higher_is_better=False)
        print(f"goal <= 1.15: {'met' if ratio <= 1.15 else 'NOT met'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
