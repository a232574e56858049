"""What one bad record costs: NDJSON and JSON pages, clean vs one value that does not convert.

A clean file is read once by the typed reader; a file with one bad value fails
that read, and the load is repeated with every file probed and the failing one
checked line by line (docs/commands/ingest.md#quarantine). Alternating runs,
medians with the per-run values.

    uv run python benchmarks/bench_ingest_quarantine.py [--rows 1000000] [--pages 400]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import duckdb
from _common import alternate, report
from bench_ingest_formats import GEN, sources

from ingestion.config import load_config
from ingestion.pipeline import ingest

BAD = (
    '{"order_item_id": "oops", "order_id": 1, "product_id": "JAF-000", "quantity": 1, '
    '"unit_price_cents": 1, "updated_at": "2026-10-01 00:00:00"}\n'
)


def pages_yaml() -> str:
    return (
        sources("json_pages")
        .replace("format: json_pages", "format: json_pages\n    record_path: data")
        .replace("items_*.json_pages", "items_*.json")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=400, help="pages of 1,000 records")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-quarantine-"))
    try:
        clean, bad = work / "clean", work / "bad"
        for fmt in ("ndjson", "json_pages"):
            for d in (clean, bad):
                shutil.rmtree(d, ignore_errors=True)
                d.mkdir()
            if fmt == "ndjson":
                with duckdb.connect() as con:
                    con.execute(
                        f"copy ({GEN.format(start=0, stop=args.rows)}) to "
                        f"'{clean / 'items_1.ndjson'}' (format json)"
                    )
                lines = (clean / "items_1.ndjson").read_text().splitlines(keepends=True)
                lines[len(lines) // 2] = BAD
                (bad / "items_1.ndjson").write_text("".join(lines))
                (work / "s.yml").write_text(sources("ndjson"))
                expected = args.rows
            else:
                for p in range(args.pages):
                    with duckdb.connect() as con:
                        records = con.execute(
                            f"select to_json(t)::varchar from ({GEN.format(start=p * 1000, stop=p * 1000 + 1000)}) t"
                        ).fetchall()
                    body = [r[0] for r in records]
                    (clean / f"items_{p:04d}.json").write_text(
                        '{"data": [' + ", ".join(body) + "]}"
                    )
                    if p == args.pages // 2:
                        body[500] = BAD.strip()
                    (bad / f"items_{p:04d}.json").write_text('{"data": [' + ", ".join(body) + "]}")
                (work / "s.yml").write_text(pages_yaml())
                expected = args.pages * 1000
            config = load_config(work / "s.yml")
            db = work / "w.duckdb"

            def fresh(db: Path = db) -> None:
                db.unlink(missing_ok=True)
                db.with_suffix(".duckdb.wal").unlink(missing_ok=True)

            def one_bad(config=config, db=db, expected=expected) -> None:  # type: ignore[no-untyped-def]
                [r] = ingest(config, db, bad)
                assert (r.rows, r.quarantined) == (expected - 1, 1), r

            def all_clean(config=config, db=db, expected=expected) -> None:  # type: ignore[no-untyped-def]
                [r] = ingest(config, db, clean)
                assert (r.rows, r.quarantined) == (expected, 0), r

            print(f"{fmt}: {expected:,} records")
            o, b = alternate(one_bad, all_clean, repeats=args.repeats, before_each=fresh)
            report(f"  one bad value vs clean ({fmt})", o, b, higher_is_better=False)
            fresh()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
