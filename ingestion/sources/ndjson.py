"""NDJSON specifics of the files source: bad records to quarantine, every key found.

A record that is not JSON, not an object, or holds a value that does not
convert to its column's pinned type is quarantined with its file and line
number and DuckDB's reason, instead of failing the entity; and a key first
appearing after DuckDB's sample still becomes a column.

Clean files cost nothing extra: the one pass over all records that finds every
key (see :func:`_schema`) also finds malformed and non-object records, and a
value that does not convert fails the typed read itself, which the pipeline
then repeats once with ``check_types`` (every file probed, the bad ones read
line by line). Only a file with a bad record is read line by line, in chunks
checked by DuckDB in SQL (:mod:`ingestion.sources.records`): its good lines go
to a cleaned copy that is loaded in the file's name.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb

from ingestion.config import Entity
from ingestion.errors import SourceFileError
from ingestion.sources import records
from ingestion.sources.base import Bad, LandingFile, has_content
from ingestion.sql import path_list, struct
from ingestion.warehouse import quote

CHUNK_LINES = 100_000  # lines per SQL check of a file with a bad record
_BOM = b"\xef\xbb\xbf"


def quarantine(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    files: list[LandingFile],
    *,
    check_types: bool = False,
) -> tuple[dict[str, Path | None], list[Bad], Path | None, list[tuple] | None]:
    """Set aside the files' bad records; return (cleaned copies, bad records, spool, schema).

    ``cleaned copies``: relative path -> the copy holding the file's good lines
    (None: it has none). ``schema``: every key's (name, type) when no file
    needed cleaning and types are not being checked (else the parts describe
    their files over every record). ``check_types``: also find values that do
    not convert (after the typed read failed on them).
    """
    if not files:
        return {}, [], None, None
    for f in files:
        if not has_content(f.path):
            # DuckDB reads an empty file as one column named "json": it would reach the
            # drift rules as a new column. A file with no record is an error, as an
            # empty CSV is, and it is not recorded as loaded.
            raise SourceFileError(f"{entity.qualified}: {f.relative} is empty (no record)")
    if check_types and entity.columns:
        # the typed read failed: each file alone through it (it also fails on
        # malformed and non-object records), then the failing ones line by line
        suspects = [f for f in files if _rejected(con, entity, f)]
    else:
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
        suspects = [f for f in files if _not_objects(con, f)]
    if not suspects:
        return {}, [], None, None
    spool = Path(tempfile.mkdtemp(prefix=f"dataops-{entity.source}-{entity.name}-clean-"))
    spooled: dict[str, Path | None] = {}
    bad: list[Bad] = []
    reasons = records.Reasons(con)
    try:
        for index, f in enumerate(suspects):
            clean = spool / f"{index:06d}.ndjson"
            found, good = _clean(con, entity, f, clean, reasons)
            bad += found
            spooled[f.relative] = clean if good else None
    except BaseException:
        shutil.rmtree(spool, ignore_errors=True)
        raise
    return spooled, bad, spool, None


def _not_objects(con: duckdb.DuckDBPyConnection, f: LandingFile) -> bool:
    """Whether the file holds a record that is not JSON or not an object."""
    try:
        row = con.execute(
            f"select count(*) filter (where json_type(json) <> 'OBJECT') from "
            f"read_json_objects({path_list([f.path])}, format = 'newline_delimited')"
        ).fetchone()
    except duckdb.Error:
        return True
    return row is None or bool(row[0])


def _rejected(con: duckdb.DuckDBPyConnection, entity: Entity, f: LandingFile) -> bool:
    """Whether the load's typed read of this file alone fails (every column converted)."""
    columns = ", ".join(quote(c) for c in entity.columns)
    try:
        con.execute(
            f"select bit_xor(hash({columns})) from read_json({path_list([f.path])}, "
            f"format = 'newline_delimited', columns = {struct(entity.columns)})"
        ).fetchall()
    except duckdb.Error:
        return True
    return False


def _lines(path: Path) -> Iterator[tuple[list[int], list[bytes]]]:
    """The file's non-blank lines and their 1-based numbers, in chunks (a BOM is dropped)."""
    numbers: list[int] = []
    raws: list[bytes] = []
    with path.open("rb") as src:
        for number, raw in enumerate(src, start=1):
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            if raw.isspace() or not raw:
                continue  # DuckDB's reader skips blank lines too
            numbers.append(number)
            raws.append(raw)
            if len(raws) >= CHUNK_LINES:
                yield numbers, raws
                numbers, raws = [], []
    if raws:
        yield numbers, raws


def _clean(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    f: LandingFile,
    clean: Path,
    reasons: records.Reasons,
) -> tuple[list[Bad], int]:
    """Check the file's lines in chunks; bad ones are returned, good ones written to ``clean``."""
    import pyarrow as pa  # only here: importing it costs every process a third of a second

    bad: list[Bad] = []
    good = 0
    with clean.open("wb") as dst:
        for numbers, raws in _lines(f.path):
            try:  # the chunk at once; line by line only when some line is not UTF-8
                lines = pa.array(raws, pa.binary()).cast(pa.string())
                checked = numbers
            except pa.ArrowInvalid:
                checked, texts = [], []
                for number, raw in zip(numbers, raws, strict=True):
                    try:
                        texts.append(raw.decode("utf-8"))
                    except UnicodeDecodeError as exc:
                        text = raw.decode("utf-8", "replace").rstrip("\r\n")
                        where = f"byte 0x{raw[exc.start]:02x} at column {exc.start + 1}"
                        bad.append(Bad(f"not UTF-8 ({where})", text, f.relative, number))
                    else:
                        checked.append(number)
                lines = pa.array(texts, pa.string())
            con.register(
                "__ndjson_lines", pa.table({"n": pa.array(checked, pa.int64()), "line": lines})
            )
            try:
                rows = con.execute(
                    records.problems_sql(entity, "__ndjson_lines", "line", "n, line")
                ).fetchall()
            finally:
                con.unregister("__ndjson_lines")
            rejected = set(numbers) - set(checked)  # not UTF-8
            for number, line, kind, keys, failed, vals in rows:
                text = line.rstrip("\r\n")
                reason = records.reasons(entity, reasons, kind, keys, failed, vals, text)
                bad.append(Bad(reason, text, f.relative, number))
                rejected.add(number)
            kept = [
                raw for number, raw in zip(numbers, raws, strict=True) if number not in rejected
            ]
            if kept and not kept[-1].endswith(b"\n"):
                kept[-1] += b"\n"
            dst.write(b"".join(kept))
            good += len(kept)
    bad.sort(key=lambda b: b.line or 0)
    return bad, good


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
