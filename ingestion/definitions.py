"""What the sources YAML declares, as frozen dataclasses (built by :mod:`ingestion.config`).

An :class:`Entity` is one landed table ``raw_<source>.<name>``; its
``fingerprint`` is part of the skip key of loaded files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.errors import UnknownSourceError


@dataclass(frozen=True)
class RestConfig:
    """A paginated JSON endpoint (``type: rest_api`` sources)."""

    base_url: str
    endpoint: str
    pagination: str = "none"
    cursor_path: str = "next_cursor"  # cursor pagination: key of the next cursor in the body
    cursor_param: str = "cursor"
    page_param: str = "page"
    page_start: int = 1
    page_size_param: str | None = None
    page_size: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    incremental_param: str | None = None  # query parameter carrying the high-water mark
    auth_type: str | None = None  # bearer | api_key
    auth_env: str | None = None  # environment variable holding the secret
    auth_header: str = "X-API-Key"
    timeout: float = 30.0
    max_retries: int = 5
    backoff: float = 0.5
    flatten: bool = False


@dataclass(frozen=True)
class PostgresConfig:
    """A PostgreSQL table (``type: postgres`` sources); the DSN comes from the environment."""

    dsn_env: str
    table_schema: str
    table: str
    batch_rows: int = 100_000


@dataclass(frozen=True)
class SubjectColumn:
    """Where an entity holds a data subject (``subjects:`` in the sources YAML).

    ``key`` is the subject key a request names (``customer_id=42``). Either the
    entity's ``column`` holds the key itself (``via`` is None), or the entity is
    linked to the subject through another entity: ``column`` matches the same
    column of ``via`` (``source.entity``) in the rows of ``via`` that hold the
    subject (payments -> orders.order_id -> orders.customer_id).
    """

    key: str
    column: str
    via: str | None = None

    @property
    def scope(self) -> str:
        """What a tombstone hash is scoped to: the key, or ``via.column`` for a link."""
        return self.key if self.via is None else f"{self.via}.{self.column}"


@dataclass(frozen=True)
class Entity:
    """One landed table: raw_<source>.<name>."""

    source: str
    name: str
    location: str
    format: str
    primary_key: tuple[str, ...]
    load: str
    columns: dict[str, str]
    cursor: str | None = None
    record_path: str | None = None
    kind: str = "files"
    schema_mode: str = "evolve"
    max_bad_rows: int | None = None
    soft_delete: str | None = None
    rest: RestConfig | None = None
    postgres: PostgresConfig | None = None
    subjects: tuple[SubjectColumn, ...] = ()
    erasure: str = "delete"

    @property
    def fingerprint(self) -> str:
        """What decides how a file loads; part of the skip key of loaded files.

        Not the location (a wider glob must not reload matched files) nor limits
        like ``max_bad_rows`` (a failed load records no file anyway).
        """
        shape = {
            "format": self.format,
            "columns": sorted(self.columns),  # names only: types widen through drift
            "primary_key": list(self.primary_key),
            "load": self.load,
            "cursor": self.cursor,
            "record_path": self.record_path,
            "soft_delete": self.soft_delete,
        }
        text = json.dumps(shape, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def quarantine(self) -> str:
        return f"_quarantine_{self.name}"

    @property
    def tombstones(self) -> str:
        """Keys deleted through ``soft_delete``, with the cursor of the delete."""
        return f"_deleted_{self.name}"

    @property
    def schema(self) -> str:
        return f"raw_{self.source}"

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Source:
    name: str
    format: str
    description: str = ""
    entities: tuple[Entity, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SourcesConfig:
    path: Path
    sources: tuple[Source, ...]

    def select(self, source: str | None = None, entity: str | None = None) -> list[Entity]:
        """Entities matching the optional source/entity names, or a clear error."""
        names = [s.name for s in self.sources]
        if source is not None and source not in names:
            raise UnknownSourceError(
                f"unknown source '{source}' (declared in {self.path}: {', '.join(names)})"
            )
        chosen = [e for s in self.sources if source in (None, s.name) for e in s.entities]
        if entity is not None:
            matched = [e for e in chosen if e.name == entity]
            if not matched:
                known = ", ".join(sorted({e.name for e in chosen}))
                raise UnknownSourceError(
                    f"unknown entity '{entity}'"
                    + (f" in source '{source}'" if source else "")
                    + f" (known: {known})"
                )
            chosen = matched
        return chosen
