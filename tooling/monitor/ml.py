"""Model monitoring: metrics per training run, feature drift and score drift.

Works on any dbt project whose models say what they are in ``meta``:

- ``meta: {dataops_ml: {role: training_runs}}``: a table with one row per training
  run (the newest by ``trained_at`` is this run's): holdout metrics (``roc_auc``,
  ``log_loss``, ``brier_score``, ``calibration_error``, the same with ``baseline_``),
  ``training_rows``, ``model_hash``, ``data_fingerprint`` and ``feature_profile``, a
  JSON object per feature with the reference population's (the training run's) and
  the current (scored) population's shares over the same bins;
- ``meta: {dataops_ml: {role: scores, score_column: <column>}}``: the published scores.

When such a model ran successfully in the recorded run, its newest training row is
copied into the store (``model_runs``) with the population stability index of every
feature (``feature_drift``); the scores' distribution over ten equal-width bins is
stored (``score_bins``) and compared with the previous run's. A PSI above
``psi_threshold`` opens a ``feature_drift`` incident naming the feature, or a
``score_drift`` incident for the scores.
"""

from __future__ import annotations

import json
import math
from typing import Any

import duckdb

from tooling.monitor.checks import Finding
from tooling.monitor.collect import NodeRow
from tooling.monitor.config import MonitorConfig
from tooling.monitor.store import insert_rows

FEATURE_DRIFT = "feature_drift"
SCORE_DRIFT = "score_drift"
SCORE_BINS = 10
PSI_FLOOR = 1e-4  # share used for an empty bin, so that log(0) never occurs

METRIC_COLUMNS = (
    "trained_at",
    "roc_auc",
    "log_loss",
    "brier_score",
    "calibration_error",
    "baseline_roc_auc",
    "baseline_log_loss",
    "baseline_brier_score",
    "baseline_calibration_error",
    "training_rows",
    "model_hash",
    "data_fingerprint",
)


def psi(reference: list[float], current: list[float], floor: float = PSI_FLOOR) -> float:
    """Population stability index: sum over bins of (current - reference) * ln(current / reference)."""
    if len(reference) != len(current):
        raise ValueError(f"bins differ: {len(reference)} reference vs {len(current)} current")
    total = 0.0
    for ref, cur in zip(reference, current, strict=True):
        ref, cur = max(float(ref), floor), max(float(cur), floor)
        total += (cur - ref) * math.log(cur / ref)
    return total


def ml_models(manifest: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    """(unique_id, role, relation_name, score_column) of the models carrying dataops_ml meta."""
    out = []
    for uid, node in (manifest.get("nodes") or {}).items():
        if node.get("resource_type") != "model" or not node.get("relation_name"):
            continue
        meta = (node.get("config") or {}).get("meta") or node.get("meta") or {}
        spec = meta.get("dataops_ml")
        if isinstance(spec, dict) and spec.get("role") in ("training_runs", "scores"):
            column = spec.get("score_column")
            out.append((uid, str(spec["role"]), str(node["relation_name"]), column))
    return sorted(out)


def _in_catalog(alias: str, relation: str) -> str:
    parts = [p.strip('"') for p in relation.split(".")]
    return f'{alias}."{parts[-2]}"."{parts[-1]}"'


def copy_model_runs(
    con: duckdb.DuckDBPyConnection,
    alias: str,
    run_id: str,
    manifest: dict[str, Any],
    nodes: list[NodeRow],
) -> int:
    """Record the ML models built in this run; returns the training runs recorded."""
    built = {n.unique_id for n in nodes if n.status == "success"}
    recorded = 0
    for uid, role, relation, score_column in ml_models(manifest):
        if uid not in built:
            continue
        table = _in_catalog(alias, relation)
        if role == "training_runs":
            recorded += _copy_training_run(con, table, run_id, uid)
        elif score_column:
            _copy_score_bins(con, table, run_id, uid, score_column)
    return recorded


def _copy_training_run(con: duckdb.DuckDBPyConnection, table: str, run_id: str, uid: str) -> int:
    cursor = con.execute(f"select * from {table} order by trained_at desc limit 1")
    row = cursor.fetchone()
    if row is None:
        return 0
    names = [d[0] for d in cursor.description or []]
    values = dict(zip(names, row, strict=True))
    insert_rows(con, "model_runs", [[run_id, uid, *(values.get(c) for c in METRIC_COLUMNS)]])
    profile = json.loads(values.get("feature_profile") or "{}")
    drift = []
    for feature, spec in sorted(profile.items()):
        value = psi(spec["reference"], spec["current"])
        drift.append(
            [run_id, uid, feature, value, spec.get("reference_rows"), spec.get("current_rows")]
        )
    insert_rows(con, "feature_drift", drift)
    return 1


def _copy_score_bins(
    con: duckdb.DuckDBPyConnection, table: str, run_id: str, uid: str, column: str
) -> None:
    quoted = '"' + column.replace('"', '""') + '"'
    con.execute(
        f"""
        insert into score_bins
        select ?, ?, b.bin, coalesce(s.n, 0) / greatest(sum(coalesce(s.n, 0)) over (), 1),
               coalesce(s.n, 0)
        from range({SCORE_BINS}) b(bin)
        left join (
            select least(greatest(floor({quoted} * {SCORE_BINS}), 0), {SCORE_BINS - 1})::bigint
                       as bin,
                   count(*) as n
            from {table} where {quoted} is not null group by 1
        ) s using (bin)
        """,
        [run_id, uid],
    )


def evaluate(con: duckdb.DuckDBPyConnection, run_id: str, config: MonitorConfig) -> list[Finding]:
    """Feature drift of this run's training rows and score drift against the previous run."""
    findings: list[Finding] = []
    for uid, feature, value, ref_rows, cur_rows in con.execute(
        "select unique_id, feature, psi, reference_rows, current_rows from feature_drift "
        "where run_id = ? order by unique_id, feature",
        [run_id],
    ).fetchall():
        key = f"{uid}:{feature}"
        if min(ref_rows or 0, cur_rows or 0) < config.drift_min_rows:
            findings.append(Finding(FEATURE_DRIFT, key, "insufficient_history", "warn", value))
            continue
        drifted = value > config.psi_threshold
        detail = (
            f"feature {feature} of {uid.rsplit('.', 1)[-1]} drifted: PSI {value:.3f} > "
            f"{config.psi_threshold} (scored population of {cur_rows} vs the training run's "
            f"{ref_rows})"
        )
        findings.append(
            Finding(
                FEATURE_DRIFT,
                key,
                "fail" if drifted else "ok",
                "warn",
                value,
                upper=config.psi_threshold,
                detail=detail if drifted else "",
            )
        )
    started = con.execute("select started_at from runs where run_id = ?", [run_id]).fetchone()
    for (uid,) in con.execute(
        "select distinct unique_id from score_bins where run_id = ?", [run_id]
    ).fetchall():
        current = _bins(con, run_id, uid)
        previous_run = con.execute(
            """
            select s.run_id from score_bins s join runs r using (run_id)
            where s.unique_id = ? and r.started_at < ? order by r.started_at desc limit 1
            """,
            [uid, started[0] if started else None],
        ).fetchone()
        if previous_run is None or sum(n for _, n in current) < config.drift_min_rows:
            findings.append(Finding(SCORE_DRIFT, uid, "insufficient_history", "warn"))
            continue
        previous = _bins(con, previous_run[0], uid)
        value = psi([s for s, _ in previous], [s for s, _ in current])
        drifted = value > config.psi_threshold
        findings.append(
            Finding(
                SCORE_DRIFT,
                uid,
                "fail" if drifted else "ok",
                "warn",
                value,
                upper=config.psi_threshold,
                detail=(
                    f"scores of {uid.rsplit('.', 1)[-1]} drifted: PSI {value:.3f} > "
                    f"{config.psi_threshold} against the previous run"
                )
                if drifted
                else "",
            )
        )
    return findings


def _bins(con: duckdb.DuckDBPyConnection, run_id: str, uid: str) -> list[tuple[float, int]]:
    return [
        (float(share), int(rows))
        for share, rows in con.execute(
            "select share, rows from score_bins where run_id = ? and unique_id = ? order by bin",
            [run_id, uid],
        ).fetchall()
    ]
