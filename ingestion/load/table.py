"""The entity's raw table: create it, or empty it for a full refresh or a replace load."""

from __future__ import annotations

import duckdb

from ingestion.config import Entity
from ingestion.errors import WarehouseError
from ingestion.sources.base import Part
from ingestion.state import FILES, LEGACY_METADATA_COLUMNS, METADATA_COLUMNS, METADATA_DDL
from ingestion.warehouse import quote


def table_name(entity: Entity) -> str:
    return f"{quote(entity.schema)}.{quote(entity.name)}"


def columns_of(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> dict[str, str]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    return {r[0]: r[1] for r in rows}


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
