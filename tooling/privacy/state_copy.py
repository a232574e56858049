"""A PII-free copy of the production warehouse, for the state slim CI downloads.

The pull-request workflow runs a branch's own code against the production
state, so whoever can open a branch can read what the state holds. The copy
written here holds no PII value and no quarantined record:

- every column that is PII (``pii`` tag or ``meta: {pii: true}`` on a source or
  model column, or a column that carries one unmasked through column lineage)
  is replaced by a keyed, deterministic hash of its value (the key from
  ``DATAOPS_PRIVACY_KEY``): equal values stay equal, so joins, keys and data
  diffs still work; NULL stays NULL. Text columns get the hex digest, integer
  columns a number taken from it, anything else NULL;
- quarantine tables (``raw_*._quarantine_*``) are left out;
- views are recreated from their definitions, so they read the hashed tables.

The copy is written table by table into a new file (never an in-place UPDATE,
which would leave the old values in free blocks of the file). Never prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ingestion.erasure import KEY_ENV, privacy_key
from ingestion.warehouse import quote
from tooling.errors import DataOpsError

TEXT_TYPES = re.compile(r"^(VARCHAR|TEXT|STRING|JSON|UUID|CHAR)", re.IGNORECASE)
INT_TYPES = {
    "TINYINT": 127,
    "SMALLINT": 32_767,
    "INTEGER": 2_147_483_647,
    "BIGINT": 9_223_372_036_854_775_807,
    "HUGEINT": 9_223_372_036_854_775_807,
    "UTINYINT": 255,
    "USMALLINT": 65_535,
    "UINTEGER": 4_294_967_295,
    "UBIGINT": 9_223_372_036_854_775_807,
}


@dataclass
class CopyReport:
    tables: int = 0
    views: int = 0
    hashed: dict[str, list[str]] = field(default_factory=dict)  # relation -> columns
    left_out: list[str] = field(default_factory=list)


def pii_relations(manifest: dict[str, Any], catalog: dict[str, Any] | None) -> dict[str, set[str]]:
    """``schema.table`` (lower case) -> PII columns, for sources and built nodes."""
    from tooling.lineage.pii import pii_columns

    cols = pii_columns(manifest, catalog)
    out: dict[str, set[str]] = {}
    for group in ("sources", "nodes"):
        for uid, entry in (manifest.get(group) or {}).items():
            if uid not in cols:
                continue
            ident = entry.get("alias") or entry.get("identifier") or entry.get("name")
            out.setdefault(f"{entry.get('schema')}.{ident}".lower(), set()).update(cols[uid])
    return out


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _hashed(column: str, dtype: str, key: str) -> str:
    col = quote(column)
    digest = f"sha256({_lit(key + '|')} || cast({col} as varchar))"
    base = dtype.upper().split("(")[0].strip()
    if TEXT_TYPES.match(base):
        value = digest if base != "JSON" else f"to_json({digest})"
    elif base in INT_TYPES:
        value = f"cast(('0x' || substr({digest}, 1, 15))::bigint % {INT_TYPES[base]} as {base})"
    else:
        value = f"cast(null as {dtype})"
    return f"case when {col} is null then null else {value} end as {col}"


def pii_free_copy(
    source: Path,
    dest: Path,
    manifest: dict[str, Any],
    catalog: dict[str, Any] | None,
) -> CopyReport:
    """Write the PII-free copy of ``source`` to ``dest`` (see the module docstring)."""
    pii = pii_relations(manifest, catalog)
    key = privacy_key(why="state publish hashes the PII columns of the copy with it") if pii else ""
    tmp = dest.with_name(f".{dest.name}.partial")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    try:
        # The production file is the connection's own catalog (so a dbt-duckdb
        # instance left open in this process is shared, not attached twice), and
        # the copy is attached to it. The write lock keeps other writers out.
        con = duckdb.connect(str(source))
        con.execute("checkpoint")
    except duckdb.Error as exc:
        raise DataOpsError(
            f"cannot open the warehouse {source} to publish it: {str(exc).splitlines()[0]}"
        ) from None
    report = CopyReport()
    here = "__pii_free_copy"
    try:
        row = con.execute("select current_database()").fetchone()
        prod_catalog = str(row[0]) if row else source.stem
        con.execute(f"attach {_lit(str(tmp))} as {quote(here)}")
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = ? "
            "order by all",
            [prod_catalog],
        ).fetchall()
        for schema, table in tables:
            name = f"{schema}.{table}"
            if table.startswith("_quarantine_"):
                report.left_out.append(name)
                continue
            cols = con.execute(
                "select column_name, data_type from duckdb_columns() where database_name = ? "
                "and schema_name = ? and table_name = ? order by column_index",
                [prod_catalog, schema, table],
            ).fetchall()
            wanted = pii.get(name.lower(), set())
            exprs = [_hashed(c, t, key) if c.lower() in wanted else quote(c) for c, t in cols]
            hashed = [c for c, _ in cols if c.lower() in wanted]
            if hashed:
                report.hashed[name] = hashed
            con.execute(f"create schema if not exists {quote(here)}.{quote(schema)}")
            con.execute(
                f"create table {quote(here)}.{quote(schema)}.{quote(table)} as select "
                f"{', '.join(exprs)} from {quote(prod_catalog)}.{quote(schema)}.{quote(table)}"
            )
            report.tables += 1
        report.views = _copy_views(con, prod_catalog, here)
        con.execute(f"use {quote(prod_catalog)}")
        con.execute(f"detach {quote(here)}")
    except duckdb.Error as exc:
        raise DataOpsError(
            f"cannot write the PII-free state copy: {str(exc).splitlines()[0]}"
        ) from None
    finally:
        con.close()
    tmp.replace(dest)
    return report


def _copy_views(con: duckdb.DuckDBPyConnection, prod: str, here: str) -> int:
    """Recreate the views (their SQL names the production catalog: resolved on attach)."""
    views = con.execute(
        "select schema_name, view_name, sql from duckdb_views() where database_name = ? "
        "and not internal order by all",
        [prod],
    ).fetchall()
    con.execute(f"use {quote(here)}")
    pending = list(views)
    made = 0
    while pending:
        failed = []
        for schema, view, sql in pending:
            con.execute(f"create schema if not exists {quote(schema)}")
            try:
                con.execute(sql)
                made += 1
            except duckdb.Error:
                failed.append((schema, view, sql))
        if len(failed) == len(pending):  # no progress: a view that cannot bind
            names = ", ".join(f"{s}.{v}" for s, v, _ in failed[:3])
            raise DataOpsError(f"cannot recreate views in the state copy: {names}")
        pending = failed
    return made


__all__ = ["KEY_ENV", "CopyReport", "pii_free_copy", "pii_relations"]
