"""`--log-format json`: one JSON object per event, on its own line, for a log shipper.

In JSON mode commands emit structured events (``emit``), dbt is asked for its
own JSON log lines (``DBT_LOG_FORMAT=json``), progress bars are off, and any
other console output is wrapped line by line into ``{"event": "output"}``
objects, so every line of stdout and stderr parses as JSON.
"""

from __future__ import annotations

import enum
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from ingestion.redact import redact_value
from tooling.console import console, err_console


class LogFormat(enum.StrEnum):
    text = "text"
    json = "json"


class _JsonLines:
    """A file-like object that turns each written line into one JSON event."""

    def __init__(self, stream: TextIO, level: str) -> None:
        self._stream = stream
        self._level = level
        self._buffer = ""

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            if line.strip():
                _write(self._stream, self._level, "output", {"message": line.rstrip()})
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return False


class EventLog:
    def __init__(self) -> None:
        self.format = "text"

    @property
    def json(self) -> bool:
        return self.format == "json"

    def configure(self, log_format: str) -> None:
        self.format = log_format
        if log_format == "json":
            os.environ["DBT_LOG_FORMAT"] = "json"
            console.file = _JsonLines(sys.stdout, "info")  # type: ignore[assignment]
            err_console.file = _JsonLines(sys.stderr, "error")  # type: ignore[assignment]
            console.no_color = err_console.no_color = True
            console.width = err_console.width = 200

    def emit(self, event: str, *, level: str = "info", **fields: Any) -> None:
        """Write one event (JSON mode only; text mode prints its own way)."""
        if self.json:
            _write(sys.stderr if level == "error" else sys.stdout, level, event, fields)


def _write(stream: TextIO, level: str, event: str, fields: dict[str, Any]) -> None:
    record = {
        "ts": datetime.now(UTC).isoformat(),
        "level": level,
        "event": event,
        **redact_value(fields),
    }
    stream.write(json.dumps(record, default=str) + "\n")
    stream.flush()


LOG = EventLog()
