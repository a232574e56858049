"""Schema drift (add, remove, widen, incompatible, frozen) and quarantine counts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import write_csv

from ingestion.config import load_config
from ingestion.errors import SchemaDriftError, SourceFileError
from ingestion.pipeline import ingest


def q(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def setup(tmp_path: Path, fmt: str, extra: str = "", columns: str = "") -> tuple[Path, Path]:
    landing = tmp_path / "landing"
    landing.mkdir()
    sources = tmp_path / "sources.yml"
    ext = "csv" if fmt == "csv" else "parquet"
    sources.write_text(
        f"""
sources:
  - name: s
    format: {fmt}
{extra}
    entities:
      - name: t
        location: t_*.{ext}
        primary_key: [id]
        load: append
{columns}
"""
    )
    return landing, sources


def types(db: Path) -> dict[str, str]:
    return dict(
        q(
            db,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 's' || '' or (table_schema = 'raw_s' and table_name = 't')",
        )
    )


def drift(db: Path) -> list[tuple]:
    return q(
        db,
        "select column_name, kind, old_type, new_type from dataops_meta.drift_events "
        "order by detected_at, column_name",
    )


def test_parquet_add_remove_widen_incompatible(tmp_path: Path) -> None:
    landing, sources = setup(tmp_path, "parquet")
    db = tmp_path / "w.duckdb"
    pq.write_table(
        pa.table({"id": pa.array([1, 2], pa.int32()), "amount": pa.array([10, 20], pa.int32())}),
        landing / "t_1.parquet",
    )
    ingest(load_config(sources), db, landing)
    assert types(db)["amount"] == "INTEGER"
    # widen int -> bigint, add a column
    pq.write_table(
        pa.table(
            {
                "id": pa.array([3], pa.int32()),
                "amount": pa.array([5_000_000_000], pa.int64()),
                "note": ["new"],
            }
        ),
        landing / "t_2.parquet",
    )
    [r] = ingest(load_config(sources), db, landing)
    assert {(e.column, e.kind) for e in r.drift} == {("amount", "widened"), ("note", "added")}
    assert types(db)["amount"] == "BIGINT" and types(db)["note"] == "VARCHAR"
    assert q(db, "select id, amount, note from raw_s.t order by id") == [
        (1, 10, None),
        (2, 20, None),
        (3, 5_000_000_000, "new"),
    ]
    # widen bigint -> decimal(38,2); 'note' vanishes (kept, NULL)
    pq.write_table(
        pa.table(
            {
                "id": pa.array([4], pa.int32()),
                "amount": pa.array([Decimal("12.5")], pa.decimal128(38, 2)),
            }
        ),
        landing / "t_3.parquet",
    )
    [r] = ingest(load_config(sources), db, landing)
    assert {(e.column, e.kind) for e in r.drift} == {("amount", "widened"), ("note", "removed")}
    assert types(db)["amount"] == "DECIMAL(38,2)"
    assert q(db, "select amount::varchar, note from raw_s.t where id = 4") == [("12.50", None)]
    # incompatible: amount becomes text; castable rows load, the rest go to quarantine
    pq.write_table(
        pa.table({"id": pa.array([5, 6], pa.int32()), "amount": ["7.25", "n/a"]}),
        landing / "t_4.parquet",
    )
    [r] = ingest(load_config(sources), db, landing)
    # note is still missing: its removal is on record already, not reported again
    assert {(e.column, e.kind) for e in r.drift} == {("amount", "incompatible")}
    assert (r.rows, r.quarantined) == (1, 1)
    assert q(db, "select amount::varchar from raw_s.t where id = 5") == [("7.25",)]
    [(reason, record)] = q(db, "select _reason, _record from raw_s._quarantine_t")
    assert "amount" in reason and '"n/a"' in record
    assert len(drift(db)) == 5
    assert q(db, "select drift_events from dataops_meta.load_batches order by started_at") == [
        (0,),
        (2,),
        (2,),
        (1,),
    ]
    # note comes back: recorded once as restored; values load again
    pq.write_table(
        pa.table({"id": pa.array([7], pa.int32()), "amount": [Decimal("1.00")], "note": ["hi"]}),
        landing / "t_5.parquet",
    )
    [r] = ingest(load_config(sources), db, landing)
    assert [(e.column, e.kind) for e in r.drift] == [("note", "restored")]
    assert q(db, "select note from raw_s.t where id = 7") == [("hi",)]


def test_csv_header_drift_and_config_widening(tmp_path: Path) -> None:
    cols = "        columns: {id: BIGINT, amount: INTEGER}"
    landing, sources = setup(tmp_path, "csv", columns=cols)
    db = tmp_path / "w.duckdb"
    write_csv(landing / "t_1.csv", "id,amount", ["1,10"])
    ingest(load_config(sources), db, landing)
    write_csv(landing / "t_2.csv", "id,amount,channel", ["2,20,web"])
    write_csv(landing / "t_3.csv", "id", ["3"])
    [r] = ingest(load_config(sources), db, landing)
    assert {(e.column, e.kind) for e in r.drift} == {("channel", "added"), ("amount", "removed")}
    assert q(db, "select id, amount, channel from raw_s.t order by id") == [
        (1, 10, None),
        (2, 20, "web"),
        (3, None, None),
    ]
    # the YAML widens amount to DECIMAL(18,2): the column widens, old rows keep their values
    sources.write_text(sources.read_text().replace("amount: INTEGER", "amount: 'DECIMAL(18,2)'"))
    write_csv(landing / "t_4.csv", "id,amount,channel", ["4,1.5,app"])
    [r] = ingest(load_config(sources), db, landing)
    # amount was missing from t_3 (the newest file of the last batch): it is back now
    assert [(e.kind, e.old_type, e.new_type) for e in r.drift] == [
        ("restored", None, "DECIMAL(18,2)"),
        ("widened", "INTEGER", "DECIMAL(18,2)"),
    ]
    assert q(db, "select id, amount::varchar from raw_s.t order by id") == [
        (1, "10.00"),
        (2, "20.00"),
        (3, None),
        (4, "1.50"),
    ]


def test_frozen_schema_fails_and_keeps_state(tmp_path: Path) -> None:
    cols = "        columns: {id: BIGINT, amount: INTEGER}"
    landing, sources = setup(tmp_path, "csv", extra="    schema: frozen", columns=cols)
    db = tmp_path / "w.duckdb"
    write_csv(landing / "t_1.csv", "id,amount", ["1,10"])
    ingest(load_config(sources), db, landing)
    write_csv(landing / "t_2.csv", "id,amount,channel", ["2,20,web"])
    with pytest.raises(SchemaDriftError, match=r"schema is frozen.*new column channel"):
        ingest(load_config(sources), db, landing)
    assert q(db, "select count(*) from raw_s.t") == [(1,)]
    assert q(db, "select count(*) from dataops_meta.drift_events") == [(0,)]
    assert q(db, "select status from dataops_meta.load_batches order by started_at") == [
        ("loaded",),
        ("failed",),
    ]


def test_quarantine_counts_and_threshold(tmp_path: Path) -> None:
    cols = "        columns: {id: BIGINT, day: DATE, amount: INTEGER}"
    landing, sources = setup(tmp_path, "csv", extra="    max_bad_rows: 2", columns=cols)
    db = tmp_path / "w.duckdb"
    good = ["1,2026-10-01,5", "2,2026-10-02,6", "3,2026-10-03,7"]
    bad = ["4,2026-13-45,8", "5,2026-10-05", "6,2026-10-06,9,9"]
    write_csv(landing / "t_1.csv", "id,day,amount", good + bad)
    with pytest.raises(SourceFileError, match=r"3 bad row\(s\) exceed max_bad_rows=2"):
        ingest(load_config(sources), db, landing)
    assert q(db, "select count(*) from information_schema.tables where table_name = 't'") == [(0,)]
    # the failed load's bad rows are kept for inspection, tagged with its batch
    assert q(
        db,
        "select _line, b.status, b.rows_quarantined from raw_s._quarantine_t as q "
        "join dataops_meta.load_batches as b on q._batch_id = b.batch_id order by 1",
    ) == [(5, "failed", 3), (6, "failed", 3), (7, "failed", 3)]
    [r] = ingest(load_config(sources), db, landing, max_bad_rows=3)
    assert (r.rows, r.quarantined) == (3, 3)
    assert q(db, "select id from raw_s.t order by id") == [(1,), (2,), (3,)]
    # the successful re-run supersedes the failed attempt's quarantine rows
    got = q(db, "select _source_file, _line, _record, _reason from raw_s._quarantine_t order by 2")
    assert [(g[0], g[1], g[2]) for g in got] == [
        ("t_1.csv", 5, bad[0]),
        ("t_1.csv", 6, bad[1]),
        ("t_1.csv", 7, bad[2]),
    ]
    assert [g[3].split(":")[0] for g in got] == ["CAST", "MISSING COLUMNS", "TOO MANY COLUMNS"]
    assert q(
        db, "select rows_quarantined from dataops_meta.load_batches where status = 'loaded'"
    ) == [(3,)]


def test_duplicate_keys_in_one_merge_batch(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    sources = tmp_path / "sources.yml"
    sources.write_text(
        "sources:\n  - name: s\n    format: csv\n    entities:\n      - name: t\n"
        "        location: t_*.csv\n        primary_key: [id]\n        load: merge\n"
        "        cursor: v\n        columns: {id: BIGINT, v: INTEGER, name: VARCHAR}\n"
    )
    # id 1: two versions, newest wins; id 2: exact duplicate collapses;
    # id 3: two different rows with the same cursor -> ambiguous -> quarantine
    write_csv(
        landing / "t_1.csv", "id,v,name", ["1,1,a", "1,2,b", "2,1,x", "2,1,x", "3,1,p", "3,1,q"]
    )
    db = tmp_path / "w.duckdb"
    [r] = ingest(load_config(sources), db, landing)
    assert q(db, "select id, v, name from raw_s.t order by id") == [(1, 2, "b"), (2, 1, "x")]
    assert (r.rows, r.quarantined) == (6, 2)
    assert q(db, "select distinct _reason from raw_s._quarantine_t") == [
        ("duplicate key in one batch with conflicting values",)
    ]


def test_ndjson_new_key_is_drift(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    sources = tmp_path / "sources.yml"
    body = (
        "sources:\n  - name: s\n    format: ndjson\n{extra}    entities:\n      - name: t\n"
        "        location: t_*.ndjson\n        primary_key: [id]\n        load: append\n"
        "        columns: {{id: BIGINT, name: VARCHAR}}\n"
    )
    sources.write_text(body.format(extra=""))
    db = tmp_path / "w.duckdb"
    (landing / "t_1.ndjson").write_text('{"id": 1, "name": "a"}\n')
    ingest(load_config(sources), db, landing)
    (landing / "t_2.ndjson").write_text(
        '{"id": 2, "name": "b", "score": 7, "tags": {"vip": true}}\n{"id": 3, "name": "c"}\n'
    )
    [r] = ingest(load_config(sources), db, landing)
    assert sorted((e.column, e.kind) for e in r.drift) == [("score", "added"), ("tags", "added")]
    assert q(db, "select id, name, score, tags.vip from raw_s.t order by id") == [
        (1, "a", None, None),
        (2, "b", 7, True),
        (3, "c", None, None),
    ]
    # frozen: a further new key fails the load and changes nothing
    sources.write_text(body.format(extra="    schema: frozen\n"))
    (landing / "t_3.ndjson").write_text('{"id": 4, "name": "d", "score": 1, "extra": "x"}\n')
    with pytest.raises(SchemaDriftError, match="new column extra"):
        ingest(load_config(sources), db, landing)
    assert q(db, "select count(*) from raw_s.t") == [(3,)]
