"""Insert the batch's parts into the table (or the merge stage), with the audit column."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb

from ingestion.config import Entity
from ingestion.errors import SourceFileError, UncheckedRecordsError
from ingestion.load import quarantine
from ingestion.load.batch import Batch
from ingestion.load.drift import same
from ingestion.sources.base import Extracted, Part
from ingestion.sql import describe, literal
from ingestion.state import METADATA_COLUMNS
from ingestion.warehouse import quote


def _select_list(
    names: list[str],
    part: Part,
    risky: dict[str, str],
    batch: Batch,
    types: dict[str, str] | None = None,
) -> str:
    """One expression per target column: the stamp, NULL for a vanished column, casts.

    ``types`` (creating the table from this select): every column gets its target
    type explicitly, with its name.
    """
    exprs = []
    for c in names:
        if c == "_loaded_at":
            exprs.append(batch.loaded_at_sql(part))
        elif c not in part.columns:
            exprs.append("null")
        elif c in risky:
            exprs.append(f"try_cast({quote(c)} as {risky[c]})")
        else:
            exprs.append(quote(c))
    if types is None:
        return ", ".join(exprs)
    typed = []
    for c, expr in zip(names, exprs, strict=True):
        keep = c in part.columns and c not in risky and same(part.columns[c], types[c])
        if c in METADATA_COLUMNS or keep:
            typed.append(f"{expr} as {quote(c)}")
        else:
            typed.append(f"cast({expr} as {types[c]}) as {quote(c)}")
    return ", ".join(typed)


@contextlib.contextmanager
def _any_order(con: duckdb.DuckDBPyConnection, on: bool) -> Iterator[None]:
    """Let DuckDB insert the rows in any order (``preserve_insertion_order``) meanwhile.

    After a failed insert the transaction refuses the reset; the setting then
    lasts until the run, which stops at that failure, closes the connection.
    """
    if not on:
        yield
        return
    con.execute("set preserve_insertion_order = false")
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("reset preserve_insertion_order")


def insert_parts(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    extracted: Extracted,
    risky: list[dict[str, str]],
    names: list[str],
    dest: str,
    q: str,
    batch: Batch,
    *,
    root: Path | None,
    since: str | None,
    create: dict[str, str] | None = None,
) -> int:
    """Rows inserted into ``dest``; rows that do not fit go to the quarantine ``q`` instead.

    ``since``: only rows whose cursor is beyond the stored high-water mark (an API may
    send older records again). ``create``: ``dest`` does not exist yet; the first part
    creates it (``create table as``, with these column types), the others insert.
    """
    col_list = ", ".join(quote(c) for c in names)
    counted = 0
    for part, bad in zip(extracted.parts, risky, strict=True):
        where = []
        if since is not None and entity.cursor and entity.cursor in part.columns:
            where.append(f"{quote(entity.cursor)} > {literal(since)}")
        if bad:
            quarantine.uncastable(con, q, batch, part, bad)
            where.append(f"not ({quarantine.fail_condition(bad)})")
        filt = f" where {' and '.join(where)}" if where else ""
        if create is not None:
            write = f"create table {dest} as select {_select_list(names, part, bad, batch, create)}"
            create = None
        else:
            write = (
                f"insert into {dest} ({col_list}) select {_select_list(names, part, bad, batch)}"
            )
        try:
            with _any_order(con, not part.keep_order):
                count = con.execute(f"{write} from ({part.sql}){filt}").fetchone()
        except duckdb.Error as exc:
            files = ", ".join(f.relative for f in part.files) or extracted.label
            message = f"{entity.qualified}: cannot load {files}: {describe(exc)}"
            conversion = (duckdb.InvalidInputException, duckdb.ConversionException)
            if part.recheck and isinstance(exc, conversion):
                raise UncheckedRecordsError(message) from None
            raise SourceFileError(message) from None
        counted += int(count[0]) if count else 0
        quarantine.harvest_rejects(con, part, q, batch, root)
    return counted
