"""Shared rich consoles and the progress bars the ingestion loader reports to."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class BarProgress:
    """One bar per entity: files loaded of files to load."""

    def __init__(self, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
            disable=not enabled,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> BarProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, label: str, total: int) -> None:
        self._tasks[label] = self._progress.add_task(label, total=total)

    def advance(self, label: str) -> None:
        self._progress.advance(self._tasks[label])

    def finish(self, label: str) -> None:
        task = self._tasks[label]
        self._progress.update(task, completed=self._progress.tasks[task].total)
