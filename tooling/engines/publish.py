"""Publish DuckDB's raw tables to the build's target engine, in bulk.

* PostgreSQL: one ``COPY ... FROM STDIN (FORMAT csv)`` per table, fed with CSV
  that Arrow renders from DuckDB's record batches (no row inserts, nothing
  spooled to disk), in one transaction per table with its ledger row.
* Spark: DuckDB writes each table as Parquet under the Spark warehouse folder
  and Spark registers it (``create table ... using parquet location``).

Only tables whose content changed since the last publish move: each table's
fingerprint (row count and the sum of a hash of every row, computed by DuckDB)
is kept in a publish ledger *in the target* (``dataops_meta.raw_publish_ledger``
on PostgreSQL, ``_publish_ledger.json`` in the Spark warehouse folder), so the
ledger describes what the target really holds. The raw schemas keep their
DuckDB names (``raw_erp`` ...), so dbt's sources resolve unchanged.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ingestion.warehouse import connect, quote
from tooling.engines.profile import Target, resolve_target
from tooling.errors import UsageError
from tooling.settings import Settings

SUPPORTED = ("duckdb", "postgres", "spark")
BATCH_ROWS = 200_000


@dataclass
class PublishResult:
    table: str
    rows: int
    published: bool
    seconds: float


@dataclass(frozen=True)
class RawTable:
    schema: str
    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


# ---------------------------------------------------------------- preflight


def spark_folder(settings: Settings) -> Path:
    """The Spark warehouse folder: DATAOPS_SPARK_WAREHOUSE, else spark/ by the DuckDB file."""
    if os.environ.get("DATAOPS_SPARK_WAREHOUSE"):
        return Path(os.environ["DATAOPS_SPARK_WAREHOUSE"]).resolve()
    return settings.warehouse.parent.resolve() / "spark"


def preflight(settings: Settings) -> Target:
    """Check the target before anything is written; one clear error when it is unusable."""
    # The spark target's paths come from this variable: set before the profile renders.
    os.environ.setdefault("DATAOPS_SPARK_WAREHOUSE", str(spark_folder(settings)))
    target = resolve_target(settings)
    if target.type not in SUPPORTED:
        raise UsageError(
            f"target {target.name!r} has adapter type {target.type!r}; "
            f"dataops builds on {', '.join(SUPPORTED)}"
        )
    if target.type == "postgres":
        pg_connect(target).close()
    elif target.type == "spark":
        check_spark(target)
    return target


def require_engine(settings: Settings, why: str) -> Target:
    """The target, checked usable for a command that asks the engine itself (``dbt docs
    generate`` reads the catalog from it). DuckDB passes; a server or Spark that cannot
    answer is one line naming it and ``why`` the command needs it, before any write."""
    target = resolve_target(settings)
    if target.type == "duckdb":
        return target
    try:
        preflight(settings)
    except UsageError as exc:
        raise UsageError(f"{exc}; {why}") from None
    if target.type == "spark":
        folder = spark_folder(settings)
        if not (folder / "metastore_db").is_dir():
            raise UsageError(
                f"spark target {target.name!r}: no Spark warehouse at {folder} (no "
                f"metastore_db): run `dataops build --target {target.name}` first; {why}"
            )
    return target


def pg_connect(target: Target) -> Any:
    """A psycopg connection to the target; wrong credentials or no server: one line."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a core dependency
        raise UsageError("the postgres target needs psycopg") from None
    creds = target.credentials
    where = f"{creds.get('host')}:{creds.get('port', 5432)}/{creds.get('dbname')}"
    try:
        import dbt.adapters.postgres  # noqa: F401
    except ImportError:
        raise UsageError(
            f"target {target.name!r} needs dbt-postgres: `uv sync --extra postgres`"
        ) from None
    try:
        return psycopg.connect(
            host=creds.get("host"),
            port=int(creds.get("port", 5432)),
            user=creds.get("user"),
            password=creds.get("password") or None,
            dbname=creds.get("dbname") or creds.get("database"),
            connect_timeout=int(creds.get("connect_timeout", 5)),
        )
    except psycopg.OperationalError as exc:
        text = str(exc)
        if "password" in text or "authentication" in text:
            reason = f"authentication failed for user {creds.get('user')!r} (wrong credentials)"
        elif "does not exist" in text and "database" in text:
            reason = f"database {creds.get('dbname')!r} does not exist"
        else:
            reason = "server unreachable"
        raise UsageError(f"postgres target {target.name!r} at {where}: {reason}") from None


def _java_major(java: str) -> int | None:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match[1])
    return int(match[2]) if major == 1 and match[2] else major


def check_spark(target: Target) -> None:
    """pyspark installed and matching the pins (and SPARK_HOME), Java 17 on PATH."""
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark
    except ImportError:
        raise UsageError(
            f"target {target.name!r} needs pyspark and dbt-spark: `uv sync --extra spark`"
        ) from None
    version = pyspark.__version__
    if not version.startswith("3.5."):
        raise UsageError(
            f"pyspark {version} does not match: dbt-spark's session method here needs pyspark 3.5"
        )
    spark_home = os.environ.get("SPARK_HOME")
    if spark_home:
        jars = sorted(Path(spark_home, "jars").glob("spark-core_*.jar"))
        found = re.search(r"-(\d+\.\d+\.\d+)\.jar$", jars[0].name) if jars else None
        if found is None or found[1] != version:
            other = found[1] if found else "no Spark"
            raise UsageError(
                f"pyspark {version} does not match SPARK_HOME={spark_home} ({other}); "
                "unset SPARK_HOME or install the matching pyspark"
            )
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home, "bin", "java")) if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise UsageError(
            "the spark target needs Java 17: java not found (install openjdk-17-jre-headless "
            "or set JAVA_HOME)"
        )
    major = _java_major(java)
    if major is None or major < 17:
        raise UsageError(f"the spark target needs Java 17: {java} is version {major or 'unknown'}")


# ---------------------------------------------------------------- raw tables


def raw_tables(duck: duckdb.DuckDBPyConnection) -> list[RawTable]:
    """Tables of the ``raw_*`` schemas dbt reads (not quarantine or delete logs)."""
    rows = duck.execute(
        """
        select table_schema, table_name, column_name, data_type
        from information_schema.columns
        where table_catalog = current_database() and table_schema like 'raw\\_%' escape '\\'
          and table_name not like '\\_%' escape '\\'
        order by table_schema, table_name, ordinal_position
        """
    ).fetchall()
    tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        tables.setdefault((schema, table), []).append((column, data_type))
    return [RawTable(s, t, tuple(cols)) for (s, t), cols in tables.items()]


def fingerprint(duck: duckdb.DuckDBPyConnection, table: RawTable) -> tuple[int, str]:
    """Row count and a content digest: the sum of a hash of each row, plus the schema."""
    rows, digest = duck.execute(
        f"select count(*), coalesce(sum(hash(t)::hugeint), 0)::varchar "
        f"from {quote(table.schema)}.{quote(table.name)} as t"
    ).fetchone()
    schema = ",".join(f"{c}:{t}" for c, t in table.columns)
    return int(rows), f"{digest}|{schema}"


PG_TYPES = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "TINYINT": "smallint",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "JSON": "jsonb",
    "UUID": "uuid",
    "HUGEINT": "numeric(38, 0)",
    "UBIGINT": "numeric(20, 0)",
}


def pg_column(column: str, data_type: str) -> tuple[str, str]:
    """(PostgreSQL type, DuckDB select expression) of one raw column."""
    expr = quote(column)
    if data_type.startswith("DECIMAL"):
        return data_type.replace("DECIMAL", "numeric"), expr
    if data_type in PG_TYPES:
        return PG_TYPES[data_type], expr
    if data_type.startswith(("STRUCT", "MAP")) or data_type.endswith("]"):
        return "jsonb", f"to_json({expr})"
    return "text", f"cast({expr} as varchar)"


def spark_expression(column: str, data_type: str) -> str:
    """DuckDB select expression whose Parquet type Spark reads as the same value."""
    expr = quote(column)
    if data_type == "TIMESTAMP":  # naive timestamps: as UTC instants (session tz is UTC)
        return f"timezone('UTC', {expr}) as {expr}"
    if data_type == "JSON" or data_type.startswith(("STRUCT", "MAP")) or data_type.endswith("]"):
        return f"cast({expr} as varchar) as {expr}"
    return expr


# ---------------------------------------------------------------- PostgreSQL

PG_LEDGER = "dataops_meta.raw_publish_ledger"


def _pg_ledger(pg: Any) -> dict[str, str]:
    with pg.cursor() as cur:
        cur.execute("create schema if not exists dataops_meta")
        cur.execute(
            f"create table if not exists {PG_LEDGER} (table_name text primary key, "
            "fingerprint text not null, row_count bigint not null, "
            "published_at timestamptz not null default now())"
        )
        cur.execute(
            f"select l.table_name, l.fingerprint from {PG_LEDGER} as l "
            "where to_regclass(l.table_name) is not null"
        )
        ledger = dict(cur.fetchall())
    pg.commit()
    return ledger


def _pg_columns(pg: Any, table: RawTable) -> list[tuple[str, str]]:
    with pg.cursor() as cur:
        cur.execute(
            "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
            "where a.attrelid = to_regclass(%s) and a.attnum > 0 and not a.attisdropped "
            "order by a.attnum",
            (f'"{table.schema}"."{table.name}"',),
        )
        return [(n, t) for n, t in cur.fetchall()]


def stream_copy(duck: duckdb.DuckDBPyConnection, select_sql: str, copy: Any) -> int:
    """Feed a PostgreSQL COPY (csv) from a DuckDB query, one Arrow batch at a time."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, batch_size=BATCH_ROWS)
    reader = duck.execute(select_sql).fetch_record_batch(BATCH_ROWS)
    rows = 0
    for batch in reader:
        sink = pa.BufferOutputStream()
        pacsv.write_csv(batch, sink, options)
        copy.write(sink.getvalue())
        rows += batch.num_rows
    return rows


def publish_postgres(
    duck: duckdb.DuckDBPyConnection, pg: Any, tables: list[RawTable], *, force: bool = False
) -> list[PublishResult]:
    ledger = _pg_ledger(pg)
    results = []
    for table in tables:
        started = time.perf_counter()
        rows, digest = fingerprint(duck, table)
        key = f'"{table.schema}"."{table.name}"'
        if not force and ledger.get(key) == digest:
            results.append(PublishResult(table.qualified, rows, False, 0.0))
            continue
        columns = [(c, *pg_column(c, t)) for c, t in table.columns]
        wanted = [(c, pg_type.replace(", ", ",")) for c, pg_type, _ in columns]
        existing = [(c, t.replace(", ", ",")) for c, t in _pg_columns(pg, table)]
        names = ", ".join(quote(c) for c, _, _ in columns)
        with pg.cursor() as cur:
            cur.execute(f"create schema if not exists {quote(table.schema)}")
            if existing and [(c, _normal(t)) for c, t in existing] == [
                (c, _normal(t)) for c, t in wanted
            ]:
                # Same shape: keep the table (and the views dbt built on it).
                cur.execute(f"truncate {key}")
            else:
                cur.execute(f"drop table if exists {key} cascade")
                ddl = ", ".join(f"{quote(c)} {pg_type}" for c, pg_type, _ in columns)
                cur.execute(f"create table {key} ({ddl})")
            select = ", ".join(expr for _, _, expr in columns)
            source = f"select {select} from {quote(table.schema)}.{quote(table.name)}"
            with cur.copy(f"copy {key} ({names}) from stdin (format csv)") as copy:
                stream_copy(duck, source, copy)
            cur.execute(
                f"insert into {PG_LEDGER} (table_name, fingerprint, row_count) "
                "values (%s, %s, %s) on conflict (table_name) do update set "
                "fingerprint = excluded.fingerprint, row_count = excluded.row_count, "
                "published_at = now()",
                (key, digest, rows),
            )
        pg.commit()
        results.append(PublishResult(table.qualified, rows, True, time.perf_counter() - started))
    return results


def _normal(pg_type: str) -> str:
    aliases = {
        "timestamp without time zone": "timestamp",
        "timestamp with time zone": "timestamptz",
        "character varying": "text",
    }
    return aliases.get(pg_type, pg_type)


# ---------------------------------------------------------------- Spark


def spark_session(target: Target) -> Any:
    """The SparkSession dbt-spark's session method will reuse (same builder, same conf)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in (target.credentials.get("server_side_parameters") or {}).items():
        builder = builder.config(str(key), str(value))
    return builder.getOrCreate()


def publish_spark(
    duck: duckdb.DuckDBPyConnection,
    spark: Any,
    folder: Path,
    tables: list[RawTable],
    *,
    force: bool = False,
) -> list[PublishResult]:
    ledger_path = folder / "_publish_ledger.json"
    ledger: dict[str, str] = {}
    if ledger_path.is_file():
        ledger = json.loads(ledger_path.read_text(encoding="utf-8"))
    results = []
    for table in tables:
        started = time.perf_counter()
        rows, digest = fingerprint(duck, table)
        exists = spark.catalog.tableExists(f"`{table.schema}`.`{table.name}`")
        if not force and exists and ledger.get(table.qualified) == digest:
            results.append(PublishResult(table.qualified, rows, False, 0.0))
            continue
        version = f"v{time.time_ns()}"
        location = folder / "raw" / table.schema / table.name / version
        location.mkdir(parents=True)
        select = ", ".join(spark_expression(c, t) for c, t in table.columns)
        duck.execute(
            f"copy (select {select} from {quote(table.schema)}.{quote(table.name)}) "
            f"to '{location / 'part-0.parquet'}' (format parquet)"
        )
        spark.sql(f"create database if not exists `{table.schema}`")
        spark.sql(f"drop table if exists `{table.schema}`.`{table.name}`")
        spark.sql(
            f"create table `{table.schema}`.`{table.name}` using parquet location '{location}'"
        )
        for old in location.parent.iterdir():
            if old != location:
                shutil.rmtree(old, ignore_errors=True)
        ledger[table.qualified] = digest
        ledger_path.write_text(json.dumps(ledger, indent=2, sort_keys=True), encoding="utf-8")
        results.append(PublishResult(table.qualified, rows, True, time.perf_counter() - started))
    return results


def publish_raw(settings: Settings, target: Target, *, force: bool = False) -> list[PublishResult]:
    """Move the raw tables that changed since the last publish to ``target``'s engine."""
    if target.type == "duckdb":
        return []
    duck = connect(settings.warehouse, read_only=True)
    try:
        duck.execute("set TimeZone = 'UTC'")
        tables = raw_tables(duck)
        if target.type == "postgres":
            pg = pg_connect(target)
            try:
                return publish_postgres(duck, pg, tables, force=force)
            finally:
                pg.close()
        folder = spark_folder(settings)
        folder.mkdir(parents=True, exist_ok=True)
        return publish_spark(duck, spark_session(target), folder, tables, force=force)
    finally:
        duck.close()
