"""Ingestion on tiny landing folders: modes, idempotency, audit, bad input."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

import duckdb
import pytest
from conftest import CUSTOMER_HEADER, hold_duckdb_lock, write_csv

from ingestion import pipeline
from ingestion.config import load_config
from ingestion.errors import (
    ConfigError,
    SourceFileError,
    UnknownSourceError,
    WarehouseLockedError,
)
from ingestion.pipeline import ingest


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_load_modes_and_metadata(landing: Path, sources_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    results = ingest(load_config(sources_file), db, landing)
    assert {r.status for r in results} == {"loaded"}
    # merge: customer 1 updated by the second file (later cursor wins)
    assert rows(db, "select customer_id, city, email from raw_erp.customers order by 1") == [
        (1, "Rome", "ada@example.com"),
        (2, "Wilmslow", None),
    ]
    # append keeps the row the two daily files share (staging dedupes it)
    assert rows(db, "select item_id, count(*) from raw_erp.items group by 1 order by 1") == [
        (1, 1),
        (2, 2),
        (3, 1),
    ]
    # json pages unnested; merge keeps the later status of p1
    assert rows(db, "select payment_id, status from raw_payments.payments order by 1") == [
        ("p1", "succeeded"),
        ("p2", "succeeded"),
    ]
    assert rows(
        db, "select json_extract_string(payload, '$.page') from raw_events.events order by event_id"
    ) == [("/a",), ("/b",)]
    # the audit column on every row: the batch's start plus one microsecond per
    # earlier file, which leads to the file and its batch in dataops_meta
    meta = rows(
        db,
        "select count(*), count(distinct i._loaded_at), min(f.path), count(distinct b.batch_id), "
        "max(i._loaded_at) - min(i._loaded_at), min(i._loaded_at) = any_value(b.started_at) "
        "from raw_erp.items as i join dataops_meta.loaded_files as f on f.source = 'erp' "
        "and f.entity = 'items' and f.loaded_at = i._loaded_at "
        "join dataops_meta.load_batches as b on b.batch_id = f.batch_id",
    )
    assert meta == [(4, 2, "erp/items/items_2026-10-01.csv", 1, timedelta(microseconds=1), True)]
    assert rows(
        db,
        "select path, rows_loaded from dataops_meta.loaded_files where entity = 'items' order by 1",
    ) == [("erp/items/items_2026-10-01.csv", 2), ("erp/items/items_2026-10-02.csv", 2)]
    # pinned types
    types = dict(
        rows(
            db,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_erp' and table_name = 'customers'",
        )
    )
    assert types["customer_id"] == "BIGINT" and types["signed_up_at"] == "TIMESTAMP"
    assert types["_loaded_at"] == "TIMESTAMP WITH TIME ZONE"


OLD_AUDIT_COLUMNS = {
    # text batch id and file name per row, no keys in dataops_meta
    "text": "b.batch_id as _batch_id, f.path as _source_file",
    # a constant timestamp and two integer keys per row
    "keyed": "b.started_at as _loaded_at, b.batch_key as _batch_key, f.file_key as _file_key",
}


@pytest.mark.parametrize("old_format", sorted(OLD_AUDIT_COLUMNS))
def test_a_table_with_older_audit_columns_is_upgraded_in_place(
    landing: Path, sources_file: Path, tmp_path: Path, old_format: str
) -> None:
    # Make the warehouse an older dataops would have left: every row of a batch
    # with the batch's start as _loaded_at, and the batch and file per row.
    db = tmp_path / "w.duckdb"
    config = load_config(sources_file)
    ingest(config, db, landing, entity="items")
    with duckdb.connect(str(db)) as con:
        con.execute("create table old as select * from raw_erp.items")
        con.execute("drop table raw_erp.items")
        keep = "o.* exclude (_loaded_at)" if old_format == "keyed" else "o.*"
        con.execute(
            f"create table raw_erp.items as select {keep}, {OLD_AUDIT_COLUMNS[old_format]} "
            "from old as o join dataops_meta.loaded_files as f on f.loaded_at = o._loaded_at "
            "join dataops_meta.load_batches as b on b.batch_id = f.batch_id"
        )
        if old_format == "text":
            con.execute(
                "update raw_erp.items as i set _loaded_at = b.started_at from "
                "dataops_meta.load_batches as b where b.batch_id = i._batch_id"
            )
            con.execute("update dataops_meta.load_batches set batch_key = null")
            con.execute("update dataops_meta.loaded_files set file_key = null")
        con.execute("drop table old")
        con.execute(
            "update dataops_meta.loaded_files as f set loaded_at = b.started_at "
            "from dataops_meta.load_batches as b where b.batch_id = f.batch_id"
        )
    write_csv(landing / "erp/items/items_2026-10-03.csv", "item_id,amount_cents", ["7,70"])
    [result] = ingest(config, db, landing, entity="items")
    assert (result.status, result.rows) == ("loaded", 1)
    # every row leads to its file and batch again: rows per file as the files hold them
    per_file = rows(
        db,
        "select f.path, count(*), count(distinct b.batch_id) from raw_erp.items as i "
        "join dataops_meta.loaded_files as f on f.source = 'erp' and f.entity = 'items' "
        "and f.loaded_at = i._loaded_at "
        "join dataops_meta.load_batches as b on b.batch_id = f.batch_id group by 1 order by 1",
    )
    assert per_file == [
        ("erp/items/items_2026-10-01.csv", 2, 1),
        ("erp/items/items_2026-10-02.csv", 2, 1),
        ("erp/items/items_2026-10-03.csv", 1, 1),
    ]
    columns = [c for (c,) in rows(db, "select column_name from (describe raw_erp.items)")]
    assert columns[-1] == "_loaded_at"
    assert not {"_source_file", "_batch_id", "_batch_key", "_file_key"} & set(columns)
    assert rows(
        db,
        "select count(*) from dataops_meta.loaded_files where file_key is null "
        "union all select count(*) from dataops_meta.load_batches where batch_key is null "
        "and status = 'loaded'",
    ) == [(0,), (0,)]


def test_stamps_only_grow_when_the_clock_goes_back(
    landing: Path, sources_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    config = load_config(sources_file)
    ingest(config, db, landing, entity="items")
    with duckdb.connect(str(db)) as con:  # the first load ran a day ahead of the clock
        con.execute("update raw_erp.items set _loaded_at = _loaded_at + interval 1 day")
        for table, column in (("loaded_files", "loaded_at"), ("load_batches", "started_at")):
            con.execute(f"update dataops_meta.{table} set {column} = {column} + interval 1 day")
    write_csv(landing / "erp/items/items_2026-10-03.csv", "item_id,amount_cents", ["7,70"])
    [result] = ingest(config, db, landing, entity="items")
    assert result.status == "loaded"
    # the new file's rows come after the old ones, and still lead to their file and batch
    assert rows(
        db,
        "select f.path, b.started_at = f.loaded_at, count(*) from raw_erp.items as i "
        "join dataops_meta.loaded_files as f on f.entity = 'items' and f.loaded_at = i._loaded_at "
        "join dataops_meta.load_batches as b on b.batch_id = f.batch_id "
        "where i._loaded_at = (select max(_loaded_at) from raw_erp.items) group by all",
    ) == [("erp/items/items_2026-10-03.csv", True, 1)]
    assert rows(db, "select count(distinct _loaded_at), count(*) from raw_erp.items") == [(3, 5)]


def test_stamps_stay_unique_when_the_clock_stands_still(
    landing: Path, sources_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every batch reads the same instant: each starts 1 µs after the last stamp it finds
    frozen = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:
            return frozen

    monkeypatch.setattr(pipeline, "datetime", Frozen)
    db = tmp_path / "w.duckdb"
    config = load_config(sources_file)
    ingest(config, db, landing, entity="items")  # two files: frozen, frozen + 1 µs
    write_csv(landing / "erp/items/items_2026-10-03.csv", "item_id,amount_cents", ["7,70"])
    write_csv(landing / "erp/items/items_2026-10-04.csv", "item_id,amount_cents", ["8,80"])
    [second] = ingest(config, db, landing, entity="items")
    assert second.status == "loaded"
    stamps = rows(
        db,
        "select f.path, f.loaded_at - timestamptz '2026-10-05 12:00:00+00', "
        "b.started_at - timestamptz '2026-10-05 12:00:00+00', count(i._loaded_at) "
        "from dataops_meta.loaded_files as f join dataops_meta.load_batches as b using "
        "(batch_id) left join raw_erp.items as i on i._loaded_at = f.loaded_at "
        "where f.entity = 'items' group by all order by 1",
    )
    us = [timedelta(microseconds=n) for n in range(4)]
    assert stamps == [
        ("erp/items/items_2026-10-01.csv", us[0], us[0], 2),
        ("erp/items/items_2026-10-02.csv", us[1], us[0], 2),
        ("erp/items/items_2026-10-03.csv", us[2], us[2], 1),
        ("erp/items/items_2026-10-04.csv", us[3], us[2], 1),
    ]


def test_rerun_skips_files_and_changes_nothing(
    landing: Path, sources_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    config = load_config(sources_file)
    ingest(config, db, landing)
    tables = [
        "raw_erp.customers",
        "raw_erp.items",
        "raw_erp.stores",
        "raw_payments.payments",
        "raw_events.events",
    ]
    before = {t: rows(db, f"select * from {t} order by all") for t in tables}
    second = ingest(config, db, landing)
    assert {r.status for r in second} == {"skipped"}
    assert all(r.rows == 0 for r in second)
    after = {t: rows(db, f"select * from {t} order by all") for t in tables}
    assert before == after
    statuses = rows(
        db, "select status, count(*) from dataops_meta.load_batches group by 1 order by 1"
    )
    assert statuses == [("loaded", 5), ("skipped", 5)]


def test_new_file_is_loaded_incrementally(
    landing: Path, sources_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    config = load_config(sources_file)
    ingest(config, db, landing)
    write_csv(landing / "erp/items/items_2026-10-03.csv", "item_id,amount_cents", ["4,10"])
    results = {r.entity: r for r in ingest(config, db, landing, source="erp")}
    assert results["items"].status == "loaded" and results["items"].files == [
        "erp/items/items_2026-10-03.csv"
    ]
    assert results["items"].skipped_files == 2
    assert results["customers"].status == "skipped"
    assert rows(db, "select count(*) from raw_erp.items") == [(5,)]


def test_changed_file_content_is_reloaded(
    landing: Path, sources_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    config = load_config(sources_file)
    ingest(config, db, landing)
    write_csv(
        landing / "erp/stores/stores_2026-10-01.csv",
        "store_id,store_name",
        ["1,Brooklyn", "2,Chicago"],
    )
    ingest(config, db, landing, entity="stores")
    assert rows(db, "select * exclude (_loaded_at) from raw_erp.stores order by 1") == [
        (1, "Brooklyn"),
        (2, "Chicago"),
    ]


def test_out_of_order_merge_keeps_newest(landing: Path, sources_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    config = load_config(sources_file)
    ingest(config, db, landing)
    # an older version of customer 1 arrives late: it must not roll the row back
    write_csv(
        landing / "erp/customers/customers_2026-09-30.csv",
        CUSTOMER_HEADER,
        ["1,Ada,Lovelace,old@example.com,,Paris,2026-10-01 10:00:00,2026-09-30 09:00:00"],
    )
    ingest(config, db, landing, entity="customers")
    assert rows(db, "select city from raw_erp.customers where customer_id = 1") == [("Rome",)]


def test_wrong_column_count_fails_and_keeps_previous_state(
    landing: Path, sources_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    config = load_config(sources_file)
    ingest(config, db, landing)
    before = rows(db, "select * from raw_erp.items order by all")
    write_csv(
        landing / "erp/items/items_2026-10-03.csv", "item_id,amount_cents", ["5,10", "6,20,999"]
    )
    # Bad rows are quarantined and the rest loads by default; with a
    # threshold of 0 the batch fails as before and keeps the previous state.
    with pytest.raises(SourceFileError, match=r"items_2026-10-03\.csv.*Expected Number of Columns"):
        ingest(config, db, landing, entity="items", max_bad_rows=0)
    assert rows(db, "select * from raw_erp.items order by all") == before
    failed = rows(
        db, "select entity, status, error from dataops_meta.load_batches where status = 'failed'"
    )
    assert len(failed) == 1 and failed[0][0] == "items" and "items_2026-10-03.csv" in failed[0][2]
    # the bad file is not recorded as loaded: fixing it and re-running loads it
    write_csv(landing / "erp/items/items_2026-10-03.csv", "item_id,amount_cents", ["5,10"])
    ingest(config, db, landing, entity="items")
    assert rows(db, "select count(*) from raw_erp.items") == [(len(before) + 1,)]


def test_header_is_read_by_name(landing: Path, sources_file: Path, tmp_path: Path) -> None:
    # On purpose: columns are matched by header name (a
    # reordered export loads correctly; added/missing columns are schema drift,
    # see test_ingest_drift.py); a header that is not a list of names is refused.
    write_csv(landing / "erp/items/items_2026-10-03.csv", "amount_cents,item_id", ["10,5"])
    ingest(load_config(sources_file), tmp_path / "w.duckdb", landing, entity="items")
    assert rows(
        tmp_path / "w.duckdb", "select item_id, amount_cents from raw_erp.items where item_id = 5"
    ) == [(5, 10)]
    write_csv(landing / "erp/items/items_2026-10-04.csv", "item id,amount_cents", ["6,1"])
    with pytest.raises(SourceFileError, match="has header item id,amount_cents"):
        ingest(load_config(sources_file), tmp_path / "w.duckdb", landing, entity="items")


def test_missing_files_name_the_glob(landing: Path, sources_file: Path, tmp_path: Path) -> None:
    for path in (landing / "erp/stores").iterdir():
        path.unlink()
    with pytest.raises(SourceFileError, match=r"raw_erp\.stores: no file matches erp/stores"):
        ingest(load_config(sources_file), tmp_path / "w.duckdb", landing)
    assert not (tmp_path / "w.duckdb").exists()


def test_unreadable_file(landing: Path, sources_file: Path, tmp_path: Path) -> None:
    # a dangling link: listed by the glob, unreadable when opened (root ignores chmod)
    (landing / "erp/stores/stores_2026-10-02.csv").symlink_to(landing / "gone.csv")
    with pytest.raises(SourceFileError, match=r"stores_2026-10-02\.csv is missing"):
        ingest(load_config(sources_file), tmp_path / "w.duckdb", landing)
    assert not (tmp_path / "w.duckdb").exists()


def test_glob_cannot_escape_landing_root(tmp_path: Path, landing: Path) -> None:
    bad = tmp_path / "escape.yml"
    bad.write_text(
        "sources:\n  - name: erp\n    format: csv\n    entities:\n"
        "      - name: x\n        location: ../secrets/*.csv\n        columns: {a: INTEGER}\n"
    )
    with pytest.raises(ConfigError, match="must stay under the landing root"):
        load_config(bad)
    # a symlink that points outside the root is refused too
    outside = tmp_path / "outside.csv"
    outside.write_text("store_id,store_name\n9,Evil\n")
    (landing / "erp/stores/stores_2026-10-09.csv").symlink_to(outside)
    with pytest.raises(SourceFileError, match="outside the landing root"):
        ingest(
            load_config(landing.parent / "sources.yml"),
            tmp_path / "w.duckdb",
            landing,
            entity="stores",
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources: [", "malformed YAML"),
        ("nothing: here", "expected a mapping with a 'sources' list"),
        ("sources:\n  - name: 'x; drop table y'\n    entities: []\n", "not a valid identifier"),
        (
            "sources:\n  - name: s\n    format: csv\n    entities:\n      - name: e\n"
            "        location: a.csv\n        load: upsert\n        columns: {a: INTEGER}\n",
            "load 'upsert' is not one of",
        ),
        (
            "sources:\n  - name: s\n    format: csv\n    entities:\n      - name: e\n"
            "        location: a.csv\n        columns: {a: 'INTEGER; drop table x'}\n",
            "unsupported type",
        ),
    ],
)
def test_bad_config(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sources.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_unknown_source_and_entity(sources_file: Path) -> None:
    config = load_config(sources_file)
    with pytest.raises(UnknownSourceError, match="unknown source 'crm'"):
        config.select("crm")
    with pytest.raises(UnknownSourceError, match="unknown entity 'orders' in source 'erp'"):
        config.select("erp", "orders")


def test_locked_warehouse(landing: Path, sources_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    ingest(load_config(sources_file), db, landing)
    with (
        hold_duckdb_lock(db),
        pytest.raises(WarehouseLockedError, match="locked by another process"),
    ):
        ingest(load_config(sources_file), db, landing, full_refresh=True)
    time.sleep(0.1)
    assert rows(db, "select count(*) from raw_erp.items") == [(4,)]


def test_dry_run_writes_nothing(landing: Path, sources_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    results = ingest(load_config(sources_file), db, landing, dry_run=True)
    assert {r.status for r in results} == {"planned"}
    assert sum(len(r.files) for r in results) == 8
    assert not db.exists()
    ingest(load_config(sources_file), db, landing)
    again = ingest(load_config(sources_file), db, landing, dry_run=True)
    assert {r.status for r in again} == {"skipped"}


def test_a_csv_insert_in_any_order_leaves_the_setting_as_it_was() -> None:
    from ingestion.load.insert import _any_order

    def setting(con: duckdb.DuckDBPyConnection) -> bool:
        return con.execute("select current_setting('preserve_insertion_order')").fetchone()[0]

    with duckdb.connect() as con:
        with _any_order(con, True):
            assert setting(con) is False
        assert setting(con) is True
        with _any_order(con, False):
            assert setting(con) is True
