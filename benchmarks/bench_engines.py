"""The same dbt project on DuckDB, PostgreSQL and Spark: build wall times, and raw
publish throughput to PostgreSQL against a plain psycopg COPY.

For each ``--scale`` of the generator: `dataops generate` into a landing folder of a
repository copy, then (subprocesses, ``--no-monitor``)

- ``dataops build`` on DuckDB (ingest + dbt),
- ``dataops build --target postgres --skip-ingest`` (the publish of every raw table
  by COPY + dbt on a throwaway PostgreSQL 15 server on loopback),
- ``dataops build --target spark --skip-ingest`` (Parquet publish + dbt-spark's
  session method, local[2]) unless ``--no-spark``.

With ``--build-repeats N`` (N > 1) each engine builds N - 1 more times with
``--full-refresh --skip-ingest`` (every raw table published again, every model
rebuilt), and the median and range are printed. The publish comparison is skipped
with ``--no-publish``.

``--memory-scan SCALE`` (repeatable): "where DuckDB stops being enough". For each
scale, generate and ``dataops build`` on DuckDB with every DuckDB connection of
the process (ingestion's and dbt-duckdb's) opened with ``memory_limit`` (default
4GiB, ``--memory-limit``; DuckDB spills what does not fit to its temp folder); a
build that fails or exceeds ``--scan-timeout`` seconds ends the scan. Each timing
prints the 1-minute load average before and after (the machine is shared).

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
import statistics
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


# Runs the dataops CLI with every duckdb.connect() of the process given a memory_limit.
LIMITED = """
import sys, duckdb
limit = sys.argv.pop(1)
_connect = duckdb.connect
def _limited(*args, **kwargs):
    config = dict(kwargs.pop("config", None) or {})
    config.setdefault("memory_limit", limit)
    return _connect(*args, config=config, **kwargs)
duckdb.connect = _limited
from tooling.cli import entry
sys.argv[0] = "dataops"
entry()
"""


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def timed_cli(
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    *,
    memory_limit: str | None = None,
    timeout: float | None = None,
) -> float:
    start = time.perf_counter()
    if memory_limit:
        command = [sys.executable, "-c", LIMITED, memory_limit, *args, "--no-monitor", "-q"]
    else:
        command = [str(BIN / "dataops"), *args, "--no-monitor", "-q"]
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(args)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return seconds


def spread(times: list[float]) -> str:
    if len(times) == 1:
        return f"{times[0]:.1f}s"
    return f"median {statistics.median(times):.1f}s [{min(times):.1f}-{max(times):.1f}]"


def generate(repo: Path, landing: Path, scale: float, env: dict[str, str]) -> None:
    subprocess.run(
        [str(BIN / "dataops"), "generate", "--scale", str(scale), "--out", str(landing)],
        cwd=repo, env=env, check=True, capture_output=True,
    )  # fmt: skip


def bench_scale(
    scale: float, tmp: Path, spark: bool, repeats: int, build_repeats: int, publish: bool
) -> None:
    repo = copy_repo(REPO, tmp / f"repo-{scale}")
    landing = tmp / f"landing-{scale}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAOPS_")}
    env.update(DO_NOT_TRACK="1", DATAOPS_LANDING_ROOT=str(landing))
    generate(repo, landing, scale, env)
    engines = {
        "duckdb": [],
        "postgres": ["--target", "postgres", "--skip-ingest"],
        **({"spark": ["--target", "spark", "--skip-ingest"]} if spark else {}),
    }
    with pg_server() as server:
        env.update(server.env)
        times: dict[str, list[float]] = {}
        for engine, args in engines.items():
            before = load()
            times[engine] = [timed_cli(["build", *args], repo, env)]
            print(f"  scale {scale} {engine} first build {times[engine][0]:.1f}s "
                  f"(load {before} -> {load()})", flush=True)  # fmt: skip
        for _ in range(build_repeats - 1):
            for engine, args in engines.items():
                again = [*args, "--skip-ingest"] if engine == "duckdb" else args
                before = load()
                times[engine].append(timed_cli(["build", "--full-refresh", *again], repo, env))
                print(f"  scale {scale} {engine} full-refresh build {times[engine][-1]:.1f}s "
                      f"(load {before} -> {load()})", flush=True)  # fmt: skip
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
            + ", ".join(f"{k} {spread(v)}" for k, v in times.items()),
            flush=True,
        )
        if not publish:
            duck.close()
            return
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


def memory_scan(scales: list[float], tmp: Path, limit: str, timeout: float) -> None:
    """The largest scale whose DuckDB build passes under ``limit``, and its time."""
    largest = None
    for scale in scales:
        repo = copy_repo(REPO, tmp / f"mem-repo-{scale}")
        landing = tmp / f"mem-landing-{scale}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATAOPS_")}
        env.update(DO_NOT_TRACK="1", DATAOPS_LANDING_ROOT=str(landing))
        generate(repo, landing, scale, env)
        before = load()
        try:
            seconds = timed_cli(["build"], repo, env, memory_limit=limit, timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"memory scan: scale {scale} exceeded {timeout:.0f}s under memory_limit "
                  f"{limit} (load {before} -> {load()}); scan stopped", flush=True)  # fmt: skip
            break
        except SystemExit as exc:
            print(f"memory scan: scale {scale} failed under memory_limit {limit}: "
                  f"{str(exc)[-600:]}", flush=True)  # fmt: skip
            break
        largest = (scale, seconds)
        print(f"memory scan: scale {scale} built under memory_limit {limit} in {seconds:.1f}s "
              f"(load {before} -> {load()})", flush=True)  # fmt: skip
        import shutil

        shutil.rmtree(repo, ignore_errors=True)
        shutil.rmtree(landing, ignore_errors=True)
    if largest:
        print(f"memory scan: largest scale built under {limit}: {largest[0]} "
              f"({largest[1]:.1f}s)", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, action="append", help="generator scale (repeatable)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--build-repeats", type=int, default=1)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--no-spark-above", type=float, default=None,
                        help="skip Spark for scales above this")  # fmt: skip
    parser.add_argument("--no-publish", action="store_true")
    parser.add_argument("--memory-scan", type=float, action="append", default=[])
    parser.add_argument("--memory-limit", default="4GiB")
    parser.add_argument("--scan-timeout", type=float, default=1800)
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp:
        for scale in args.scale or ([] if args.memory_scan else [1.0]):
            spark = not args.no_spark and (
                args.no_spark_above is None or scale <= args.no_spark_above
            )
            bench_scale(
                scale, Path(tmp), spark, args.repeats, args.build_repeats, not args.no_publish
            )
        if args.memory_scan:
            memory_scan(args.memory_scan, Path(tmp), args.memory_limit, args.scan_timeout)
    print(f"load average at the end {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
