"""PostgreSQL -> DuckDB rows/s: our COPY-based source vs plain fetch-and-insert loops.

Starts a throwaway PostgreSQL 15 server (initdb into a temp folder, pg_ctl on a
free loopback port, socket in the temp folder; stopped at the end), fills a
table with N rows, then loads it into a fresh DuckDB file, alternating runs:

- ours: ``ingest()`` of a ``type: postgres`` source (COPY to spool files, one
  DuckDB CSV read, audit columns, one transaction);
- loop: server-side cursor, ``fetchmany(batch)`` and ``executemany`` into DuckDB
  (the plain loop people write), on ``--loop-rows`` rows (it is slow);
- arrow: ``fetchmany(batch)``, each batch turned into a pyarrow table and
  inserted with one ``insert ... select`` (a stronger hand-written loop).

Every timing includes opening and closing (checkpointing) the DuckDB file.

    uv run python benchmarks/bench_ingest_postgres.py [--rows 1000000] [--loop-rows 20000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa

from ingestion.config import load_config
from ingestion.pipeline import ingest

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DDL = (
    "create table t (id bigint, customer_id bigint, status varchar, "
    "amount decimal(12,2), updated_at timestamptz)"
)
SOURCES = """
sources:
  - name: shop
    type: postgres
    dsn_env: BENCH_PG_DSN
    entities:
      - name: orders
        table: public.orders
        primary_key: [id]
        load: append
        cursor: updated_at
"""


@contextmanager
def pg_server() -> Iterator[str]:
    base = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    user: dict[str, str] = {}
    if os.geteuid() == 0:  # initdb refuses root: run the server as nobody
        shutil.chown(base, "nobody")
        shutil.chown(sock, "nobody")
        user = {"user": "nobody"}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def run(*args: str) -> None:
        subprocess.run(list(args), check=True, capture_output=True, timeout=120, **user)  # type: ignore[call-overload]

    run(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    run(
        str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"),
        "-o", f"-h 127.0.0.1 -p {port} -k {sock}", "start",
    )  # fmt: skip
    try:
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    finally:
        run(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop")
        shutil.rmtree(base, ignore_errors=True)


def fetch_loop(dsn: str, db: Path, rows: int, batch: int, *, arrow: bool) -> int:
    con = duckdb.connect(str(db))
    con.execute(DDL)
    loaded = 0
    with psycopg.connect(dsn) as conn, conn.cursor(name="bench") as cur:
        cur.itersize = batch
        cur.execute(
            "select id, customer_id, status, amount, updated_at from orders order by id limit %s",
            [rows],
        )
        names = [d.name for d in cur.description or []]
        con.execute("begin")
        while chunk := cur.fetchmany(batch):
            if arrow:
                tbl = pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in chunk])  # noqa: F841
                con.execute("insert into t select * from tbl")
            else:
                con.executemany("insert into t values (?, ?, ?, ?, ?)", chunk)
            loaded += len(chunk)
        con.execute("commit")
    con.close()
    return loaded


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    n = fn()
    return time.perf_counter() - start, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--loop-rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if not (PG_BIN / "initdb").exists():
        raise SystemExit(f"PostgreSQL 15 binaries not found in {PG_BIN}")
    work = Path(tempfile.mkdtemp(prefix="bench-pg-duck-"))
    try:
        with pg_server() as dsn:
            with psycopg.connect(dsn) as conn:
                conn.execute(
                    "create table orders as select i::bigint as id, (i %% 50000)::bigint as "
                    "customer_id, (array['placed','shipped','returned'])[1 + i %% 3] as status, "
                    "((i %% 100000) / 100.0)::numeric(12,2) as amount, "
                    "timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' as updated_at "
                    "from generate_series(1, %s) as g(i)",
                    [args.rows],
                )
                conn.execute("analyze orders")
            os.environ["BENCH_PG_DSN"] = dsn
            (work / "sources.yml").write_text(SOURCES)
            config = load_config(work / "sources.yml")
            (work / "landing").mkdir()
            db = work / "bench.duckdb"

            def clean() -> None:
                db.unlink(missing_ok=True)
                db.with_suffix(".duckdb.wal").unlink(missing_ok=True)

            def ours() -> int:
                [r] = ingest(config, db, work / "landing")
                with duckdb.connect(str(db), read_only=True) as con:
                    n = con.execute("select count(*) from raw_shop.orders").fetchone()
                assert n and n[0] == args.rows == r.rows, (n, r.rows)
                return r.rows

            runs: dict[str, list[float]] = {"ours": [], "loop": [], "arrow": []}
            sizes = {"ours": args.rows, "loop": args.loop_rows, "arrow": args.rows}
            for _ in range(args.repeats):
                for name, fn in (
                    ("ours", ours),
                    ("loop", lambda: fetch_loop(dsn, db, args.loop_rows, args.batch, arrow=False)),
                    ("arrow", lambda: fetch_loop(dsn, db, args.rows, args.batch, arrow=True)),
                ):
                    clean()
                    seconds, n = timed(fn)
                    assert n == sizes[name], (name, n)
                    runs[name].append(seconds)
            clean()
        rate = {k: sizes[k] / statistics.median(v) for k, v in runs.items()}
        for k, v in runs.items():
            print(
                f"{k}: {sizes[k]:,} rows, median {statistics.median(v):.2f}s "
                f"{[round(t, 2) for t in v]}, {rate[k]:,.0f} rows/s"
            )
        print(
            f"postgres -> duckdb throughput ratio: ours / fetchmany+executemany = "
            f"{rate['ours'] / rate['loop']:.1f}x; ours / fetchmany+arrow insert = "
            f"{rate['ours'] / rate['arrow']:.2f}x"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
