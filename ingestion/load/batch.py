"""The batch being loaded: its ids and files, as the SQL the load steps write.

A batch has a text id (``load_batches.batch_id``, what users and logs see) and an
integer key (``batch_key``) that its rows carry in ``_batch_key``; each landing
file gets an integer ``file_key`` that its rows carry in ``_file_key``. Keys come
from sequences in ``dataops_meta``, in the order of the files' paths, so a later
file name has a larger key (staging models break ties with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from ingestion.sources.base import Extracted, Part
from ingestion.sql import literal
from ingestion.state import BATCH_KEYS, FILE_KEYS


@dataclass(frozen=True)
class Batch:
    batch_id: str
    started: datetime
    key: int
    label: str  # the origin of rows without a file (API, database)
    file_keys: dict[str, int]  # relative path -> file key

    @classmethod
    def open(
        cls, con: duckdb.DuckDBPyConnection, batch_id: str, started: datetime, extracted: Extracted
    ) -> Batch:
        """Draw the batch's key and one key per file (sequences: never reused)."""
        row = con.execute(f"select nextval('{BATCH_KEYS}')").fetchone()
        assert row is not None
        paths = sorted({f.relative for p in extracted.parts for f in p.files})
        keys = [
            r[0]
            for r in con.execute(
                f"select nextval('{FILE_KEYS}') from range(?)", [len(paths)]
            ).fetchall()
        ]
        return cls(
            batch_id,
            started,
            int(row[0]),
            extracted.label,
            dict(zip(paths, sorted(keys), strict=True)),
        )

    @property
    def id_sql(self) -> str:
        return literal(self.batch_id)

    @property
    def now_sql(self) -> str:
        return f"{literal(self.started.isoformat())}::timestamptz"

    def file_key_sql(self, part: Part) -> str:
        """``_file_key`` of a part's row, from the row's ``_file_index``."""
        if not part.files:
            return "null::bigint"
        keys = [self.file_keys[f.relative] for f in part.files]
        if len(keys) == 1:
            return f"{keys[0]}::bigint"
        return f"([{', '.join(map(str, keys))}]::bigint[])[_file_index::bigint + 1]"

    def file_name_sql(self, part: Part, prefix: str = "") -> str:
        """The file (relative path) of a part's row, from its ``_file_index``; else the label."""
        if not part.files:
            return literal(self.label)
        if len(part.files) == 1:
            return literal(part.files[0].relative)
        names = ", ".join(literal(f.relative) for f in part.files)
        return f"[{names}][{prefix}_file_index::bigint + 1]"

    def key_name_sql(self, column: str) -> str:
        """The file (relative path) of a ``_file_key`` value; the label when it has none."""
        if not self.file_keys:
            return literal(self.label)
        keys = ", ".join(str(k) for k in self.file_keys.values())
        names = ", ".join(literal(n) for n in self.file_keys)
        return (
            f"coalesce(list_extract([{names}], list_position([{keys}], {column})), "
            f"{literal(self.label)})"
        )
