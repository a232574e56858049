"""Errors a user can cause while ingesting.

The CLI turns every subclass of :class:`IngestionError` into one readable line
and a non-zero exit code; nothing here prints.
"""

from __future__ import annotations


class IngestionError(Exception):
    """Base class: a problem with configuration, input files or the warehouse."""


class ConfigError(IngestionError):
    """The sources YAML is missing, malformed, or declares something invalid."""


class SourceFileError(IngestionError):
    """A landing file is missing, unreadable or does not parse."""


class UnknownSourceError(IngestionError):
    """A --source / --entity name that the sources YAML does not declare."""


class WarehouseLockedError(IngestionError):
    """The DuckDB file is held by another process (DuckDB allows one writer)."""


class WarehouseError(IngestionError):
    """Any other problem opening or writing the warehouse."""


class SchemaDriftError(IngestionError):
    """A ``schema: frozen`` entity whose source changed shape."""


class UncheckedRecordsError(SourceFileError):
    """The typed read of NDJSON records or JSON pages failed on a value it could not convert.

    Their records were not checked one by one (that would slow every clean
    load): the pipeline rolls back and extracts again with ``check_types``,
    which finds such records and quarantines them; the message is the error
    should that not help.
    """


class BadRowsError(SourceFileError):
    """More rows than ``max_bad_rows`` failed to parse or type.

    ``quarantined`` holds the batch's quarantine rows (an Arrow table): the
    load's transaction rolls back, and the loader writes them again on their
    own so the user can see why the load failed.
    """

    def __init__(self, message: str, quarantined: object = None, count: int = 0) -> None:
        super().__init__(message)
        self.quarantined = quarantined
        self.count = count
