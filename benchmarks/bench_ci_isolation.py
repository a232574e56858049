"""What slim-CI isolation costs: the private copy of production and the locked guards.

`dataops ci run` attaches a private copy of the production warehouse (DuckDB
keeps attached files writable by path even with external access off, see
tooling/ci/isolation.py). This prints, for a generated warehouse of N rows:

- the copy's wall time against one full scan of the same data in DuckDB
  (``select sum(hash(*))`` over every table: what a CI diff or a deferred
  model reads anyway), as a ratio;
- the guarded connection's query time against an unguarded one (same query,
  same file), as a ratio (the guards should cost nothing per query).

    uv run python benchmarks/bench_ci_isolation.py [--rows 5000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tooling.ci.isolation import apply_guards, guard_settings, private_copy


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        prod = root / "prod.duckdb"
        with duckdb.connect(str(prod)) as con:
            con.execute(
                f"create table facts as select range as id, range % 97 as k, "
                f"md5(range::varchar) as v from range({args.rows})"
            )
        size = prod.stat().st_size
        scan_sql = "select sum(hash(f)) from prod.facts as f"

        def scan(guarded: bool) -> None:
            ci = root / ("ci_g.duckdb" if guarded else "ci_u.duckdb")
            con = duckdb.connect(str(ci))
            con.execute(f"attach '{prod}' as prod (read_only)")
            if guarded:
                apply_guards(con, guard_settings(ci_warehouse=ci, read_dirs=[]))
            con.execute(scan_sql).fetchall()
            con.close()

        copies, scans, guarded, unguarded = [], [], [], []
        for _ in range(args.repeats):  # alternate, one run: the machine is noisy
            copies.append(timed(lambda: private_copy(prod, root / "copy" / "prod.duckdb")))
            scans.append(timed(lambda: scan(False)))
            guarded.append(timed(lambda: scan(True)))
            unguarded.append(timed(lambda: scan(False)))
        copy, full = statistics.median(copies), statistics.median(scans)
        print(f"warehouse: {args.rows:,} rows, {size / 1e6:.0f} MB")
        print(f"private copy: median {copy:.3f}s (range {min(copies):.3f}-{max(copies):.3f})")
        print(f"one full scan: median {full:.3f}s (range {min(scans):.3f}-{max(scans):.3f})")
        print(f"ratio copy / scan: {copy / full:.2f}")
        g, u = statistics.median(guarded), statistics.median(unguarded)
        print(f"ratio guarded / unguarded connection (attach + scan): {g / u:.2f}")


if __name__ == "__main__":
    main()
