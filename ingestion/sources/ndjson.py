"""NDJSON specifics of the files source: bad records to quarantine, every key found.

A malformed record is quarantined with its line number instead of failing the
entity, and a key first appearing after DuckDB's sample still becomes a column.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import duckdb

from ingestion.config import Entity
from ingestion.errors import SourceFileError
from ingestion.sources.base import LandingFile
from ingestion.sql import path_list


def quarantine(
    con: duckdb.DuckDBPyConnection, entity: Entity, files: list[LandingFile]
) -> tuple[dict[str, Path], list[tuple[str, str, str | None]], Path | None, list[tuple] | None]:
    """Quarantine malformed NDJSON records instead of failing the entity.

    The common case costs one cheap DuckDB pass over all files (which also
    finds every key, see :func:`_schema`); only a file with a bad
    record is parsed line by line here: each bad line becomes a
    quarantine row (reason with its line number, the line as the record), the
    good ones go to a cleaned copy that is loaded in the file's name.
    """
    if not files:
        return {}, [], None, None
    for f in files:
        if not _has_content(f.path):
            # DuckDB reads an empty file as one column named "json": it would reach the
            # drift rules as a new column. A file with no record is an error, as an
            # empty CSV is, and it is not recorded as loaded.
            raise SourceFileError(f"{entity.qualified}: {f.relative} is empty (no record)")
    plist = path_list(f.path for f in files)
    try:
        # One cheap pass over every record: malformed JSON raises, non-objects are
        # counted, and the distinct key sets give keys DuckDB's sample would miss.
        key_sets = con.execute(
            f"select any_value(json_keys(json)), count(*) filter (where json_type(json) "
            f"<> 'OBJECT') from read_json_objects({plist}, format = 'newline_delimited') "
            "group by hash(json_keys(json))"
        ).fetchall()
        if not any(bad_count for _, bad_count in key_sets):
            return {}, [], None, _schema(con, plist, key_sets)
    except duckdb.Error:
        pass  # some file has a bad record: find it below
    spool = Path(tempfile.mkdtemp(prefix=f"dataops-{entity.source}-{entity.name}-clean-"))
    spooled: dict[str, Path] = {}
    bad: list[tuple[str, str, str | None]] = []
    for index, f in enumerate(files):
        try:
            row = con.execute(
                f"select count(*) filter (where json_type(json) <> 'OBJECT') from "
                f"read_json_objects({path_list([f.path])}, format = 'newline_delimited')"
            ).fetchone()
            if row is not None and not row[0]:
                continue  # this file is clean
        except duckdb.Error:
            pass
        clean = spool / f"{index:06d}.ndjson"
        with f.path.open("rb") as src, clean.open("wb") as dst:
            for number, raw in enumerate(src, start=1):
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw)
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    reason = f"line {number}: malformed JSON ({getattr(exc, 'msg', 'not UTF-8')})"
                else:
                    if isinstance(record, dict):
                        dst.write(raw.rstrip(b"\r\n") + b"\n")
                        continue
                    reason = f"line {number}: a record must be a JSON object"
                bad.append((reason, raw.decode("utf-8", "replace").rstrip("\r\n"), f.relative))
        spooled[f.relative] = clean
    return spooled, bad, spool, None


def _has_content(path: Path) -> bool:
    """Whether the file holds anything but whitespace (reads only up to its first byte
    of content)."""
    with path.open("rb") as handle:
        while chunk := handle.read(65536):
            if chunk.strip():
                return True
    return False


_JSON_TYPES = {
    "BIGINT": "BIGINT",
    "UBIGINT": "BIGINT",
    "DOUBLE": "DOUBLE",
    "VARCHAR": "VARCHAR",
    "BOOLEAN": "BOOLEAN",
    "OBJECT": "JSON",
    "ARRAY": "JSON",
}


def _schema(con: duckdb.DuckDBPyConnection, plist: str, key_sets: list[tuple]) -> list[tuple]:
    """(name, type) of every key: DuckDB's sampled detection, plus the keys it missed.

    A key first appearing after the sample (20,480 records per file) gets its type
    from the JSON types of its values (mixed numbers: DOUBLE, anything else mixed:
    VARCHAR), so it goes through the drift rules instead of being dropped.
    """
    rows = [
        (r[0], r[1])
        for r in con.execute(
            f"describe select * from read_json({plist}, format = 'newline_delimited', "
            "union_by_name = true)"
        ).fetchall()
    ]
    seen = {name for name, _ in rows}
    late = sorted({k for keys, _ in key_sets for k in (keys or [])} - seen)
    for key in late:
        types = {
            t
            for (t,) in con.execute(
                f"select distinct json_type(json -> ?) from read_json_objects({plist}, "
                "format = 'newline_delimited') where json_exists(json, ?)",
                ["$." + json.dumps(key), "$." + json.dumps(key)],
            ).fetchall()
            if t not in (None, "NULL")
        }
        mapped = {_JSON_TYPES.get(t, "VARCHAR") for t in types}
        if mapped <= {"BIGINT", "DOUBLE"} and len(mapped) == 2:
            mapped = {"DOUBLE"}
        rows.append((key, mapped.pop() if len(mapped) == 1 else "VARCHAR"))
    return rows


def new_keys(
    con: duckdb.DuckDBPyConnection, entity: Entity, plist: str, rows: list[tuple] | None = None
) -> dict[str, str]:
    """Keys of the records that the config does not declare, with detected types.

    The declared columns keep their pinned types; an undeclared key becomes a
    column too (schema drift: added as nullable, or a failure when frozen)
    instead of being dropped silently. ``rows`` comes from
    :func:`_schema` (every record's keys); without it (cleaned files)
    DuckDB describes every record (``sample_size = -1``).
    """
    if rows is None:
        try:
            rows = con.execute(
                f"describe select * from read_json({plist}, format = 'newline_delimited', "
                "union_by_name = true, sample_size = -1)"
            ).fetchall()
        except duckdb.Error:
            return {}  # e.g. only empty files; the typed read reports real errors
    declared = {c.lower() for c in entity.columns}
    return {r[0]: r[1] for r in rows if r[0].lower() not in declared}
