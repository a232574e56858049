"""The files source: landing files matched by a glob, read by DuckDB's native readers.

All new files of one header (CSV) or schema (Parquet) are read in ONE reader
call with the pinned column types; no Python row loops. Globs never leave the
landing root; a missing, unreadable or header-less file is an error naming it.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import shutil
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

import duckdb

from ingestion.config import IDENTIFIER, Entity
from ingestion.errors import SourceFileError
from ingestion.sources import ndjson, pages
from ingestion.sources.base import Extracted, LandingFile, Part
from ingestion.sql import describe, literal, path_list, struct
from ingestion.warehouse import quote


def extract(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    files: list[LandingFile],
    landing_root: Path,
    *,
    check_types: bool = False,
) -> Extracted:
    """The new files as reader calls; bad NDJSON records and pages are set aside as bad rows.

    ``check_types``: the typed read failed; find the records whose values do not
    convert too (NDJSON and JSON pages), and quarantine them.
    """
    if entity.format == "ndjson":
        spooled, bad, cleanup, schema = ndjson.quarantine(
            con, entity, files, check_types=check_types
        )
    elif entity.format == "json_pages":
        spooled, bad, cleanup = pages.check(con, entity, files, check_types=check_types)
        schema = None
    else:
        return Extracted(file_parts(con, entity, files, landing_root), [], entity.location)
    try:
        parts = file_parts(
            con,
            entity,
            files,
            landing_root,
            spooled=spooled,
            ndjson_schema=schema,
            recheck=not check_types,
        )
    except BaseException:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)
        raise
    return Extracted(parts, bad, entity.location, cleanup)


def _unreadable(entity: Entity, relative: str, exc: OSError) -> SourceFileError:
    if isinstance(exc, FileNotFoundError):
        return SourceFileError(f"{entity.qualified}: {relative} is missing")
    return SourceFileError(f"{entity.qualified}: cannot read {relative}: {exc.strerror}")


def _sha256(entity: Entity, path: Path, relative: str) -> str:
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise _unreadable(entity, relative, exc) from None


def find_files(
    entity: Entity, landing_root: Path, hasher: Executor | None = None
) -> list[LandingFile]:
    """Files the entity's glob matches, sorted, each proven to lie under the root and readable.

    Each file's sha256 is computed once when first asked for, or, with a
    ``hasher``, started there right away: hashlib and DuckDB both release the
    GIL, so a new file (whose digest is only recorded after its load) is hashed
    while it loads instead of before.
    """
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
            real.open("rb").close()  # missing or unreadable: fail before the warehouse is opened
        except OSError as exc:
            raise _unreadable(entity, relative, exc) from None
        digest: Callable[[], str]
        if hasher is not None:
            digest = hasher.submit(_sha256, entity, real, relative).result
        else:
            digest = functools.cache(functools.partial(_sha256, entity, real, relative))
        files.append(LandingFile(real, relative, digest))
    return files


def _csv_header(entity: Entity, file: LandingFile) -> tuple[str, ...]:
    # Only the header line is decoded here: a bad byte in a data row is the CSV
    # reader's to quarantine, wherever in the file it is. A UTF-8 BOM is accepted.
    try:
        with file.path.open("rb") as handle:
            first = handle.readline().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceFileError(
            f"{entity.qualified}: {file.relative}: the header line is not UTF-8 "
            f"(byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    header = tuple(h.strip() for h in next(csv.reader(io.StringIO(first)), []))
    if not header:
        raise SourceFileError(f"{entity.qualified}: {file.relative} has no header line")
    bad = [h for h in header if not IDENTIFIER.match(h)]
    if bad or len(set(header)) != len(header):
        shown = ", ".join(ascii(h) for h in bad) if bad else "a repeated name"
        raise SourceFileError(
            f"{entity.qualified}: {file.relative} has header {','.join(header)}; column names "
            f"must be unique identifiers (culprit: {shown})"
        )
    return header


def _file_index_expr(files: list[LandingFile]) -> str:
    # One file: a literal, so the reader need not add a per-row column; several:
    # DuckDB's virtual ``file_index`` (an integer, not the per-row file name string).
    return "0" if len(files) == 1 else "file_index"


def file_parts(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    files: list[LandingFile],
    root: Path,
    *,
    spooled: dict[str, Path | None] | None = None,
    ndjson_schema: list[tuple] | None = None,
    recheck: bool = False,
) -> list[Part]:
    """Group files by header (CSV) or schema (Parquet); one reader call per group.

    ``spooled``: NDJSON files and JSON pages whose bad records went to
    quarantine, read from their cleaned copy (one group each, so the row's file
    is the original; None: no good record, a part without rows, so the file is
    still recorded as loaded). ``recheck``: set on the NDJSON and JSON-pages
    parts whose records were not checked one by one (:attr:`Part.recheck`).
    """
    root = root.resolve()
    spooled = spooled or {}
    paths = {f.relative: spooled.get(f.relative) or root / f.relative for f in files}
    groups: dict[tuple, list[LandingFile]] = {}
    if entity.format == "csv":
        for f in files:
            groups.setdefault(_csv_header(entity, f), []).append(f)
    elif entity.format == "parquet":
        for f in files:
            try:
                schema = con.execute(
                    f"describe select * from read_parquet({literal(str(paths[f.relative]))})"
                ).fetchall()
            except duckdb.Error as exc:
                raise SourceFileError(
                    f"{entity.qualified}: cannot read {f.relative}: {describe(exc)}"
                ) from None
            groups.setdefault(tuple((r[0], r[1]) for r in schema), []).append(f)
    else:
        groups[()] = [f for f in files if f.relative not in spooled]
        for f in files:
            if f.relative in spooled:
                groups[("cleaned", f.relative)] = [f]
        groups = {k: v for k, v in groups.items() if v}
    parts: list[Part] = []
    for index, (signature, group) in enumerate(groups.items()):
        file_index = _file_index_expr(group)
        if signature and signature[0] == "cleaned" and spooled[signature[1]] is None:
            parts.append(_no_rows(entity, group))
            continue
        plist = path_list(paths[f.relative] for f in group)
        if entity.format == "csv":
            columns = {c: entity.columns.get(c, "VARCHAR") for c in signature}
            common = (
                f"header = true, auto_detect = false, delim = ',', quote = '\"', "
                f"escape = '\"', columns = {struct(columns)}"
            )
            rejects = f"__rejects_{index}"
            sel = ", ".join(quote(c) for c in columns)
            parts.append(
                Part(
                    sql=f"select {sel}, {file_index} as _file_index from read_csv({plist}, "
                    f"{common}, store_rejects = true, rejects_table = '{rejects}', "
                    f"rejects_scan = '{rejects}_scan')",
                    lax_sql=f"select {sel}, {file_index} as _file_index from read_csv({plist}, "
                    f"{common}, ignore_errors = true)",
                    columns=columns,
                    rejects=rejects,
                    files=group,
                    # DuckDB's parallel CSV reader, keeping the file's order, leaves
                    # partly filled row groups (62 instead of 41 for the 5 M-row
                    # benchmark file) that the checkpoint rewrites: in any order that
                    # file loads in 2.9-3.1 s instead of 4.4 s (1.3 s of it that
                    # checkpoint) and 5.4-5.9 s of CPU instead of 8.3-8.4 s. Row order
                    # in a raw table means nothing (staging orders by _loaded_at and
                    # keys); Parquet and NDJSON gain nothing from it.
                    keep_order=False,
                )
            )
        elif entity.format == "ndjson":
            known = ndjson_schema if not spooled else None  # all files, already described
            columns = {**entity.columns, **ndjson.new_keys(con, entity, plist, known)}
            sel = ", ".join(quote(c) for c in columns)
            parts.append(
                Part(
                    sql=f"select {sel}, {file_index} as _file_index from read_json({plist}, "
                    f"format = 'newline_delimited', columns = {struct(columns)})",
                    columns=columns,
                    files=group,
                    recheck=recheck and not signature,
                )
            )
        elif entity.format == "json_pages":
            assert entity.record_path is not None
            record_type = (
                "STRUCT(" + ", ".join(f"{quote(c)} {t}" for c, t in entity.columns.items()) + ")[]"
            )
            sel = ", ".join(f"__record.{quote(c)} as {quote(c)}" for c in entity.columns)
            parts.append(
                Part(
                    sql=f"select {sel}, _file_index from (select unnest("
                    f"{quote(entity.record_path)}) as __record, {file_index} as _file_index "
                    f"from read_json({plist}, format = 'auto', columns = "
                    f"{{{literal(entity.record_path)}: {literal(record_type)}}}))",
                    columns=dict(entity.columns),
                    files=group,
                    recheck=recheck,
                )
            )
        else:  # parquet: the file's own types
            columns = dict(signature)
            sel = ", ".join(quote(c) for c in columns)
            parts.append(
                Part(
                    sql=f"select {sel}, {file_index} as _file_index from read_parquet({plist})",
                    columns=columns,
                    files=group,
                    stats_files=[paths[f.relative] for f in group],
                )
            )
    return parts


def _no_rows(entity: Entity, group: list[LandingFile]) -> Part:
    """A part reading nothing: a file whose every record went to quarantine."""
    sel = ", ".join(f"null::{t} as {quote(c)}" for c, t in entity.columns.items())
    return Part(
        sql=f"select {sel}{', ' if sel else ''}0 as _file_index where false",
        columns=dict(entity.columns),
        files=group,
        empty=True,
    )
