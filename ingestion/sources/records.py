"""Which JSON records DuckDB's typed reader would reject, found in SQL, with DuckDB's reason.

The NDJSON and JSON-pages readers convert each declared column with the pinned
type (``read_json(columns = ...)``); one value that does not convert fails the
whole read. :func:`problems_sql` says, over a relation of records at once,
which records would fail and why, using the reader's own conversion: a record
that the strict transform of every declared column accepts is fine (one parse;
most records), the others are checked per column (``json_transform_strict``
of the value to the type: exactly the reader's verdict for every type
``sources.yml`` allows, and a missing key is no error, as in the reader), so
those records go to quarantine and the rest loads. Only the records of a file
known to hold a bad one are checked here; clean files keep the fast path (see
:mod:`ingestion.sources.ndjson`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import duckdb

from ingestion.config import Entity
from ingestion.load.drift import normalize
from ingestion.sql import describe, literal

# Types every JSON value converts to (an object or array becomes its JSON text).
_ALWAYS = {"VARCHAR", "JSON"}
# DuckDB's message is looked up per bad value (one query each): at most this many
# per extract, the rest get a shorter reason of our own.
MAX_MESSAGES = 1000
_JSON_WORDS = {
    "ARRAY": "an array",
    "VARCHAR": "a string",
    "BIGINT": "a number",
    "UBIGINT": "a number",
    "DOUBLE": "a number",
    "BOOLEAN": "a boolean",
    "NULL": "null",
}
ERROR_CLASS = re.compile(r"^[A-Za-z ]*(Error|Exception): ")


def checked_columns(entity: Entity) -> dict[str, str]:
    """The declared columns whose conversion can fail, with their types."""
    return {c: t for c, t in entity.columns.items() if normalize(t) not in _ALWAYS}


def message(exc: duckdb.Error) -> str:
    """DuckDB's message, on one line, without the error class and the echoed input."""
    text = ERROR_CLASS.sub("", describe(exc))
    return text.split("  Input: ")[0].strip()


@dataclass
class Reasons:
    """DuckDB's reason for a bad value or line, asked of DuckDB (cached, bounded)."""

    con: duckdb.DuckDBPyConnection
    asked: int = 0
    cache: dict[tuple[str, str], str] = field(default_factory=dict)

    def _ask(self, sql: str, params: list[object], key: tuple[str, str], fallback: str) -> str:
        if key in self.cache:
            return self.cache[key]
        if self.asked >= MAX_MESSAGES:
            return fallback
        self.asked += 1
        try:
            self.con.execute(sql, params).fetchall()
        except duckdb.Error as exc:
            reason = message(exc)
        else:  # not expected: the checks below said it fails
            reason = fallback
        self.cache[key] = reason
        return reason

    def conversion(self, column: str, type_: str, value: str) -> str:
        """``column c: <DuckDB's message>`` for a JSON value that does not convert."""
        message = self._ask(
            "select json_transform_strict(?::json, ?)",
            [value, json.dumps(type_)],
            (type_, value),
            f"value {value[:200]} does not convert to {type_}",
        )
        return f"column {column}: {message}"

    def malformed(self, line: str) -> str:
        """DuckDB's parser message for text that is not JSON."""
        return self._ask(
            "select ?::json", [line], ("", line), "malformed JSON (not a JSON document)"
        )


def problems_sql(entity: Entity, relation: str, record: str, key: str) -> str:
    """SQL over ``relation`` giving its bad records only.

    Columns: ``key`` (the caller's record id), ``kind`` (the JSON type of the
    record, NULL when it is not JSON), ``keys`` (its keys), ``failed`` (the
    1-based positions in :func:`checked_columns` of the values that do not
    convert) and ``vals`` (those columns' values, as JSON).
    """
    columns = checked_columns(entity)
    paths = "[" + ", ".join(literal("$." + json.dumps(c)) for c in columns) + "]"
    checks = [
        f"case when vals[{i}] is not null and json_type(vals[{i}]) <> 'NULL' and "
        f"try(json_transform_strict(vals[{i}], {literal(json.dumps(t))})) is null then {i} end"
        for i, t in enumerate(columns.values(), start=1)
    ]
    failed = f"list_filter([{', '.join(checks)}], x -> x is not null)" if checks else "[]::int[]"
    values = f"try(json_extract({record}, {paths}))" if columns else "[]::json[]"
    declared = "[" + ", ".join(literal(c) for c in entity.columns) + "]::varchar[]"
    # the reader rejects a record that repeats a declared key (others it ignores)
    mine = f"list_filter(keys, k -> list_contains({declared}, k))"
    # A record the strict transform of all declared columns accepts is one the reader
    # accepts (it is stricter: a missing key fails it too): one parse, and only the
    # rest, few as a rule, get the per-column checks (materialized: they run on those).
    everything = literal(json.dumps(entity.columns))
    prefilter = f"try(json_transform_strict({record}, {everything})) is null"
    return (
        f"with __candidates as materialized (select * from {relation} "
        f"where {prefilter if entity.columns else 'true'}) "
        f"select {key}, kind, keys, failed, vals from (select *, {failed} as failed from ("
        f"select {key}, kind, case when kind = 'OBJECT' then try(json_keys({record})) end "
        f"as keys, case when kind = 'OBJECT' then {values} end as vals from (select *, "
        f"try(json_type({record})) as kind from __candidates))) "
        f"where kind is distinct from 'OBJECT' or len({mine}) <> len(list_distinct({mine})) "
        "or len(failed) > 0"
    )


def reasons(
    entity: Entity,
    ask: Reasons,
    kind: str | None,
    keys: list[str] | None,
    failed: list[int],
    vals: list[str | None] | None,
    text: str,
) -> str:
    """The quarantine reason of one bad record (from one :func:`problems_sql` row)."""
    if kind is None:
        return ask.malformed(text)
    if kind != "OBJECT":
        return f"a record must be a JSON object, not {_JSON_WORDS.get(kind, kind.lower())}"
    columns = list(checked_columns(entity).items())
    parts = []
    declared = set(entity.columns)
    repeated = sorted({k for k in keys or [] if k in declared and keys.count(k) > 1})
    parts += [f"duplicate key {json.dumps(k)}" for k in repeated]
    for i in failed:
        column, type_ = columns[i - 1]
        assert vals is not None and vals[i - 1] is not None
        parts.append(ask.conversion(column, type_, vals[i - 1]))
    return "; ".join(parts) or "a record the reader rejects"
