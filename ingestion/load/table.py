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
    KEYED_METADATA_COLUMNS,
    LEGACY_METADATA_COLUMNS,
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


def _old_format(columns: dict[str, str]) -> tuple[str, ...] | None:
    """The audit columns of an older dataops the table still has, if it has them.

    Text ``_batch_id``/``_source_file`` per row (the first format), then integer
    ``_batch_key``/``_file_key`` per row beside ``_loaded_at`` (the second).
    """
    for old in (KEYED_METADATA_COLUMNS, LEGACY_METADATA_COLUMNS):
        if all(c in columns for c in old):
            return old
    return None


def _refuse_legacy(entity: Entity, columns: dict[str, str]) -> None:
    """A table still in an older audit format (its load upgrades it first; this is the guard)."""
    old = _old_format(columns)
    if old:
        raise WarehouseError(
            f"{entity.qualified} has the audit columns of an older dataops ({', '.join(old)}); "
            "reload it once with `dataops ingest --full-refresh`"
        )


def upgrade_legacy(con: duckdb.DuckDBPyConnection, entity: Entity) -> bool:
    """Rewrite a table in an older audit format to the ``_loaded_at`` stamp, in its own transaction.

    Old batches and files without integer keys get them (text format); the
    entity's files get stamps, their batch's start plus one microsecond per
    earlier file of the batch (by path, as new loads do); each file row gets its
    file's stamp (found by file key, or by text batch id and file name), a row
    without a file keeps its batch's start. The tombstones of a soft-deleting
    merge entity from the text format get ``_batch_key`` from their batch id.
    """
    columns = columns_of(con, entity.schema, entity.name)
    old = _old_format(columns)
    if old is None:
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
        con.execute(
            f"update {FILES} as f set loaded_at = f.loaded_at + to_microseconds(o.n) "
            "from (select path, batch_id, row_number() over (partition by batch_id "
            f"order by path) - 1 as n from {FILES} where source = ? and entity = ?) as o "
            "where f.source = ? and f.entity = ? and f.path = o.path "
            "and f.batch_id = o.batch_id and o.n > 0",
            where * 2,
        )
        table = table_name(entity)
        renamed = quote("__old_" + entity.name)
        old_table = f"{quote(entity.schema)}.{renamed}"
        if old == KEYED_METADATA_COLUMNS:
            files, on = "file_key, loaded_at", "f.file_key = t._file_key"
        else:
            files, on = (
                "path, batch_id, loaded_at",
                ("f.path = t._source_file and f.batch_id = t._batch_id"),
            )
        con.execute(f"alter table {table} rename to {renamed}")
        con.execute(
            f"create table {table} as select t.* exclude (_loaded_at, {', '.join(old)}), "
            f"coalesce(f.loaded_at, t._loaded_at) as _loaded_at from {old_table} as t "
            f"left join (select {files} from {FILES} where source = ? and entity = ?) as f "
            f"on {on}",
            where,
        )
        con.execute(f"drop table {old_table}")
        if "_batch_id" in columns_of(con, entity.schema, entity.tombstones):
            tomb = f"{quote(entity.schema)}.{quote(entity.tombstones)}"
            old_tomb = f"{quote(entity.schema)}.{quote('__old_' + entity.tombstones)}"
            con.execute(f"alter table {tomb} rename to {quote('__old_' + entity.tombstones)}")
            con.execute(
                f"create table {tomb} as select t.* exclude (_batch_id), "
                f"b.batch_key as _batch_key from {old_tomb} as t left join {BATCHES} as b "
                "on b.batch_id = t._batch_id"
            )
            con.execute(f"drop table {old_tomb}")
        con.execute("commit")
    except duckdb.Error:
        con.execute("rollback")
        raise
    return True
