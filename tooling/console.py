"""Shared rich consoles and the progress bars the ingestion loader reports to."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from ingestion.redact import redact


class RedactingStream:
    """What the consoles write to: the current sys.stdout/stderr, every write redacted.

    Resolved at each write (tests and ``--log-format json`` swap the streams), so
    no secret reaches a terminal or a log file whatever printed it.
    """

    def __init__(self, target: Callable[[], TextIO]) -> None:
        self._target = target

    def write(self, text: str) -> int:
        self._target().write(redact(text))
        return len(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return self._target().isatty()

    def fileno(self) -> int:
        return self._target().fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._target(), "encoding", "utf-8")


class RedactingConsole(Console):
    """A console that redacts strings before rendering too (wrapping could split a secret)."""

    def print(self, *objects: object, **kwargs: object) -> None:  # type: ignore[override]
        cleaned = [redact(o) if isinstance(o, str) else o for o in objects]
        super().print(*cleaned, **kwargs)  # type: ignore[arg-type]


console = RedactingConsole(highlight=False, file=RedactingStream(lambda: sys.stdout))  # type: ignore[arg-type]
err_console = RedactingConsole(
    stderr=True,
    highlight=False,
    file=RedactingStream(lambda: sys.stderr),  # type: ignore[arg-type]
)


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
