"""What every source returns: an extracted batch of reader calls over spool or landing files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative: str
    sha256: str


@dataclass
class Part:
    """One reader call: SQL selecting the data columns plus ``_file_index``.

    ``_file_index`` is the position in ``files`` of the file a row came from (an
    integer per row, not the file name); parts of API and database sources have no
    files and no ``_file_index``.
    """

    sql: str
    columns: dict[str, str]  # column -> type as the reader produces it
    rejects: str | None = None  # CSV rejects table to harvest into quarantine
    lax_sql: str | None = None  # the same read, skipping bad lines (for a second pass)
    files: list[LandingFile] = field(default_factory=list)


@dataclass
class Extracted:
    """One entity's new data: reader calls, records already found bad, and a spool to remove."""

    parts: list[Part]
    bad: list[tuple[str, str, str | None]]  # (reason, record, source_file)
    label: str  # names the origin of rows without a file (quarantine's _source_file)
    cleanup: Path | None = None
