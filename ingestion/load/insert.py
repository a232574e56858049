"""Insert the batch's parts into the table (or the merge stage), with the audit columns."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingestion.config import Entity
from ingestion.errors import SourceFileError
from ingestion.load import quarantine
from ingestion.load.batch import Batch
from ingestion.sources.base import Extracted, Part
from ingestion.sql import describe, literal
from ingestion.warehouse import quote


def _select_list(names: list[str], part: Part, risky: dict[str, str], batch: Batch) -> str:
    """One expression per target column: audit values, NULL for a vanished column, casts."""
    exprs = []
    for c in names:
        if c == "_loaded_at":
            exprs.append(batch.now_sql)
        elif c == "_batch_id":
            exprs.append(batch.id_sql)
        elif c == "_source_file":
            exprs.append("_source_file")
        elif c not in part.columns:
            exprs.append("null")
        elif c in risky:
            exprs.append(f"try_cast({quote(c)} as {risky[c]})")
        else:
            exprs.append(quote(c))
    return ", ".join(exprs)


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
) -> int:
    """Rows inserted into ``dest``; rows that do not fit go to the quarantine ``q`` instead.

    ``since``: only rows whose cursor is beyond the stored high-water mark (an API may
    send older records again).
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
        try:
            count = con.execute(
                f"insert into {dest} ({col_list}) select "
                f"{_select_list(names, part, bad, batch)} from ({part.sql}){filt}"
            ).fetchone()
        except duckdb.Error as exc:
            files = ", ".join(f.relative for f in part.files) or extracted.label
            raise SourceFileError(
                f"{entity.qualified}: cannot load {files}: {describe(exc)}"
            ) from None
        counted += int(count[0]) if count else 0
        quarantine.harvest_rejects(con, part, q, batch, root)
    return counted


def cursor_max(con: duckdb.DuckDBPyConnection, entity: Entity, rows: str) -> str | None:
    """The batch's largest cursor value (as text); ``rows`` selects the batch's rows."""
    assert entity.cursor
    row = con.execute(f"select max({quote(entity.cursor)})::varchar from {rows}").fetchone()
    return row[0] if row else None
