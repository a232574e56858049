"""A load SIGKILLed half-way leaves the previous committed state; a re-run completes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROWS = 3_000_000

SOURCES = """
sources:
  - name: s
    format: csv
    entities:
      - name: big
        location: big_*.csv
        primary_key: [id]
        load: append
        columns: {id: BIGINT, k: BIGINT, label: VARCHAR}
"""

LOADER = """
import sys
from pathlib import Path
from ingestion.config import load_config
from ingestion.pipeline import ingest

class Announce:
    def start(self, label, total):
        print("loading", flush=True)
    def advance(self, label): pass
    def finish(self, label): pass

work = Path(sys.argv[1])
[r] = ingest(load_config(work / "sources.yml"), work / "w.duckdb", work / "landing",
             progress=Announce())
print("done", r.rows, flush=True)
"""


def count(db: Path) -> tuple[int, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("select count(*) from raw_s.big").fetchone()[0]
        files = con.execute("select count(*) from dataops_meta.loaded_files").fetchone()[0]
        return rows, files


def test_sigkill_mid_load_keeps_previous_state(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (tmp_path / "sources.yml").write_text(SOURCES)
    (tmp_path / "load.py").write_text(LOADER)
    (landing / "big_1.csv").write_text("id,k,label\n1,1,a\n2,2,b\n")
    run = [sys.executable, str(tmp_path / "load.py"), str(tmp_path)]
    first = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    before = count(tmp_path / "w.duckdb")
    assert before == (2, 1)
    with duckdb.connect() as con:
        con.execute(
            f"copy (select i as id, i % 97 as k, 'label-' || i as label from range({ROWS}) t(i)) "
            f"to '{landing / 'big_2.csv'}' (header)"
        )
    proc = subprocess.Popen(run, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "loading"
    time.sleep(0.3)  # the reader is inside the big insert now
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL and "done" not in out  # killed, not finished
    assert count(tmp_path / "w.duckdb") == before
    again = subprocess.run(run, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split() == ["loading", "done", str(ROWS)]
    assert count(tmp_path / "w.duckdb") == (2 + ROWS, 2)
