"""Schema drift: compare an incoming batch's columns with the table's.

Rules (issue 3): a new column is added as a nullable column; a vanished column
is kept and filled with NULL; a widening type change widens the table's column;
any other type change is *incompatible*: rows whose value cannot be cast to the
table's type go to quarantine. ``schema: frozen`` turns every drift into an
error instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
