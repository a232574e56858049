"""`dataops privacy find`: every relation, column and file that holds a data subject."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ingestion.config import Entity, SourcesConfig, SubjectColumn
from ingestion.erasure import ERASED, RawRelation, predicate, raw_relations, table_columns
from ingestion.errors import IngestionError
from ingestion.warehouse import quote
from tooling.errors import DataOpsError, UsageError
from tooling.privacy.subject_lineage import lineage_columns

# Tables of our own that never hold subject data (and must survive an erase).
OWN_TABLES = {ERASED, "dataops_meta.privacy_requests"}


@dataclass(frozen=True)
class Subject:
    key: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Subject:
        key, sep, value = text.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise UsageError(f"--subject {text!r} must be KEY=VALUE, e.g. customer_id=42")
        return cls(key, value)


@dataclass
class Hit:
    """One place holding the subject: a relation of a DuckDB file, or a file."""

    kind: str  # raw | quarantine | deleted | model | snapshot | seed | table | monitoring | ci | ci-sample | landing
    relation: str  # schema.table, or a path for files
    columns: list[str]
    rows: int
    node: str | None = None
    materialized: str | None = None
    database: str = "warehouse"  # warehouse | monitoring | ci | file
    entity: Entity | None = field(default=None, repr=False)
    where: str | None = field(default=None, repr=False)
    params: list[object] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "relation": self.relation,
            "database": self.database,
            "columns": self.columns,
            "rows": self.rows,
            "node": self.node,
            "materialized": self.materialized,
        }


@dataclass
class Findings:
    subject: Subject
    hits: list[Hit]
    linked: dict[str, list[str]]  # scope -> values of linked keys (kept in memory only)

    @property
    def total_rows(self) -> int:
        return sum(h.rows for h in self.hits if h.kind != "landing")

    def relations(self) -> list[Hit]:
        return [h for h in self.hits if h.kind not in ("landing", "ci-sample")]


def value_matcher(subject: Subject, linked: dict[str, list[str]]):
    """Match a column against the subject's value, or a link's values."""

    def match(column_sql: str, sub: SubjectColumn) -> tuple[str, list[object]]:
        if sub.via is None:
            return f"cast({column_sql} as varchar) = ?", [subject.value]
        return (
            f"list_contains(cast(? as varchar[]), cast({column_sql} as varchar))",
            [linked.get(sub.scope, [])],
        )

    return match


def any_match(match, columns: list[tuple[str, SubjectColumn]]) -> tuple[str, list[object]]:
    """One predicate true when any of ``columns`` holds the subject, and its parameters."""
    parts, params = [], []
    for column, sub in columns:
        sql, p = match(quote(column), sub)
        parts.append(sql)
        params += p
    return "(" + " or ".join(parts) + ")", params


def _entities(config: SourcesConfig) -> list[Entity]:
    return [e for s in config.sources for e in s.entities]


def check_key(config: SourcesConfig, subject: Subject) -> None:
    keys = sorted({sub.key for e in _entities(config) for sub in e.subjects})
    if subject.key not in keys:
        known = ", ".join(keys) or "none: add `subjects:` to the entities that hold one"
        raise UsageError(
            f"unknown subject key '{subject.key}' (declared in {config.path}: {known})"
        )


def linked_values(
    con: duckdb.DuckDBPyConnection, config: SourcesConfig, subject: Subject
) -> dict[str, list[str]]:
    """For every link (``via`` entity, column): the values of the subject's rows there."""
    by_name = {f"{e.source}.{e.name}": e for e in _entities(config)}
    out: dict[str, list[str]] = {}
    for ent in _entities(config):
        for sub in ent.subjects:
            if sub.via is None or sub.key != subject.key or sub.scope in out:
                continue
            target = by_name[sub.via]
            values: set[str] = set()
            for rel in raw_relations(con, target):
                if rel.kind != "table" or sub.column.lower() not in _lower(con, rel):
                    continue
                pred = predicate(con, rel, value_matcher(subject, {}), key=subject.key)
                if pred is None:
                    continue
                where, params = pred
                rows = con.execute(
                    f"select distinct cast({quote(sub.column)} as varchar) from "
                    f"{quote(rel.schema)}.{quote(rel.table)} where {where} "
                    f"and {quote(sub.column)} is not null",
                    params,
                ).fetchall()
                values |= {r[0] for r in rows}
            out[sub.scope] = sorted(values)
    return out


def _lower(con: duckdb.DuckDBPyConnection, rel: RawRelation) -> set[str]:
    return {c.lower() for c in table_columns(con, rel.schema, rel.table)}


def _count(con: duckdb.DuckDBPyConnection, relation: str, where: str, params: list) -> int:
    row = con.execute(f"select count(*) from {relation} where {where}", params).fetchone()
    return int(row[0]) if row else 0


def _raw_hits(
    con: duckdb.DuckDBPyConnection,
    config: SourcesConfig,
    subject: Subject,
    linked: dict[str, list[str]],
    root: Path | None,
) -> list[Hit]:
    match = value_matcher(subject, linked)
    hits = []
    kinds = {"table": "raw", "quarantine": "quarantine", "deleted": "deleted"}
    for ent in _entities(config):
        for rel in raw_relations(con, ent):
            pred = predicate(con, rel, match, key=subject.key, root=root)
            if pred is None:
                continue
            where, params = pred
            cols = [s.column for s in ent.subjects if s.key == subject.key]
            hits.append(
                Hit(
                    kind=kinds[rel.kind],
                    relation=rel.name,
                    columns=cols if rel.kind != "quarantine" else ["_record"],
                    rows=_count(con, f"{quote(rel.schema)}.{quote(rel.table)}", where, params),
                    materialized="table",
                    entity=ent,
                    where=where,
                    params=params,
                )
            )
    return hits


def _manifest_relations(manifest: dict[str, Any]) -> dict[str, tuple[str, str, str, str]]:
    """unique_id -> (schema, identifier, resource_type, materialized) of built relations."""
    out = {}
    for uid, node in (manifest.get("nodes") or {}).items():
        rtype = node.get("resource_type")
        if rtype not in ("model", "snapshot", "seed"):
            continue
        mat = (node.get("config") or {}).get("materialized") or rtype
        if mat == "ephemeral" or not (node.get("config") or {}).get("enabled", True):
            continue
        ident = node.get("alias") or node.get("identifier") or node.get("name")
        out[uid] = (str(node.get("schema")), str(ident), str(rtype), str(mat))
    return out


def _dbt_hits(
    con: duckdb.DuckDBPyConnection,
    manifest: dict[str, Any],
    catalog: dict[str, Any] | None,
    config: SourcesConfig,
    subject: Subject,
    linked: dict[str, list[str]],
) -> list[Hit]:
    match = value_matcher(subject, linked)
    derived = lineage_columns(manifest, catalog, _entities(config), subject.key)
    direct = SubjectColumn(key=subject.key, column=subject.key)
    hits = []
    for uid, (schema, ident, rtype, mat) in sorted(_manifest_relations(manifest).items()):
        present = {c.lower(): c for c in table_columns(con, schema, ident)}
        if not present:
            continue  # not built in this warehouse
        cols: dict[str, SubjectColumn] = {}
        for col, sub in derived.get(uid, {}).items():
            if col.lower() in present:
                cols[present[col.lower()]] = sub
        if subject.key.lower() in present:  # by name, where lineage cannot tell
            cols.setdefault(present[subject.key.lower()], direct)
        if not cols:
            continue
        where, params = any_match(match, sorted(cols.items()))
        hits.append(
            Hit(
                kind=rtype,
                relation=f"{schema}.{ident}",
                columns=sorted(cols),
                rows=_count(con, f"{quote(schema)}.{quote(ident)}", where, params),
                node=uid,
                materialized=mat,
                where=where,
                params=params,
            )
        )
    return hits


def _named_hits(
    con: duckdb.DuckDBPyConnection,
    subject: Subject,
    linked: dict[str, list[str]],
    config: SourcesConfig,
    *,
    skip: set[str],
    kind: str,
    database: str,
) -> list[Hit]:
    """Tables of a DuckDB file with a column named like the key (or a link column)."""
    link_columns = {
        sub.column.lower(): sub
        for e in _entities(config)
        for sub in e.subjects
        if sub.via is not None and sub.key == subject.key
    }
    match = value_matcher(subject, linked)
    rows = con.execute(
        # base tables only: views are recomputed from them (and a CI file's views
        # name a production catalog that is not attached here)
        "select c.schema_name, c.table_name, list(c.column_name order by c.column_index) "
        "from duckdb_columns() as c join duckdb_tables() as t on t.database_name = "
        "c.database_name and t.schema_name = c.schema_name and t.table_name = c.table_name "
        "where c.database_name = current_database() group by all"
    ).fetchall()
    hits = []
    for schema, table, columns in sorted(rows):
        name = f"{schema}.{table}"
        if name in skip or name in OWN_TABLES:
            continue
        parts, params, used = [], [], []
        for col in columns:
            sub = (
                SubjectColumn(key=subject.key, column=col)
                if col.lower() == subject.key.lower()
                else link_columns.get(col.lower())
            )
            if sub is None:
                continue
            sql, p = match(quote(col), sub)
            parts.append(sql)
            params += p
            used.append(col)
        if not parts:
            continue
        where = "(" + " or ".join(parts) + ")"
        hits.append(
            Hit(
                kind=kind,
                relation=name,
                columns=used,
                rows=_count(con, f"{quote(schema)}.{quote(table)}", where, params),
                materialized="table",
                database=database,
                where=where,
                params=params,
            )
        )
    return hits


def sample_matches(value: Any, subject: Subject, linked_cols: dict[str, set[str]]) -> int:
    """Sample rows in a JSON document (CI diff samples) that hold the subject."""
    if isinstance(value, list):
        return sum(sample_matches(v, subject, linked_cols) for v in value)
    if not isinstance(value, dict):
        return 0
    lower = {str(k).lower(): v for k, v in value.items()}
    own = (
        str(lower.get(subject.key.lower())) == subject.value
        if subject.key.lower() in lower
        else False
    )
    linked = any(col in lower and str(lower[col]) in values for col, values in linked_cols.items())
    if own or linked:
        return 1
    return sum(sample_matches(v, subject, linked_cols) for v in value.values())


def _linked_by_column(config: SourcesConfig, subject: Subject, linked: dict[str, list[str]]):
    out: dict[str, set[str]] = {}
    for e in _entities(config):
        for sub in e.subjects:
            if sub.via is not None and sub.key == subject.key:
                out.setdefault(sub.column.lower(), set()).update(linked.get(sub.scope, []))
    return out


def _ci_sample_hits(ci_dir: Path, config, subject, linked) -> list[Hit]:
    hits = []
    cols = _linked_by_column(config, subject, linked)
    for path in sorted(ci_dir.glob("*.json")) if ci_dir.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        count = sample_matches(data, subject, cols)
        if count:
            hits.append(Hit("ci-sample", str(path), [subject.key], count, database="file"))
    return hits


def landing_hits(
    config: SourcesConfig, landing_root: Path, subject: Subject, linked: dict[str, list[str]]
) -> list[Hit]:
    """Landing files that still hold the subject (ours to list, not to change)."""
    from ingestion.sources.files import find_files

    hits = []
    con = duckdb.connect(":memory:")
    try:
        for ent in _entities(config):
            subs = [s for s in ent.subjects if s.key == subject.key]
            if ent.kind != "files" or not subs:
                continue
            try:
                files = find_files(ent, landing_root)
            except IngestionError:  # an unreadable landing folder lists nothing
                continue
            if not files:
                continue
            counts = _files_rows(con, ent, [f.path for f in files], subs, subject, linked)
            for file in files:
                rows = counts.get(str(file.path), 0)
                if rows:
                    hits.append(
                        Hit(
                            "landing",
                            file.relative,
                            [s.column for s in subs],
                            rows,
                            database="file",
                            entity=ent,
                        )
                    )
    finally:
        con.close()
    return hits


def _scan(ent: Entity, paths: list[Path]) -> str:
    """One reader over ``paths`` with a ``filename`` column (schemas merged by name)."""
    lit = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"
    if ent.format == "csv":
        return f"read_csv({lit}, all_varchar = true, header = true, union_by_name = true, filename = true)"
    if ent.format == "ndjson":
        return (
            f"read_json({lit}, format = 'newline_delimited', union_by_name = true, filename = true)"
        )
    if ent.format == "json_pages":
        return (
            f"(select filename, unnest({quote(ent.record_path or 'data')}, max_depth := 2) "
            f"from read_json({lit}, union_by_name = true, filename = true))"
        )
    return f"read_parquet({lit}, union_by_name = true, filename = true)"


def _files_rows(con, ent: Entity, paths: list[Path], subs, subject: Subject, linked) -> dict:
    """Rows matching the subject per file: one scan of all the entity's files (a file
    per query cost ~30 s for 200 files at scale 2); a file DuckDB cannot read with the
    others is then counted alone, and an unreadable one counts 0."""
    match = value_matcher(subject, linked)
    where, params = any_match(match, [(sub.column, sub) for sub in subs])

    def count(batch: list[Path]) -> dict[str, int]:
        sql = f"select filename, count(*) from {_scan(ent, batch)} where {where} group by 1"
        return {str(name): int(n) for name, n in con.execute(sql, params).fetchall()}

    try:
        return count(paths)
    except duckdb.Error:
        counts: dict[str, int] = {}
        for path in paths:
            try:
                counts.update(count([path]))
            except duckdb.Error:
                continue
        return counts


def find(
    con: duckdb.DuckDBPyConnection,
    config: SourcesConfig,
    subject: Subject,
    *,
    manifest: dict[str, Any] | None,
    catalog: dict[str, Any] | None = None,
    landing_root: Path | None = None,
    others: dict[str, Path] | None = None,
    ci_dir: Path | None = None,
    linked: dict[str, list[str]] | None = None,
) -> Findings:
    """Every place holding ``subject``. ``linked`` (from an earlier find) lets a
    check after an erase look for the linked rows whose parent rows are gone.

    ``others`` maps a kind (monitoring, ci) to another DuckDB file to search.
    """
    check_key(config, subject)
    if linked is None:
        linked = linked_values(con, config, subject)
    hits = _raw_hits(con, config, subject, linked, landing_root)
    if manifest is not None:
        hits += _dbt_hits(con, manifest, catalog, config, subject, linked)
    skip = {h.relation for h in hits}
    skip |= {
        f"{e.schema}.{t}" for e in _entities(config) for t in (e.name, e.quarantine, e.tombstones)
    }
    hits += _named_hits(con, subject, linked, config, skip=skip, kind="table", database="warehouse")
    for kind, path in (others or {}).items():
        if not path.is_file():
            continue
        try:
            other = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            raise DataOpsError(
                f"cannot open {path} to search it: {str(exc).splitlines()[0]}"
            ) from None
        try:
            hits += _named_hits(
                other, subject, linked, config, skip=set(), kind=kind, database=kind
            )
        finally:
            other.close()
    if ci_dir is not None:
        hits += _ci_sample_hits(ci_dir, config, subject, linked)
    if landing_root is not None:
        hits += landing_hits(config, landing_root, subject, linked)
    return Findings(subject=subject, hits=hits, linked=linked)
