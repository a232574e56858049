"""PostgreSQL source: full and incremental loads against a throwaway server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest
from conftest import skip_unless

from ingestion.config import load_config
from ingestion.pipeline import ingest
from tooling.devtools.pg_server import (
    PG_BIN,
    pg_server,
)

pytestmark = [pytest.mark.postgres]


@pytest.fixture(scope="module", autouse=True)
def _postgres_binaries() -> None:
    skip_unless((PG_BIN / "initdb").exists(), "PostgreSQL 15 binaries missing")


@pytest.fixture(scope="module")
def pg_dsn() -> Iterator[str]:
    """A throwaway server (the devtools one the engine tests use), as a libpq DSN."""
    with pg_server(roles=()) as server:
        yield (
            f"host={server.host} port={server.port} user={server.user} "
            f"password={server.password} dbname={server.dbname}"
        )


SOURCES = """
sources:
  - name: shop
    type: postgres
    dsn_env: SHOP_PG_DSN
    batch_rows: 1000
    entities:
      - name: orders
        table: sales.orders
        primary_key: [order_id]
        load: merge
        cursor: updated_at
"""


def test_full_then_incremental(
    pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_PG_DSN", pg_dsn)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("drop schema if exists sales cascade; create schema sales")
        conn.execute(
            "create table sales.orders (order_id bigint primary key, customer text, "
            "amount numeric(12,2), is_paid boolean, meta jsonb, note text, "
            "updated_at timestamp not null)"
        )
        conn.execute(
            "insert into sales.orders select i, 'c' || (i % 50), i * 1.25, i % 2 = 0, "
            "jsonb_build_object('n', i), case when i % 10 = 0 then null when i % 10 = 1 "
            "then '' else 'say \"hi\", ok' end, timestamp '2026-10-01' + i * interval '1 minute' "
            "from generate_series(1, 2500) as i"
        )
    (tmp_path / "sources.yml").write_text(SOURCES)
    config = load_config(tmp_path / "sources.yml")
    db = tmp_path / "w.duckdb"
    [full] = ingest(config, db, tmp_path)
    assert (full.rows, full.quarantined) == (2500, 0)
    with duckdb.connect(str(db), read_only=True) as con:
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'raw_shop' and table_name = 'orders'"
            ).fetchall()
        )
        assert types["amount"] == "DECIMAL(12,2)" and types["meta"] == "JSON"
        got = con.execute(
            "select count(*), sum(amount)::varchar, count(*) filter (where is_paid), "
            "count(*) filter (where note is null), count(*) filter (where note = ''), "
            "max(updated_at)::varchar from raw_shop.orders"
        ).fetchone()
    assert got == (
        2500,
        f"{sum(i * 1.25 for i in range(1, 2501)):.2f}",
        1250,
        250,
        250,
        "2026-10-02 17:40:00",
    )
    # incremental: an update and two new rows; only rows past the high-water mark come over
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(
            "update sales.orders set amount = 0, updated_at = '2026-11-01' where order_id = 7"
        )
        conn.execute(
            "insert into sales.orders values (2501, 'x', 1, true, '{}', 'n', "
            "'2026-11-02'), (2502, 'y', 2, false, null, null, '2026-11-03')"
        )
        conn.execute("update sales.orders set amount = 99 where order_id = 8")  # cursor not moved
    [inc] = ingest(config, db, tmp_path)
    assert inc.rows == 3 and inc.high_water_mark == "2026-11-03 00:00:00"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "select order_id, amount::varchar from raw_shop.orders where order_id in "
            "(7, 8, 2501, 2502) order by 1"
        ).fetchall() == [(7, "0.00"), (8, "10.00"), (2501, "1.00"), (2502, "2.00")]
        assert con.execute("select count(*) from raw_shop.orders").fetchone() == (2502,)
