"""Open the DuckDB warehouse, turning a lock conflict into a clear error."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from ingestion.errors import WarehouseError, WarehouseLockedError

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<prog>.+?) \(PID (?P<pid>\d+)\)")


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Connect to the warehouse file, creating its folder when writing."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist yet (run `dataops build` first)")
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" in message.lower():
            holder = _LOCK_HOLDER.search(message)
            who = f" (PID {holder['pid']})" if holder else ""
            raise WarehouseLockedError(
                f"warehouse {path} is locked by another process{who}; "
                "DuckDB allows one writer at a time: close the other session and retry"
            ) from None
        raise WarehouseError(f"cannot open warehouse {path}: {message.splitlines()[0]}") from None
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open warehouse {path}: {str(exc).splitlines()[0]}") from None


def quote(identifier: str) -> str:
    """Quote an identifier that config validation has already checked."""
    return '"' + identifier.replace('"', '""') + '"'
