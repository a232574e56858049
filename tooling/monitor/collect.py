"""Read what a run left behind: dbt's artifacts and the warehouse's load audit.

Plain functions that take paths and return rows; nothing here prints or
writes. Only artifacts (``run_results.json``, ``sources.json``,
``manifest.json``) and the warehouse are read: no on-run-end hooks.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from ingestion.redact import redact
from tooling.artifacts import read_json

LOAD_BATCHES = "dataops_meta.load_batches"


@dataclass
class NodeRow:
    unique_id: str
    resource_type: str
    name: str
    status: str
    execution_time: float
    rows_affected: int | None
    failures: int | None
    message: str | None


@dataclass
class RunArtifacts:
    invocation_id: str | None = None
    dbt_version: str | None = None
    target: str | None = None
    nodes: list[NodeRow] = field(default_factory=list)
    error: str | None = None


def read_run_artifacts(target_dir: Path) -> RunArtifacts:
    data = read_json(
        target_dir / "run_results.json", what="run_results.json", hint="run a dbt build first"
    )
    meta = data.get("metadata") or {}
    args = data.get("args") or {}
    out = RunArtifacts(
        invocation_id=meta.get("invocation_id"),
        dbt_version=meta.get("dbt_version"),
        target=args.get("target"),
    )
    for item in data.get("results", []):
        uid = str(item.get("unique_id", ""))
        response = item.get("adapter_response") or {}
        rows = response.get("rows_affected")
        out.nodes.append(
            NodeRow(
                unique_id=uid,
                resource_type=uid.split(".", 1)[0],
                name=uid.rsplit(".", 1)[-1],
                status=str(item.get("status")),
                execution_time=float(item.get("execution_time") or 0.0),
                rows_affected=int(rows) if isinstance(rows, int) and rows >= 0 else None,
                failures=item.get("failures"),
                message=item.get("message"),
            )
        )
    return out


@dataclass
class FreshnessRow:
    unique_id: str
    source_name: str
    table_name: str
    status: str
    max_loaded_at: datetime | None
    snapshotted_at: datetime | None
    age_s: float | None
    error: str | None


def _ts(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def read_freshness(target_dir: Path) -> tuple[str | None, list[FreshnessRow]] | None:
    """sources.json of the last `dbt source freshness`, or None when there is none."""
    path = target_dir / "sources.json"
    if not path.is_file():
        return None
    data = read_json(path, what="sources.json", hint="run `dbt source freshness`")
    rows = []
    for item in data.get("results", []):
        uid = str(item.get("unique_id", ""))
        parts = uid.split(".")
        rows.append(
            FreshnessRow(
                unique_id=uid,
                source_name=parts[-2] if len(parts) >= 2 else uid,
                table_name=parts[-1],
                status=str(item.get("status")),
                max_loaded_at=_ts(item.get("max_loaded_at")),
                snapshotted_at=_ts(item.get("snapshotted_at")),
                age_s=item.get("max_loaded_at_time_ago_in_s"),
                error=item.get("error")
                or (item.get("message") if item.get("status") == "runtime error" else None),
            )
        )
    return (data.get("metadata") or {}).get("invocation_id"), rows


def copy_load_batches(con: duckdb.DuckDBPyConnection, alias: str, run_id: str) -> int:
    """Copy the batches of the load-audit table not recorded yet; return how many."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where database_name = ? "
        "and schema_name = 'dataops_meta' and table_name = 'load_batches'",
        [alias],
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    before = con.execute("select count(*) from load_batches").fetchone()
    con.execute(
        f"""
        insert into load_batches
        select ?, b.batch_id, b.source, b.entity, b.load_mode, b.status,
               coalesce(len(b.files), 0), b.skipped_files, b.rows_loaded,
               b.started_at, b.finished_at, b.error
        from {alias}.{LOAD_BATCHES} as b
        where b.batch_id not in (select batch_id from load_batches)
        order by b.started_at
        """,
        [run_id],
    )
    # Errors written before redaction existed (or by an older toolkit) are cleaned here.
    for batch_id, error in con.execute(
        "select batch_id, error from load_batches where run_id = ? and error is not null",
        [run_id],
    ).fetchall():
        if redact(error) != error:
            con.execute(
                "update load_batches set error = ? where run_id = ? and batch_id = ?",
                [redact(error), run_id, batch_id],
            )
    after = con.execute("select count(*) from load_batches").fetchone()
    return int(after[0]) - int(before[0]) if after and before else 0


def tracked_relations(
    manifest: dict[str, Any], materializations: tuple[str, ...]
) -> list[tuple[str, str]]:
    """(unique_id, relation_name) of the models whose row counts are tracked."""
    out = []
    for uid, node in (manifest.get("nodes") or {}).items():
        if node.get("resource_type") != "model":
            continue
        if (node.get("config") or {}).get("materialized") not in materializations:
            continue
        if node.get("relation_name"):
            out.append((uid, str(node["relation_name"])))
    return sorted(out)


def copy_row_counts(
    con: duckdb.DuckDBPyConnection, alias: str, run_id: str, relations: list[tuple[str, str]]
) -> int:
    """Record the row counts of the tracked relations that exist (one query)."""
    existing = {
        (schema.lower(), name.lower())
        for schema, name in con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = ?",
            [alias],
        ).fetchall()
    }
    present = []
    for uid, relation in relations:
        parts = [p.strip('"') for p in relation.split(".")]
        if len(parts) < 2 or (parts[-2].lower(), parts[-1].lower()) not in existing:
            continue
        present.append((uid, relation, f'{alias}."{parts[-2]}"."{parts[-1]}"'))
    if not present:
        return 0
    union = " union all ".join(
        f"select ? as run_id, ? as unique_id, ? as relation, count(*) as row_count from {ref}"
        for _, _, ref in present
    )
    params: list[object] = []
    for uid, relation, _ in present:
        params += [run_id, uid, relation]
    con.execute(f"insert into table_rows {union}", params)
    return len(present)


def git_commit(root: Path) -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None
