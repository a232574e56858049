"""Merge exactness as a property: incremental batches equal one full load of the final state."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.config import load_config
from ingestion.pipeline import ingest

SOURCES = """
sources:
  - name: s
    format: csv
    entities:
      - name: t
        location: batch_*.csv
        primary_key: [id]
        load: merge
        cursor: version
        soft_delete: is_deleted
        columns: {id: BIGINT, name: VARCHAR, amount: INTEGER, version: BIGINT, is_deleted: BOOLEAN}
"""

# one operation: (key, kind, value); kind is upsert or delete
op = st.tuples(
    st.integers(0, 15), st.sampled_from(["upsert", "upsert", "delete"]), st.integers(-1000, 1000)
)
batches = st.lists(st.lists(op, min_size=0, max_size=12), min_size=1, max_size=6)


@st.composite
def late_batches(draw: st.DrawFn) -> list[list[tuple[int, str, int, int]]]:
    """Batches whose versions arrive out of order: a later batch may hold older versions."""
    plan = draw(batches)
    total = sum(len(ops) for ops in plan)
    versions = iter(draw(st.permutations(range(1, total + 1))))
    return [[(k, kind, v, next(versions)) for k, kind, v in ops] for ops in plan]


def write_batch(path: Path, rows: list[tuple]) -> None:
    lines = ["id,name,amount,version,is_deleted"]
    lines += [f"{i},{n},{a},{v},{str(d).lower()}" for i, n, a, v, d in rows]
    path.write_text("\n".join(lines) + "\n")


def table(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select id, name, amount, version from raw_s.t order by id").fetchall()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches)
def test_incremental_merges_equal_full_load(plan: list[list[tuple[int, str, int]]]) -> None:
    work = Path(tempfile.mkdtemp(prefix="merge-prop-"))
    try:
        (work / "sources.yml").write_text(SOURCES)
        config = load_config(work / "sources.yml")
        landing = work / "inc"
        landing.mkdir()
        state: dict[int, tuple] = {}
        version = 0
        db = work / "inc.duckdb"
        for number, ops in enumerate(plan):
            rows = []
            for key, kind, value in ops:
                version += 1  # every change is newer than the previous one
                row = (key, f"n{value}", value, version, kind == "delete")
                rows.append(row)
                if kind == "delete":
                    state.pop(key, None)
                else:
                    state[key] = row[:4]
            write_batch(landing / f"batch_{number:03d}.csv", rows)
            ingest(config, db, landing)  # one incremental batch per new file
        expected = [state[k] for k in sorted(state)]
        assert table(db) == expected
        # the same final state loaded at once
        full = work / "full"
        full.mkdir()
        write_batch(full / "batch_000.csv", [(*state[k], False) for k in sorted(state)])
        ingest(config, work / "full.duckdb", full)
        assert table(work / "full.duckdb") == table(db)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(late_batches())
def test_late_older_versions_do_not_resurrect_or_roll_back(
    plan: list[list[tuple[int, str, int, int]]],
) -> None:
    """Per key the newest version wins whatever batch it arrives in; deletes included."""
    work = Path(tempfile.mkdtemp(prefix="merge-late-"))
    try:
        (work / "sources.yml").write_text(SOURCES)
        config = load_config(work / "sources.yml")
        landing = work / "inc"
        landing.mkdir()
        newest: dict[int, tuple] = {}  # key -> newest (id, name, amount, version, deleted)
        db = work / "inc.duckdb"
        for number, ops in enumerate(plan):
            rows = [(key, f"n{value}", value, version, kind == "delete")
                    for key, kind, value, version in ops]  # fmt: skip
            for row in rows:
                if row[0] not in newest or row[3] > newest[row[0]][3]:
                    newest[row[0]] = row
            write_batch(landing / f"batch_{number:03d}.csv", rows)
            ingest(config, db, landing)
        expected = [newest[k][:4] for k in sorted(newest) if not newest[k][4]]
        assert table(db) == expected
    finally:
        shutil.rmtree(work, ignore_errors=True)
