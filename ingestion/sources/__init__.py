"""Sources: each reads one entity's new data into the same :class:`Extracted` batch.

``files`` (CSV, NDJSON, JSON pages, Parquet under the landing root), ``rest``
(a paginated JSON API) and ``postgres`` (a table over COPY). The load steps in
:mod:`ingestion.load` do not know which source a batch came from.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingestion.config import Entity
from ingestion.sources.base import Extracted, LandingFile, Part

__all__ = ["Extracted", "LandingFile", "Part", "extract"]


def extract(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    files: list[LandingFile],
    landing_root: Path,
    since: str | None,
    *,
    check_types: bool = False,
) -> Extracted:
    """The entity's new data: ``files`` for a files source, else what lies beyond ``since``.

    ``check_types``: a typed read failed on a value; files sources then find
    every record that does not convert and set it aside for quarantine.
    """
    if entity.kind == "files":
        from ingestion.sources import files as source

        return source.extract(con, entity, files, landing_root, check_types=check_types)
    if entity.kind == "rest_api":
        from ingestion.sources import rest  # httpx only when a REST source is loaded

        return rest.extract(con, entity, since)
    from ingestion.sources import postgres  # psycopg only when a PostgreSQL source is loaded

    return postgres.extract(con, entity, since)
