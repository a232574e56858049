"""The batch being loaded: its ids, stamps and files, as the SQL the load steps write.

A batch has a text id (``load_batches.batch_id``, what users and logs see) and an
integer key (``batch_key``, which tombstones carry); each landing file gets an
integer ``file_key``. Keys come from sequences in ``dataops_meta``, in the order
of the files' paths.

What every row carries is its stamp, in ``_loaded_at``: the batch's start for
rows without a file, the batch's start plus one microsecond per earlier file (in
path order) for file rows; ``loaded_files.loaded_at`` holds the file's stamp.
Stamps only grow per entity: a batch starts after every stamp the entity used,
whatever the clock says, so a stamp names one file (or API/database batch) and
ordering by it orders by load, then by file name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from ingestion.config import Entity
from ingestion.sources.base import Extracted, Part
from ingestion.sql import literal
from ingestion.state import BATCH_KEYS, BATCHES, FILE_KEYS, FILES

TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Batch:
    batch_id: str
    started: datetime  # the batch's stamp: its first file's (or its rows') _loaded_at
    key: int
    label: str  # the origin of rows without a file (API, database)
    file_keys: dict[str, int]  # relative path -> file key, in path order
    file_stamps: dict[str, datetime]  # relative path -> the _loaded_at of its rows

    @classmethod
    def open(
        cls,
        con: duckdb.DuckDBPyConnection,
        entity: Entity,
        batch_id: str,
        started: datetime,
        extracted: Extracted,
        table: str | None,
    ) -> Batch:
        """Draw the batch's keys (sequences: never reused) and its stamp.

        ``table``: the entity's table when it exists; its newest ``_loaded_at``
        (answered from DuckDB's column statistics) bounds the stamp too.
        """
        newest = f"(select max(_loaded_at) from {table})" if table else "null::timestamptz"
        paths = sorted({f.relative for p in extracted.parts for f in p.files})
        # a list of nextval() calls plans in ~0.3 ms, the list() subquery over range()
        # in ~3 ms; past a few dozen files the literal's planning costs more
        if len(paths) <= 64:
            file_keys = f"[{', '.join([f'nextval({literal(FILE_KEYS)})'] * len(paths))}]"
        else:
            file_keys = f"(select list(nextval({literal(FILE_KEYS)})) from range({len(paths)}))"
        row = con.execute(
            f"select nextval('{BATCH_KEYS}'), {file_keys}::bigint[], greatest((select max(m) "
            f"from (select max(started_at) as m from {BATCHES} where source = $1 and "
            f"entity = $2 union all select max(loaded_at) from {FILES} where source = $1 "
            f"and entity = $2)), {newest})",
            [entity.source, entity.name],
        ).fetchone()
        assert row is not None
        key, file_keys, last = row
        if last is not None and last >= started:
            started = last + TICK  # the clock went back, or a batch within the last µs
        return cls(
            batch_id,
            started,
            int(key),
            extracted.label,
            dict(zip(paths, sorted(file_keys or []), strict=True)),
            {p: started + i * TICK for i, p in enumerate(paths)},
        )

    @property
    def id_sql(self) -> str:
        return literal(self.batch_id)

    @property
    def now_sql(self) -> str:
        return _timestamp(self.started)

    def loaded_at_sql(self, part: Part) -> str:
        """``_loaded_at`` of a part's row: a constant, or by the row's ``_file_index``."""
        if not part.files:
            return self.now_sql
        stamps = [_timestamp(self.file_stamps[f.relative]) for f in part.files]
        if len(stamps) == 1:
            return stamps[0]
        return f"[{', '.join(stamps)}][_file_index::bigint + 1]"

    def file_name_sql(self, part: Part, prefix: str = "") -> str:
        """The file (relative path) of a part's row, from its ``_file_index``; else the label."""
        if not part.files:
            return literal(self.label)
        if len(part.files) == 1:
            return literal(part.files[0].relative)
        names = ", ".join(literal(f.relative) for f in part.files)
        return f"[{names}][{prefix}_file_index::bigint + 1]"

    def stamp_name_sql(self, column: str) -> str:
        """The file (relative path) of a ``_loaded_at`` value; the label when it has none."""
        if not self.file_stamps:
            return literal(self.label)
        stamps = ", ".join(_timestamp(s) for s in self.file_stamps.values())
        names = ", ".join(literal(n) for n in self.file_stamps)
        return (
            f"coalesce(list_extract([{names}], list_position([{stamps}], {column})), "
            f"{literal(self.label)})"
        )


def _timestamp(at: datetime) -> str:
    return f"{literal(at.isoformat())}::timestamptz"
