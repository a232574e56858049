"""The monitoring store: its own DuckDB file, opened without waiting.

A build must never fail or wait because monitoring is locked: DuckDB refuses a
second writer at once (no lock wait), and :func:`open_store` turns that into
:class:`StoreLocked`, which the recorder reports as "recording skipped".
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import duckdb

from ingestion.redact import redact_value

_LOCK_HOLDER = re.compile(r"\(PID (?P<pid>\d+)\)")

SCHEMA = """
create table if not exists runs (
    run_id varchar primary key,
    command varchar not null,
    target varchar,
    project_dir varchar,
    git_commit varchar,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    duration_s double not null,
    status varchar not null,
    invocation_id varchar,
    dbt_version varchar,
    error varchar
);
-- The orchestrator's own id of the run (an Airflow run id), when one ran it.
alter table runs add column if not exists orchestrator_run_id varchar;
create table if not exists node_results (
    run_id varchar not null,
    unique_id varchar not null,
    resource_type varchar not null,
    name varchar,
    status varchar not null,
    execution_time double,
    rows_affected bigint,
    failures bigint,
    message varchar
);
create table if not exists source_freshness (
    run_id varchar not null,
    invocation_id varchar,
    unique_id varchar not null,
    source_name varchar,
    table_name varchar,
    status varchar not null,
    max_loaded_at timestamptz,
    snapshotted_at timestamptz,
    age_s double,
    error varchar
);
create table if not exists load_batches (
    run_id varchar not null,
    batch_id varchar not null,
    source varchar not null,
    entity varchar not null,
    load_mode varchar,
    status varchar not null,
    files integer,
    skipped_files integer,
    rows_loaded bigint,
    started_at timestamptz,
    finished_at timestamptz,
    error varchar
);
create table if not exists table_rows (
    run_id varchar not null,
    unique_id varchar not null,
    relation varchar not null,
    row_count bigint not null
);
create table if not exists check_results (
    run_id varchar not null,
    check_name varchar not null,
    key varchar not null,
    status varchar not null,
    severity varchar,
    value double,
    lower double,
    upper double,
    detail varchar
);
create table if not exists incidents (
    incident_id varchar primary key,
    check_name varchar not null,
    key varchar not null,
    severity varchar not null,
    detail varchar,
    opened_run varchar not null,
    opened_at timestamptz not null,
    last_run varchar not null,
    closed_run varchar,
    closed_at timestamptz
);
create table if not exists model_runs (
    run_id varchar not null,
    unique_id varchar not null,
    trained_at timestamp,
    roc_auc double,
    log_loss double,
    brier_score double,
    calibration_error double,
    baseline_roc_auc double,
    baseline_log_loss double,
    baseline_brier_score double,
    baseline_calibration_error double,
    training_rows bigint,
    model_hash varchar,
    data_fingerprint varchar
);
create table if not exists feature_drift (
    run_id varchar not null,
    unique_id varchar not null,
    feature varchar not null,
    psi double not null,
    reference_rows bigint,
    current_rows bigint
);
create table if not exists score_bins (
    run_id varchar not null,
    unique_id varchar not null,
    bin integer not null,
    share double not null,
    rows bigint not null
);
create table if not exists alerts (
    run_id varchar not null,
    kind varchar not null,
    delivered boolean not null,
    attempts integer not null,
    new_incidents integer not null,
    resolved_incidents integer not null,
    error varchar,
    sent_at timestamptz not null
);
"""


class StoreLocked(Exception):
    """Another process holds the monitoring store."""


def open_store(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and create) the store; raise StoreLocked at once on a lock conflict."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" in message.lower():
            holder = _LOCK_HOLDER.search(message)
            who = f" by PID {holder['pid']}" if holder else " by another process"
            raise StoreLocked(f"monitoring store {path} is locked{who}") from None
        raise
    if not read_only:
        con.execute(SCHEMA)
    return con


STORE_ALIAS = "dataops_monitor"


class Recording:
    """One DuckDB connection with the store attached as the default catalog.

    The warehouse is the connection's main database when it can be opened
    (read-only, or sharing the instance dbt-duckdb left open in this process),
    so the load audit and row counts are copied with ``insert ... select``
    inside DuckDB; ``warehouse`` is its catalog name, or None.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, warehouse: str | None, home: str) -> None:
        self.con = con
        self.warehouse = warehouse
        self._home = home

    def close(self) -> None:
        try:
            self.con.execute(f'use "{self._home}"')
            self.con.execute(f"detach {STORE_ALIAS}")
        finally:
            self.con.close()


def open_recording(store: Path, warehouse: Path) -> Recording:
    """Open the warehouse (if possible) and attach the store; StoreLocked at once if held."""
    base = None
    if warehouse.is_file():
        for read_only in (True, False):
            try:
                base = duckdb.connect(str(warehouse), read_only=read_only)
                break
            except duckdb.Error:
                continue
    warehouse_catalog = None
    if base is None:
        base = duckdb.connect(":memory:")
    home_row = base.execute("select current_database()").fetchone()
    home = str(home_row[0]) if home_row else "memory"
    if warehouse_catalog is None and home != "memory":
        warehouse_catalog = home
    store.parent.mkdir(parents=True, exist_ok=True)
    path = str(store).replace("'", "''")
    try:
        base.execute(f"attach '{path}' as {STORE_ALIAS} (read_write)")
    except duckdb.Error as exc:
        base.close()
        message = str(exc)
        if "lock" in message.lower():
            holder = _LOCK_HOLDER.search(message)
            who = f" by PID {holder['pid']}" if holder else " by another process"
            raise StoreLocked(f"monitoring store {store} is locked{who}") from None
        raise
    base.execute(f"use {STORE_ALIAS}")
    base.execute(SCHEMA)
    return Recording(base, warehouse_catalog, home)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[list[object]]) -> None:
    """Insert many rows in one statement.

    The rows travel as ONE JSON parameter that DuckDB unpacks and casts to the
    table's column types: binding thousands of parameters one by one (or
    executemany, one statement per row) costs ~15x more on a 500-model run.
    """
    if not rows:
        return
    width = len(rows[0])
    columns = ", ".join(f"r[{i + 1}]" for i in range(width))
    con.execute(
        f"insert into {table} select {columns} from ("
        """select from_json(j, '["VARCHAR"]') as r """
        """from (select unnest(from_json(?, '["JSON"]')) as j))""",
        [json.dumps(redact_value(rows), default=_json_value)],
    )


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
