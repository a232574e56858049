"""What every source returns: an extracted batch of reader calls over spool or landing files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple


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


class Bad(NamedTuple):
    """A record set aside by the source: it goes to the quarantine table as it is."""

    reason: str
    record: str  # the line or record as the source had it
    source_file: str | None  # None: the batch's label (API, database)
    line: int | None = None  # the line in the file (NDJSON); None for a page or a record


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
    # The reader converts values itself and its records were not checked one by one:
    # a conversion error means a record does not fit, to be found and quarantined
    # by extracting again with ``check_types`` (the pipeline does, once).
    recheck: bool = False
    # Reads no row (every record of its file went to quarantine): the file is still
    # recorded as loaded, and the part takes no part in schema drift.
    empty: bool = False
    # False: the rows may be inserted in any order (see ingestion.sources.files)
    keep_order: bool = True
    # Parquet files the part reads whole, each value as the file has it: their
    # footer statistics describe the part's rows (ingestion.load.cursor)
    stats_files: list[Path] = field(default_factory=list)


@dataclass
class Extracted:
    """One entity's new data: reader calls, records already found bad, and a spool to remove."""

    parts: list[Part]
    bad: list[Bad]
    label: str  # names the origin of rows without a file (quarantine's _source_file)
    cleanup: Path | None = None


def has_content(path: Path) -> bool:
    """Whether the file holds anything but whitespace (reads only up to its first byte
    of content)."""
    with path.open("rb") as handle:
        while chunk := handle.read(65536):
            if chunk.strip():
                return True
    return False
