"""Shared rich consoles and the progress bars the ingestion loader reports to.

The consoles are made on first use: importing rich's console costs about 40 ms,
which a command that prints nothing through them (``lint --format json``, or
one that fails early with one line) should not pay at every start.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from ingestion.redact import redact

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID
    from rich.table import Table


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


def _redacting_console(**kwargs: Any) -> Console:
    from rich.console import Console

    class RedactingConsole(Console):
        """A console that redacts strings before rendering too (wrapping could split a secret)."""

        def print(self, *objects: object, **kwargs: object) -> None:  # type: ignore[override]
            cleaned = [redact(o) if isinstance(o, str) else o for o in objects]
            super().print(*cleaned, **kwargs)  # type: ignore[arg-type]

    return RedactingConsole(**kwargs)


class LazyConsole:
    """A redacting rich console, made when first used; attributes pass through."""

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_kwargs", kwargs)
        object.__setattr__(self, "_console", None)

    @property
    def real(self) -> Console:
        """The console itself (what rich's own classes are handed)."""
        made = object.__getattribute__(self, "_console")
        if made is None:
            made = _redacting_console(**object.__getattribute__(self, "_kwargs"))
            object.__setattr__(self, "_console", made)
        return made

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.real, name, value)


def new_table(title: str) -> Table:
    """A result table, its title on the left (rich imported when one is shown)."""
    from rich.table import Table

    return Table(title=title, title_justify="left")


def real(console: Console | LazyConsole) -> Console:
    return console.real if isinstance(console, LazyConsole) else console


console = LazyConsole(highlight=False, file=RedactingStream(lambda: sys.stdout))
err_console = LazyConsole(stderr=True, highlight=False, file=RedactingStream(lambda: sys.stderr))


class BarProgress:
    """One bar per entity: files loaded of files to load."""

    def __init__(self, enabled: bool = True) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files"),
            TimeElapsedColumn(),
            console=err_console.real,
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
