"""Schema drift: compare an incoming batch's columns with the table's.

Rules: a new column is added as a nullable column; a vanished column
is kept and filled with NULL; a widening type change widens the table's column;
any other type change is *incompatible*: rows whose value cannot be cast to the
table's type go to quarantine. ``schema: frozen`` turns every drift into an
error instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from ingestion.config import Entity
from ingestion.errors import SchemaDriftError, SourceFileError
from ingestion.sources.base import Part
from ingestion.state import DRIFT, METADATA_COLUMNS, RESERVED_COLUMNS
from ingestion.warehouse import quote

INTEGERS = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"]
# Digits each integer type needs, to decide whether a DECIMAL holds it.
INTEGER_DIGITS = {"TINYINT": 3, "SMALLINT": 5, "INTEGER": 10, "BIGINT": 19, "HUGEINT": 39}
ALIASES = {
    "INT": "INTEGER",
    "INT4": "INTEGER",
    "INT8": "BIGINT",
    "INT2": "SMALLINT",
    "INT1": "TINYINT",
    "LONG": "BIGINT",
    "SHORT": "SMALLINT",
    "BOOL": "BOOLEAN",
    "TEXT": "VARCHAR",
    "STRING": "VARCHAR",
    "FLOAT4": "FLOAT",
    "REAL": "FLOAT",
    "FLOAT8": "DOUBLE",
    "NUMERIC": "DECIMAL",
    "TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE",
}
_DECIMAL = re.compile(r"^(?:DECIMAL|NUMERIC)\((\d+),\s*(\d+)\)$")


@dataclass(frozen=True)
class DriftEvent:
    column: str
    kind: str  # added | removed | restored | widened | incompatible
    old_type: str | None = None
    new_type: str | None = None

    def describe(self) -> str:
        if self.kind == "added":
            return f"new column {self.column} ({self.new_type}) added as nullable"
        if self.kind == "removed":
            return f"column {self.column} is missing from the source; kept and filled with NULL"
        if self.kind == "restored":
            return f"column {self.column} ({self.new_type}) is back in the source"
        if self.kind == "widened":
            return f"column {self.column} widened from {self.old_type} to {self.new_type}"
        return (
            f"column {self.column} changed from {self.old_type} to {self.new_type} "
            "(not a widening); rows that do not fit go to quarantine"
        )


def normalize(type_name: str) -> str:
    t = re.sub(r"\s+", " ", type_name.strip().upper())
    t = re.sub(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)", r"(\1,\2)", t)
    return ALIASES.get(t, t)


def _decimal(t: str) -> tuple[int, int] | None:
    m = _DECIMAL.match(t)
    return (int(m[1]), int(m[2])) if m else None


def is_widening(old: str, new: str) -> bool:
    """True when every value of type ``old`` is representable in type ``new``."""
    old, new = normalize(old), normalize(new)
    if old == new:
        return True
    if old in INTEGERS and new in INTEGERS:
        return INTEGERS.index(new) > INTEGERS.index(old)
    dec_old, dec_new = _decimal(old), _decimal(new)
    if old in INTEGERS and dec_new:
        return dec_new[0] - dec_new[1] >= INTEGER_DIGITS[old]
    if dec_old and dec_new:
        return dec_new[1] >= dec_old[1] and dec_new[0] - dec_new[1] >= dec_old[0] - dec_old[1]
    if old == "FLOAT" and new == "DOUBLE":
        return True
    if old in ("TINYINT", "SMALLINT", "INTEGER") and new == "DOUBLE":
        return True
    return old == "DATE" and new in ("TIMESTAMP",)


def same(a: str, b: str) -> bool:
    return normalize(a) == normalize(b)


def reconcile(
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
        if col in RESERVED_COLUMNS:
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
        if same(have, typ) or is_widening(typ, have):
            continue
        if existed and is_widening(have, typ):
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


def vanished_columns(con: duckdb.DuckDBPyConnection, entity: Entity) -> set[str]:
    """Columns whose latest removed/restored drift event is 'removed'."""
    rows = con.execute(
        f"select column_name from {DRIFT} where source = ? and entity = ? "
        "and kind in ('removed', 'restored') "
        "qualify row_number() over (partition by column_name order by detected_at desc, "
        "kind = 'removed') = 1 and kind = 'removed'",
        [entity.source, entity.name],
    ).fetchall()
    return {r[0] for r in rows}
