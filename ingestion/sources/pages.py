"""JSON-pages specifics of the files source: bad pages and records to quarantine.

A page that is not JSON is quarantined whole (DuckDB's parser message, the
page's text); a record of a page that is not an object or holds a value that
does not convert to its column's pinned type is quarantined with its position
(``$.<record_path>[i]``) and DuckDB's reason; the rest of the page loads. A
page without an array at ``record_path`` stays an error (the config or the
page is wrong, nothing is loaded).

Clean pages cost what they did: the pass that checks ``record_path`` finds
malformed pages (it fails; only then is each page read alone), and a value that
does not convert fails the typed read itself, which the pipeline then repeats
once with ``check_types``: one SQL pass over every record of the pages
(:mod:`ingestion.sources.records`). A page with a bad record is loaded from a
cleaned copy holding its good records.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import duckdb

from ingestion.config import Entity
from ingestion.errors import SourceFileError
from ingestion.sources import records
from ingestion.sources.base import Bad, LandingFile, has_content
from ingestion.sql import literal, path_list
from ingestion.warehouse import quote

MAX_RECORD_CHARS = 100_000  # a malformed page's text kept in quarantine (as for REST pages)


def check(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    files: list[LandingFile],
    *,
    check_types: bool = False,
) -> tuple[dict[str, Path | None], list[Bad], Path | None]:
    """Set aside the pages' bad records; return (cleaned copies, bad records, spool).

    ``cleaned copies``: relative path -> a copy of the page with its good records
    (None: nothing to load from it). ``check_types``: also find records with
    values that do not convert (after the typed read failed on them).
    """
    assert entity.record_path is not None
    if not files:
        return {}, [], None
    for f in files:
        if not has_content(f.path):
            # DuckDB reads it as no page at all: it would load nothing, recorded as loaded
            raise SourceFileError(f"{entity.qualified}: {f.relative} is empty (no page)")
    spooled: dict[str, Path | None] = {}
    bad: list[Bad] = []
    readable = files
    if not _check_record_path(con, entity, files):
        # some page is not JSON: find which, each read alone
        readable = []
        for f in files:
            problem = _unreadable(con, entity, f)
            if problem is None:
                readable.append(f)
                continue
            text = f.path.read_bytes()[: MAX_RECORD_CHARS * 4].decode("utf-8", "replace")
            bad.append(Bad(problem, text[:MAX_RECORD_CHARS], f.relative))
            spooled[f.relative] = None
        _check_record_path(con, entity, readable, strict=True)
    spool: Path | None = None
    if check_types and readable:
        rejected = _bad_records(con, entity, readable)
        if rejected:
            spool = Path(tempfile.mkdtemp(prefix=f"dataops-{entity.source}-{entity.name}-pages-"))
            for index, f in enumerate(f for f in readable if f.relative in rejected):
                found = rejected[f.relative]
                bad += [b for _, b in found]
                spooled[f.relative] = _clean_copy(
                    con, entity, f, {at for at, _ in found}, spool, index
                )
    return spooled, bad, spool


def _check_record_path(
    con: duckdb.DuckDBPyConnection, entity: Entity, files: list[LandingFile], strict: bool = False
) -> bool:
    """A page without an array at ``record_path`` would load no record: an error, not 0 rows.

    False when some page cannot be read (``strict``: then the DuckDB error is raised).
    """
    assert entity.record_path is not None
    if not files:
        return True
    rp = entity.record_path
    try:
        row = con.execute(
            f"select filename from read_json({path_list(f.path for f in files)}, "
            f"format = 'auto', filename = true, columns = {{{literal(rp)}: 'JSON'}}) "
            f"where json_type({quote(rp)}) is distinct from 'ARRAY' limit 1"
        ).fetchone()
    except duckdb.Error:
        if strict:
            raise
        return False
    if row is not None:
        raise SourceFileError(
            f"{entity.qualified}: {Path(row[0]).name} has no record array at "
            f"record_path {rp!r}; fix record_path or the page (nothing was loaded)"
        )
    return True


def _unreadable(con: duckdb.DuckDBPyConnection, entity: Entity, f: LandingFile) -> str | None:
    """DuckDB's message when the page alone cannot be read (not JSON), else None."""
    assert entity.record_path is not None
    try:
        con.execute(
            f"select count(*) from read_json({path_list([f.path])}, format = 'auto', "
            f"columns = {{{literal(entity.record_path)}: 'JSON'}})"
        ).fetchall()
    except duckdb.Error as exc:
        return records.message(exc).replace(str(f.path), f.relative)
    return None


def _records_sql(entity: Entity, files: list[LandingFile]) -> str:
    """Every record of the pages: the page's position in ``files``, its own in the array."""
    assert entity.record_path is not None
    rp = entity.record_path
    return (
        f"(select file_index as __page, generate_subscripts({quote(rp)}, 1) - 1 as __at, "
        f"unnest({quote(rp)}) as __record from read_json({path_list(f.path for f in files)}, "
        f"format = 'auto', columns = {{{literal(rp)}: 'JSON[]'}}))"
    )


def _bad_records(
    con: duckdb.DuckDBPyConnection, entity: Entity, files: list[LandingFile]
) -> dict[str, list[tuple[int, Bad]]]:
    """Per page (relative path), the records the typed read rejects with their positions."""
    assert entity.record_path is not None
    sql = records.problems_sql(
        entity, _records_sql(entity, files), "__record", "__page, __at, __record"
    )
    reasons = records.Reasons(con)
    out: dict[str, list[tuple[int, Bad]]] = {}
    for page, at, record, kind, keys, failed, vals in con.execute(sql).fetchall():
        f = files[page]
        why = records.reasons(entity, reasons, kind, keys, failed, vals, record)
        where = f"$.{entity.record_path}[{at}]"
        out.setdefault(f.relative, []).append((at, Bad(f"{where}: {why}", record, f.relative)))
    for found in out.values():
        found.sort(key=lambda item: item[0])
    return out


def _clean_copy(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    f: LandingFile,
    rejected: set[int],
    spool: Path,
    index: int,
) -> Path:
    """A copy of the page holding only its good records (the reader's text of each)."""
    assert entity.record_path is not None
    rows = con.execute(
        f"select __at, __record from {_records_sql(entity, [f])} order by __at"
    ).fetchall()
    good = [record for at, record in rows if at not in rejected]
    clean = spool / f"{index:06d}.json"
    clean.write_text(
        "{" + json.dumps(entity.record_path) + ": [" + ", ".join(good) + "]}\n", encoding="utf-8"
    )
    return clean
