"""`dataops privacy erase` of one subject against a full `dataops build --full-refresh`.

Goal (issue 17): the erase takes at most 0.2 of the full rebuild of the same
data. A copy of the repository in a temporary folder is loaded with the
generator's data at ``--scale`` and built once; then, alternately, the full
rebuild (re-ingest every landing file, rebuild every model) and the erase of
one more customer (the one with the most orders left), each as the user runs
it: a subprocess of the `dataops` console script.

    uv run python benchmarks/bench_privacy.py [--scale 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
from _common import alternate, report

from tooling.devtools.workspace import copy_repo

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{cmd[1]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def next_subject(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute(
            "select customer_id from raw_erp.orders where customer_id is not null "
            "group by 1 order by count(*) desc, 1 limit 1"
        ).fetchone()
    assert row is not None, "no customer left to erase"
    return int(row[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-privacy-"))
    try:
        copy = copy_repo(REPO, work / "repo")
        landing = work / "landing"
        env = {
            **os.environ,
            "DO_NOT_TRACK": "1",
            "DATAOPS_PRIVACY_KEY": "bench-privacy-key",
            "DATAOPS_LANDING_ROOT": str(landing),
        }
        dataops = str(BIN / "dataops")
        run([dataops, "generate", "--scale", str(args.scale), "--out", str(landing)], copy, env)
        run([dataops, "build", "--quiet"], copy, env)
        warehouse = copy / "warehouse" / "dataops.duckdb"

        def erase() -> None:
            subject = next_subject(warehouse)
            run([dataops, "privacy", "erase", "--subject", f"customer_id={subject}"], copy, env)

        ours, base = alternate(
            erase,
            lambda: run([dataops, "build", "--full-refresh", "--quiet"], copy, env),
            repeats=args.repeats,
        )
        ratio = report(
            f"privacy erase vs build --full-refresh (scale {args.scale})",
            ours,
            base,
            higher_is_better=False,
        )
        print(f"goal <= 0.2: {'met' if ratio <= 0.2 else 'NOT met'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
