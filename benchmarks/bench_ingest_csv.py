"""Ingest a generated CSV of >= 5 million rows: our loader vs a bare DuckDB CTAS.

Goal: rows/s of `dataops ingest` at least 0.85 of
`create table ... as select * from read_csv(...)` on the same file, same run.

    uv run python benchmarks/bench_ingest_csv.py [--rows 5000000]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import duckdb
from _common import alternate, report

from ingestion.config import load_config
from ingestion.pipeline import ingest

SOURCES = """
sources:
  - name: bench
    format: csv
    entities:
      - name: order_items
        location: order_items_*.csv
        primary_key: [order_item_id]
        load: append
        columns: {order_item_id: BIGINT, order_id: BIGINT, product_id: VARCHAR,
                  quantity: INTEGER, unit_price_cents: BIGINT}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        landing = work / "landing"
        landing.mkdir()
        csv_path = landing / "order_items_2026-10-01.csv"
        with duckdb.connect() as con:
            con.execute(
                f"""
                copy (
                    select i as order_item_id, i // 3 as order_id,
                           'JAF-' || lpad((hash(i) % 16)::varchar, 3, '0') as product_id,
                           1 + hash(i, 1) % 3 as quantity, 300 + hash(i, 2) % 900 as unit_price_cents
                    from range({args.rows}) as t(i)
                ) to '{csv_path}' (header, delimiter ',')
                """
            )
        size_mb = csv_path.stat().st_size / 1e6
        print(f"file: {args.rows:,} rows, {size_mb:.0f} MB")
        (work / "sources.yml").write_text(SOURCES)
        config = load_config(work / "sources.yml")
        ours_db, base_db = work / "ours.duckdb", work / "base.duckdb"

        def clean() -> None:
            for path in (ours_db, base_db):
                path.unlink(missing_ok=True)
                path.with_suffix(".duckdb.wal").unlink(missing_ok=True)

        def ours() -> None:
            results = ingest(config, ours_db, landing)
            assert results[0].rows == args.rows, results

        def baseline() -> None:
            with duckdb.connect(str(base_db)) as con:
                con.execute(f"create table t as select * from read_csv('{csv_path}')")
                assert con.execute("select count(*) from t").fetchone()[0] == args.rows

        ours_t, base_t = alternate(ours, baseline, repeats=args.repeats, before_each=clean)
        ratio = report("ingest csv", ours_t, base_t, higher_is_better=True)
        best = min(ours_t)
        print(
            f"our throughput: {args.rows / best / 1e6:.2f} M rows/s (best run); "
            f"goal >= 0.85: {'met' if ratio >= 0.85 else 'NOT met'}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
