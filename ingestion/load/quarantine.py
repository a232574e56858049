"""Rows that do not parse or fit go to ``raw_<source>._quarantine_<entity>``, not away.

Each function does one thing: open the batch's quarantine (superseding failed
attempts at the same data), quarantine rows a risky cast would lose, harvest the
CSV reader's rejects, enforce ``max_bad_rows``, keep a failed load's bad rows.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb

from ingestion.config import Entity
from ingestion.errors import BadRowsError
from ingestion.load.batch import Batch
from ingestion.sources.base import Extracted, Part
from ingestion.sql import literal
from ingestion.state import BATCHES, columns_of, ensure_quarantine
from ingestion.warehouse import quote


def insert_prefix(q: str, batch: Batch) -> str:
    """``insert into <quarantine> select <batch>, <now>, `` : the caller adds the rest."""
    return f"insert into {q} select {batch.id_sql}, {batch.now_sql}, "


def open_for_batch(
    con: duckdb.DuckDBPyConnection, entity: Entity, extracted: Extracted, batch: Batch
) -> str:
    """The quarantine table, cleared of failed attempts at this data, with the source's bad rows.

    This load supersedes failed attempts at the same data: their quarantine rows
    (kept for inspection) would otherwise be counted twice.
    """
    existed = bool(columns_of(con, entity.schema, entity.quarantine))
    q = ensure_quarantine(con, entity.schema, entity.quarantine)
    labels = [f.relative for p in extracted.parts for f in p.files] or [extracted.label]
    if existed:  # a new quarantine holds no failed attempt
        con.execute(
            f"delete from {q} where _source_file in (select unnest(?)) and _batch_id in (select "
            f"batch_id from {BATCHES} where source = ? and entity = ? and status = 'failed')",
            [labels, entity.source, entity.name],
        )
    if extracted.bad:  # one insert, however many (a row per execute would crawl)
        import pyarrow as pa  # only now: importing it costs every process a third of a second

        con.register(
            "__source_bad",
            pa.table(
                {
                    "source_file": [b.source_file or extracted.label for b in extracted.bad],
                    "line": pa.array([b.line for b in extracted.bad], pa.int64()),
                    "reason": [b.reason for b in extracted.bad],
                    "record": [b.record for b in extracted.bad],
                }
            ),
        )
        try:
            con.execute(
                f"{insert_prefix(q, batch)} source_file, line, reason, record from __source_bad"
            )
        finally:
            con.unregister("__source_bad")
    return q


def fail_condition(risky: dict[str, str]) -> str:
    """SQL true for a row whose value in a risky column does not cast to the table's type."""
    return " or ".join(
        f"({quote(c)} is not null and try_cast({quote(c)} as {t}) is null)"
        for c, t in risky.items()
    )


def _fail_reason(risky: dict[str, str], part: Part) -> str:
    cases = ", ".join(
        f"case when {quote(c)} is not null and try_cast({quote(c)} as {t}) is null then "
        f"{literal(f'column {c}: cannot cast {part.columns[c]} value to {t}')} end"
        for c, t in risky.items()
    )
    return f"concat_ws('; ', {cases})"


def uncastable(
    con: duckdb.DuckDBPyConnection, q: str, batch: Batch, part: Part, risky: dict[str, str]
) -> None:
    """Quarantine the part's rows whose values do not cast to the table's column types."""
    lax = part.lax_sql or part.sql
    record = "to_json(s)"
    if part.files:  # the record as the source had it, without the loader's file index
        record = """json_merge_patch(to_json(s), '{"_file_index": null}')"""
    con.execute(
        f"{insert_prefix(q, batch)} {batch.file_name_sql(part, 's.')}, null, "
        f"{_fail_reason(risky, part)}, {record}::varchar from ({lax}) as s "
        f"where {fail_condition(risky)}"
    )


def harvest_rejects(
    con: duckdb.DuckDBPyConnection, part: Part, q: str, batch: Batch, root: Path | None
) -> None:
    """Move the CSV reader's rejected lines (one row per file and line) into quarantine."""
    if part.rejects is None:
        return
    rej, scan = part.rejects, f"{part.rejects}_scan"
    path = f"substr(s.file_path, {len(str(root)) + 2})" if root else "s.file_path"
    con.execute(
        f"{insert_prefix(q, batch)} {path}, e.line, "
        "string_agg(e.error_type || ': ' || e.error_message, '; '), any_value(e.csv_line) "
        f"from {rej} as e join {scan} as s using (scan_id, file_id) "
        "group by s.file_path, e.line order by s.file_path, e.line"
    )
    con.execute(f"drop table if exists {rej}")
    con.execute(f"drop table if exists {scan}")


def enforce_limit(con: duckdb.DuckDBPyConnection, entity: Entity, q: str, batch: Batch) -> int:
    """The batch's quarantined rows; over ``max_bad_rows`` a :class:`BadRowsError`."""
    row = con.execute(f"select count(*) from {q} where _batch_id = ?", [batch.batch_id]).fetchone()
    count = int(row[0]) if row else 0
    limit = entity.max_bad_rows
    if limit is None or count <= limit:
        return count
    first = con.execute(
        f"select _source_file, _line, _reason from {q} where _batch_id = ? "
        "order by _source_file, _line limit 1",
        [batch.batch_id],
    ).fetchone()
    assert first is not None
    where = f"{first[0]}" + (f" line {first[1]}" if first[1] is not None else "")
    kept = con.execute(f"select * from {q} where _batch_id = ?", [batch.batch_id]).to_arrow_table()
    raise BadRowsError(
        f"{entity.qualified}: {count} bad row(s) exceed max_bad_rows={limit}; "
        f"first: {where}: {first[2]} (bad rows kept in {entity.schema}.{entity.quarantine})",
        quarantined=kept,
        count=count,
    )


def keep_failed(con: duckdb.DuckDBPyConnection, entity: Entity, rows: object) -> None:
    """Write a failed load's quarantine rows in their own transaction."""
    try:
        con.execute("begin transaction")
        q = ensure_quarantine(con, entity.schema, entity.quarantine)
        con.register("__kept_quarantine", rows)
        con.execute(f"insert into {q} select * from __kept_quarantine")
        con.unregister("__kept_quarantine")
        con.execute("commit")
    except duckdb.Error:
        with contextlib.suppress(duckdb.Error):
            con.execute("rollback")
