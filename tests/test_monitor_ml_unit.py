"""Unit tests of the model-monitoring checks on a real store file, no dbt run."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tooling.monitor import ml
from tooling.monitor.config import MonitorConfig
from tooling.monitor.store import open_store

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_psi_by_hand() -> None:
    reference, current = [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]
    by_hand = (0.2 - 0.5) * math.log(0.2 / 0.5) + 0 + (0.5 - 0.2) * math.log(0.5 / 0.2)
    assert ml.psi(reference, current) == pytest.approx(by_hand)
    assert ml.psi(reference, reference) == 0
    # an empty bin is floored, not a division by zero
    assert ml.psi([1.0, 0.0], [0.5, 0.5]) == pytest.approx(
        (0.5 - 1.0) * math.log(0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    )
    with pytest.raises(ValueError, match="bins differ"):
        ml.psi([1.0], [0.5, 0.5])


def test_models_are_found_by_their_meta_only() -> None:
    manifest = {
        "nodes": {
            "model.p.runs": {
                "resource_type": "model",
                "relation_name": '"db"."s"."runs"',
                "config": {"meta": {"dataops_ml": {"role": "training_runs"}}},
            },
            "model.p.scores": {
                "resource_type": "model",
                "relation_name": '"db"."s"."scores"',
                "config": {"meta": {"dataops_ml": {"role": "scores", "score_column": "p"}}},
            },
            "model.p.other": {"resource_type": "model", "relation_name": "x", "config": {}},
        }
    }
    assert ml.ml_models(manifest) == [
        ("model.p.runs", "training_runs", '"db"."s"."runs"', None),
        ("model.p.scores", "scores", '"db"."s"."scores"', "p"),
    ]


def _run(con, run_id: str, minutes: int) -> None:
    started = T0 + timedelta(minutes=minutes)
    con.execute(
        "insert into runs (run_id, command, started_at, finished_at, duration_s, status) "
        "values (?, 'build', ?, ?, 1, 'success')",
        [run_id, started, started],
    )


def test_drift_findings_threshold_and_minimum_rows(tmp_path: Path) -> None:
    con = open_store(tmp_path / "m.duckdb")
    config = MonitorConfig(store=tmp_path / "m.duckdb", psi_threshold=0.25, drift_min_rows=100)
    _run(con, "r1", 0)
    con.execute(
        "insert into feature_drift values ('r1', 'model.p.runs', 'a', 0.4, 500, 500), "
        "('r1', 'model.p.runs', 'b', 0.1, 500, 500), ('r1', 'model.p.runs', 'c', 0.9, 50, 500)"
    )
    for b in range(10):  # scores: first run all in bin 0 ...
        con.execute(
            "insert into score_bins values ('r1', 'model.p.scores', ?, ?, ?)",
            [b, 1.0 if b == 0 else 0.0, 300 if b == 0 else 0],
        )
    first = {(f.check_name, f.key): f for f in ml.evaluate(con, "r1", config)}
    assert first[("feature_drift", "model.p.runs:a")].status == "fail"
    assert (
        "feature a of runs drifted: PSI 0.400" in first[("feature_drift", "model.p.runs:a")].detail
    )
    assert first[("feature_drift", "model.p.runs:b")].status == "ok"
    assert first[("feature_drift", "model.p.runs:c")].status == "insufficient_history"
    assert first[("score_drift", "model.p.scores")].status == "insufficient_history"
    _run(con, "r2", 10)
    for b in range(10):  # ... then all in bin 9: drift against the previous run
        con.execute(
            "insert into score_bins values ('r2', 'model.p.scores', ?, ?, ?)",
            [b, 1.0 if b == 9 else 0.0, 300 if b == 9 else 0],
        )
    (second,) = [f for f in ml.evaluate(con, "r2", config) if f.check_name == "score_drift"]
    assert second.status == "fail" and second.value == pytest.approx(
        ml.psi([1.0] + [0.0] * 9, [0.0] * 9 + [1.0])
    )
    con.close()
