"""Data subjects in the raw layer: where their rows are, and keeping erased ones out.

A subject is named by a key and a value (``customer_id=42``). The sources YAML
declares per entity which column holds the key, or through which other entity
the entity's rows belong to a subject (``subjects:``). This module turns that
into SQL predicates over the raw table, its quarantine table (the original
record, parsed per format) and its deleted-keys table.

An erased subject leaves a *tombstone* in ``dataops_meta.erased_subjects``: a
keyed hash (SHA-256 over the secret key, the scope and the value), never the
value. Ingestion applies the tombstones to every later batch, in the batch's
own transaction, so a re-ingest of old landing files cannot bring the subject
back. The secret comes from the environment (``DATAOPS_PRIVACY_KEY``); with
tombstones present and no key, ingestion refuses to load rather than resurrect.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ingestion.config import Entity, SourcesConfig, SubjectColumn
from ingestion.errors import ConfigError
from ingestion.warehouse import quote

if TYPE_CHECKING:
    from ingestion.results import EntityResult

KEY_ENV = "DATAOPS_PRIVACY_KEY"
ERASED = "dataops_meta.erased_subjects"
ERASED_COLUMNS = "subject_hash varchar, scope varchar, request_id varchar, erased_at timestamptz"

# (column SQL, subject column) -> (boolean SQL, parameters)
Matcher = Callable[[str, SubjectColumn], tuple[str, list[object]]]


def privacy_key(*, why: str) -> str:
    """The hashing secret, or one clear error saying what needs it."""
    key = os.environ.get(KEY_ENV, "")
    if not key:
        raise ConfigError(f"{KEY_ENV} is not set: {why}")
    return key


def subject_hash(key: str, scope: str, value: str) -> str:
    """The tombstone of ``scope=value``: what :func:`hash_sql` computes in DuckDB."""
    return hashlib.sha256(f"{key}|{scope}={value}".encode()).hexdigest()


def hash_sql(column_sql: str, scope: str) -> str:
    """SQL of the keyed hash of a column's value (the key is the first parameter)."""
    return f"sha256(? || '|' || {_lit(scope + '=')} || cast({column_sql} as varchar))"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ensure_erased_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists dataops_meta")
    con.execute(f"create table if not exists {ERASED} ({ERASED_COLUMNS})")


def has_tombstones(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'dataops_meta' "
        "and table_name = 'erased_subjects'"
    ).fetchone()
    if not found or not found[0]:
        return False
    row = con.execute(f"select count(*) from {ERASED}").fetchone()
    return bool(row and row[0])


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
        "and database_name = current_database() order by column_index",
        [schema, table],
    ).fetchall()
    return [r[0] for r in rows]


@dataclass(frozen=True)
class RawRelation:
    """One raw-layer table of an entity and how to find a subject's rows in it."""

    entity: Entity
    kind: str  # table | quarantine | deleted
    schema: str
    table: str

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"


def raw_relations(con: duckdb.DuckDBPyConnection, entity: Entity) -> list[RawRelation]:
    """The entity's table, quarantine table and deleted-keys table that exist."""
    out = []
    for kind, table in (
        ("table", entity.name),
        ("quarantine", entity.quarantine),
        ("deleted", entity.tombstones),
    ):
        if table_columns(con, entity.schema, table):
            out.append(RawRelation(entity, kind, entity.schema, table))
    return out


def _csv_positions(
    con: duckdb.DuckDBPyConnection, rel: RawRelation, column: str, root: Path | None
) -> dict[str, int]:
    """Per quarantined CSV file: the 1-based position of ``column`` in its header."""
    if root is None:
        return {}
    files = con.execute(f"select distinct _source_file from {_q(rel)}").fetchall()
    out: dict[str, int] = {}
    for (name,) in files:
        if not name:
            continue
        try:
            with (root / name).open(encoding="utf-8-sig", errors="replace") as fh:
                header = [h.strip().strip('"') for h in fh.readline().rstrip("\r\n").split(",")]
        except OSError:
            continue
        if column in header:
            out[name] = header.index(column) + 1
    return out


def _q(rel: RawRelation) -> str:
    return f"{quote(rel.schema)}.{quote(rel.table)}"


def predicate(
    con: duckdb.DuckDBPyConnection,
    rel: RawRelation,
    match: Matcher,
    *,
    key: str | None = None,
    root: Path | None = None,
) -> tuple[str, list[object]] | None:
    """A boolean SQL over ``rel`` true for the subject's rows (None: it cannot hold any).

    ``key`` limits it to one subject key name; ``root`` (the landing root) lets
    CSV quarantine records be parsed by their file's header.
    """
    present = {c.lower() for c in table_columns(con, rel.schema, rel.table)}
    parts: list[str] = []
    params: list[object] = []
    for sub in rel.entity.subjects:
        if key is not None and sub.key != key:
            continue
        if rel.kind in ("table", "deleted"):
            if sub.column.lower() not in present:
                continue
            sql, p = match(quote(sub.column), sub)
            parts.append(sql)
            params += p
            continue
        # quarantine: the original record, as text
        if rel.entity.format == "csv":
            for file, pos in _csv_positions(con, rel, sub.column, root).items():
                record = "trim(_record, chr(10) || chr(13))"  # DuckDB keeps the line break
                value = f"trim(split_part({record}, ',', {pos}), '\" ')"
                sql, p = match(value, sub)
                parts.append(f"(_source_file = {_lit(file)} and {sql})")
                params += p
        else:
            value = f"json_extract_string(try_cast(_record as json), {_lit('$.' + sub.column)})"
            sql, p = match(value, sub)
            parts.append(sql)
            params += p
    if not parts:
        return None
    return "(" + " or ".join(parts) + ")", params


def links_to(config: SourcesConfig, entity: Entity) -> list[SubjectColumn]:
    """Subject columns of other entities that link through ``entity``."""
    name = f"{entity.source}.{entity.name}"
    return [
        sub for s in config.sources for e in s.entities for sub in e.subjects if sub.via == name
    ]


def tombstone_matcher(key: str) -> Matcher:
    def match(column_sql: str, sub: SubjectColumn) -> tuple[str, list[object]]:
        sql = (
            f"{hash_sql(column_sql, sub.scope)} in "
            f"(select subject_hash from {ERASED} where scope = {_lit(sub.scope)})"
        )
        return sql, [key]

    return match


def apply_tombstones(
    con: duckdb.DuckDBPyConnection,
    config: SourcesConfig | None,
    entity: Entity,
    batch: EntityResult,
    root: Path | None,
) -> int:
    """Drop the rows of erased subjects that this batch brought in; their count.

    Runs inside the batch's transaction. Rows of a directly erased subject that
    other entities link through (an erased customer's new order) first leave
    tombstones for the linked column, so the linked rows stay out too.
    """
    if not entity.subjects or not has_tombstones(con):
        return 0
    key = privacy_key(
        why=f"erased subjects exist and {entity.qualified} must be loaded without them"
    )
    match = tombstone_matcher(key)
    dropped = 0
    for rel in raw_relations(con, entity):
        if rel.kind == "deleted":
            continue
        pred = predicate(con, rel, match, root=root)
        if pred is None:
            continue
        where, params = pred
        # the table's rows carry the batch's stamps (only growing), quarantine rows its text id
        if rel.kind == "table":
            scope, in_batch = f"_loaded_at >= ? and {where}", batch.loaded_at
        else:
            scope, in_batch = f"_batch_id = ? and {where}", batch.batch_id
        if rel.kind == "table" and config is not None:
            for link in {(s.via, s.column) for s in links_to(config, entity)}:
                linked = SubjectColumn(key="", column=link[1], via=link[0])
                con.execute(
                    f"insert into {ERASED} select distinct "
                    f"{hash_sql(quote(link[1]), linked.scope)}, {_lit(linked.scope)}, "
                    f"'ingest', now() from {_q(rel)} where {scope} "
                    f"and {quote(link[1])} is not null",
                    [key, in_batch, *params],
                )
        row = con.execute(
            f"delete from {_q(rel)} where {scope} returning 1", [in_batch, *params]
        ).fetchall()
        if rel.kind == "table":
            dropped += len(row)
    return dropped
