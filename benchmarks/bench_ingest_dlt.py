"""Our CSV ingest vs dlt loading the same CSV into DuckDB: throughput multiple.

dlt is NOT a dependency of this project: this script creates its own venv
outside the repository (``/tmp/dlt-venv``, ``pip install 'dlt[duckdb]' pyarrow``)
on first use and runs dlt there in a subprocess. dlt gets its fastest
documented path by default (``--mode arrow``): the CSV read with pyarrow in
record batches and yielded as Arrow data (no per-row Python objects; dlt adds
no per-row lineage columns then), or ``--mode dicts``: one dict per row from
``csv.DictReader`` (the common pattern; dlt infers types and adds ``_dlt_id``
and ``_dlt_load_id``), loaded with ``write_disposition=
"append"`` into a fresh DuckDB file. dlt's time is measured inside its process
around ``pipeline.run`` (so its import and interpreter start-up are excluded);
ours around ``ingest()`` including opening and closing the DuckDB file. Runs
alternate; medians are compared.

    uv run python benchmarks/bench_ingest_dlt.py [--rows 5000000] [--repeats 2] [--mode arrow|dicts]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from bench_ingest_formats import GEN, sources

from ingestion.config import load_config
from ingestion.pipeline import ingest

VENV = Path("/tmp/dlt-venv")
DLT_RUN = r"""
import json, sys, time
import dlt, duckdb, pyarrow.csv as pcsv

csv_path, db_path, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])

mode = sys.argv[5]

@dlt.resource(name="items", write_disposition="append")
def items():
    if mode == "arrow":  # dlt's fast path: Arrow record batches
        reader = pcsv.open_csv(csv_path, read_options=pcsv.ReadOptions(block_size=64 << 20))
        yield from reader
    else:  # the common pattern: one dict per row (dlt infers types, adds _dlt_id/_dlt_load_id)
        import csv
        with open(csv_path, newline="") as handle:
            yield from csv.DictReader(handle)

pipeline = dlt.pipeline(
    pipeline_name="bench_csv", destination=dlt.destinations.duckdb(db_path),
    dataset_name="raw_bench", pipelines_dir=sys.argv[4], progress=None,
)
start = time.perf_counter()
pipeline.run(items())
seconds = time.perf_counter() - start
with duckdb.connect(db_path, read_only=True) as con:
    n = con.execute("select count(*) from raw_bench.items").fetchone()[0]
print(json.dumps({"seconds": seconds, "rows": n, "dlt": dlt.__version__}))
"""


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = subprocess.run([str(python), "-c", "import dlt, duckdb, pyarrow"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "dlt[duckdb]", "pyarrow"], check=True
        )
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--mode",
        choices=["arrow", "dicts"],
        default="arrow",
        help="dlt input: pyarrow record batches (its fastest path) or one dict per row",
    )
    args = parser.parse_args()
    python = ensure_venv()
    work = Path(tempfile.mkdtemp(prefix="bench-dlt-"))
    try:
        landing = work / "landing"
        landing.mkdir()
        csv_path = landing / "items_1.csv"
        with duckdb.connect() as con:
            con.execute(f"copy ({GEN.format(start=0, stop=args.rows)}) to '{csv_path}' (header)")
        (work / "csv.yml").write_text(sources("csv"))
        config = load_config(work / "csv.yml")
        script = work / "dlt_run.py"
        script.write_text(DLT_RUN)
        ours_db, dlt_db = work / "ours.duckdb", work / "dlt.duckdb"
        ours_t: list[float] = []
        dlt_t: list[float] = []
        version = ""
        for i in range(args.repeats):
            for p in (ours_db, dlt_db):
                p.unlink(missing_ok=True)
            shutil.rmtree(work / "pipelines", ignore_errors=True)
            out = subprocess.run(
                [str(python), str(script), str(csv_path), str(dlt_db), str(args.rows),
                 str(work / "pipelines"), args.mode],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            got = json.loads(out.stdout.strip().splitlines()[-1])
            assert got["rows"] == args.rows, got
            dlt_t.append(got["seconds"])
            version = got["dlt"]
            start = time.perf_counter()
            [r] = ingest(config, ours_db, landing)
            ours_t.append(time.perf_counter() - start)
            assert r.rows == args.rows, r
            print(f"run {i + 1}: dlt {dlt_t[-1]:.2f}s, ours {ours_t[-1]:.2f}s", flush=True)
        mo, md = statistics.median(ours_t), statistics.median(dlt_t)
        print(
            f"csv {args.rows:,} rows: dlt {version} ({args.mode}) median {md:.2f}s "
            f"({args.rows / md:,.0f} rows/s), ours median {mo:.2f}s ({args.rows / mo:,.0f} "
            f"rows/s): our throughput = {md / mo:.1f}x dlt's"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
