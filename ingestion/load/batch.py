"""The batch being loaded: its id and start time, as SQL literals for the load steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ingestion.sql import literal


@dataclass(frozen=True)
class Batch:
    batch_id: str
    started: datetime

    @property
    def id_sql(self) -> str:
        return literal(self.batch_id)

    @property
    def now_sql(self) -> str:
        return f"{literal(self.started.isoformat())}::timestamptz"
