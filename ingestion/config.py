"""Read and validate the sources YAML (one file declares every source).

Everything from the file that ends up in SQL is validated here: identifiers
must be plain names (they are also quoted when used), types must parse as
DuckDB types, and locations must be relative globs that stay under the landing
root. A mistake gives a :class:`ConfigError` naming the file and the entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ingestion.errors import ConfigError, UnknownSourceError

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
LOAD_MODES = ("replace", "append", "merge")
FORMATS = ("csv", "ndjson", "json_pages", "parquet")
# A conservative whitelist of DuckDB type spellings; the loader casts with them.
TYPE_PATTERN = re.compile(
    r"^(BIGINT|INTEGER|INT|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER|DOUBLE|FLOAT|REAL|"
    r"BOOLEAN|BOOL|VARCHAR|TEXT|STRING|DATE|TIME|TIMESTAMP|TIMESTAMPTZ|"
    r"TIMESTAMP WITH TIME ZONE|JSON|UUID|BLOB|"
    r"DECIMAL\(\s*\d{1,2}\s*,\s*\d{1,2}\s*\)|NUMERIC\(\s*\d{1,2}\s*,\s*\d{1,2}\s*\))$",
    re.IGNORECASE,
)


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


def _identifier(value: Any, what: str, where: str) -> str:
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise ConfigError(
            f"{where}: {what} {value!r} is not a valid identifier "
            "(letters, digits and underscores, not starting with a digit)"
        )
    return value


def _location(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: 'location' must be a relative glob under the landing root")
    posix = PurePosixPath(value)
    if posix.is_absolute() or ".." in posix.parts or value.startswith("~"):
        raise ConfigError(
            f"{where}: location {value!r} must stay under the landing root "
            "(no absolute paths, no '..')"
        )
    return value


def _entity(raw: Any, source: dict[str, Any], where: str) -> Entity:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: each entity must be a mapping")
    name = _identifier(raw.get("name"), "entity name", where)
    where = f"{where} entity '{name}'"
    fmt = raw.get("format", source.get("format"))
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: format {fmt!r} is not one of {', '.join(FORMATS)}")
    load = raw.get("load", "append")
    if load not in LOAD_MODES:
        raise ConfigError(f"{where}: load {load!r} is not one of {', '.join(LOAD_MODES)}")
    columns_raw = raw.get("columns")
    if not isinstance(columns_raw, dict) or not columns_raw:
        raise ConfigError(f"{where}: 'columns' must map each column name to a type")
    columns: dict[str, str] = {}
    for col, typ in columns_raw.items():
        _identifier(col, "column", where)
        if not isinstance(typ, str) or not TYPE_PATTERN.match(typ.strip()):
            raise ConfigError(f"{where}: column '{col}' has unsupported type {typ!r}")
        columns[col] = typ.strip().upper()
    pk_raw = raw.get("primary_key", [])
    pk = (pk_raw,) if isinstance(pk_raw, str) else tuple(pk_raw or ())
    for col in pk:
        if col not in columns:
            raise ConfigError(f"{where}: primary key column '{col}' is not in 'columns'")
    cursor = raw.get("cursor")
    if cursor is not None and cursor not in columns:
        raise ConfigError(f"{where}: cursor column '{cursor}' is not in 'columns'")
    if load == "merge" and not pk:
        raise ConfigError(f"{where}: load 'merge' needs a primary_key")
    record_path = raw.get("record_path", source.get("record_path"))
    if fmt == "json_pages":
        _identifier(record_path, "record_path", where)
    return Entity(
        source=source["name"],
        name=name,
        location=_location(raw.get("location"), where),
        format=fmt,
        primary_key=pk,
        load=load,
        columns=columns,
        cursor=cursor,
        record_path=record_path,
    )


def load_config(path: Path) -> SourcesConfig:
    """Parse and validate the sources YAML at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"sources file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read sources file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"malformed YAML in {path}{at}: {problem}") from None
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise ConfigError(f"{path}: expected a mapping with a 'sources' list")
    sources: list[Source] = []
    seen: set[str] = set()
    for index, raw in enumerate(data["sources"]):
        where = f"{path}: sources[{index}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: each source must be a mapping")
        name = _identifier(raw.get("name"), "source name", where)
        if name in seen:
            raise ConfigError(f"{where}: duplicate source name '{name}'")
        seen.add(name)
        where = f"{path}: source '{name}'"
        entities_raw = raw.get("entities")
        if not isinstance(entities_raw, list) or not entities_raw:
            raise ConfigError(f"{where}: 'entities' must be a non-empty list")
        entities = tuple(_entity(e, raw, where) for e in entities_raw)
        dupes = {e.name for e in entities if [x.name for x in entities].count(e.name) > 1}
        if dupes:
            raise ConfigError(f"{where}: duplicate entity names {sorted(dupes)}")
        sources.append(
            Source(
                name=name,
                format=str(raw.get("format", "")),
                description=str(raw.get("description", "")),
                entities=entities,
            )
        )
    return SourcesConfig(path=path, sources=tuple(sources))
