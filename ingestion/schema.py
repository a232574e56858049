"""The shape of ``sources.yml``: strict pydantic models, and the JSON Schema editors use.

Every mapping forbids unknown keys (``laod: merge`` is an error with "did you
mean 'load'?", not a silently appending entity) and every field is typed
(``primary_key: 5``, ``pagination: 5``, ``auth: bearer`` are errors naming the
entry). :mod:`ingestion.config` validates the parsed YAML here first, then
applies the semantic rules (identifiers, types, globs, combinations).

The published schema is ``ingestion/sources.schema.json`` (regenerate with
``python -m ingestion.schema``; a test keeps it in sync). Both sources files
start with ``# yaml-language-server: $schema=./sources.schema.json``, so VS Code's
YAML extension, Neovim's yamlls and friends validate while you type.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, ValidationError

SCHEMA_FILE = Path(__file__).with_name("sources.schema.json")

Format = Literal["csv", "ndjson", "json_pages", "parquet"]
LoadMode = Literal["replace", "append", "merge"]
SchemaMode = Literal["evolve", "frozen"]
SourceType = Literal["files", "rest_api", "postgres"]
Scalar = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Pagination(_Strict):
    type: Literal["cursor", "page_number", "link_header", "none"] = "none"
    cursor_path: str | None = Field(None, description="cursor: key of the next cursor in a page")
    cursor_param: str | None = Field(None, description="cursor: query parameter to send it in")
    page_param: str | None = None
    start: int | None = None
    size_param: str | None = None
    size: PositiveInt | None = None


class Auth(_Strict):
    type: Literal["bearer", "api_key"]
    env: str = Field(description="environment variable holding the secret")
    header: str | None = Field(None, description="api_key: header name (X-API-Key)")


class _Shared(_Strict):
    """Keys a source sets as defaults for its entities, or an entity sets itself."""

    format: Format | None = None
    description: str | None = None
    schema_mode: SchemaMode | None = Field(None, alias="schema")
    max_bad_rows: NonNegativeInt | None = None
    soft_delete: str | None = None
    record_path: str | None = None
    # rest_api
    base_url: str | None = None
    base_url_env: str | None = None
    pagination: Pagination | Literal["cursor", "page_number", "link_header", "none"] | None = None
    auth: Auth | None = None
    params: dict[str, Scalar] | None = None
    incremental_param: str | None = None
    timeout: float | None = Field(None, gt=0)
    max_retries: NonNegativeInt | None = None
    backoff: float | None = Field(None, ge=0)
    flatten: bool | None = None
    # postgres
    dsn_env: str | None = None
    batch_rows: PositiveInt | None = None
    # privacy
    erasure: Literal["delete", "anonymise"] | None = Field(
        None, description="what `dataops privacy erase` does to a subject's rows"
    )


class SubjectLink(_Strict):
    via: str = Field(description="the entity (source.entity) the rows link through")
    column: str | None = Field(None, description="the column shared with that entity")


class EntitySpec(_Shared):
    name: str
    location: str | None = Field(None, description="files: a glob under the landing root")
    primary_key: str | list[str] | None = None
    load: LoadMode | None = None
    cursor: str | None = None
    columns: dict[str, str] | None = Field(None, description="column name -> DuckDB type")
    endpoint: str | None = None
    table: str | None = Field(None, description="postgres: schema.table")
    subjects: dict[str, str | SubjectLink] | None = Field(
        None, description="data-subject key -> the column holding it, or a link via another entity"
    )


class SourceSpec(_Shared):
    name: str
    type: SourceType | None = None
    entities: list[EntitySpec] = Field(min_length=1)


class SourcesFile(_Strict):
    version: Literal[1] | None = None
    sources: list[SourceSpec]


def _fields(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model whose mapping holds the key at ``loc`` (for "did you mean")."""
    model: type[BaseModel] | None = SourcesFile
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        model = {
            (SourcesFile, "sources"): SourceSpec,
            (SourceSpec, "entities"): EntitySpec,
        }.get((model, part)) or (
            Pagination if part == "pagination" else Auth if part == "auth" else None
        )
    return model


def _where(data: Any, loc: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """ "source 'erp' entity 'orders'" for a location, and the rest of the location."""
    words: list[str] = []
    node = data
    rest = list(loc)
    for kind in ("source", "entity"):
        if len(rest) < 2 or rest[0] not in ("sources", "entities") or not isinstance(rest[1], int):
            break
        try:
            node = node[rest[0]][rest[1]]
        except (KeyError, IndexError, TypeError):
            break
        name = node.get("name") if isinstance(node, dict) else None
        words.append(f"{kind} {name!r}" if isinstance(name, str) else f"{rest[0]}[{rest[1]}]")
        rest = rest[2:]
    return " ".join(words), tuple(rest)


# Problems ingestion.config words itself (with the allowed values): left to it.
_SEMANTIC = {"format", "load", "type", "schema", "entities"}


def _own(err: Any) -> bool:
    last = next((p for p in reversed(err["loc"]) if isinstance(p, str) and "[" not in p), "")
    return not (err["type"] in {"literal_error", "too_short"} and last in _SEMANTIC)


def describe(error: ValidationError, data: Any) -> str | None:
    """The first problem, on one line, naming the entry and the key."""
    errors = [e for e in error.errors(include_url=False) if _own(e)]
    if not errors:
        return None
    first = errors[0]
    loc = tuple(first["loc"])
    # A union reports one error per branch: drop pydantic's branch names.
    loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in _BRANCHES)))
    where, rest = _where(data, loc)
    key = ".".join(str(p) for p in rest) or "(top level)"
    prefix = f"{where}: " if where else ""
    if first["type"] == "extra_forbidden":
        model = _model_at(loc)
        hint = difflib.get_close_matches(str(loc[-1]), _fields(model), n=1) if model else []
        known = f" (did you mean {hint[0]!r}?)" if hint else ""
        return f"{prefix}unknown key {str(loc[-1])!r}{known}"
    value = first.get("input")
    shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    return f"{prefix}{key}: {first['msg'].lower()} (got {shown})"


_BRANCHES = {"str", "int", "float", "bool", "list", "dict", "Pagination", "Auth", "literal"}


def validate(data: Any) -> str | None:
    """None when ``data`` (the parsed YAML) has the right shape, else the problem."""
    try:
        SourcesFile.model_validate(data)
    except ValidationError as exc:
        return describe(exc, data)
    return None


def json_schema() -> dict[str, Any]:
    schema = SourcesFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dataops ingestion sources (sources.yml)"
    return schema


def render_schema() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(render_schema(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
