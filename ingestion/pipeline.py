"""Land sources in DuckDB: typed, exact, incremental, audited, crash-safe.

For each entity of the sources YAML :func:`ingest`

1. plans the work: landing files whose (path, sha256) the audit does not hold
   yet (globs never leave the landing root; a new path is loaded while it is
   hashed), or the high-water mark beyond which
   a REST API's records or a PostgreSQL table's rows are new;
2. extracts them (:mod:`ingestion.sources`) as DuckDB reader calls with the
   pinned column types, all new files of one header/schema in ONE reader call;
3. loads them (:mod:`ingestion.load`): schema drift, quarantine of rows that do
   not parse or type, the load mode (replace | append | merge with soft
   deletes), and the audit in ``dataops_meta``, all in ONE transaction: a
   failure or a SIGKILL leaves the previous committed state. When the typed
   read of NDJSON or JSON pages meets a value it cannot convert, the load is
   rolled back and repeated once with every record checked, the culprits in
   quarantine (clean files are not checked record by record: they pay nothing).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import duckdb

from ingestion import sources
from ingestion.config import Entity, SourcesConfig
from ingestion.erasure import apply_tombstones
from ingestion.errors import BadRowsError, IngestionError, UncheckedRecordsError, WarehouseError
from ingestion.load import audit, load, quarantine, table
from ingestion.results import EntityResult, NoProgress, Progress, summarize
from ingestion.sources.base import Extracted, LandingFile
from ingestion.sources.files import find_files
from ingestion.sql import describe
from ingestion.state import ensure_meta_tables, has_meta, high_water_mark
from ingestion.warehouse import connect

__all__ = ["EntityResult", "Progress", "ingest", "status", "summarize"]


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
        entities = [replace(e, max_bad_rows=max_bad_rows) for e in entities]
    progress = progress or NoProgress()
    # Find every file before touching the warehouse: a missing or unreadable
    # file fails the run before anything is written. Their sha256 are computed
    # in one worker thread meanwhile, in load order: a file's digest is waited
    # for only where it is needed (planning a path loaded before, the audit).
    results: list[EntityResult] = []
    with contextlib.ExitStack() as stack:
        hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dataops-sha256")
        stack.callback(hasher.shutdown, cancel_futures=True)  # a failed run hashes no more
        planned = [
            (e, find_files(e, landing_root, hasher) if e.kind == "files" else []) for e in entities
        ]
        if dry_run and not warehouse.exists():
            con = duckdb.connect(":memory:")  # nothing loaded yet: every file is new
        else:
            con = connect(warehouse, read_only=dry_run)
        stack.callback(con.close)
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
    return results


def _plan(
    con: duckdb.DuckDBPyConnection,
    ent: Entity,
    files: list[LandingFile],
    result: EntityResult,
    *,
    full_refresh: bool,
) -> tuple[list[LandingFile], str | None]:
    """The files to load (files sources) and the high-water mark to start after (others)."""
    meta = has_meta(con)
    if ent.kind != "files":
        fresh = full_refresh or ent.load == "replace"
        return files, (high_water_mark(con, ent.source, ent.name) if meta and not fresh else None)
    seen = audit.already_loaded(con, ent) if meta and not full_refresh else set()
    # A path not loaded before is new whatever its content: its digest is not
    # waited for here (it is hashed while it loads).
    seen_paths = {p for p, _ in seen}
    new = [f for f in files if f.relative not in seen_paths or (f.relative, f.sha256) not in seen]
    if ent.load == "replace":
        # The table mirrors the matched files: any change (a new, changed or
        # deleted file) reloads them all, and a deleted file's rows go.
        before = audit.already_loaded(con, ent, any_config=True) if meta else set()
        new = files if (new or {(f.relative, f.sha256) for f in files} != seen) else []
        result.removed_files = sorted({p for p, _ in before} - {f.relative for f in files})
    result.skipped_files = len(files) - len(new)
    return new, None


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
    result = EntityResult(
        ent.source, ent.name, ent.load, "loaded", audit.new_batch_id(ent, started)
    )
    new, since = _plan(con, ent, files, result, full_refresh=full_refresh)
    if dry_run:
        result.status = "planned" if (new or ent.kind != "files") else "skipped"
        result.files = [f.relative for f in new]
        result.high_water_mark = since
        return result
    if ent.kind == "files" and not new:
        return _skipped(con, result, started, clock)
    extracted: Extracted | None = None
    try:
        progress.start(ent.qualified, 2)
        extracted = sources.extract(con, ent, new, landing_root, since)
        progress.advance(ent.qualified)
        if not extracted.parts and not extracted.bad:
            result.high_water_mark = since
            _skipped(con, result, started, clock)
            progress.finish(ent.qualified)
            return result
        if not full_refresh:
            table.upgrade_legacy(con, ent)  # raw tables from before integer audit keys
        root = landing_root.resolve() if ent.kind == "files" else None
        batch = partial(
            _load_batch,
            con,
            ent,
            result,
            config,
            started=started,
            root=root,
            since=since,
            full_refresh=full_refresh,
        )
        try:
            batch(extracted)
        except UncheckedRecordsError:
            # A value the typed read could not convert: roll back, find every record
            # that does not fit (the clean path checks none, to stay fast) and load
            # again with those in quarantine. Once: the second read is checked.
            con.execute("rollback")
            _remove_spool(extracted)
            extracted = None
            _reset(result)
            extracted = sources.extract(con, ent, new, landing_root, since, check_types=True)
            batch(extracted)
        progress.finish(ent.qualified)
    except (IngestionError, duckdb.Error) as exc:
        _record_failure(con, ent, result, [f.relative for f in new], started, exc)
        if isinstance(exc, IngestionError):
            raise
        raise WarehouseError(f"{ent.qualified}: {describe(exc)}") from None
    finally:
        _remove_spool(extracted)
    result.seconds = time.perf_counter() - clock
    return result


def _load_batch(
    con: duckdb.DuckDBPyConnection,
    ent: Entity,
    result: EntityResult,
    config: SourcesConfig | None,
    extracted: Extracted,
    *,
    full_refresh: bool,
    started: datetime,
    root: Path | None,
    since: str | None,
) -> None:
    """Load the extracted batch and its audit in one transaction, and commit."""
    con.execute("begin transaction")
    load(
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
    result.rows -= apply_tombstones(con, config, ent, result, root)
    audit.record_batch(con, result, started)
    con.execute("commit")


def _reset(result: EntityResult) -> None:
    """Forget what a rolled-back attempt at the batch recorded in ``result``."""
    result.rows = 0
    result.quarantined = 0
    result.drift = []
    result.high_water_mark = None
    result.batch_key = None


def _remove_spool(extracted: Extracted | None) -> None:
    if extracted is not None and extracted.cleanup is not None:
        shutil.rmtree(extracted.cleanup, ignore_errors=True)


def _skipped(
    con: duckdb.DuckDBPyConnection, result: EntityResult, started: datetime, clock: float
) -> EntityResult:
    result.status = "skipped"
    audit.record_batch(con, result, started)
    result.seconds = time.perf_counter() - clock
    return result


def _record_failure(
    con: duckdb.DuckDBPyConnection,
    ent: Entity,
    result: EntityResult,
    files: list[str],
    started: datetime,
    exc: Exception,
) -> None:
    """Roll the load back, record the failed batch, keep its bad rows for inspection."""
    with contextlib.suppress(duckdb.Error):
        con.execute("rollback")
    message = str(exc) if isinstance(exc, IngestionError) else f"{ent.qualified}: {describe(exc)}"
    failed = EntityResult(
        ent.source,
        ent.name,
        ent.load,
        "failed",
        result.batch_id,
        files=files,
        error=message,
        batch_key=result.batch_key,
    )
    if isinstance(exc, BadRowsError):
        failed.quarantined = exc.count
    # The failure itself is what the user needs to hear about.
    with contextlib.suppress(duckdb.Error):
        audit.record_batch(con, failed, started)
    if isinstance(exc, BadRowsError) and exc.quarantined is not None:
        quarantine.keep_failed(con, ent, exc.quarantined)


def status(config: SourcesConfig, warehouse: Path) -> list:
    """Per declared entity: last load, high-water mark, rows, drift events, quarantined rows."""
    from ingestion.state import entity_status

    pairs = [(e.source, e.name) for s in config.sources for e in s.entities]
    con = connect(warehouse, read_only=True)
    try:
        return entity_status(con, pairs)
    finally:
        con.close()
