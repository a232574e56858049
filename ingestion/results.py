"""What a load reports: one :class:`EntityResult` per entity, and the progress protocol."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ingestion.load.drift import DriftEvent


class Progress(Protocol):
    """What the loader reports while it works (the CLI draws progress bars)."""

    def start(self, label: str, total: int) -> None: ...
    def advance(self, label: str) -> None: ...
    def finish(self, label: str) -> None: ...


class NoProgress:
    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, label: str) -> None:
        pass

    def finish(self, label: str) -> None:
        pass


@dataclass
class EntityResult:
    source: str
    entity: str
    load: str
    status: str  # loaded | skipped | failed | planned
    batch_id: str
    files: list[str] = field(default_factory=list)
    skipped_files: int = 0
    rows: int = 0
    seconds: float = 0.0
    error: str | None = None
    quarantined: int = 0
    drift: list[DriftEvent] = field(default_factory=list)
    high_water_mark: str | None = None
    warnings: list[str] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)  # replace: no longer matched
    batch_key: int | None = None  # load_batches.batch_key (tombstones carry it)
    loaded_at: datetime | None = None  # the batch's stamp: its rows' first _loaded_at

    @property
    def table(self) -> str:
        return f"raw_{self.source}.{self.entity}"


def summarize(results: Iterable[EntityResult]) -> dict[str, int]:
    """Rows loaded per source."""
    totals: dict[str, int] = {}
    for r in results:
        totals[r.source] = totals.get(r.source, 0) + r.rows
    return totals
