"""`dataops build`'s quiet output: ingestion, then dbt, as live progress.

On a terminal one rich display shows a bar per ingested entity (its steps:
extract, load), then one for dbt (nodes done of the total dbt announces,
and the node running now). Without a terminal the same facts are plain
lines. Either way a failing node is printed when it finishes, with dbt's
message. dbt's own events arrive through ``dbtRunner(callbacks=[...])``, from
dbt's worker threads.
"""

from __future__ import annotations

import threading
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from tooling.console import LazyConsole, real

FAILED = {"error", "fail", "runtime error"}


class BuildProgress:
    """The ingestion loader's progress sink and dbt's event callback, in one display."""

    def __init__(
        self, console: Console | LazyConsole, lines: Console | LazyConsole | None = None
    ) -> None:
        """Live on ``console`` when it is a terminal, else plain lines on ``lines``
        (stdout, where dbt's log went: stderr keeps only errors)."""
        self.live = console.is_terminal
        self.console = real(console if self.live else (lines or console))
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TextColumn("{task.fields[current]}", markup=False),
            console=self.console,
            disable=not self.live,
            # The consoles write to whatever sys.stderr is at the time: a rich
            # FileProxy there would feed the display back into itself.
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._files: dict[str, tuple[TaskID, int]] = {}
        self._lock = threading.Lock()
        self._dbt: TaskID | None = None
        self._total = 0
        self._done: set[str] = set()
        self._running: dict[str, str] = {}
        self.failures: list[tuple[str, str]] = []

    def __enter__(self) -> BuildProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    # ingestion (ingestion.results.Progress)
    def start(self, label: str, total: int) -> None:
        task = self._progress.add_task(label, total=total, unit="steps", current="")
        self._files[label] = (task, total)

    def advance(self, label: str) -> None:
        self._progress.advance(self._files[label][0])

    def finish(self, label: str) -> None:
        task, total = self._files[label]
        self._progress.update(task, completed=total)
        if not self.live:
            self.console.print(f"ingest {label}: done", markup=False, soft_wrap=True)

    # dbt (dbtRunner callbacks)
    def on_dbt_event(self, event: Any) -> None:
        name = event.info.name
        if name not in {"LogStartLine", "NodeStart", "NodeFinished", "LogSkipResult"}:
            return
        data = event.data
        uid = data.node_info.unique_id
        with self._lock:
            if name == "LogStartLine" and data.total:
                self._total = max(self._total, data.total)
            elif name == "NodeStart":
                self._running[uid] = data.node_info.node_name
            elif name in {"NodeFinished", "LogSkipResult"} and uid and uid not in self._done:
                self._done.add(uid)
                self._running.pop(uid, None)
                result = data.run_result if name == "NodeFinished" else None
                status = (result.status if result else "skipped") or data.node_info.node_status
                if status in FAILED:
                    self._failure(uid, status, (result.message if result else "") or "")
                elif not self.live:
                    self.console.print(
                        f"dbt [{len(self._done)}/{self._total or '?'}] {status} {uid}",
                        markup=False,
                        soft_wrap=True,
                    )
            self._show()

    def _failure(self, uid: str, status: str, message: str) -> None:
        first = (message.strip().splitlines() or [""])[0]
        self.failures.append((uid, first))
        self.console.print(
            f"dbt [{len(self._done)}/{self._total or '?'}] {status.upper()} {uid}: {first}",
            markup=False,
            soft_wrap=True,
        )

    def _show(self) -> None:
        if not self.live or not self._total:
            return
        current = next(reversed(self._running.values()), "")
        if self._dbt is None:
            self._dbt = self._progress.add_task(
                "dbt build", total=self._total, unit="nodes", current=""
            )
        self._progress.update(
            self._dbt, total=self._total, completed=len(self._done), current=current
        )
