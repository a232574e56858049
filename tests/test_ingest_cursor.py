"""The high-water mark of a Parquet batch from footer statistics equals a scan of the rows.

Each case compares the stored mark with a maximum computed independently (a
DuckDB ``max()`` over the files, and the values the test wrote), and checks
which way it was found: the footers, or the fallback scan of the loaded rows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ingestion.load.cursor as cursor_mod
from ingestion.config import load_config
from ingestion.pipeline import ingest

UTC = dt.UTC
T0 = dt.datetime(2026, 10, 1, 8, 30, 0, 123456)


def setup(tmp_path: Path, load: str = "append", columns: str = "") -> tuple[Path, Path]:
    landing = tmp_path / "landing"
    landing.mkdir(exist_ok=True)
    sources = tmp_path / "sources.yml"
    sources.write_text(
        "sources:\n  - name: s\n    format: parquet\n    entities:\n      - name: t\n"
        f"        location: t_*.parquet\n        primary_key: [id]\n        load: {load}\n"
        f"        cursor: c\n{columns}"
    )
    return landing, sources


def write(path: Path, ids: list[int], values: list, typ: pa.DataType, **kw: object) -> None:
    table = pa.table({"id": pa.array(ids, pa.int64()), "c": pa.array(values, typ)})
    pq.write_table(table, path, row_group_size=kw.pop("row_group_size", 3), **kw)


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the fallback scans (the footers did not answer); tiny batches may use footers."""
    monkeypatch.setattr(cursor_mod, "STATS_MIN_ROWS", 0)
    monkeypatch.setattr(cursor_mod, "STATS_MIN_ROWS_PER_FILE", 0)
    calls: list[str] = []
    real = cursor_mod.scan_max

    def counting(con: duckdb.DuckDBPyConnection, cursor: str, rows: str) -> str | None:
        calls.append(rows)
        return real(con, cursor, rows)

    monkeypatch.setattr(cursor_mod, "scan_max", counting)
    return calls


def independent_max(landing: Path) -> str | None:
    """The files' maximum by DuckDB over the values pyarrow read (no Parquet statistics)."""
    values = pa.concat_tables(pq.read_table(p) for p in sorted(landing.glob("t_*.parquet")))
    with duckdb.connect() as con:
        con.register("read_back", values)
        row = con.execute("select max(c)::varchar from read_back").fetchone()
    return row[0] if row else None


def mark(db: Path) -> str | None:
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("select value from dataops_meta.high_water_marks").fetchone()
    return row[0] if row else None


CASES = {
    "bigint": (pa.int64(), [5, None, -7, 42, 3, 41, None], "42"),
    "date": (pa.date32(), [dt.date(2026, 1, d) for d in (3, 9, 1, 2, 8, 4, 5)], "2026-01-09"),
    "timestamp_us": (
        pa.timestamp("us"),
        [None if s is None else T0 + dt.timedelta(seconds=s) for s in (5, 1, 90, 2, None, 3, 4)],
        "2026-10-01 08:31:30.123456",
    ),
    "timestamp_ms": (
        pa.timestamp("ms"),
        [dt.datetime(2026, 10, 1, 0, 0, s, 250000) for s in (1, 7, 2, 3, 4, 5, 6)],
        "2026-10-01 00:00:07.25",
    ),
    "timestamp_ns": (
        pa.timestamp("ns"),
        # nanoseconds since the epoch: 2025-10-01 06:26:40.123456789 plus m minutes
        [1_759_300_000_123_456_789 + m * 60_000_000_000 for m in (1, 2, 3, 9, 4, 5, 6)],
        "2025-10-01 06:35:40.123456789",
    ),
    "timestamptz": (
        pa.timestamp("us", tz="UTC"),
        [T0.replace(tzinfo=UTC) + dt.timedelta(hours=h) for h in (1, 5, 2, 3, 4, 0, 2)],
        None,  # rendered in the session's time zone: only the independent max is compared
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_footer_max_equals_the_rows_max(case: str, tmp_path: Path, scans: list[str]) -> None:
    typ, values, expected = CASES[case]
    landing, sources = setup(tmp_path)
    write(landing / "t_1.parquet", list(range(4)), values[:4], typ)  # 2 row groups
    write(landing / "t_2.parquet", list(range(4, 7)), values[4:], typ)
    db = tmp_path / "w.duckdb"
    [result] = ingest(load_config(sources), db, landing)
    assert result.rows == 7
    assert scans == []  # the footers answered
    assert result.high_water_mark == mark(db) == independent_max(landing)
    if expected is not None:
        assert result.high_water_mark == expected
    with duckdb.connect(str(db), read_only=True) as con:
        [(scanned,)] = con.execute("select max(c)::varchar from raw_s.t").fetchall()
    assert scanned == result.high_water_mark


def test_null_only_row_groups_add_nothing(tmp_path: Path, scans: list[str]) -> None:
    landing, sources = setup(tmp_path)
    write(landing / "t_1.parquet", [1, 2, 3, 4], [None, None, None, 17], pa.int64())
    [result] = ingest(load_config(sources), tmp_path / "w.duckdb", landing)
    assert (result.high_water_mark, scans) == ("17", [])


def test_a_null_only_batch_has_no_maximum_and_keeps_the_mark(
    tmp_path: Path, scans: list[str]
) -> None:
    landing, sources = setup(tmp_path)
    db = tmp_path / "w.duckdb"
    write(landing / "t_1.parquet", [1, 2], [9, 3], pa.int64())
    ingest(load_config(sources), db, landing)
    write(landing / "t_2.parquet", [3, 4, 5, 6], [None] * 4, pa.int64())
    [result] = ingest(load_config(sources), db, landing)
    assert result.rows == 4 and scans == []
    assert result.high_water_mark == mark(db) == "9"


def test_files_without_statistics_fall_back_to_the_scan(tmp_path: Path, scans: list[str]) -> None:
    landing, sources = setup(tmp_path)
    write(landing / "t_1.parquet", [1, 2, 3], [4, 8, 6], pa.int64())
    write(landing / "t_2.parquet", [4, 5], [None, 2], pa.int64(), write_statistics=False)
    [result] = ingest(load_config(sources), tmp_path / "w.duckdb", landing)
    assert len(scans) == 1
    assert result.high_water_mark == independent_max(landing) == "8"


def test_floats_and_text_are_scanned(tmp_path: Path, scans: list[str]) -> None:
    # a NaN is no statistic but DuckDB's largest double; writers may truncate text statistics
    landing, sources = setup(tmp_path)
    write(landing / "t_1.parquet", [1, 2, 3], [1.5, float("nan"), 2.0], pa.float64())
    [result] = ingest(load_config(sources), tmp_path / "w.duckdb", landing)
    assert len(scans) == 1 and result.high_water_mark == independent_max(landing) == "nan"


def test_a_cast_on_insert_falls_back_to_the_scan(tmp_path: Path, scans: list[str]) -> None:
    # the table's column is BIGINT, the file's INTEGER: the file's statistics are not the rows'
    landing, sources = setup(tmp_path, columns="        columns: {id: BIGINT, c: BIGINT}\n")
    write(landing / "t_1.parquet", [1, 2, 3], [3, 12, 5], pa.int32())
    [result] = ingest(load_config(sources), tmp_path / "w.duckdb", landing)
    assert len(scans) == 1 and result.high_water_mark == "12"


def test_quarantined_values_fall_back_to_the_scan(tmp_path: Path, scans: list[str]) -> None:
    # the table's cursor is BIGINT; a later file has text there: what does not cast goes to
    # quarantine, so the file's statistics ('x' > '7') are not the loaded rows' maximum
    landing, sources = setup(tmp_path)
    db = tmp_path / "w.duckdb"
    write(landing / "t_1.parquet", [1], [5], pa.int64())
    ingest(load_config(sources), db, landing)
    write(landing / "t_2.parquet", [2, 3, 4], ["7", "x", "6"], pa.string())
    [result] = ingest(load_config(sources), db, landing)
    assert result.quarantined == 1 and len(scans) == 1
    assert result.high_water_mark == mark(db) == "7"


def test_merge_batch_uses_the_footers(tmp_path: Path, scans: list[str]) -> None:
    landing, sources = setup(tmp_path, load="merge")
    db = tmp_path / "w.duckdb"
    write(landing / "t_1.parquet", [1, 2, 3], [10, 30, 20], pa.int64())
    ingest(load_config(sources), db, landing)
    write(landing / "t_2.parquet", [2, 4], [25, 26], pa.int64())
    [result] = ingest(load_config(sources), db, landing)
    assert scans == [] and result.high_water_mark == mark(db) == "30"


def test_small_batches_are_scanned(
    tmp_path: Path, scans: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # reading footers costs more than scanning a few rows, or many small files' rows
    monkeypatch.setattr(cursor_mod, "STATS_MIN_ROWS", 10)
    monkeypatch.setattr(cursor_mod, "STATS_MIN_ROWS_PER_FILE", 6)
    landing, sources = setup(tmp_path)
    db = tmp_path / "w.duckdb"
    write(landing / "t_1.parquet", list(range(9)), list(range(9)), pa.int64())
    ingest(load_config(sources), db, landing)  # 9 rows: fewer than 10
    write(landing / "t_2.parquet", list(range(9, 15)), list(range(9, 15)), pa.int64())
    write(landing / "t_3.parquet", list(range(15, 20)), list(range(15, 20)), pa.int64())
    ingest(load_config(sources), db, landing)  # 11 rows, but fewer than 6 per file
    write(landing / "t_4.parquet", list(range(20, 32)), list(range(20, 32)), pa.int64())
    [result] = ingest(load_config(sources), db, landing)  # 12 rows in one file: footers
    assert len(scans) == 2 and result.high_water_mark == mark(db) == "31"
