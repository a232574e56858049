"""Land sources in DuckDB: typed, exact, incremental, audited, crash-safe.

For each entity of the sources YAML the loader

1. extracts the new data: landing files whose (path, sha256) the audit does
   not hold yet (globs never leave the landing root), or the records of a REST
   API / rows of a PostgreSQL table beyond the stored high-water mark;
2. reads it with DuckDB's native readers and the pinned column types, all new
   files of one header/schema in ONE reader call (no Python row loops), adding
   ``_loaded_at``, ``_batch_id`` and ``_source_file``;
3. compares the batch's columns with the table's (schema drift: add, keep
   vanished columns as NULL, widen, quarantine incompatible values; or fail
   with ``schema: frozen``);
4. routes rows that do not parse or type (wrong column count, unparseable
   values, conflicting duplicate keys in one merge batch) to
   ``raw_<source>._quarantine_<entity>`` and fails over ``max_bad_rows``;
5. applies the load mode (replace | append | merge with optional soft
   deletes) and records the batch, its files, drift events and the high-water
   mark in ``dataops_meta``, all in ONE transaction: a failure or a SIGKILL
   leaves the previous committed state.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import duckdb

from ingestion import drift as drift_mod
from ingestion import redact
from ingestion.config import IDENTIFIER, Entity, SourcesConfig
from ingestion.drift import DriftEvent
from ingestion.erasure import apply_tombstones
from ingestion.errors import IngestionError, SourceFileError, WarehouseError
from ingestion.state import (
    BATCHES,
    DRIFT,
    FILES,
    META_SCHEMA,
    ensure_meta_tables,
    ensure_quarantine,
    has_meta,
    high_water_mark,
    set_high_water_mark,
)
from ingestion.warehouse import connect, quote

METADATA_COLUMNS = ("_loaded_at", "_batch_id", "_source_file")
__all__ = ["BATCHES", "FILES", "META_SCHEMA", "EntityResult", "ensure_meta_tables", "ingest"]


class SchemaDriftError(IngestionError):
    """A ``schema: frozen`` entity whose source changed shape."""


class BadRowsError(SourceFileError):
    """More rows than ``max_bad_rows`` failed to parse or type.

    ``quarantined`` holds the batch's quarantine rows (an Arrow table): the
    load's transaction rolls back, and the loader writes them again on their
    own so the user can see why the load failed.
    """

    def __init__(self, message: str, quarantined: object = None, count: int = 0) -> None:
        super().__init__(message)
        self.quarantined = quarantined
        self.count = count


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
    quarantined: int = 0
    drift: list[DriftEvent] = field(default_factory=list)
    high_water_mark: str | None = None
    warnings: list[str] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)  # replace: no longer matched

    @property
    def table(self) -> str:
        return f"raw_{self.source}.{self.entity}"


@dataclass
class Part:
    """One reader call: SQL selecting data columns plus ``_source_file``."""

    sql: str
    columns: dict[str, str]  # column -> type as the reader produces it
    rejects: str | None = None  # CSV rejects table to harvest into quarantine
    lax_sql: str | None = None  # the same read, skipping bad lines (for a second pass)
    files: list[LandingFile] = field(default_factory=list)


@dataclass
class Extracted:
    parts: list[Part]
    bad: list[tuple[str, str, str | None]]  # (reason, record, source_file)
    label: str  # what _source_file holds for non-file sources
    cleanup: Path | None = None


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


def _struct(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"{_literal(c)}: {_literal(t)}" for c, t in columns.items()) + "}"


def _list(paths: Iterable[Path]) -> str:
    return "[" + ", ".join(_literal(str(p)) for p in paths) + "]"


def _csv_header(entity: Entity, file: LandingFile) -> tuple[str, ...]:
    try:
        with file.path.open("r", encoding="utf-8", newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError:
        raise SourceFileError(f"{entity.qualified}: {file.relative} is not UTF-8 text") from None
    header = tuple(h.strip() for h in next(csv.reader(io.StringIO(first)), []))
    if not header:
        raise SourceFileError(f"{entity.qualified}: {file.relative} has no header line")
    bad = [h for h in header if not IDENTIFIER.match(h)]
    if bad or len(set(header)) != len(header):
        raise SourceFileError(
            f"{entity.qualified}: {file.relative} has header {','.join(header)}; column names "
            "must be unique identifiers"
        )
    return header


def _source_file_expr(files: list[LandingFile], root: Path) -> str:
    if len(files) == 1:
        return _literal(files[0].relative)
    return f"substr(filename, {len(str(root)) + 2})"


def _file_parts(
    con: duckdb.DuckDBPyConnection, entity: Entity, files: list[LandingFile], root: Path
) -> list[Part]:
    """Group files by header (CSV) or schema (Parquet); one reader call per group."""
    root = root.resolve()
    paths = {f.relative: root / f.relative for f in files}
    groups: dict[tuple, list[LandingFile]] = {}
    if entity.format == "csv":
        for f in files:
            groups.setdefault(_csv_header(entity, f), []).append(f)
    elif entity.format == "parquet":
        for f in files:
            try:
                schema = con.execute(
                    f"describe select * from read_parquet({_literal(str(paths[f.relative]))})"
                ).fetchall()
            except duckdb.Error as exc:
                raise SourceFileError(
                    f"{entity.qualified}: cannot read {f.relative}: {_describe(exc)}"
                ) from None
            groups.setdefault(tuple((r[0], r[1]) for r in schema), []).append(f)
    else:
        groups[()] = list(files)
    parts: list[Part] = []
    for index, (signature, group) in enumerate(groups.items()):
        source_file = _source_file_expr(group, root)
        # One file: _source_file is a literal, so the reader need not add a
        # per-row filename column (it costs ~15% of a Parquet read).
        fname = ", filename = true" if len(group) > 1 else ""
        plist = _list(paths[f.relative] for f in group)
        if entity.format == "csv":
            columns = {c: entity.columns.get(c, "VARCHAR") for c in signature}
            common = (
                f"header = true, auto_detect = false, delim = ',', quote = '\"', "
                f"escape = '\"', columns = {_struct(columns)}{fname}"
            )
            rejects = f"__rejects_{index}"
            sel = ", ".join(quote(c) for c in columns)
            parts.append(
                Part(
                    sql=f"select {sel}, {source_file} as _source_file from read_csv({plist}, "
                    f"{common}, store_rejects = true, rejects_table = '{rejects}', "
                    f"rejects_scan = '{rejects}_scan')",
                    lax_sql=f"select {sel}, {source_file} as _source_file from read_csv({plist}, "
                    f"{common}, ignore_errors = true)",
                    columns=columns,
                    rejects=rejects,
                    files=group,
                )
            )
        elif entity.format == "ndjson":
            columns = {**entity.columns, **_ndjson_new_keys(con, entity, plist)}
            sel = ", ".join(quote(c) for c in columns)
            parts.append(
                Part(
                    sql=f"select {sel}, {source_file} as _source_file from read_json({plist}, "
                    f"format = 'newline_delimited', columns = {_struct(columns)}{fname})",
                    columns=columns,
                    files=group,
                )
            )
        elif entity.format == "json_pages":
            assert entity.record_path is not None
            _check_record_path(con, entity, plist)
            struct = (
                "STRUCT(" + ", ".join(f"{quote(c)} {t}" for c, t in entity.columns.items()) + ")[]"
            )
            sel = ", ".join(f"__record.{quote(c)} as {quote(c)}" for c in entity.columns)
            parts.append(
                Part(
                    sql=f"select {sel}, _source_file from (select unnest("
                    f"{quote(entity.record_path)}) as __record, {source_file} as _source_file "
                    f"from read_json({plist}, format = 'auto'{fname}, columns = "
                    f"{{{_literal(entity.record_path)}: {_literal(struct)}}}))",
                    columns=dict(entity.columns),
                    files=group,
                )
            )
        else:  # parquet: the file's own types
            columns = dict(signature)
            sel = ", ".join(quote(c) for c in columns)
            parts.append(
                Part(
                    sql=f"select {sel}, {source_file} as _source_file from read_parquet("
                    f"{plist}{fname})",
                    columns=columns,
                    files=group,
                )
            )
    return parts


def _check_record_path(con: duckdb.DuckDBPyConnection, entity: Entity, plist: str) -> None:
    """A page without an array at ``record_path`` would load no record: an error, not 0 rows."""
    assert entity.record_path is not None
    rp = entity.record_path
    try:
        row = con.execute(
            f"select filename from read_json({plist}, format = 'auto', filename = true, "
            f"columns = {{{_literal(rp)}: 'JSON'}}) "
            f"where json_type({quote(rp)}) is distinct from 'ARRAY' limit 1"
        ).fetchone()
    except duckdb.Error:
        return  # unreadable pages: the load itself reports them with the reader's error
    if row is not None:
        raise SourceFileError(
            f"{entity.qualified}: {Path(row[0]).name} has no record array at "
            f"record_path {rp!r}; fix record_path or the page (nothing was loaded)"
        )


def _ndjson_new_keys(con: duckdb.DuckDBPyConnection, entity: Entity, plist: str) -> dict[str, str]:
    """Keys of the records that the config does not declare, with detected types.

    The declared columns keep their pinned types; an undeclared key becomes a
    column too (schema drift: added as nullable, or a failure when frozen)
    instead of being dropped silently. Detection reads every record
    (``sample_size = -1``): with DuckDB's default sample (the first 20,480
    records of each file) a key first appearing later would be dropped.
    """
    try:
        rows = con.execute(
            f"describe select * from read_json({plist}, format = 'newline_delimited', "
            "union_by_name = true, sample_size = -1)"
        ).fetchall()
    except duckdb.Error:
        return {}  # e.g. only empty files; the typed read reports real errors
    declared = {c.lower() for c in entity.columns}
    return {r[0]: r[1] for r in rows if r[0].lower() not in declared}


def _describe(exc: duckdb.Error) -> str:
    """The useful part of a DuckDB error, on one line."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    head = lines[0] if lines else type(exc).__name__
    for marker in ("Expected Number of Columns", "Original Line"):
        extra = next((ln for ln in lines[1:] if ln.startswith(marker)), None)
        if extra:
            head += f" ({extra})"
    return head


def _table_columns(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> dict[str, str]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def _reconcile(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    table: str,
    target: dict[str, str],
    part: Part,
    *,
    existed: bool,
    events: list[DriftEvent],
    before: tuple[str, ...],
    vanished: set[str],
) -> dict[str, str]:
    """Apply drift rules for one part; return {column: target type} needing try_cast.

    ``vanished`` holds the columns whose removal is already on record: they
    are not reported again each batch, and their return is ("restored").
    """
    risky: dict[str, str] = {}

    def event(ev: DriftEvent) -> None:
        if entity.schema_mode == "frozen":
            raise SchemaDriftError(
                f"{entity.qualified}: schema is frozen but the source changed: {ev.describe()}"
            )
        if ev not in events:
            events.append(ev)

    for col, typ in part.columns.items():
        if col in METADATA_COLUMNS:
            raise SourceFileError(f"{entity.qualified}: source column {col} is reserved")
        if col in vanished and existed:
            event(DriftEvent(col, "restored", None, typ))
            vanished.discard(col)
        if col not in target:
            event(DriftEvent(col, "added", None, typ))
            con.execute(f"alter table {table} add column {quote(col)} {typ}")
            target[col] = typ
            continue
        have = target[col]
        if drift_mod.same(have, typ) or drift_mod.is_widening(typ, have):
            continue
        if existed and drift_mod.is_widening(have, typ):
            event(DriftEvent(col, "widened", have, typ))
            con.execute(f"alter table {table} alter column {quote(col)} type {typ}")
            target[col] = typ
            continue
        if existed:
            event(DriftEvent(col, "incompatible", have, typ))
        risky[col] = have
    for col in before:
        absent = col not in part.columns and col not in METADATA_COLUMNS
        if absent and existed and col not in vanished:
            event(DriftEvent(col, "removed", target[col], None))
            vanished.add(col)
    return risky


def _vanished_columns(con: duckdb.DuckDBPyConnection, entity: Entity) -> set[str]:
    """Columns whose latest removed/restored drift event is 'removed'."""
    rows = con.execute(
        f"select column_name from {DRIFT} where source = ? and entity = ? "
        "and kind in ('removed', 'restored') "
        "qualify row_number() over (partition by column_name order by detected_at desc, "
        "kind = 'removed') = 1 and kind = 'removed'",
        [entity.source, entity.name],
    ).fetchall()
    return {r[0] for r in rows}


def _fail_condition(risky: dict[str, str]) -> str:
    return " or ".join(
        f"({quote(c)} is not null and try_cast({quote(c)} as {t}) is null)"
        for c, t in risky.items()
    )


def _fail_reason(risky: dict[str, str], part: Part) -> str:
    cases = ", ".join(
        f"case when {quote(c)} is not null and try_cast({quote(c)} as {t}) is null then "
        f"{_literal(f'column {c}: cannot cast {part.columns[c]} value to {t}')} end"
        for c, t in risky.items()
    )
    return f"concat_ws('; ', {cases})"


def _quarantine_sql(q: str, batch_id: str, now: str) -> str:
    return f"insert into {q} select {_literal(batch_id)}, {now}, "


def _harvest_rejects(
    con: duckdb.DuckDBPyConnection, part: Part, q: str, batch_id: str, now: str, root: Path | None
) -> None:
    if part.rejects is None:
        return
    rej, scan = part.rejects, f"{part.rejects}_scan"
    path = f"substr(s.file_path, {len(str(root)) + 2})" if root else "s.file_path"
    con.execute(
        f"{_quarantine_sql(q, batch_id, now)} {path}, e.line, "
        "string_agg(e.error_type || ': ' || e.error_message, '; '), any_value(e.csv_line) "
        f"from {rej} as e join {scan} as s using (scan_id, file_id) "
        "group by s.file_path, e.line order by s.file_path, e.line"
    )
    con.execute(f"drop table if exists {rej}")
    con.execute(f"drop table if exists {scan}")


def _load_parts(
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
    """Load the extracted parts into the entity's table; the caller owns the transaction."""
    table = f"{quote(entity.schema)}.{quote(entity.name)}"
    con.execute(f"create schema if not exists {quote(entity.schema)}")
    current = _table_columns(con, entity.schema, entity.name)
    if current and full_refresh:
        con.execute(f"drop table {table}")
        con.execute(f"drop table if exists {quote(entity.schema)}.{quote(entity.tombstones)}")
        current = {}
    if full_refresh or entity.load == "replace":
        con.execute(
            f"delete from {FILES} where source = ? and entity = ?", [entity.source, entity.name]
        )
    existed = bool(current)
    if not existed:
        columns = dict(entity.columns)
        for part in extracted.parts:
            for col, typ in part.columns.items():
                columns.setdefault(col, typ)
        cols = [f"{quote(c)} {t}" for c, t in columns.items()]
        cols += ["_loaded_at timestamptz", "_batch_id varchar", "_source_file varchar"]
        con.execute(f"create table {table} ({', '.join(cols)})")
        current = _table_columns(con, entity.schema, entity.name)
    elif entity.load == "replace":
        con.execute(f"delete from {table}")
    target = dict(current)
    before = tuple(current)
    q = ensure_quarantine(con, entity.schema, entity.quarantine)
    now = f"{_literal(started.isoformat())}::timestamptz"
    batch = _literal(result.batch_id)
    # This load supersedes failed attempts at the same data: their quarantine
    # rows (kept for inspection) would otherwise be counted twice.
    labels = [f.relative for p in extracted.parts for f in p.files] or [extracted.label]
    con.execute(
        f"delete from {q} where _source_file in (select unnest(?)) and _batch_id in "
        f"(select batch_id from {BATCHES} where source = ? and entity = ? and status = 'failed')",
        [labels, entity.source, entity.name],
    )

    for reason, record, source_file in extracted.bad:
        con.execute(
            f"insert into {q} values (?, ?, ?, null, ?, ?)",
            [result.batch_id, started, source_file or extracted.label, reason, record],
        )
    vanished = _vanished_columns(con, entity) if existed else set()
    risky = [
        _reconcile(
            con,
            entity,
            table,
            target,
            p,
            existed=existed,
            events=result.drift,
            before=before,
            vanished=vanished,
        )
        for p in extracted.parts
    ]
    # After the ALTERs of drift: DuckDB cannot commit an ALTER that follows a DELETE.
    _forget_reloaded(con, entity, table, [f for p in extracted.parts for f in p.files], existed)
    merge = entity.load == "merge"
    dest = table
    if merge:
        con.execute(f"create or replace temp table __staged as select * from {table} limit 0")
        dest = "__staged"
    names = list(target)
    col_list = ", ".join(quote(c) for c in names)
    counted = 0
    for part, bad in zip(extracted.parts, risky, strict=True):
        exprs = []
        for c in names:
            if c == "_loaded_at":
                exprs.append(now)
            elif c == "_batch_id":
                exprs.append(batch)
            elif c == "_source_file":
                exprs.append("_source_file")
            elif c not in part.columns:
                exprs.append("null")
            elif c in bad:
                exprs.append(f"try_cast({quote(c)} as {bad[c]})")
            else:
                exprs.append(quote(c))
        where = []
        if since is not None and entity.cursor and entity.cursor in part.columns:
            where.append(f"{quote(entity.cursor)} > {_literal(since)}")
        if bad:
            cond = _fail_condition(bad)
            lax = part.lax_sql or part.sql
            con.execute(
                f"{_quarantine_sql(q, result.batch_id, now)} _source_file, null, "
                f"{_fail_reason(bad, part)}, to_json(s)::varchar from ({lax}) as s where {cond}"
            )
            where.append(f"not ({cond})")
        filt = f" where {' and '.join(where)}" if where else ""
        try:
            count = con.execute(
                f"insert into {dest} ({col_list}) select {', '.join(exprs)} from ({part.sql}){filt}"
            ).fetchone()
        except duckdb.Error as exc:
            files = ", ".join(f.relative for f in part.files) or extracted.label
            raise SourceFileError(
                f"{entity.qualified}: cannot load {files}: {_describe(exc)}"
            ) from None
        counted += int(count[0]) if count else 0
        _harvest_rejects(con, part, q, result.batch_id, now, root)
    result.rows = counted

    batch_max: str | None = None
    has_cursor = bool(entity.cursor and entity.cursor in target)
    if has_cursor:
        src = "__staged" if merge else f"{table} where _batch_id = {batch}"
        row = con.execute(f"select max({quote(str(entity.cursor))})::varchar from {src}").fetchone()
        batch_max = row[0] if row else None
    if merge:
        _merge(con, entity, table, names, q, result.batch_id, now)  # rows = rows read

    # per-file rows for the audit
    files = [f for p in extracted.parts for f in p.files]
    if files:
        if len(files) == 1:
            per_file = {files[0].relative: result.rows}
        else:
            src = "__staged" if merge else f"{table} where _batch_id = {batch}"
            per_file = dict(
                con.execute(f"select _source_file, count(*) from {src} group by 1").fetchall()
            )
        for f in files:
            con.execute(
                f"insert into {FILES} (source, entity, path, sha256, rows_loaded, batch_id, "
                "loaded_at, config_fp) values (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    entity.source,
                    entity.name,
                    f.relative,
                    f.sha256,
                    per_file.get(f.relative, 0),
                    result.batch_id,
                    started,
                    entity.fingerprint,
                ],
            )
            result.files.append(f.relative)
    if merge:
        con.execute("drop table if exists __staged")

    # high-water mark, in this transaction
    if has_cursor and entity.cursor:
        fresh = full_refresh or entity.load == "replace"
        previous = None if fresh else high_water_mark(con, entity.source, entity.name)
        typ = target[entity.cursor]
        row = con.execute(
            f"select max(v)::varchar from (select try_cast(? as {typ}) as v "
            f"union all select try_cast(? as {typ}))",
            [previous, batch_max],
        ).fetchone()
        result.high_water_mark = row[0] if row else None
        if result.high_water_mark is not None:
            set_high_water_mark(
                con,
                entity.source,
                entity.name,
                entity.cursor,
                result.high_water_mark,
                result.batch_id,
                started,
            )
    for ev in result.drift:
        con.execute(
            f"insert into {DRIFT} values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                result.batch_id,
                entity.source,
                entity.name,
                ev.column,
                ev.kind,
                ev.old_type,
                ev.new_type,
                started,
            ],
        )
    bad_count = con.execute(f"select count(*) from {q} where _batch_id = ?", [result.batch_id])
    result.quarantined = int(bad_count.fetchone()[0])
    limit = entity.max_bad_rows
    if limit is not None and result.quarantined > limit:
        first = con.execute(
            f"select _source_file, _line, _reason from {q} where _batch_id = ? "
            "order by _source_file, _line limit 1",
            [result.batch_id],
        ).fetchone()
        where = f"{first[0]}" + (f" line {first[1]}" if first[1] is not None else "")
        kept = con.execute(
            f"select * from {q} where _batch_id = ?", [result.batch_id]
        ).to_arrow_table()
        raise BadRowsError(
            f"{entity.qualified}: {result.quarantined} bad row(s) exceed max_bad_rows={limit}; "
            f"first: {where}: {first[2]} (bad rows kept in {entity.schema}.{entity.quarantine})",
            quarantined=kept,
            count=result.quarantined,
        )


def _merge(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    table: str,
    names: list[str],
    q: str,
    batch_id: str,
    now: str,
) -> int:
    """Upsert ``__staged`` into the table exactly; return the rows applied.

    Per key the version with the newest cursor wins; identical duplicates
    collapse; different versions with the same cursor (or without a cursor)
    are ambiguous and go to quarantine. Against the table a row is replaced or
    deleted (soft-delete flag) only by a version whose cursor is not older, so
    late files cannot roll data back.
    """
    keys = [quote(k) for k in entity.primary_key]
    data = [quote(c) for c in names if c not in METADATA_COLUMNS]
    null_key = " or ".join(f"{k} is null" for k in keys)
    qi = _quarantine_sql(q, batch_id, now)
    con.execute(
        f"{qi} _source_file, null, 'null primary key', to_json(s)::varchar "
        f"from __staged as s where {null_key}"
    )
    con.execute(f"delete from __staged where {null_key}")
    dup = con.execute(
        f"select count(*) from (select 1 from __staged group by {', '.join(keys)} "
        "having count(*) > 1)"
    ).fetchone()
    # Common case, one version per key: merge the staged rows as they are (no
    # window, no grouping, no second copy of the batch).
    unique = bool(dup and dup[0] == 0)
    src = "__staged" if unique else _resolve_duplicates(con, entity, keys, data, qi)
    match = " and ".join(f"t.{k} = b.{k}" for k in keys)
    newer = ""
    if entity.cursor:
        cur = quote(entity.cursor)
        newer = f" and (t.{cur} is null or b.{cur} is null or b.{cur} >= t.{cur})"
    deleting = ""
    not_deleted = ""
    if entity.soft_delete and entity.soft_delete in names:
        flag = f"b.{quote(entity.soft_delete)}"
        deleting = f"when matched{newer} and {flag} then delete "
        not_deleted = f" and ({flag} is null or not {flag})"
        if entity.cursor:
            _apply_tombstones(con, entity, table, keys, match, src)
    sets = ", ".join(f"{quote(c)} = b.{quote(c)}" for c in names)
    cols = ", ".join(quote(c) for c in names)
    vals = ", ".join(f"b.{quote(c)}" for c in names)
    con.execute(
        f"merge into {table} as t using {src} as b on ({match}) {deleting}"
        f"when matched{newer} then update set {sets} "
        f"when not matched{not_deleted} then insert ({cols}) values ({vals})"
    )
    applied = con.execute(f"select count(*) from {src}").fetchone()
    for tmp in ("__top", "__latest", "__conflict"):
        con.execute(f"drop table if exists {tmp}")
    return int(applied[0]) if applied else 0


def _resolve_duplicates(
    con: duckdb.DuckDBPyConnection, entity: Entity, keys: list[str], data: list[str], qi: str
) -> str:
    """One row per key in ``__latest``: newest cursor wins, identical rows collapse,
    conflicting versions of one key go to quarantine."""
    top = "__staged"
    if entity.cursor:
        con.execute(
            f"create or replace temp table __top as select * from __staged qualify rank() over "
            f"(partition by {', '.join(keys)} order by {quote(entity.cursor)} desc nulls last) = 1"
        )
        top = "__top"
    con.execute(
        f"create or replace temp table __latest as select {', '.join(data)}, "
        "any_value(_loaded_at) as _loaded_at, any_value(_batch_id) as _batch_id, "
        f"min(_source_file) as _source_file from {top} group by all"
    )
    match_l = " and ".join(f"l.{k} = c.{k}" for k in keys)
    con.execute(
        f"create or replace temp table __conflict as select {', '.join(keys)} from __latest "
        f"group by all having count(*) > 1"
    )
    con.execute(
        f"{qi} l._source_file, null, 'duplicate key in one batch with conflicting values', "
        f"to_json(l)::varchar from __latest as l semi join __conflict as c on {match_l}"
    )
    con.execute(f"delete from __latest as l using __conflict as c where {match_l}")
    return "__latest"


def _apply_tombstones(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    table: str,
    keys: list[str],
    match: str,
    src: str,
) -> None:
    """Remember deleted keys with the delete's cursor; drop older versions arriving late.

    Without this a version older than a delete, arriving in a later batch,
    would find no row to compare with and resurrect the deleted key, so the
    table would no longer equal a full load of the final state.
    """
    assert entity.cursor and entity.soft_delete
    cur, flag = quote(entity.cursor), quote(entity.soft_delete)
    tomb = f"{quote(entity.schema)}.{quote(entity.tombstones)}"
    con.execute(
        f"create table if not exists {tomb} as select {', '.join(keys)}, {cur}, _batch_id "
        f"from {table} limit 0"
    )
    # a version not newer than the key's latest delete loses to it
    con.execute(
        f"delete from {src} as b using {tomb} as t where {match} "
        f"and b.{cur} is not null and t.{cur} is not null and b.{cur} < t.{cur}"
    )
    cols = ", ".join([*keys, cur, "_batch_id"])
    con.execute(
        f"merge into {tomb} as t using (select {cols} from {src} where {flag}) as b "
        f"on ({match}) when matched and (t.{cur} is null or b.{cur} >= t.{cur}) then update "
        f"set {cur} = b.{cur}, _batch_id = b._batch_id when not matched then insert ({cols}) "
        f"values ({', '.join(f'b.{c}' for c in [*keys, cur, '_batch_id'])})"
    )


def _record_batch(con: duckdb.DuckDBPyConnection, result: EntityResult, started: datetime) -> None:
    con.execute(
        f"insert into {BATCHES} (batch_id, source, entity, load_mode, status, files, "
        "skipped_files, rows_loaded, started_at, finished_at, error, rows_quarantined, "
        "drift_events, high_water_mark, removed_files) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            redact.redact(result.error) if result.error else None,
            result.quarantined,
            len(result.drift),
            result.high_water_mark,
            result.removed_files or None,
        ],
    )


def _already_loaded(
    con: duckdb.DuckDBPyConnection, entity: Entity, *, any_config: bool = False
) -> set[tuple[str, str]]:
    """(path, sha256) of the files loaded under this entity's current config.

    The skip key includes the config's fingerprint: after ``record_path``,
    ``columns`` or the load mode are fixed, the files loaded before are loaded
    again. Rows recorded before fingerprints existed (NULL) count as current.
    ``any_config``: whatever config they were loaded with.
    """
    rows = con.execute(
        f"select path, sha256 from {FILES} where source = ? and entity = ? "
        "and (? or config_fp is null or config_fp = ?)",
        [entity.source, entity.name, any_config, entity.fingerprint],
    ).fetchall()
    return {(r[0], r[1]) for r in rows}


def _forget_reloaded(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    table: str,
    files: list[LandingFile],
    existed: bool,
) -> None:
    """A file loaded again (same path and content, another config) replaces its rows."""
    if not files or entity.load == "replace":
        return  # replace rewrites the whole table anyway
    pairs = [[f.relative, f.sha256] for f in files]
    again = [
        r[0]
        for r in con.execute(
            f"select distinct path from {FILES} where source = ? and entity = ? and "
            "[path, sha256] in (select unnest(?::varchar[][]))",
            [entity.source, entity.name, pairs],
        ).fetchall()
    ]
    if not again:
        return
    if existed and entity.load == "append":
        con.execute(f"delete from {table} where _source_file in (select unnest(?))", [again])
    con.execute(
        f"delete from {FILES} where source = ? and entity = ? and path in (select unnest(?))",
        [entity.source, entity.name, again],
    )


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
    max_bad_rows: int | None = None,
) -> list[EntityResult]:
    """Load every selected entity; stop at the first failure (raised after auditing it).

    ``max_bad_rows`` overrides every entity's own threshold when given.
    """
    entities = config.select(source, entity)
    if max_bad_rows is not None:
        entities = [_with_limit(e, max_bad_rows) for e in entities]
    progress = progress or _NoProgress()
    # Find and hash every file before touching the warehouse: a missing or
    # unreadable file fails the run before anything is written.
    planned = [(e, find_files(e, landing_root) if e.kind == "files" else []) for e in entities]
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
                    con,
                    ent,
                    files,
                    landing_root,
                    full_refresh=full_refresh,
                    dry_run=dry_run,
                    progress=progress,
                    config=config,
                )
            )
    finally:
        con.close()
    return results


def _with_limit(entity: Entity, limit: int) -> Entity:
    from dataclasses import replace

    return replace(entity, max_bad_rows=limit)


def _extract(
    con: duckdb.DuckDBPyConnection,
    ent: Entity,
    files: list[LandingFile],
    landing_root: Path,
    since: str | None,
) -> Extracted:
    if ent.kind == "files":
        return Extracted(_file_parts(con, ent, files, landing_root), [], ent.location)
    spool = Path(tempfile.mkdtemp(prefix=f"dataops-{ent.source}-{ent.name}-"))
    try:
        if ent.kind == "rest_api":
            from ingestion import rest

            got = rest.extract(ent, spool, since=since)
            label = f"rest:{ent.rest.endpoint if ent.rest else ''}"
            parts: list[Part] = []
            if got.spool:
                reader = (
                    f"read_json({_list(got.spool)}, format = 'newline_delimited', sample_size = -1)"
                )
                schema = con.execute(f"describe select * from {reader}").fetchall()
                columns = {r[0]: r[1] for r in schema}
                sel = ", ".join(quote(c) for c in columns)
                parts.append(
                    Part(f"select {sel}, {_literal(label)} as _source_file from {reader}", columns)
                )
            bad = [(reason, record, label) for reason, record in got.bad]
            return Extracted(parts, bad, label, cleanup=spool)
        from ingestion import postgres

        pg = postgres.extract(ent, spool, since=since)
        assert ent.postgres is not None
        label = f"postgres:{ent.postgres.table_schema}.{ent.postgres.table}"
        parts = []
        if pg.spool:
            common = (
                f"header = false, auto_detect = false, delim = ',', quote = '\"', "
                f"escape = '\"', allow_quoted_nulls = false, columns = {_struct(pg.columns)}"
            )
            sel = ", ".join(quote(c) for c in pg.columns)
            parts.append(
                Part(
                    f"select {sel}, {_literal(label)} as _source_file from read_csv("
                    f"{_list(pg.spool)}, {common}, store_rejects = true, "
                    "rejects_table = '__rejects_pg', rejects_scan = '__rejects_pg_scan')",
                    dict(pg.columns),
                    rejects="__rejects_pg",
                    lax_sql=f"select {sel}, {_literal(label)} as _source_file from read_csv("
                    f"{_list(pg.spool)}, {common}, ignore_errors = true)",
                )
            )
        return Extracted(parts, [], label, cleanup=spool)
    except BaseException:
        shutil.rmtree(spool, ignore_errors=True)
        raise


def _ingest_entity(
    con: duckdb.DuckDBPyConnection,
    ent: Entity,
    files: list[LandingFile],
    landing_root: Path,
    *,
    full_refresh: bool,
    dry_run: bool,
    progress: Progress,
    config: SourcesConfig | None = None,
) -> EntityResult:
    started = datetime.now(UTC)
    clock = time.perf_counter()
    result = EntityResult(ent.source, ent.name, ent.load, "loaded", _new_batch_id(ent, started))
    meta = has_meta(con)
    since = None
    new = files
    if ent.kind == "files":
        seen = _already_loaded(con, ent) if meta and not full_refresh else set()
        new = [f for f in files if (f.relative, f.sha256) not in seen]
        if ent.load == "replace":
            # The table mirrors the matched files: any change (a new, changed or
            # deleted file) reloads them all, and a deleted file's rows go.
            before = _already_loaded(con, ent, any_config=True) if meta else set()
            matched = {(f.relative, f.sha256) for f in files}
            new = files if (new or matched != seen) else []
            result.removed_files = sorted({p for p, _ in before} - {p for p, _ in matched})
        result.skipped_files = len(files) - len(new)
    elif meta and not full_refresh and ent.load != "replace":
        since = high_water_mark(con, ent.source, ent.name)
    if dry_run:
        result.status = "planned" if (new or ent.kind != "files") else "skipped"
        result.files = [f.relative for f in new]
        result.high_water_mark = since
        return result
    if ent.kind == "files" and not new:
        result.status = "skipped"
        _record_batch(con, result, started)
        result.seconds = time.perf_counter() - clock
        return result
    label = ent.qualified
    extracted: Extracted | None = None
    try:
        progress.start(label, 2)
        extracted = _extract(con, ent, new, landing_root, since)
        progress.advance(label)
        if not extracted.parts and not extracted.bad:
            result.status = "skipped"
            result.high_water_mark = since
            _record_batch(con, result, started)
            result.seconds = time.perf_counter() - clock
            progress.finish(label)
            return result
        con.execute("begin transaction")
        root = landing_root.resolve() if ent.kind == "files" else None
        _load_parts(
            con,
            ent,
            extracted,
            result,
            full_refresh=full_refresh,
            started=started,
            root=root,
            since=since,
        )
        # erased data subjects stay erased, whatever old file is loaded again
        result.rows -= apply_tombstones(con, config, ent, result.batch_id, root)
        _record_batch(con, result, started)
        con.execute("commit")
        progress.finish(label)
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
        if isinstance(exc, BadRowsError):
            failed.quarantined = exc.count
        # The failure itself is what the user needs to hear about.
        with contextlib.suppress(duckdb.Error):
            _record_batch(con, failed, started)
        if isinstance(exc, BadRowsError) and exc.quarantined is not None:
            _keep_quarantine(con, ent, exc.quarantined)
        if isinstance(exc, IngestionError):
            raise
        raise WarehouseError(message) from None
    finally:
        if extracted is not None and extracted.cleanup is not None:
            shutil.rmtree(extracted.cleanup, ignore_errors=True)
    result.seconds = time.perf_counter() - clock
    return result


def _keep_quarantine(con: duckdb.DuckDBPyConnection, ent: Entity, rows: object) -> None:
    """Write a failed load's quarantine rows in their own transaction."""
    try:
        con.execute("begin transaction")
        q = ensure_quarantine(con, ent.schema, ent.quarantine)
        con.register("__kept_quarantine", rows)
        con.execute(f"insert into {q} select * from __kept_quarantine")
        con.unregister("__kept_quarantine")
        con.execute("commit")
    except duckdb.Error:
        _rollback(con)


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):
        con.execute("rollback")


def summarize(results: Iterable[EntityResult]) -> dict[str, int]:
    """Rows loaded per source."""
    totals: dict[str, int] = {}
    for r in results:
        totals[r.source] = totals.get(r.source, 0) + r.rows
    return totals


def status(config: SourcesConfig, warehouse: Path) -> list:
    """Per declared entity: last load, high-water mark, rows, drift events, quarantined rows."""
    from ingestion.state import entity_status

    pairs = [(e.source, e.name) for s in config.sources for e in s.entities]
    con = connect(warehouse, read_only=True)
    try:
        return entity_status(con, pairs)
    finally:
        con.close()
