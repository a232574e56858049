"""Read the monitoring store: open incidents, and the history the report charts."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from tooling.errors import DataOpsError
from tooling.monitor.store import StoreLocked, open_store


@dataclass
class Incident:
    incident_id: str
    check_name: str
    key: str
    severity: str
    detail: str
    opened_at: str
    opened_run: str
    last_run: str


@dataclass
class History:
    runs: list[dict[str, Any]] = field(default_factory=list)
    slowest_models: list[tuple[str, float]] = field(default_factory=list)
    test_pass_rate: list[float | None] = field(default_factory=list)
    table_rows: dict[str, list[float | None]] = field(default_factory=dict)
    freshness: list[tuple[str, float, str]] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    # ML models: holdout metrics per run, and the newest run's PSI per feature
    model_metrics: dict[str, list[float | None]] = field(default_factory=dict)
    feature_psi: list[tuple[str, float]] = field(default_factory=list)


def connect_read(store: Path) -> duckdb.DuckDBPyConnection:
    if not store.is_file():
        raise DataOpsError(
            f"no monitoring store at {store}; run `dataops build` first (it records every run)"
        )
    try:
        return open_store(store, read_only=True)
    except StoreLocked as exc:
        raise DataOpsError(f"{exc}; retry when the build has finished") from None
    except duckdb.Error as exc:
        raise DataOpsError(f"cannot read monitoring store {store}: {exc}") from None


def open_incidents(con: duckdb.DuckDBPyConnection) -> list[Incident]:
    rows = con.execute(
        """
        select incident_id, check_name, key, severity, coalesce(detail, ''),
               strftime(opened_at, '%Y-%m-%d %H:%M:%S'), opened_run, last_run
        from incidents where closed_run is null
        order by case severity when 'error' then 0 else 1 end, opened_at, key
        """
    ).fetchall()
    return [Incident(*r) for r in rows]


def incidents_as_dicts(incidents: list[Incident]) -> list[dict[str, Any]]:
    return [asdict(i) for i in incidents]


def history(con: duckdb.DuckDBPyConnection, *, last: int = 50, top: int = 10) -> History:
    out = History()
    runs = con.execute(
        """
        select * from (
            select run_id, command, target, git_commit, started_at, duration_s, status
            from runs order by started_at desc limit ?
        ) order by started_at
        """,
        [last],
    ).fetchall()
    keys = ("run_id", "command", "target", "git_commit", "started_at", "duration_s", "status")
    out.runs = [dict(zip(keys, r, strict=True)) for r in runs]
    run_ids = [r["run_id"] for r in out.runs]
    if not run_ids:
        return out
    index = {rid: i for i, rid in enumerate(run_ids)}

    rates = dict(
        con.execute(
            """
            select run_id,
                   count(*) filter (where status = 'pass') / count(*)
            from node_results
            where resource_type in ('test', 'unit_test') and status not in ('skipped', 'no-op')
              and run_id in (select unnest(?::varchar[]))
            group by run_id
            """,
            [run_ids],
        ).fetchall()
    )
    out.test_pass_rate = [
        round(100 * float(rates[rid]), 2) if rid in rates else None for rid in run_ids
    ]

    times: dict[str, list[float]] = {}
    for uid, seconds in con.execute(
        """
        select unique_id, execution_time from node_results
        where resource_type = 'model' and status = 'success'
          and run_id in (select unnest(?::varchar[]))
        """,
        [run_ids],
    ).fetchall():
        times.setdefault(uid, []).append(float(seconds or 0))
    medians = sorted(((uid, statistics.median(v)) for uid, v in times.items()), key=lambda t: -t[1])
    out.slowest_models = medians[:top]

    for rid, uid, count in con.execute(
        "select run_id, unique_id, row_count from table_rows "
        "where run_id in (select unnest(?::varchar[])) order by unique_id",
        [run_ids],
    ).fetchall():
        series = out.table_rows.setdefault(uid, [None] * len(run_ids))
        series[index[rid]] = float(count)

    out.freshness = [
        (uid, float(age or 0) / 3600, status)
        for uid, age, status in con.execute(
            """
            select unique_id, age_s, status from source_freshness
            where run_id = (
                select f.run_id from source_freshness f join runs r using (run_id)
                order by r.started_at desc limit 1)
            order by unique_id
            """
        ).fetchall()
    ]
    out.incidents = open_incidents(con)
    _model_history(con, out, run_ids, index)
    return out


def _model_history(
    con: duckdb.DuckDBPyConnection, out: History, run_ids: list[str], index: dict[str, int]
) -> None:
    """Holdout metrics of each recorded training run, and the newest run's feature PSI."""
    metrics = ("roc_auc", "baseline_roc_auc", "calibration_error")
    for row in con.execute(
        f"select run_id, unique_id, {', '.join(metrics)} from model_runs "
        "where run_id in (select unnest(?::varchar[])) order by unique_id",
        [run_ids],
    ).fetchall():
        name = row[1].rsplit(".", 1)[-1]
        for metric, value in zip(metrics, row[2:], strict=True):
            series = out.model_metrics.setdefault(f"{name} {metric}", [None] * len(run_ids))
            series[index[row[0]]] = None if value is None else round(float(value), 4)
    out.feature_psi = [
        (f"{uid.rsplit('.', 1)[-1]}.{feature}", float(value))
        for uid, feature, value in con.execute(
            """
            select unique_id, feature, psi from feature_drift
            where run_id = (
                select f.run_id from feature_drift f join runs r using (run_id)
                order by r.started_at desc limit 1)
            order by unique_id, feature
            """
        ).fetchall()
    ]
