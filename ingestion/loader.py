"""Land source files in DuckDB: typed, idempotent, incremental, audited.

For each entity of the sources YAML the loader

1. finds the files its glob matches under the landing root (never outside it);
2. skips files whose (path, content hash) the audit already holds, so
   re-running on files already loaded changes nothing;
3. reads the new files with DuckDB's native readers and the pinned column
   types (no Python row loops), adding ``_loaded_at``, ``_batch_id`` and
   ``_source_file``;
4. applies the load mode (replace | append | merge) and records the batch and
   its files in ``dataops_meta``, all in ONE transaction: a failure rolls the
   entity back to its previous state and is then recorded as a failed batch.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import duckdb

from ingestion.config import Entity, SourcesConfig
from ingestion.errors import IngestionError, SourceFileError, WarehouseError
from ingestion.warehouse import connect, quote

META_SCHEMA = "dataops_meta"
BATCHES = f"{META_SCHEMA}.load_batches"
FILES = f"{META_SCHEMA}.loaded_files"
METADATA_COLUMNS = ("_loaded_at", "_batch_id", "_source_file")


class Progress(Protocol):
    """What the loader reports while it works (the CLI draws progress bars)."""

    def start(self, label: str, total: int) -> None: ...
    def advance(self, label: str) -> None: ...
    def finish(self, label: str) -> None: ...


class _NoProgress:
    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, label: str) -> None:
        pass

    def finish(self, label: str) -> None:
        pass


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative: str
    sha256: str


@dataclass
class EntityResult:
    source: str
    entity: str
    load: str
    status: str  # loaded | skipped | failed | planned
    batch_id: str
    files: list[str] = field(default_factory=list)
    skipped_files: int = 0
    rows: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def table(self) -> str:
        return f"raw_{self.source}.{self.entity}"


def ensure_meta_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {META_SCHEMA}")
    con.execute(
        f"""
        create table if not exists {BATCHES} (
            batch_id varchar primary key,
            source varchar not null,
            entity varchar not null,
            load_mode varchar not null,
            status varchar not null,
            files varchar[],
            skipped_files integer,
            rows_loaded bigint,
            started_at timestamptz not null,
            finished_at timestamptz,
            error varchar
        )
        """
    )
    con.execute(
        f"""
        create table if not exists {FILES} (
            source varchar not null,
            entity varchar not null,
            path varchar not null,
            sha256 varchar not null,
            rows_loaded bigint,
            batch_id varchar not null,
            loaded_at timestamptz not null
        )
        """
    )


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def find_files(entity: Entity, landing_root: Path) -> list[LandingFile]:
    """Files the entity's glob matches, sorted, each proven to lie under the root."""
    root = landing_root.resolve()
    if not root.is_dir():
        raise SourceFileError(f"landing root {landing_root} does not exist or is not a folder")
    matched = sorted(p for p in root.glob(entity.location) if p.is_file() or p.is_symlink())
    if not matched:
        raise SourceFileError(
            f"{entity.qualified}: no file matches {entity.location} under {landing_root}"
        )
    files: list[LandingFile] = []
    for path in matched:
        real = path.resolve()
        if not real.is_relative_to(root):
            raise SourceFileError(
                f"{entity.qualified}: {path} resolves outside the landing root {landing_root}"
            )
        relative = path.relative_to(root).as_posix()
        try:
            digest = _sha256(real)
        except FileNotFoundError:
            raise SourceFileError(f"{entity.qualified}: {relative} is missing") from None
        except OSError as exc:
            raise SourceFileError(
                f"{entity.qualified}: cannot read {relative}: {exc.strerror}"
            ) from None
        files.append(LandingFile(real, relative, digest))
    return files


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _columns_struct(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"{_literal(c)}: {_literal(t)}" for c, t in columns.items()) + "}"


def _check_csv_header(entity: Entity, file: LandingFile) -> None:
    """Refuse a CSV whose header does not name the configured columns in order."""
    try:
        with file.path.open("r", encoding="utf-8", newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError:
        raise SourceFileError(f"{entity.qualified}: {file.relative} is not UTF-8 text") from None
    header = next(csv.reader(io.StringIO(first)), [])
    expected = list(entity.columns)
    if [h.strip() for h in header] != expected:
        raise SourceFileError(
            f"{entity.qualified}: {file.relative} has header {','.join(header) or '(empty)'}; "
            f"expected {','.join(expected)}"
        )


def _select_file(entity: Entity, file: LandingFile) -> str:
    """SQL selecting one file's rows with the pinned types and the metadata columns."""
    path = _literal(str(file.path))
    cols = list(entity.columns)
    if entity.format == "csv":
        source = (
            f"read_csv({path}, header = true, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', columns = {_columns_struct(entity.columns)})"
        )
        select = ", ".join(quote(c) for c in cols)
    elif entity.format == "ndjson":
        source = (
            f"read_json({path}, format = 'newline_delimited', "
            f"columns = {_columns_struct(entity.columns)})"
        )
        select = ", ".join(quote(c) for c in cols)
    elif entity.format == "json_pages":
        struct = "STRUCT(" + ", ".join(f"{quote(c)} {t}" for c, t in entity.columns.items()) + ")[]"
        assert entity.record_path is not None
        source = (
            f"(select unnest({quote(entity.record_path)}) as __record from read_json({path}, "
            f"format = 'auto', columns = {{{_literal(entity.record_path)}: {_literal(struct)}}}))"
        )
        select = ", ".join(f"__record.{quote(c)} as {quote(c)}" for c in cols)
    elif entity.format == "parquet":
        source = f"read_parquet({path})"
        select = ", ".join(
            f"cast({quote(c)} as {t}) as {quote(c)}" for c, t in entity.columns.items()
        )
    else:  # pragma: no cover - config validation rejects other formats
        raise IngestionError(f"unsupported format {entity.format}")
    return f"select {select}, ? as _loaded_at, ? as _batch_id, ? as _source_file from {source}"


def _describe(exc: duckdb.Error) -> str:
    """The useful part of a DuckDB error, on one line."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    head = lines[0] if lines else type(exc).__name__
    for marker in ("Expected Number of Columns", "Original Line"):
        extra = next((ln for ln in lines[1:] if ln.startswith(marker)), None)
        if extra:
            head += f" ({extra})"
    return head


def _table_exists(con: duckdb.DuckDBPyConnection, entity: Entity) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [entity.schema, entity.name],
    ).fetchone()
    return bool(row and row[0])


def _create_target(con: duckdb.DuckDBPyConnection, entity: Entity, table: str) -> None:
    cols = [f"{quote(c)} {t}" for c, t in entity.columns.items()]
    cols += ["_loaded_at timestamptz", "_batch_id varchar", "_source_file varchar"]
    con.execute(f"create table {table} ({', '.join(cols)})")


def _check_target_columns(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [entity.schema, entity.name],
    ).fetchall()
    existing = [r[0] for r in rows]
    expected = [*entity.columns, *METADATA_COLUMNS]
    if existing != expected:
        raise IngestionError(
            f"{entity.qualified}: the table's columns ({', '.join(existing)}) differ from the "
            "sources YAML; run with --full-refresh to rebuild it"
        )


def _merge(con: duckdb.DuckDBPyConnection, entity: Entity, table: str, staged: str) -> None:
    """Upsert the staged batch: per key the version with the latest cursor wins.

    Within the batch, the newest cursor (then the later file, then the later
    row) wins; against the table, a row is replaced only by a version whose
    cursor is not older, so files arriving out of order cannot roll data back.
    """
    keys = [quote(k) for k in entity.primary_key]
    cols = ", ".join(quote(c) for c in [*entity.columns, *METADATA_COLUMNS])
    order = []
    if entity.cursor:
        order.append(f"{quote(entity.cursor)} desc nulls last")
    order += ["__file_index desc", "__row desc"]
    con.execute(
        f"""
        create temp table __latest as
        select * exclude (__file_index, __row) from {staged}
        qualify row_number() over (partition by {", ".join(keys)} order by {", ".join(order)}) = 1
        """
    )
    match = " and ".join(f"t.{k} = b.{k}" for k in keys)
    newer = ""
    if entity.cursor:
        cur = quote(entity.cursor)
        newer = f" and (t.{cur} is null or b.{cur} is null or b.{cur} >= t.{cur})"
    con.execute(
        f"delete from {table} as t where exists (select 1 from __latest as b where {match}{newer})"
    )
    con.execute(
        f"insert into {table} ({cols}) select {cols} from __latest as b "
        f"where not exists (select 1 from {table} as t where {match})"
    )
    con.execute("drop table __latest")


def _load_entity(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    files: list[LandingFile],
    result: EntityResult,
    *,
    full_refresh: bool,
    started: datetime,
    progress: Progress,
) -> None:
    """Load ``files`` into the entity's table; the caller owns the transaction."""
    table = f"{quote(entity.schema)}.{quote(entity.name)}"
    con.execute(f"create schema if not exists {quote(entity.schema)}")
    exists = _table_exists(con, entity)
    replace = full_refresh or entity.load == "replace"
    if exists and replace:
        con.execute(f"drop table {table}")
        con.execute(
            "delete from dataops_meta.loaded_files where source = ? and entity = ?",
            [entity.source, entity.name],
        )
        exists = False
    if exists:
        _check_target_columns(con, entity)
    else:
        _create_target(con, entity, table)

    merge = entity.load == "merge"
    staged = "__staged"
    if merge:
        con.execute(f"create temp table {staged} as select * from {table} limit 0")
        con.execute(f"alter table {staged} add column __file_index integer")
        con.execute(f"alter table {staged} add column __row bigint")

    label = entity.qualified
    progress.start(label, len(files))
    for index, file in enumerate(files):
        if entity.format == "csv":
            _check_csv_header(entity, file)
        select = _select_file(entity, file)
        params = [started, result.batch_id, file.relative]
        try:
            if merge:
                count = con.execute(
                    f"insert into {staged} select *, {index}, row_number() over () from ({select})",
                    params,
                ).fetchone()
            else:
                count = con.execute(f"insert into {table} {select}", params).fetchone()
        except duckdb.Error as exc:
            raise SourceFileError(
                f"{entity.qualified}: cannot load {file.relative}: {_describe(exc)}"
            ) from None
        rows = int(count[0]) if count else 0
        result.rows += rows
        result.files.append(file.relative)
        con.execute(
            f"insert into {FILES} values (?, ?, ?, ?, ?, ?, ?)",
            [
                entity.source,
                entity.name,
                file.relative,
                file.sha256,
                rows,
                result.batch_id,
                started,
            ],
        )
        progress.advance(label)
    if merge:
        _merge(con, entity, table, staged)
        con.execute(f"drop table {staged}")
    progress.finish(label)


def _record_batch(con: duckdb.DuckDBPyConnection, result: EntityResult, started: datetime) -> None:
    con.execute(
        f"insert into {BATCHES} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.batch_id,
            result.source,
            result.entity,
            result.load,
            result.status,
            result.files,
            result.skipped_files,
            result.rows,
            started,
            datetime.now(UTC),
            result.error,
        ],
    )


def _already_loaded(con: duckdb.DuckDBPyConnection, entity: Entity) -> set[tuple[str, str]]:
    rows = con.execute(
        f"select path, sha256 from {FILES} where source = ? and entity = ?",
        [entity.source, entity.name],
    ).fetchall()
    return {(r[0], r[1]) for r in rows}


def _new_batch_id(entity: Entity, started: datetime) -> str:
    return f"{entity.source}.{entity.name}.{started:%Y%m%dT%H%M%S}.{uuid.uuid4().hex[:8]}"


def ingest(
    config: SourcesConfig,
    warehouse: Path,
    landing_root: Path,
    *,
    source: str | None = None,
    entity: str | None = None,
    full_refresh: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> list[EntityResult]:
    """Load every selected entity; stop at the first failure (raised after auditing it)."""
    entities = config.select(source, entity)
    progress = progress or _NoProgress()
    # Find and hash every file before touching the warehouse: a missing or
    # unreadable file fails the run before anything is written.
    planned = [(e, find_files(e, landing_root)) for e in entities]
    if dry_run and not warehouse.exists():
        con = duckdb.connect(":memory:")  # nothing loaded yet: every file is new
    else:
        con = connect(warehouse, read_only=dry_run)
    results: list[EntityResult] = []
    try:
        if not dry_run:
            ensure_meta_tables(con)
        for ent, files in planned:
            results.append(
                _ingest_entity(
                    con, ent, files, full_refresh=full_refresh, dry_run=dry_run, progress=progress
                )
            )
    finally:
        con.close()
    return results


def _ingest_entity(
    con: duckdb.DuckDBPyConnection,
    ent: Entity,
    files: list[LandingFile],
    *,
    full_refresh: bool,
    dry_run: bool,
    progress: Progress,
) -> EntityResult:
    started = datetime.now(UTC)
    clock = time.perf_counter()
    result = EntityResult(ent.source, ent.name, ent.load, "loaded", _new_batch_id(ent, started))
    has_meta = bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = 'loaded_files'",
            [META_SCHEMA],
        ).fetchone()[0]
    )
    seen = _already_loaded(con, ent) if has_meta and not full_refresh else set()
    new = [f for f in files if (f.relative, f.sha256) not in seen]
    if ent.load == "replace" and new:
        new = files  # the table mirrors every matched file
    result.skipped_files = len(files) - len(new)
    if dry_run:
        result.status = "planned" if new else "skipped"
        result.files = [f.relative for f in new]
        return result
    if not new:
        result.status = "skipped"
        _record_batch(con, result, started)
        result.seconds = time.perf_counter() - clock
        return result
    try:
        con.execute("begin transaction")
        _load_entity(
            con, ent, new, result, full_refresh=full_refresh, started=started, progress=progress
        )
        _record_batch(con, result, started)
        con.execute("commit")
    except (IngestionError, duckdb.Error) as exc:
        _rollback(con)
        message = (
            str(exc) if isinstance(exc, IngestionError) else (f"{ent.qualified}: {_describe(exc)}")
        )
        failed = EntityResult(
            ent.source,
            ent.name,
            ent.load,
            "failed",
            result.batch_id,
            files=[f.relative for f in new],
            error=message,
        )
        # The failure itself is what the user needs to hear about.
        with contextlib.suppress(duckdb.Error):
            _record_batch(con, failed, started)
        if isinstance(exc, IngestionError):
            raise
        raise WarehouseError(message) from None
    result.seconds = time.perf_counter() - clock
    return result


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):
        con.execute("rollback")


def summarize(results: Iterable[EntityResult]) -> dict[str, int]:
    """Rows loaded per source."""
    totals: dict[str, int] = {}
    for r in results:
        totals[r.source] = totals.get(r.source, 0) + r.rows
    return totals
