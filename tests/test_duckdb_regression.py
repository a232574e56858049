"""Guards against a DuckDB regression that silently empties merge loads.

DuckDB 2.0.0: inside a transaction, after a file reader inserts more than one
row group (> 122,880 rows) into a table, GROUP BY and window queries over that
table return no rows. The loader's merge stages a batch exactly like that, so
a large merge would commit an empty result. pyproject.toml pins duckdb < 2.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingestion.config import load_config
from ingestion.pipeline import ingest

ROWS = 130_000  # more than one row group


def test_large_merge_load_keeps_every_row(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    with duckdb.connect() as con:
        con.execute(
            f"copy (select range as id, 'v' || range as v, "
            f"timestamp '2026-10-01' + to_seconds(range) as updated_at from range({ROWS})) "
            f"to '{landing / 'a_1.csv'}' (header)"
        )
    (tmp_path / "s.yml").write_text(
        "sources:\n  - name: b\n    format: csv\n    entities:\n      - name: a\n"
        "        location: a_*.csv\n        primary_key: [id]\n        load: merge\n"
        "        cursor: updated_at\n"
        "        columns: {id: BIGINT, v: VARCHAR, updated_at: TIMESTAMP}\n"
    )
    db = tmp_path / "w.duckdb"
    ingest(load_config(tmp_path / "s.yml"), db, landing)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*), count(distinct id) from raw_b.a").fetchall() == [
            (ROWS, ROWS)
        ]
