"""Ingest CSV, Parquet and NDJSON files vs a bare DuckDB CTAS of the same file; and a merge.

Ratio = baseline time / our time (goal >= 0.85 for CSV and Parquet), same run,
alternating runs; medians, with the per-run range; the same ratio of process CPU
time is printed below each (steadier when other jobs share the machine). The merge figure is wall time of merging M changed/new rows
into an N-row table (by default 1M into 10M).

    uv run python benchmarks/bench_ingest_formats.py [--rows 5000000] [--merge-base 10000000]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
from _common import alternate, report

import ingestion
from ingestion.config import load_config
from ingestion.pipeline import ingest

COLUMNS = (
    "{order_item_id: BIGINT, order_id: BIGINT, product_id: VARCHAR, quantity: INTEGER, "
    "unit_price_cents: BIGINT, updated_at: TIMESTAMP}"
)
GEN = (
    "select i as order_item_id, i // 3 as order_id, 'JAF-' || lpad((hash(i) % 16)::varchar, 3, "
    "'0') as product_id, (1 + hash(i, 1) % 3)::integer as quantity, "
    "(300 + hash(i, 2) % 900)::bigint as unit_price_cents, "
    "timestamp '2026-10-01' + to_seconds(i % 86400) as updated_at from range({start}, {stop}) t(i)"
)
READERS = {"csv": "read_csv", "parquet": "read_parquet", "ndjson": "read_json"}


def sources(fmt: str, load: str = "append") -> str:
    ext = "ndjson" if fmt == "ndjson" else fmt
    return (
        f"sources:\n  - name: bench\n    format: {fmt}\n    entities:\n"
        f"      - name: items\n        location: items_*.{ext}\n"
        f"        primary_key: [order_item_id]\n        load: {load}\n"
        f"        cursor: updated_at\n        columns: {COLUMNS}\n"
    )


def cpu_timed(fn: Callable[[], object], sink: list[float]) -> Callable[[], None]:
    """``fn``, appending the process CPU time each call takes to ``sink``."""

    def run() -> None:
        start = time.process_time()
        fn()
        sink.append(time.process_time() - start)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--merge-base", type=int, default=10_000_000)
    parser.add_argument("--merge-rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,parquet,ndjson")
    parser.add_argument(
        "--meta-reference",
        action="store_true",
        help="also time a bare CTAS that adds the old per-row text audit columns "
        "(text batch id and file name: what they cost)",
    )
    parser.add_argument(
        "--unordered-reference",
        action="store_true",
        help="also time the bare CTAS under preserve_insertion_order=false (CSV loads that "
        "way: how much of its lead over the bare CTAS that setting is)",
    )
    args = parser.parse_args()
    print(f"ingestion code: {Path(ingestion.__file__).parent}")
    work = Path(tempfile.mkdtemp(prefix="bench-formats-"))
    try:
        for fmt in filter(None, args.formats.split(",")):
            landing = work / fmt
            landing.mkdir()
            ext = "ndjson" if fmt == "ndjson" else fmt
            path = landing / f"items_1.{ext}"
            opts = {"csv": "(header)", "parquet": "(format parquet)", "ndjson": "(format json)"}
            with duckdb.connect() as con:
                con.execute(f"copy ({GEN.format(start=0, stop=args.rows)}) to '{path}' {opts[fmt]}")
            (work / f"{fmt}.yml").write_text(sources(fmt))
            config = load_config(work / f"{fmt}.yml")
            ours_db, base_db = work / "ours.duckdb", work / "base.duckdb"

            def clean(ours_db: Path = ours_db, base_db: Path = base_db) -> None:
                for p in (ours_db, base_db):
                    p.unlink(missing_ok=True)
                    p.with_suffix(".duckdb.wal").unlink(missing_ok=True)

            def ours(config=config, landing=landing, ours_db=ours_db) -> None:  # type: ignore[no-untyped-def]
                [r] = ingest(config, ours_db, landing)
                assert r.rows == args.rows, r

            def baseline(fmt: str = fmt, path: Path = path, base_db: Path = base_db) -> None:
                with duckdb.connect(str(base_db)) as con:
                    con.execute(f"create table t as select * from {READERS[fmt]}('{path}')")

            def unordered(fmt: str = fmt, path: Path = path, base_db: Path = base_db) -> None:
                with duckdb.connect(str(base_db)) as con:
                    con.execute("set preserve_insertion_order = false")
                    con.execute(f"create table t as select * from {READERS[fmt]}('{path}')")

            def with_meta(fmt: str = fmt, path: Path = path, base_db: Path = base_db) -> None:
                # the same CTAS plus the per-row text audit columns raw tables had before
                # integer keys (a constant timestamp, a text batch id and file name)
                with duckdb.connect(str(base_db)) as con:
                    con.execute(
                        f"create table t as select *, now()::timestamptz as _loaded_at, "
                        f"'bench.items.20260101T000000.0123abcd' as _batch_id, "
                        f"'{path.name}' as _source_file from {READERS[fmt]}('{path}')"
                    )

            print(f"{fmt}: {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB")
            cpu_o: list[float] = []
            cpu_b: list[float] = []
            o, b = alternate(
                cpu_timed(ours, cpu_o),
                cpu_timed(baseline, cpu_b),
                repeats=args.repeats,
                before_each=clean,
            )
            report(f"ingest {fmt}", o, b, higher_is_better=True)
            # CPU seconds of this process (all threads: DuckDB's and the hasher's) move
            # less than wall time when other jobs share the cores
            report(f"  CPU time ({fmt})", cpu_o, cpu_b, higher_is_better=True)
            if args.meta_reference:
                _, m = alternate(lambda: None, with_meta, repeats=args.repeats, before_each=clean)
                report(
                    f"  reference: bare CTAS + old text audit columns vs bare CTAS ({fmt})",
                    m,
                    b,
                    higher_is_better=True,
                )
                report(
                    f"  ours vs CTAS + old text audit columns ({fmt})", o, m, higher_is_better=True
                )
            if args.unordered_reference:
                cpu_u: list[float] = []
                _, u = alternate(
                    lambda: None,
                    cpu_timed(unordered, cpu_u),
                    repeats=args.repeats,
                    before_each=clean,
                )
                report(
                    f"  ours vs bare CTAS with preserve_insertion_order=false ({fmt})",
                    o,
                    u,
                    higher_is_better=True,
                )
                report(f"  CPU time, same ({fmt})", cpu_o, cpu_u, higher_is_better=True)
            clean()
            shutil.rmtree(landing)
        if args.merge_base <= 0:
            return
        # merge M rows (half updates, half new) into an N-row table
        landing = work / "merge"
        landing.mkdir()
        with duckdb.connect() as con:
            con.execute(
                f"copy ({GEN.format(start=0, stop=args.merge_base)}) to "
                f"'{landing / 'items_0.parquet'}' (format parquet)"
            )
        (work / "merge.yml").write_text(sources("parquet", "merge"))
        config = load_config(work / "merge.yml")
        db = work / "merge.duckdb"
        start = time.perf_counter()
        ingest(config, db, landing)
        base_s = time.perf_counter() - start
        half = args.merge_rows // 2
        with duckdb.connect() as con:
            con.execute(
                f"copy (select * replace (updated_at + interval 1 day as updated_at, "
                f"quantity + 1 as quantity) from ({GEN.format(start=args.merge_base - half, stop=args.merge_base + half)})) "
                f"to '{landing / 'items_1.parquet'}' (format parquet)"
            )
        start = time.perf_counter()
        [r] = ingest(config, db, landing)
        merge_s = time.perf_counter() - start
        with duckdb.connect(str(db), read_only=True) as con:
            total = con.execute("select count(*) from raw_bench.items").fetchone()[0]
        assert total == args.merge_base + half, total
        print(
            f"merge: initial load of {args.merge_base:,} rows {base_s:.2f}s; merging "
            f"{r.rows:,} rows ({half:,} updates, {half:,} new) into it: {merge_s:.2f}s"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
