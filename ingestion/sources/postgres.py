"""The PostgreSQL source: a table extracted with COPY, streamed into CSV spool files.

The server streams ``COPY (select ...) TO STDOUT (FORMAT csv)`` one row per
message; rows go to spool files of ``batch_rows`` rows each, which DuckDB then
reads with its native CSV reader and the column types mapped from the
PostgreSQL catalog. No row-by-row inserts. The DSN comes from an environment
variable and never appears in messages.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from ingestion import redact
from ingestion.config import Entity
from ingestion.errors import SourceFileError
from ingestion.sources.base import Extracted, Part
from ingestion.sql import path_list, struct
from ingestion.warehouse import quote

PG_TYPES = {
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "double precision": "DOUBLE",
    "boolean": "BOOLEAN",
    "text": "VARCHAR",
    "character varying": "VARCHAR",
    "character": "VARCHAR",
    "date": "DATE",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMPTZ",
    "time without time zone": "TIME",
    "json": "JSON",
    "jsonb": "JSON",
    "uuid": "UUID",
}


@dataclass
class PgExtract:
    columns: dict[str, str] = field(default_factory=dict)
    spool: list[Path] = field(default_factory=list)
    rows: int = 0


def _duck_type(data_type: str, precision: int | None, scale: int | None) -> str:
    if data_type == "numeric":
        if precision is not None and precision <= 38:
            return f"DECIMAL({precision},{scale or 0})"
        return "DOUBLE"
    return PG_TYPES.get(data_type, "VARCHAR")


def dsn(entity: Entity) -> str:
    assert entity.postgres is not None
    value = os.environ.get(entity.postgres.dsn_env)
    if not value:
        raise SourceFileError(
            f"{entity.qualified}: environment variable {entity.postgres.dsn_env} "
            "(PostgreSQL connection string) is not set"
        )
    redact.register(value)
    return value


def extract(con: duckdb.DuckDBPyConnection, entity: Entity, since: str | None) -> Extracted:
    """Copy the new rows into CSV spool files and describe them as one typed CSV reader call."""
    assert entity.postgres is not None
    spool = Path(tempfile.mkdtemp(prefix=f"dataops-{entity.source}-{entity.name}-"))
    try:
        pg = fetch(entity, spool, since=since)
        label = f"postgres:{entity.postgres.table_schema}.{entity.postgres.table}"
        parts: list[Part] = []
        if pg.spool:
            common = (
                f"header = false, auto_detect = false, delim = ',', quote = '\"', "
                f"escape = '\"', allow_quoted_nulls = false, columns = {struct(pg.columns)}"
            )
            sel = ", ".join(quote(c) for c in pg.columns)
            files = path_list(pg.spool)
            parts.append(
                Part(
                    f"select {sel} from read_csv("
                    f"{files}, {common}, store_rejects = true, "
                    "rejects_table = '__rejects_pg', rejects_scan = '__rejects_pg_scan')",
                    dict(pg.columns),
                    rejects="__rejects_pg",
                    lax_sql=f"select {sel} from read_csv({files}, {common}, ignore_errors = true)",
                )
            )
        return Extracted(parts, [], label, cleanup=spool)
    except BaseException:
        shutil.rmtree(spool, ignore_errors=True)
        raise


def fetch(entity: Entity, spool_dir: Path, *, since: str | None) -> PgExtract:
    pg = entity.postgres
    assert pg is not None
    out = PgExtract()
    try:
        with psycopg.connect(dsn(entity), autocommit=False) as conn:
            conn.execute("set TimeZone = 'UTC'")
            conn.execute("set DateStyle = 'ISO, YMD'")
            conn.execute("set extra_float_digits = 3")
            conn.execute("set transaction isolation level repeatable read, read only")
            cols = conn.execute(
                "select column_name, data_type, numeric_precision, numeric_scale "
                "from information_schema.columns where table_schema = %s and table_name = %s "
                "order by ordinal_position",
                [pg.table_schema, pg.table],
            ).fetchall()
            if not cols:
                raise SourceFileError(
                    f"{entity.qualified}: table {pg.table_schema}.{pg.table} not found in PostgreSQL"
                )
            out.columns = {c[0]: _duck_type(c[1], c[2], c[3]) for c in cols}
            query = sql.SQL("select * from {}.{}").format(
                sql.Identifier(pg.table_schema), sql.Identifier(pg.table)
            )
            params: list[str] = []
            if since is not None and entity.cursor:
                query = sql.SQL("{} where {} > %s").format(query, sql.Identifier(entity.cursor))
                params.append(since)
            copy_sql = sql.SQL("copy ({}) to stdout (format csv)").format(query)
            with conn.cursor() as cur, cur.copy(copy_sql, params or None) as copy:
                handle = None
                in_file = 0
                for chunk in copy:
                    if handle is None or in_file >= pg.batch_rows:
                        if handle is not None:
                            handle.close()
                        path = spool_dir / f"part_{len(out.spool):06d}.csv"
                        out.spool.append(path)
                        handle = path.open("wb")
                        in_file = 0
                    handle.write(chunk)
                    in_file += 1
                    out.rows += 1
                if handle is not None:
                    handle.close()
    except psycopg.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceFileError(f"{entity.qualified}: PostgreSQL error: {first}") from None
    return out
