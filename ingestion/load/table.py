"""The entity's raw table: create it, or empty it for a full refresh or a replace load."""

from __future__ import annotations

import duckdb

from ingestion.config import Entity
from ingestion.errors import WarehouseError
from ingestion.sources.base import Part
from ingestion.state import (
    BATCH_KEYS,
    BATCHES,
    FILE_KEYS,
    FILES,
    LEGACY_METADATA_COLUMNS,
    METADATA_COLUMNS,
    METADATA_DDL,
    columns_of,
)
from ingestion.warehouse import quote


def table_name(entity: Entity) -> str:
    return f"{quote(entity.schema)}.{quote(entity.name)}"


def prepare(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    parts: list[Part],
    *,
    full_refresh: bool,
    create: bool = True,
) -> tuple[dict[str, str], bool]:
    """The table's columns before this load, and whether it existed with data to keep.

    A full refresh drops the table (and its tombstones); a replace load empties it;
    a missing table gets the declared columns, the batch's columns and the audit
    columns: created here, or (``create=False``) only planned, for the insert step
    to create it from its first part (one write instead of create + insert).
    """
    table = table_name(entity)
    con.execute(f"create schema if not exists {quote(entity.schema)}")
    current = columns_of(con, entity.schema, entity.name)
    if current and not full_refresh:
        _refuse_legacy(entity, current)
    if current and full_refresh:
        con.execute(f"drop table {table}")
        con.execute(f"drop table if exists {quote(entity.schema)}.{quote(entity.tombstones)}")
        current = {}
    if full_refresh or entity.load == "replace":
        con.execute(
            f"delete from {FILES} where source = ? and entity = ?", [entity.source, entity.name]
        )
    if current:
        if entity.load == "replace":
            con.execute(f"delete from {table}")
        return current, True
    columns = dict(entity.columns)
    for part in parts:
        for col, typ in part.columns.items():
            columns.setdefault(col, typ)
    columns.update(d.split(maxsplit=1) for d in METADATA_DDL)
    if not create:
        return columns, False
    cols = [f"{quote(c)} {t}" for c, t in columns.items()]
    con.execute(f"create table {table} ({', '.join(cols)})")
    return columns_of(con, entity.schema, entity.name), False


def _refuse_legacy(entity: Entity, columns: dict[str, str]) -> None:
    """A table from before integer audit keys (text ``_batch_id``/``_source_file`` per row)."""
    if any(c in columns for c in LEGACY_METADATA_COLUMNS) and METADATA_COLUMNS[1] not in columns:
        raise WarehouseError(
            f"{entity.qualified} has the audit columns of an older dataops (_batch_id, "
            "_source_file); reload it once with `dataops ingest --full-refresh`"
        )


def upgrade_legacy(con: duckdb.DuckDBPyConnection, entity: Entity) -> bool:
    """Rewrite a table with the old text audit columns to integer keys, in its own transaction.

    Old batches and files get keys; each row's ``_batch_key`` comes from its text
    ``_batch_id`` and its ``_file_key`` from (``_source_file``, ``_batch_id``) in
    ``loaded_files`` (NULL for API and database rows, as for new loads). The
    tombstones of a soft-deleting merge entity get ``_batch_key`` the same way.
    """
    columns = columns_of(con, entity.schema, entity.name)
    if not all(c in columns for c in LEGACY_METADATA_COLUMNS) or METADATA_COLUMNS[1] in columns:
        return False
    where = [entity.source, entity.name]
    con.execute("begin transaction")
    try:
        con.execute(
            f"update {BATCHES} set batch_key = nextval('{BATCH_KEYS}') "
            "where batch_key is null and source = ? and entity = ?",
            where,
        )
        con.execute(
            f"update {FILES} set file_key = nextval('{FILE_KEYS}') "
            "where file_key is null and source = ? and entity = ?",
            where,
        )
        table = table_name(entity)
        old = f"{quote(entity.schema)}.{quote('__old_' + entity.name)}"
        con.execute(f"alter table {table} rename to {quote('__old_' + entity.name)}")
        con.execute(
            f"create table {table} as select t.* exclude (_loaded_at, _batch_id, _source_file), "
            "t._loaded_at, b.batch_key as _batch_key, f.file_key as _file_key "
            f"from {old} as t left join (select batch_id, batch_key from {BATCHES} "
            "where source = ? and entity = ?) as b on b.batch_id = t._batch_id "
            f"left join (select path, batch_id, file_key from {FILES} "
            "where source = ? and entity = ?) as f "
            "on f.path = t._source_file and f.batch_id = t._batch_id",
            where * 2,
        )
        con.execute(f"drop table {old}")
        if "_batch_id" in columns_of(con, entity.schema, entity.tombstones):
            tomb = f"{quote(entity.schema)}.{quote(entity.tombstones)}"
            old = f"{quote(entity.schema)}.{quote('__old_' + entity.tombstones)}"
            con.execute(f"alter table {tomb} rename to {quote('__old_' + entity.tombstones)}")
            con.execute(
                f"create table {tomb} as select t.* exclude (_batch_id), "
                f"b.batch_key as _batch_key from {old} as t left join {BATCHES} as b "
                "on b.batch_id = t._batch_id"
            )
            con.execute(f"drop table {old}")
        con.execute("commit")
    except duckdb.Error:
        con.execute("rollback")
        raise
    return True
