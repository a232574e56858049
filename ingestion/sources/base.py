"""What every source returns: an extracted batch of reader calls over spool or landing files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LandingFile:
    """A landing file under the root; ``digest`` returns its sha256 (the skip key).

    The digest is computed once, on first use or ahead in a worker thread (see
    :func:`ingestion.sources.files.find_files`), so a new file can be hashed
    while DuckDB loads it.
    """

    path: Path
    relative: str
    digest: Callable[[], str] = field(repr=False, compare=False)

    @property
    def sha256(self) -> str:
        return self.digest()


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
    # False: the rows may be inserted in any order (see ingestion.sources.files)
    keep_order: bool = True


@dataclass
class Extracted:
    """One entity's new data: reader calls, records already found bad, and a spool to remove."""

    parts: list[Part]
    bad: list[tuple[str, str, str | None]]  # (reason, record, source_file)
    label: str  # names the origin of rows without a file (quarantine's _source_file)
    cleanup: Path | None = None
