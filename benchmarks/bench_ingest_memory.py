"""Peak memory of ingesting the generated sample at a large scale under a DuckDB memory limit.

Generates the sample business (``dataops generate``) at ``--scale`` (100: tens of
millions of rows), then ingests it in a child process whose DuckDB connections
run with ``memory_limit`` (default 2GB) and a temp directory to spill to. Prints
the rows loaded, wall time and the child's own peak RSS (VmHWM), also after each
entity. It must complete: a load that needs more memory than the limit spills or
fails.

    uv run python benchmarks/bench_ingest_memory.py [--scale 100] [--memory-limit 2GB]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
from pathlib import Path
import duckdb
import ingestion.pipeline as pipeline
from ingestion.config import load_config
from ingestion.warehouse import connect

limit, spill, landing, db = sys.argv[1:5]

def limited(path, *, read_only=False):
    con = connect(path, read_only=read_only)
    con.execute(f"set memory_limit = '{limit}'")
    con.execute(f"set temp_directory = '{spill}'")
    return con

pipeline.connect = limited  # every connection of this load runs under the limit
peaks = {}

def high_water_mib():
    # VmHWM: this process's own peak RSS. (ru_maxrss is not: Linux carries the
    # parent's peak across fork and exec, here the generator's.)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")

class PeakPerEntity:  # the process's peak RSS so far, when each entity finishes
    def start(self, label, total): pass
    def advance(self, label): pass
    def finish(self, label):
        peaks[label] = high_water_mib()

start = time.perf_counter()
results = pipeline.ingest(
    load_config(Path("ingestion/sources.yml")), Path(db), Path(landing), progress=PeakPerEntity()
)
seconds = time.perf_counter() - start
print(json.dumps({"rows": sum(r.rows for r in results), "seconds": seconds,
                  "peak_rss_mib": high_water_mib(), "peak_after_entity_mib": peaks}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=100.0)
    parser.add_argument("--memory-limit", default="2GB")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tooling.sample.generate import generate

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-memory-"))
    try:
        landing, spill = work / "landing", work / "spill"
        spill.mkdir()
        start = time.perf_counter()
        counts = generate(landing, args.scale)
        size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
        print(
            f"generated scale {args.scale:g}: {sum(counts.values()):,} rows, "
            f"{size / 1e9:.2f} GB in {time.perf_counter() - start:.0f}s"
        )
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                args.memory_limit,
                str(spill),
                str(landing),
                str(work / "w.duckdb"),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            print(child.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"ingest under memory_limit={args.memory_limit} failed")
        out = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"ingest under memory_limit={args.memory_limit}: {out['rows']:,} rows in "
            f"{out['seconds']:.1f}s, peak RSS {out['peak_rss_mib']:.0f} MiB; "
            f"warehouse {(work / 'w.duckdb').stat().st_size / 1e9:.2f} GB"
        )
        steps = ", ".join(f"{k} {v:.0f}" for k, v in out["peak_after_entity_mib"].items())
        print(f"peak RSS so far (MiB) after each entity, in load order: {steps}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
