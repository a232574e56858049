"""Serve a subject's erasure (Art. 17) and access (Art. 15) requests. Never prints.

Erase, in this order, each step safe to repeat:

1. tombstones (keyed hashes of the subject and of its linked keys, never the
   values) in one transaction: from here on ingestion keeps the subject out;
2. one transaction per raw table (table, quarantine, deleted keys): delete the
   subject's rows, or anonymise them (``erasure: anonymise``: the subject and
   PII columns set to NULL, the row kept for counts);
3. the materialised dbt relations that hold the subject (tables, incremental
   models, snapshots with their history, seeds) and other tables of the
   warehouse, the monitoring store and the CI warehouse: delete its rows;
4. the materialised models downstream of the erased raw tables that do not hold
   the subject themselves (aggregates) are rebuilt with dbt (``--full-refresh``);
5. verify: every relation found is queried again (with the linked keys found
   before the erase) and must hold zero rows;
6. an audit record in ``dataops_meta.privacy_requests``: the subject's keyed
   hash, times, relations and row counts, the verification result. No key, no PII.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ingestion.config import SourcesConfig
from ingestion.erasure import (
    ERASED,
    ensure_erased_table,
    privacy_key,
    subject_hash,
)
from ingestion.warehouse import connect, quote
from tooling.errors import DataOpsError
from tooling.privacy.find import Findings, Hit, Subject, find, sample_matches

AUDIT = "dataops_meta.privacy_requests"
AUDIT_COLUMNS = (
    "request_id varchar, kind varchar, subject_hash varchar, requested_at timestamptz, "
    "finished_at timestamptz, relations json, rows_total bigint, verified boolean, "
    "landing_files json, rebuilt json"
)
MUTABLE = {"raw", "quarantine", "deleted", "model", "snapshot", "seed", "table", "monitoring", "ci"}


@dataclass
class Context:
    """What a request needs: the warehouse, the config, the project's artifacts."""

    warehouse: Path
    config: SourcesConfig
    manifest: dict[str, Any] | None
    catalog: dict[str, Any] | None
    landing_root: Path | None
    others: dict[str, Path] = field(default_factory=dict)  # kind -> DuckDB file
    ci_dir: Path | None = None

    def find(
        self, con: duckdb.DuckDBPyConnection, subject: Subject, linked=None, *, landing=True
    ) -> Findings:
        return find(
            con,
            self.config,
            subject,
            manifest=self.manifest,
            catalog=self.catalog,
            landing_root=self.landing_root if landing else None,
            others=self.others,
            ci_dir=self.ci_dir,
            linked=linked,
        )


@dataclass
class EraseResult:
    request_id: str
    subject_hash: str
    before: Findings
    after: Findings | None
    rebuilt: list[str]
    dry_run: bool
    seconds: float = 0.0

    @property
    def verified(self) -> bool:
        return self.after is not None and self.after.total_rows == 0

    @property
    def landing_files(self) -> list[str]:
        # Landing files are not ours to change: the search before the erase lists them.
        return [h.relation for h in self.before.hits if h.kind == "landing"]


def _ensure_audit(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists dataops_meta")
    con.execute(f"create table if not exists {AUDIT} ({AUDIT_COLUMNS})")


def _audit(
    con: duckdb.DuckDBPyConnection,
    *,
    request_id: str,
    kind: str,
    digest: str,
    started: datetime,
    hits: list[Hit],
    verified: bool | None,
    landing: list[str],
    rebuilt: list[str],
) -> None:
    _ensure_audit(con)
    relations = [
        {"relation": h.relation, "database": h.database, "kind": h.kind, "rows": h.rows}
        for h in hits
        if h.kind not in ("landing",)
    ]
    con.execute(
        f"insert into {AUDIT} values (?, ?, ?, ?, now(), ?, ?, ?, ?, ?)",
        [
            request_id,
            kind,
            digest,
            started,
            json.dumps(relations),
            sum(r["rows"] for r in relations),
            verified,
            json.dumps(landing),
            json.dumps(rebuilt),
        ],
    )


def _tombstones(
    con: duckdb.DuckDBPyConnection, key: str, subject: Subject, findings: Findings, request: str
) -> None:
    ensure_erased_table(con)
    rows = [(subject_hash(key, subject.key, subject.value), subject.key)]
    for scope, values in findings.linked.items():
        rows += [(subject_hash(key, scope, v), scope) for v in values]
    con.execute("begin transaction")
    con.executemany(
        f"insert into {ERASED} select ?, ?, ?, now() where not exists "
        f"(select 1 from {ERASED} where subject_hash = ?)",
        [[digest, scope, request, digest] for digest, scope in rows],
    )
    con.execute("commit")


def _anonymise_columns(hit: Hit, pii: dict[str, set[str]]) -> list[str]:
    """Columns an ``anonymise`` policy clears: the subject columns and the PII ones."""
    assert hit.entity is not None
    cols = {s.column for s in hit.entity.subjects}
    cols |= {c for rel, names in pii.items() if rel == hit.relation for c in names}
    return sorted(cols)


def _relation_sql(hit: Hit) -> str:
    schema, _, table = hit.relation.partition(".")
    return f"{quote(schema)}.{quote(table)}"


def _erase_in(con: duckdb.DuckDBPyConnection, hit: Hit, pii: dict[str, set[str]]) -> None:
    """Delete (or anonymise) the subject's rows of one table, in one transaction."""
    assert hit.where is not None
    rel = _relation_sql(hit)
    con.execute("begin transaction")
    try:
        if hit.kind == "raw" and hit.entity is not None and hit.entity.erasure == "anonymise":
            cols = _anonymise_columns(hit, pii)
            sets = ", ".join(f"{quote(c)} = null" for c in cols)
            con.execute(f"update {rel} set {sets} where {hit.where}", hit.params)
        else:
            con.execute(f"delete from {rel} where {hit.where}", hit.params)
        con.execute("commit")
    except duckdb.Error:
        con.execute("rollback")
        raise


def raw_pii(manifest: dict[str, Any] | None, catalog) -> dict[str, set[str]]:
    """``schema.table`` of each dbt source -> its PII columns (declared or lineage)."""
    if not manifest:
        return {}
    from tooling.lineage.pii import pii_columns

    cols = pii_columns(manifest, catalog)
    out: dict[str, set[str]] = {}
    for uid, src in (manifest.get("sources") or {}).items():
        if uid in cols:
            ident = src.get("identifier") or src.get("name")
            out[f"{src.get('schema')}.{ident}"] = cols[uid]
    return out


def _rebuild_set(
    manifest: dict[str, Any], erased_sources: set[str], holders: set[str]
) -> list[str]:
    """Materialised models downstream of the erased sources that hold no subject rows."""
    child_map = manifest.get("child_map") or {}
    seen: set[str] = set()
    stack = list(erased_sources)
    while stack:
        for child in child_map.get(stack.pop(), []):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    out = []
    for uid in sorted(seen):
        node = (manifest.get("nodes") or {}).get(uid) or {}
        mat = (node.get("config") or {}).get("materialized")
        model = node.get("resource_type") == "model" and mat in ("table", "incremental")
        # Python models (ML training) are not retrained here: their rows holding the
        # subject are deleted like any other; the next build trains without it.
        if model and uid not in holders and node.get("language", "sql") == "sql":
            out.append(uid)
    return out


def _erased_sources(manifest: dict[str, Any], hits: list[Hit]) -> set[str]:
    raw = {h.relation for h in hits if h.kind == "raw" and h.rows}
    out = set()
    for uid, src in (manifest.get("sources") or {}).items():
        ident = src.get("identifier") or src.get("name")
        if f"{src.get('schema')}.{ident}" in raw:
            out.add(uid)
    return out


def _erase_other(path: Path, hits: list[Hit]) -> None:
    con = duckdb.connect(str(path))
    try:
        for hit in hits:
            _erase_in(con, hit, {})
    finally:
        con.close()


def _erase_samples(ci_dir: Path, findings: Findings, config: SourcesConfig) -> None:
    """Drop the CI diff sample rows holding the subject (the JSON files of ci/out)."""
    from tooling.privacy.find import _linked_by_column

    cols = _linked_by_column(config, findings.subject, findings.linked)

    def is_subject_row(value: Any) -> bool:  # a sample row, not a container of samples
        return (
            isinstance(value, dict)
            and not any(isinstance(x, dict | list) for x in value.values())
            and sample_matches(value, findings.subject, cols) > 0
        )

    def clean(value: Any) -> Any:
        if isinstance(value, list):
            return [clean(v) for v in value if not is_subject_row(v)]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    for hit in findings.hits:
        if hit.kind != "ci-sample":
            continue
        path = Path(hit.relation)
        data = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps(clean(data), indent=2, default=str), encoding="utf-8")


def erase(
    ctx: Context,
    subject: Subject,
    *,
    dry_run: bool = False,
    rebuild=None,
) -> EraseResult:
    """Erase ``subject`` everywhere :func:`find` sees it (see the module docstring).

    ``rebuild(unique_ids)`` runs dbt over the aggregates to rebuild; with the
    warehouse closed meanwhile (dbt opens it itself).
    """
    started_clock = time.perf_counter()
    started = datetime.now(UTC)
    key = privacy_key(why="erasure records a keyed hash of the subject (set a long random secret)")
    digest = subject_hash(key, subject.key, subject.value)
    request = uuid.uuid4().hex
    con = connect(ctx.warehouse, read_only=dry_run)
    try:
        before = ctx.find(con, subject)
        if dry_run or before.total_rows == 0:
            return EraseResult(
                request, digest, before, None, [], dry_run, time.perf_counter() - started_clock
            )
        _tombstones(con, key, subject, before, request)
        pii = raw_pii(ctx.manifest, ctx.catalog)
        order = {
            "raw": 0,
            "quarantine": 0,
            "deleted": 0,
            "snapshot": 1,
            "seed": 1,
            "model": 1,
            "table": 2,
        }
        local = [
            h for h in before.hits if h.database == "warehouse" and h.rows and h.kind in MUTABLE
        ]
        for hit in sorted(local, key=lambda h: order.get(h.kind, 3)):
            if hit.kind == "model" and hit.materialized not in ("table", "incremental"):
                continue  # a view: recomputed from what it reads
            _erase_in(con, hit, pii)
    finally:
        con.close()
    for kind, path in ctx.others.items():
        theirs = [h for h in before.hits if h.database == kind and h.rows]
        if theirs:
            _erase_other(path, theirs)
    if ctx.ci_dir is not None:
        _erase_samples(ctx.ci_dir, before, ctx.config)
    rebuilt: list[str] = []
    if ctx.manifest is not None:
        holders = {h.node for h in before.hits if h.node and h.rows}
        rebuilt = _rebuild_set(ctx.manifest, _erased_sources(ctx.manifest, before.hits), holders)
        if rebuilt and rebuild is not None:
            rebuild(rebuilt)
    con = connect(ctx.warehouse)
    try:
        after = ctx.find(con, subject, linked=before.linked, landing=False)
        result = EraseResult(request, digest, before, after, rebuilt, False)
        _audit(
            con,
            request_id=request,
            kind="erase",
            digest=digest,
            started=started,
            hits=before.hits,
            verified=result.verified,
            landing=result.landing_files,
            rebuilt=rebuilt,
        )
    finally:
        con.close()
    result.seconds = time.perf_counter() - started_clock
    return result


@dataclass
class ExportResult:
    request_id: str
    directory: Path
    files: dict[str, int]  # file written -> rows
    landing_files: list[str]


def _json_default(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def export(ctx: Context, subject: Subject, out: Path) -> ExportResult:
    """The subject's rows from every relation :func:`find` lists, one JSON file each."""
    started = datetime.now(UTC)
    key = privacy_key(why="the access request's audit record names the subject by keyed hash")
    request = uuid.uuid4().hex
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataOpsError(f"cannot write the export to {out}: {exc.strerror}") from None
    files: dict[str, int] = {}
    con = connect(ctx.warehouse, read_only=True)
    try:
        found = ctx.find(con, subject)
        for hit in found.relations():
            if not hit.rows or hit.where is None:
                continue
            if hit.database == "warehouse":
                rows = _select(con, hit)
            else:
                other = duckdb.connect(str(ctx.others[hit.database]), read_only=True)
                try:
                    rows = _select(other, hit)
                finally:
                    other.close()
            name = f"{hit.database}.{hit.relation}.json"
            (out / name).write_text(
                json.dumps(rows, indent=2, default=_json_default), encoding="utf-8"
            )
            files[name] = len(rows)
        landing = [h.relation for h in found.hits if h.kind == "landing"]
        index = {
            "subject_key": subject.key,
            "exported_at": started.isoformat(),
            "files": files,
            "landing_files_still_holding_the_subject": landing,
        }
        (out / "index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")
    finally:
        con.close()
    con = connect(ctx.warehouse)
    try:
        _audit(
            con,
            request_id=request,
            kind="export",
            digest=subject_hash(key, subject.key, subject.value),
            started=started,
            hits=found.hits,
            verified=None,
            landing=landing,
            rebuilt=[],
        )
    finally:
        con.close()
    return ExportResult(request, out, files, landing)


def _select(con: duckdb.DuckDBPyConnection, hit: Hit) -> list[dict[str, Any]]:
    cur = con.execute(f"select * from {_relation_sql(hit)} where {hit.where}", hit.params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
