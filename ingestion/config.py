"""Read and validate the sources YAML (one file declares every source).

Everything from the file that ends up in SQL is validated here: identifiers
must be plain names (they are also quoted when used), types must parse as
DuckDB types, and locations must be relative globs that stay under the landing
root. A mistake gives a :class:`ConfigError` naming the file and the entry.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ingestion import redact, schema
from ingestion.definitions import (
    Entity,
    PostgresConfig,
    RestConfig,
    Source,
    SourcesConfig,
    SubjectColumn,
)
from ingestion.errors import ConfigError

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
LOAD_MODES = ("replace", "append", "merge")
FORMATS = ("csv", "ndjson", "json_pages", "parquet")
SOURCE_TYPES = ("files", "rest_api", "postgres")
SCHEMA_MODES = ("evolve", "frozen")
PAGINATIONS = ("cursor", "page_number", "link_header", "none")
# Formats whose files carry their own types: declaring columns is optional.
TYPED_FORMATS = ("parquet",)
# A conservative whitelist of DuckDB type spellings; the loader casts with them.
TYPE_PATTERN = re.compile(
    r"^(BIGINT|INTEGER|INT|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER|DOUBLE|FLOAT|REAL|"
    r"BOOLEAN|BOOL|VARCHAR|TEXT|STRING|DATE|TIME|TIMESTAMP|TIMESTAMPTZ|"
    r"TIMESTAMP WITH TIME ZONE|JSON|UUID|BLOB|"
    r"DECIMAL\(\s*\d{1,2}\s*,\s*\d{1,2}\s*\)|NUMERIC\(\s*\d{1,2}\s*,\s*\d{1,2}\s*\))$",
    re.IGNORECASE,
)


ERASURE_POLICIES = ("delete", "anonymise")


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
    kind = source.get("type", "files")
    if kind not in SOURCE_TYPES:
        raise ConfigError(f"{where}: source type {kind!r} is not one of {', '.join(SOURCE_TYPES)}")
    fmt = raw.get("format", source.get("format", "ndjson" if kind != "files" else None))
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: format {fmt!r} is not one of {', '.join(FORMATS)}")
    load = raw.get("load", "append")
    if load not in LOAD_MODES:
        raise ConfigError(f"{where}: load {load!r} is not one of {', '.join(LOAD_MODES)}")
    columns_raw = raw.get("columns")
    typed = kind != "files" or fmt in TYPED_FORMATS
    if columns_raw is None and typed:
        columns_raw = {}
    if not isinstance(columns_raw, dict) or (not columns_raw and not typed):
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
        _identifier(col, "primary key column", where)
        if columns and col not in columns:
            raise ConfigError(f"{where}: primary key column '{col}' is not in 'columns'")
    cursor = raw.get("cursor")
    if cursor is not None:
        _identifier(cursor, "cursor column", where)
        if columns and cursor not in columns:
            raise ConfigError(f"{where}: cursor column '{cursor}' is not in 'columns'")
    soft_delete = raw.get("soft_delete", source.get("soft_delete"))
    if soft_delete is not None:
        _identifier(soft_delete, "soft_delete column", where)
        if load != "merge":
            raise ConfigError(f"{where}: soft_delete needs load 'merge'")
    schema_mode = raw.get("schema", source.get("schema", "evolve"))
    if schema_mode not in SCHEMA_MODES:
        raise ConfigError(
            f"{where}: schema {schema_mode!r} is not one of {', '.join(SCHEMA_MODES)}"
        )
    max_bad = raw.get("max_bad_rows", source.get("max_bad_rows"))
    if max_bad is not None and (not isinstance(max_bad, int) or max_bad < 0):
        raise ConfigError(f"{where}: max_bad_rows must be a non-negative integer")
    if load == "merge" and not pk:
        raise ConfigError(f"{where}: load 'merge' needs a primary_key")
    record_path = raw.get("record_path", source.get("record_path"))
    if fmt == "json_pages" or (kind == "rest_api" and record_path is not None):
        _identifier(record_path, "record_path", where)
    subjects = _subjects(raw.get("subjects"), columns, where)
    erasure = raw.get("erasure", source.get("erasure", "delete"))
    if erasure not in ERASURE_POLICIES:
        raise ConfigError(
            f"{where}: erasure {erasure!r} is not one of {', '.join(ERASURE_POLICIES)}"
        )
    rest = _rest(raw, source, where) if kind == "rest_api" else None
    pg = _postgres(raw, source, where, name) if kind == "postgres" else None
    location = (
        _location(raw.get("location"), where)
        if kind == "files"
        else (
            f"{rest.base_url}{rest.endpoint}" if rest else f"postgres:{pg.table_schema}.{pg.table}"
        )  # type: ignore[union-attr]
    )
    return Entity(
        kind=kind,
        schema_mode=schema_mode,
        max_bad_rows=max_bad,
        soft_delete=soft_delete,
        rest=rest,
        postgres=pg,
        source=source["name"],
        name=name,
        location=location,
        format=fmt,
        primary_key=pk,
        load=load,
        columns=columns,
        cursor=cursor,
        record_path=record_path,
        subjects=subjects,
        erasure=erasure,
    )


def _subjects(raw: Any, columns: dict[str, str], where: str) -> tuple[SubjectColumn, ...]:
    """``subjects: {customer_id: customer_id}`` or ``{customer_id: {via: erp.orders,
    column: order_id}}``: the data subjects an entity's rows belong to."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: 'subjects' must map a subject key to a column")
    out = []
    for key, spec in raw.items():
        _identifier(key, "subject key", where)
        if isinstance(spec, str):
            column, via = spec, None
        elif isinstance(spec, dict) and set(spec) <= {"via", "column"} and "via" in spec:
            column, via = spec.get("column", key), spec["via"]
            if not isinstance(via, str) or via.count(".") != 1:
                raise ConfigError(f"{where}: subject '{key}': via must be 'source.entity'")
            for part in via.split("."):
                _identifier(part, "subject via", where)
        else:
            raise ConfigError(
                f"{where}: subject '{key}' must name a column, or be {{via: source.entity, "
                "column: name}}"
            )
        _identifier(column, f"subject '{key}' column", where)
        if columns and column not in columns:
            raise ConfigError(f"{where}: subject '{key}' column '{column}' is not in 'columns'")
        out.append(SubjectColumn(key=key, column=column, via=via))
    return tuple(out)


def _merged(raw: dict[str, Any], source: dict[str, Any], key: str) -> Any:
    value = raw.get(key, source.get(key))
    if isinstance(source.get(key), dict) and isinstance(raw.get(key), dict):
        value = {**source[key], **raw[key]}
    return value


def _rest(raw: dict[str, Any], source: dict[str, Any], where: str) -> RestConfig:
    base_url = raw.get("base_url", source.get("base_url"))
    env_name = raw.get("base_url_env", source.get("base_url_env"))
    if base_url is None and env_name:
        _identifier(env_name, "base_url_env", where)
        base_url = os.environ.get(env_name)
        redact.register(base_url)
        if not base_url:
            raise ConfigError(f"{where}: environment variable {env_name} (base_url_env) is not set")
    if not isinstance(base_url, str) or not re.match(r"^https?://", base_url):
        raise ConfigError(f"{where}: rest_api needs base_url (http:// or https://)")
    endpoint = raw.get("endpoint", "")
    if not isinstance(endpoint, str):
        raise ConfigError(f"{where}: endpoint must be a path")
    pagination = _merged(raw, source, "pagination") or {"type": "none"}
    if isinstance(pagination, str):
        pagination = {"type": pagination}
    ptype = pagination.get("type", "none")
    if ptype not in PAGINATIONS:
        raise ConfigError(f"{where}: pagination {ptype!r} is not one of {', '.join(PAGINATIONS)}")
    auth = _merged(raw, source, "auth") or {}
    auth_type = auth.get("type")
    if auth_type not in (None, "bearer", "api_key"):
        raise ConfigError(f"{where}: auth type {auth_type!r} is not bearer or api_key")
    if auth_type:
        _identifier(auth.get("env"), "auth env variable", where)
    params = _merged(raw, source, "params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: params must be a mapping")
    try:
        return RestConfig(
            base_url=base_url.rstrip("/"),
            endpoint=endpoint,
            pagination=ptype,
            cursor_path=str(pagination.get("cursor_path", "next_cursor")),
            cursor_param=str(pagination.get("cursor_param", "cursor")),
            page_param=str(pagination.get("page_param", "page")),
            page_start=int(pagination.get("start", 1)),
            page_size_param=pagination.get("size_param"),
            page_size=pagination.get("size"),
            params={str(k): str(v) for k, v in params.items()},
            incremental_param=raw.get("incremental_param", source.get("incremental_param")),
            auth_type=auth_type,
            auth_env=auth.get("env"),
            auth_header=str(auth.get("header", "X-API-Key")),
            timeout=float(raw.get("timeout", source.get("timeout", 30.0))),
            max_retries=int(raw.get("max_retries", source.get("max_retries", 5))),
            backoff=float(raw.get("backoff", source.get("backoff", 0.5))),
            flatten=bool(raw.get("flatten", source.get("flatten", False))),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: invalid rest_api setting: {exc}") from None


def _postgres(raw: dict[str, Any], source: dict[str, Any], where: str, name: str) -> PostgresConfig:
    dsn_env = _identifier(
        raw.get("dsn_env", source.get("dsn_env", "DATAOPS_SOURCE_PG_DSN")), "dsn_env", where
    )
    table = raw.get("table", name)
    schema, _, tbl = table.rpartition(".") if isinstance(table, str) else ("", "", table)
    schema = _identifier(schema or "public", "postgres schema", where)
    tbl = _identifier(tbl, "postgres table", where)
    batch_rows = raw.get("batch_rows", source.get("batch_rows", 100_000))
    if not isinstance(batch_rows, int) or batch_rows <= 0:
        raise ConfigError(f"{where}: batch_rows must be a positive integer")
    return PostgresConfig(dsn_env=dsn_env, table_schema=schema, table=tbl, batch_rows=batch_rows)


def load_config(path: Path) -> SourcesConfig:
    """Parse and validate the sources YAML at ``path``."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM is fine
    except FileNotFoundError:
        raise ConfigError(f"sources file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read sources file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"malformed YAML in {path}{at}: {problem}") from None
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise ConfigError(f"{path}: expected a mapping with a 'sources' list")
    problem = schema.validate(data)
    if problem is not None:
        raise ConfigError(f"{path}: {problem}")
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
    config = SourcesConfig(path=path, sources=tuple(sources))
    _check_subject_links(config)
    register_secrets(config, data)
    return config


def _check_subject_links(config: SourcesConfig) -> None:
    """A link must point at a declared entity that holds the same key directly."""
    by_name = {f"{e.source}.{e.name}": e for s in config.sources for e in s.entities}
    for ent in by_name.values():
        for sub in ent.subjects:
            if sub.via is None:
                continue
            target = by_name.get(sub.via)
            if target is None:
                raise ConfigError(
                    f"{config.path}: entity '{ent.qualified}': subject '{sub.key}' links "
                    f"via unknown entity '{sub.via}'"
                )
            if not any(t.key == sub.key and t.via is None for t in target.subjects):
                raise ConfigError(
                    f"{config.path}: entity '{ent.qualified}': subject '{sub.key}' links via "
                    f"'{sub.via}', which does not declare '{sub.key}' as a column of its own"
                )
            if target.columns and sub.column not in target.columns:
                raise ConfigError(
                    f"{config.path}: entity '{ent.qualified}': subject '{sub.key}' links via "
                    f"'{sub.via}', which has no column '{sub.column}'"
                )


def register_secrets(config: SourcesConfig, data: dict[str, Any]) -> None:
    """Hand every secret the file references to :mod:`ingestion.redact`."""
    names: set[str | None] = set()
    for entity in (e for s in config.sources for e in s.entities):
        if entity.postgres is not None:
            names.add(entity.postgres.dsn_env)
        if entity.rest is not None:
            names.add(entity.rest.auth_env)
    for raw in data.get("sources") or []:
        for item in [raw, *(raw.get("entities") or [])]:
            if isinstance(item, dict) and isinstance(item.get("base_url_env"), str):
                names.add(item["base_url_env"])
    redact.register_env(names)
