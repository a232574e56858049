"""Checks over the run history: volume anomalies, freshness, failing tests, slow models.

The statistics are plain functions (unit-tested on their own); ``evaluate``
reads the history a run needs from the store and returns one ``Finding`` per
thing it looked at, ``ok`` or ``fail``. Observations whose own check failed (an
incident) are left out of later baselines, so a bad load cannot widen the band
that is meant to catch the next one.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import duckdb

from tooling.monitor.config import MonitorConfig

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this estimates its sigma

VOLUME = "volume_anomaly"
FRESHNESS = "freshness"
FAILING_TEST = "failing_test"
NODE_ERROR = "node_error"
SLOW_MODEL = "slow_model"
RUN_ERROR = "run_error"

FAILED_TEST_STATUSES = ("fail", "error", "runtime error")


@dataclass(frozen=True)
class Finding:
    check_name: str
    key: str
    status: str  # ok | fail | insufficient_history
    severity: str  # warn | error
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    detail: str = ""

    @property
    def fingerprint(self) -> str:
        return f"{self.check_name}:{self.key}"


@dataclass(frozen=True)
class Band:
    median: float
    lower: float
    upper: float


def robust_band(
    history: list[float], *, k: float, min_relative: float, min_absolute: float
) -> Band:
    """median +/- max(k * 1.4826 * MAD, min_relative * |median|, min_absolute)."""
    median = statistics.median(history)
    mad = statistics.median(abs(x - median) for x in history)
    half = max(k * MAD_TO_SIGMA * mad, min_relative * abs(median), min_absolute)
    return Band(median=median, lower=median - half, upper=median + half)


def volume_finding(
    key: str, value: float, history: list[float], config: MonitorConfig, what: str
) -> Finding:
    if len(history) < config.min_history:
        return Finding(
            VOLUME,
            key,
            "insufficient_history",
            "warn",
            value,
            detail=f"{what}: {len(history)} earlier run(s), {config.min_history} needed",
        )
    band = robust_band(
        history,
        k=config.mad_k,
        min_relative=config.min_relative_band,
        min_absolute=config.min_absolute_band,
    )
    inside = band.lower <= value <= band.upper
    change = (value - band.median) / band.median * 100 if band.median else 0.0
    detail = (
        f"{what}: {value:,.0f} rows, expected {max(band.lower, 0):,.0f}..{band.upper:,.0f} "
        f"(median {band.median:,.0f} of {len(history)} runs, {change:+.0f}%)"
    )
    return Finding(
        VOLUME, key, "ok" if inside else "fail", "warn", value, band.lower, band.upper, detail
    )


def slow_finding(key: str, seconds: float, history: list[float], config: MonitorConfig) -> Finding:
    if len(history) < config.min_history:
        return Finding(SLOW_MODEL, key, "insufficient_history", "warn", seconds)
    median = statistics.median(history)
    limit = max(median * config.slow_factor, config.slow_min_seconds)
    slow = seconds > limit
    detail = (
        f"{key} took {seconds:.2f}s, {seconds / median if median else 0:.1f}x its median "
        f"{median:.2f}s (limit {limit:.2f}s)"
    )
    return Finding(SLOW_MODEL, key, "fail" if slow else "ok", "warn", seconds, None, limit, detail)


def _baseline(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[object], window: int
) -> dict[str, list[float]]:
    """key -> the last `window` values of earlier runs, incidents left out."""
    out: dict[str, list[float]] = {}
    for key, value in con.execute(sql, params).fetchall():
        bucket = out.setdefault(key, [])
        if len(bucket) < window and value is not None:
            bucket.append(float(value))
    return out


def evaluate(con: duckdb.DuckDBPyConnection, run_id: str, config: MonitorConfig) -> list[Finding]:
    findings: list[Finding] = []
    started = con.execute(
        "select started_at, command, error from runs where run_id = ?", [run_id]
    ).fetchone()
    assert started is not None
    run_started, command, run_error = started
    # A run that stopped before dbt wrote its artifacts (ingestion or compilation failed).
    if run_error:
        first_line = run_error.splitlines()[0] if run_error.strip() else run_error
        findings.append(
            Finding(RUN_ERROR, command, "fail", "error", detail=f"{command} failed: {first_line}")
        )
    else:
        findings.append(Finding(RUN_ERROR, command, "ok", "error"))

    # Volume of each load (rows of a loaded batch) against earlier loads of the entity.
    current_loads = con.execute(
        """
        select 'load:' || source || '.' || entity as key, sum(rows_loaded)
        from load_batches where run_id = ? and status = 'loaded' group by 1
        """,
        [run_id],
    ).fetchall()
    load_history = _baseline(
        con,
        """
        select 'load:' || b.source || '.' || b.entity as key, sum(b.rows_loaded) as v
        from load_batches b join runs r using (run_id)
        where r.started_at < ? and b.status = 'loaded'
          and not exists (
              select 1 from check_results c
              where c.run_id = b.run_id and c.check_name = ? and c.status = 'fail'
                and c.key = 'load:' || b.source || '.' || b.entity)
        group by 1, r.run_id, r.started_at order by r.started_at desc
        """,
        [run_started, VOLUME],
        config.window,
    )
    for key, value in current_loads:
        findings.append(
            volume_finding(
                key,
                float(value or 0),
                load_history.get(key, []),
                config,
                f"load {key.removeprefix('load:')}",
            )
        )

    # Row counts of the tracked tables.
    current_tables = con.execute(
        "select 'table:' || unique_id, row_count from table_rows where run_id = ?", [run_id]
    ).fetchall()
    table_history = _baseline(
        con,
        """
        select 'table:' || t.unique_id as key, t.row_count
        from table_rows t join runs r using (run_id)
        where r.started_at < ?
          and not exists (
              select 1 from check_results c
              where c.run_id = t.run_id and c.check_name = ? and c.status = 'fail'
                and c.key = 'table:' || t.unique_id)
        order by r.started_at desc
        """,
        [run_started, VOLUME],
        config.window,
    )
    for key, value in current_tables:
        findings.append(
            volume_finding(
                key,
                float(value),
                table_history.get(key, []),
                config,
                f"table {key.removeprefix('table:').rsplit('.', 1)[-1]}",
            )
        )

    # Freshness recorded with this run.
    for uid, status, age, err in con.execute(
        "select unique_id, status, age_s, error from source_freshness where run_id = ?", [run_id]
    ).fetchall():
        if status in ("pass",):
            findings.append(Finding(FRESHNESS, uid, "ok", "warn", age))
            continue
        severity = "warn" if status == "warn" else "error"
        hours = f"{age / 3600:.1f}h since the last load" if age is not None else (err or status)
        findings.append(
            Finding(
                FRESHNESS,
                uid,
                "fail",
                severity,
                age,
                detail=f"source {uid.split('.', 2)[-1]} is stale ({status}): {hours}",
            )
        )

    # Tests failing N runs in a row; other nodes that errored.
    current_nodes = con.execute(
        "select unique_id, resource_type, status, message, failures, execution_time "
        "from node_results where run_id = ?",
        [run_id],
    ).fetchall()
    failing_tests = [
        n for n in current_nodes if n[1] in ("test", "unit_test") and n[2] in FAILED_TEST_STATUSES
    ]
    streaks: dict[str, int] = {}
    if failing_tests and config.failing_test_runs > 1:
        previous = con.execute(
            """
            select n.unique_id, n.status from node_results n join runs r using (run_id)
            where r.started_at < ? and n.unique_id in (select unnest(?::varchar[]))
            order by r.started_at desc
            """,
            [run_started, [n[0] for n in failing_tests]],
        ).fetchall()
        broken: set[str] = set()
        for uid, status in previous:
            if uid in broken:
                continue
            if status in FAILED_TEST_STATUSES:
                streaks[uid] = streaks.get(uid, 0) + 1
            elif status not in ("skipped",):
                broken.add(uid)
    for uid, rtype, status, message, failures, _seconds in current_nodes:
        if rtype in ("test", "unit_test"):
            if status in FAILED_TEST_STATUSES:
                runs = streaks.get(uid, 0) + 1
                state = "fail" if runs >= config.failing_test_runs else "ok"
                what = f"{failures} failing row(s)" if failures else (message or status)
                findings.append(
                    Finding(
                        FAILING_TEST,
                        uid,
                        state,
                        "error",
                        float(runs),
                        detail=f"test {uid.split('.')[2] if uid.count('.') >= 2 else uid} "
                        f"failed {runs} run(s) in a row: {what}",
                    )
                )
            elif status in ("pass", "success", "warn"):
                findings.append(Finding(FAILING_TEST, uid, "ok", "error", 0.0))
        elif status == "error":
            findings.append(
                Finding(
                    NODE_ERROR,
                    uid,
                    "fail",
                    "error",
                    detail=f"{rtype} {uid.rsplit('.', 1)[-1]} errored: "
                    f"{(message or '').splitlines()[0] if message else 'error'}",
                )
            )
        elif status == "success":
            findings.append(Finding(NODE_ERROR, uid, "ok", "error"))

    # Models slower than their median.
    models = [
        (n[0], float(n[5] or 0)) for n in current_nodes if n[1] == "model" and n[2] == "success"
    ]
    if models:
        slow_history = _baseline(
            con,
            """
            select n.unique_id, n.execution_time
            from node_results n join runs r using (run_id)
            where r.started_at < ? and n.resource_type = 'model' and n.status = 'success'
              and not exists (
                  select 1 from check_results c
                  where c.run_id = n.run_id and c.check_name = ? and c.status = 'fail'
                    and c.key = n.unique_id)
            order by r.started_at desc
            """,
            [run_started, SLOW_MODEL],
            config.window,
        )
        for uid, seconds in models:
            findings.append(slow_finding(uid, seconds, slow_history.get(uid, []), config))
    return findings
