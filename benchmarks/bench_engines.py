"""The same dbt project on DuckDB, PostgreSQL and Spark: build wall times, and raw
publish throughput to PostgreSQL against a plain psycopg COPY.

For each ``--scale`` of the generator: `dataops generate` into a landing folder of a
repository copy, then (subprocesses, ``--no-monitor``)

- ``dataops build`` on DuckDB (ingest + dbt),
- ``dataops build --target postgres --skip-ingest`` (the publish of every raw table
  by COPY + dbt on a throwaway PostgreSQL 15 server on loopback),
- ``dataops build --target spark --skip-ingest`` (Parquet publish + dbt-spark's
  session method, local[2]) unless ``--no-spark``.

Then the publish step alone, alternating with the baseline (goal >= 0.8):

- ours: ``publish_postgres(force=True)``: fingerprint each raw table in DuckDB,
  then COPY ... FROM STDIN fed with Arrow-rendered CSV, one transaction a table;
- baseline: the same rows, already fetched into Python (not timed), written with
  psycopg's ``COPY ... FROM STDIN`` and ``write_row`` into the same tables.

    uv run --extra postgres --extra spark python benchmarks/bench_engines.py [--scale 1 --scale 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from _common import alternate, report

from tooling.devtools.pg_server import pg_server
from tooling.devtools.workspace import copy_repo
from tooling.engines.publish import publish_postgres, raw_tables

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed_cli(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [str(BIN / "dataops"), *args, "--no-monitor", "-q"], cwd=cwd, env=env,
        capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(args)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return seconds


def bench_scale(scale: float, tmp: Path, spark: bool, repeats: int) -> None:
    repo = copy_repo(REPO, tmp / f"repo-{scale}")
    landing = tmp / f"landing-{scale}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAOPS_")}
    env.update(DO_NOT_TRACK="1", DATAOPS_LANDING_ROOT=str(landing))
    subprocess.run(
        [str(BIN / "dataops"), "generate", "--scale", str(scale), "--out", str(landing)],
        cwd=repo, env=env, check=True, capture_output=True,
    )  # fmt: skip
    with pg_server() as server:
        env.update(server.env)
        times = {"duckdb": timed_cli(["build"], repo, env)}
        times["postgres"] = timed_cli(["build", "--target", "postgres", "--skip-ingest"], repo, env)
        if spark:
            times["spark"] = timed_cli(["build", "--target", "spark", "--skip-ingest"], repo, env)
        warehouse = repo / "warehouse" / "dataops.duckdb"
        duck = duckdb.connect(str(warehouse), read_only=True)
        duck.execute("set TimeZone = 'UTC'")
        tables = raw_tables(duck)
        rows = {
            t.qualified: duck.execute(f"select * from {t.qualified}").fetchall() for t in tables
        }
        total = sum(len(r) for r in rows.values())
        print(
            f"scale {scale}: {total:,} raw rows in {len(tables)} tables; dataops build wall time: "
            + ", ".join(f"{k} {v:.1f}s" for k, v in times.items())
        )
        pg = server.connect()
        pg.autocommit = False

        def ours() -> None:
            publish_postgres(duck, pg, tables, force=True)

        def baseline() -> None:
            with pg.cursor() as cur:
                for table in tables:
                    names = ", ".join(f'"{c}"' for c, _ in table.columns)
                    cur.execute(f"truncate {table.qualified}")
                    copy_sql = f"copy {table.qualified} ({names}) from stdin"
                    with cur.copy(copy_sql) as copy:
                        for row in rows[table.qualified]:
                            copy.write_row(row)
            pg.commit()

        ours()  # creates the tables the baseline fills
        ours_t, base_t = alternate(ours, baseline, repeats=repeats)
        report(
            f"scale {scale}: raw publish to PostgreSQL ({total:,} rows)",
            ours_t, base_t, higher_is_better=True,
        )  # fmt: skip
        pg.close()
        duck.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, action="append", help="generator scale (repeatable)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-spark", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp:
        for scale in args.scale or [1.0]:
            bench_scale(scale, Path(tmp), not args.no_spark, args.repeats)


if __name__ == "__main__":
    main()
