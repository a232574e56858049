"""Small helpers for the SQL the loader writes: literals, lists, structs, errors."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def struct(columns: dict[str, str]) -> str:
    """A DuckDB struct literal ``{'col': 'TYPE', ...}`` (the readers' ``columns =``)."""
    return "{" + ", ".join(f"{literal(c)}: {literal(t)}" for c, t in columns.items()) + "}"


def path_list(paths: Iterable[Path]) -> str:
    return "[" + ", ".join(literal(str(p)) for p in paths) + "]"


def describe(exc: duckdb.Error) -> str:
    """The useful part of a DuckDB error, on one line."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    head = lines[0] if lines else type(exc).__name__
    for marker in ("Expected Number of Columns", "Original Line"):
        extra = next((ln for ln in lines[1:] if ln.startswith(marker)), None)
        if extra:
            head += f" ({extra})"
    return head
