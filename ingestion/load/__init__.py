"""Load steps: an extracted batch into the entity's raw table, audited, in one transaction.

:func:`load` runs the steps in order; each lives in its own module and does
one job: :mod:`~ingestion.load.table` (create or empty the table),
:mod:`~ingestion.load.drift` (reconcile columns), :mod:`~ingestion.load.quarantine`
(bad rows), :mod:`~ingestion.load.insert` (the rows), :mod:`~ingestion.load.merge`
(upserts) and :mod:`~ingestion.load.audit` (files, high-water mark, drift events).
The caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from ingestion.config import Entity
from ingestion.load import audit, cursor, drift, insert, merge, quarantine, table
from ingestion.load.batch import Batch
from ingestion.results import EntityResult
from ingestion.sources.base import Extracted


def load(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    extracted: Extracted,
    result: EntityResult,
    *,
    full_refresh: bool,
    started: datetime,
    root: Path | None,
    since: str | None,
) -> None:
    """Load the extracted parts into the entity's table and audit them in ``result``."""
    name = table.table_name(entity)
    merging = entity.load == "merge"
    # A new append/replace table is created by its first insert (merge stages first).
    direct = not merging and bool(extracted.parts)
    target, existed = table.prepare(
        con, entity, extracted.parts, full_refresh=full_refresh, create=not direct
    )
    # (a replace load has just emptied its table: the audit alone bounds its stamp)
    kept = name if existed and entity.load != "replace" else None
    batch = Batch.open(con, entity, result.batch_id, started, extracted, kept)
    result.batch_key, result.loaded_at = batch.key, batch.started
    create = dict(target) if direct and not existed else None
    before = tuple(target)
    q = quarantine.open_for_batch(con, entity, extracted, batch)
    vanished = drift.vanished_columns(con, entity) if existed else set()
    risky = [
        drift.reconcile(
            con,
            entity,
            name,
            target,
            part,
            existed=existed,
            events=result.drift,
            before=before,
            vanished=vanished,
        )
        if not part.empty
        else {}
        for part in extracted.parts
    ]
    files = [f for p in extracted.parts for f in p.files]
    # After the ALTERs of drift: DuckDB cannot commit an ALTER that follows a DELETE.
    audit.forget_reloaded(con, entity, files, existed)
    dest = merge.stage(con, name) if merging else name
    names = list(target)
    result.rows = insert.insert_parts(
        con, entity, extracted, risky, names, dest, q, batch, root=root, since=since, create=create
    )
    # stamps only grow per entity: the batch's rows are those from its first stamp on
    batch_rows = dest if merging else f"{name} where _loaded_at >= {batch.now_sql}"
    has_cursor = bool(entity.cursor and entity.cursor in target)
    batch_max = (
        cursor.batch_max(
            con,
            entity,
            extracted.parts,
            risky,
            target[entity.cursor],
            batch_rows,
            since=since,
            inserted=result.rows,
        )
        if has_cursor and entity.cursor
        else None
    )
    if merging:
        merge.merge(con, entity, name, names, q, batch)  # result.rows stays the rows read
    audit.record_files(con, entity, files, result, batch, batch_rows)
    if merging:
        merge.unstage(con)
    if has_cursor and entity.cursor:
        result.high_water_mark = audit.advance_high_water_mark(
            con,
            entity,
            target[entity.cursor],
            batch_max,
            batch,
            fresh=full_refresh or entity.load == "replace",
        )
    audit.record_drift(con, entity, result.drift, batch)
    result.quarantined = quarantine.enforce_limit(con, entity, q, batch)
