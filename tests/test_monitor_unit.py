"""Monitoring without dbt: fixture artifacts, real DuckDB files, a real HTTP server.

Each test writes dbt-shaped ``run_results.json`` files and load-audit rows
(through the ingestion loader's own table definition) and calls
``record_run`` as `dataops build` does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import hold_duckdb_lock
from pytest_httpserver import HTTPServer
from werkzeug import Response

from ingestion.results import EntityResult
from ingestion.state import BATCHES, ensure_meta_tables
from tooling.errors import UsageError
from tooling.monitor import record_run
from tooling.monitor.alerts import mask_url, post
from tooling.monitor.checks import MAD_TO_SIGMA, robust_band
from tooling.monitor.config import MonitorConfig
from tooling.monitor.config import load as load_monitor_config
from tooling.monitor.history import History
from tooling.monitor.html_report import render_html
from tooling.settings import Settings

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
SECRET_PATH = "/services/T1/B2/very-secret"


class Project:
    """A tmp 'project': a target folder, a warehouse and a store; one run per call."""

    def __init__(self, root: Path, **config: Any) -> None:
        self.root = root
        self.target = root / "target"
        self.target.mkdir(parents=True)
        self.warehouse = root / "warehouse.duckdb"
        self.settings = Settings(
            root=root,
            project_dir=root,
            warehouse=self.warehouse,
            sources=root / "sources.yml",
            landing_root=root,
        )
        self.config = MonitorConfig(store=root / "monitoring.duckdb", **config)
        self.runs = 0
        with duckdb.connect(str(self.warehouse)) as con:
            ensure_meta_tables(con)

    def run(
        self,
        *,
        loads: dict[str, int] | None = None,
        nodes: dict[str, tuple[str, float]] | None = None,
        freshness: dict[str, str] | None = None,
    ) -> Any:
        started = T0 + timedelta(hours=self.runs)
        self.runs += 1
        results = [
            {
                "unique_id": uid,
                "status": status,
                "execution_time": seconds,
                "adapter_response": {"rows_affected": 1},
                "failures": 3 if status == "fail" else 0,
                "message": None,
            }
            for uid, (status, seconds) in (nodes or {}).items()
        ]
        (self.target / "run_results.json").write_text(
            json.dumps(
                {
                    "metadata": {"invocation_id": f"inv-{self.runs}", "dbt_version": "1.11.0"},
                    "results": results,
                    "elapsed_time": 1.0,
                    "args": {"target": "dev"},
                }
            )
        )
        if freshness is not None:
            (self.target / "sources.json").write_text(
                json.dumps(
                    {
                        "metadata": {"invocation_id": f"fresh-{self.runs}"},
                        "results": [
                            {
                                "unique_id": uid,
                                "status": status,
                                "max_loaded_at": started.isoformat(),
                                "snapshotted_at": started.isoformat(),
                                "max_loaded_at_time_ago_in_s": 3600.0
                                * (72 if status == "error" else 1),
                            }
                            for uid, status in freshness.items()
                        ],
                    }
                )
            )
        with duckdb.connect(str(self.warehouse)) as con:
            for i, (entity, rows) in enumerate((loads or {}).items()):
                source, name = entity.split(".")
                con.execute(
                    f"insert into {BATCHES} (batch_id, source, entity, load_mode, status, files, "
                    "skipped_files, rows_loaded, started_at, finished_at, error) "
                    "values (?, ?, ?, 'append', 'loaded', ['f.csv'], 0, ?, ?, ?, null)",
                    [f"b{self.runs}-{i}", source, name, rows, started, started],
                )
        return record_run(
            self.settings,
            command="build",
            started_at=started,
            finished_at=started + timedelta(seconds=30),
            status="success",
            target_dir=self.target,
            ingested=None,
            config=self.config,
        )


def test_robust_band_matches_median_and_mad_computed_by_hand() -> None:
    # sorted: 96 98 99 [100] 101 104 130; deviations 0 1 1 [2] 4 4 30: the outlier 130
    # moves neither the median (100) nor the MAD (2)
    history = [100.0, 104.0, 96.0, 101.0, 99.0, 130.0, 98.0]
    band = robust_band(history, k=3.0, min_relative=0.0, min_absolute=0.0)
    assert band.median == 100.0
    assert band.lower == pytest.approx(100 - 3 * 1.4826 * 2)
    assert band.upper == pytest.approx(100 + 3 * MAD_TO_SIGMA * 2)
    # the floors widen a band whose MAD is zero
    flat = robust_band([50.0] * 5, k=3.0, min_relative=0.3, min_absolute=10.0)
    assert (flat.lower, flat.upper) == (35.0, 65.0)


def test_a_load_with_90_percent_fewer_rows_is_an_incident_once(tmp_path: Path) -> None:
    proj = Project(tmp_path)
    for rows in (1000, 980, 1030):
        outcome = proj.run(loads={"erp.orders": rows})
        assert outcome.recorded and not outcome.new_incidents
    low = proj.run(loads={"erp.orders": 100})
    assert [(n.check_name, n.key) for n in low.new_incidents] == [
        ("volume_anomaly", "load:erp.orders")
    ]
    assert "100 rows" in low.new_incidents[0].detail
    again = proj.run(loads={"erp.orders": 90})  # unchanged incident: not new again
    assert again.new_incidents == [] and again.open_incidents == 1
    back = proj.run(loads={"erp.orders": 1010})
    assert [n.key for n in back.resolved_incidents] == ["load:erp.orders"]
    assert back.open_incidents == 0


def test_incident_runs_are_left_out_of_the_baseline(tmp_path: Path) -> None:
    """A window of 3: with the low loads in the baseline, the third low load would
    look normal (median of [100, 100, 100]); left out, it is still an anomaly."""
    proj = Project(tmp_path, window=3, min_history=3)
    for _ in range(3):
        proj.run(loads={"events.events": 1000})
    opened = [proj.run(loads={"events.events": 100}) for _ in range(4)]
    assert len(opened[0].new_incidents) == 1
    assert all(o.open_incidents == 1 and not o.resolved_incidents for o in opened)
    with duckdb.connect(str(proj.config.store), read_only=True) as con:
        flagged = con.execute(
            "select count(*) from check_results where check_name = 'volume_anomaly' "
            "and status = 'fail'"
        ).fetchone()[0]
    assert flagged == 4


def test_tests_failing_n_runs_in_a_row(tmp_path: Path) -> None:
    proj = Project(tmp_path, failing_test_runs=2)
    test_id = "test.proj.not_null_orders_id.abc"
    model = "model.proj.orders"
    first = proj.run(nodes={test_id: ("fail", 0.1), model: ("success", 0.1)})
    assert first.new_incidents == []  # one failure is not yet N=2 in a row
    second = proj.run(nodes={test_id: ("fail", 0.1), model: ("success", 0.1)})
    assert [(n.check_name, n.key) for n in second.new_incidents] == [("failing_test", test_id)]
    assert "3 failing row(s)" in second.new_incidents[0].detail
    fixed = proj.run(nodes={test_id: ("pass", 0.1), model: ("success", 0.1)})
    assert [n.key for n in fixed.resolved_incidents] == [test_id]


def test_models_slower_than_their_median(tmp_path: Path) -> None:
    proj = Project(tmp_path, slow_factor=2.0, slow_min_seconds=0.5)
    model = "model.proj.big_table"
    for seconds in (1.0, 1.2, 0.9):
        assert proj.run(nodes={model: ("success", seconds)}).new_incidents == []
    # limit: 2 x median(1.0, 1.2, 0.9) = 2.0s
    assert proj.run(nodes={model: ("success", 1.9)}).new_incidents == []
    slow = proj.run(nodes={model: ("success", 5.0)})
    assert [(n.check_name, n.key) for n in slow.new_incidents] == [("slow_model", model)]


def test_freshness_breaches_and_errors_of_models(tmp_path: Path) -> None:
    proj = Project(tmp_path)
    out = proj.run(
        nodes={"model.proj.broken": ("error", 0.1)},
        freshness={"source.proj.erp.orders": "pass", "source.proj.events.events": "error"},
    )
    kinds = sorted((n.check_name, n.key, n.severity) for n in out.new_incidents)
    assert kinds == [
        ("freshness", "source.proj.events.events", "error"),
        ("node_error", "model.proj.broken", "error"),
    ]
    # the same sources.json is not recorded twice
    again = proj.run(nodes={"model.proj.broken": ("success", 0.1)})
    assert again.counts["freshness"] == 0
    assert [n.check_name for n in again.resolved_incidents] == ["node_error"]
    assert again.open_incidents == 1


def test_a_store_locked_by_another_process_is_skipped_not_waited_for(tmp_path: Path) -> None:
    proj = Project(tmp_path)
    proj.run(loads={"erp.orders": 10})
    with hold_duckdb_lock(proj.config.store):
        outcome = proj.run(loads={"erp.orders": 10})
    assert not outcome.recorded
    assert outcome.skipped_reason and "locked" in outcome.skipped_reason
    assert outcome.summary().startswith("monitoring: recording skipped:")
    assert outcome.seconds < 5  # no lock wait


def test_webhook_retries_with_backoff_and_masks_the_url(httpserver: HTTPServer) -> None:
    calls: list[int] = []

    def flaky(request: Any) -> Response:
        calls.append(1)
        return Response("busy", status=503) if len(calls) < 3 else Response("ok", status=200)

    httpserver.expect_request(SECRET_PATH, method="POST").respond_with_handler(flaky)
    url = httpserver.url_for(SECRET_PATH)
    delivery = post(url, {"text": "hi", "dataops": {"kind": "alert"}}, attempts=3, backoff=0.01)
    assert delivery.delivered and delivery.attempts == 3 and len(calls) == 3
    assert json.loads(httpserver.log[-1][0].get_data()) == {
        "text": "hi",
        "dataops": {"kind": "alert"},
    }
    masked = mask_url(url)
    assert "very-secret" not in masked and masked.startswith("http://localhost")


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_webhook_waits_as_long_as_retry_after_asks(httpserver: HTTPServer, form: str) -> None:
    # The backoff alone would wait 0.01 s; the webhook asks for about 2 s
    # (an HTTP-date has whole seconds, so it is 2 s from now rounded up).
    import time
    from email.utils import format_datetime

    arrived: list[float] = []

    def limited(request: Any) -> Response:
        arrived.append(time.monotonic())
        if len(arrived) > 1:
            return Response("ok", status=200)
        later = datetime.now(UTC) + timedelta(seconds=3)
        ask = "2" if form == "seconds" else format_datetime(later, usegmt=True)
        return Response("slow down", status=429, headers={"Retry-After": ask})

    httpserver.expect_request(SECRET_PATH, method="POST").respond_with_handler(limited)
    delivery = post(httpserver.url_for(SECRET_PATH), {"text": "hi"}, attempts=3, backoff=0.01)
    assert delivery.delivered and delivery.attempts == 2
    assert arrived[1] - arrived[0] >= 1.5


def test_webhook_caps_a_long_retry_after_and_gives_up_on_a_client_error(
    httpserver: HTTPServer,
) -> None:
    calls: list[int] = []

    def handler(request: Any) -> Response:
        calls.append(1)
        if len(calls) == 1:
            return Response("later", status=503, headers={"Retry-After": "3600"})
        return Response("no", status=403)

    httpserver.expect_request(SECRET_PATH, method="POST").respond_with_handler(handler)
    url = httpserver.url_for(SECRET_PATH)
    delivery = post(url, {"text": "hi"}, attempts=5, backoff=0.01, max_wait=0.2)
    assert (delivery.delivered, delivery.attempts, delivery.error) == (False, 2, "HTTP 403")
    assert len(calls) == 2


def test_an_unreachable_webhook_never_fails_the_recording(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}{SECRET_PATH}"
    proj = Project(tmp_path, webhook_attempts=2, webhook_backoff_seconds=0.01)
    proj.config = MonitorConfig(**{**proj.config.__dict__, "webhook": url})
    out = proj.run(nodes={"model.proj.broken": ("error", 0.1)})
    assert out.recorded and out.alert is not None
    assert not out.alert.delivered and out.alert.attempts == 2
    text = out.summary()
    assert "NOT delivered" in text and "very-secret" not in text and url not in text


def test_report_html_has_one_point_per_run_and_series() -> None:
    runs = [
        {
            "run_id": f"r{i}",
            "command": "build",
            "target": "dev",
            "git_commit": None,
            "started_at": T0 + timedelta(hours=i),
            "duration_s": 10.0 + i,
            "status": "success",
        }
        for i in range(4)
    ]
    data = History(
        runs=runs,
        slowest_models=[("model.p.a", 2.0), ("model.p.b", 1.0)],
        test_pass_rate=[100.0, 90.0, None, 100.0],
        table_rows={"model.p.a": [1.0, 2.0, 3.0, 4.0], "model.p.b": [5.0, None, 5.0, 5.0]},
        freshness=[("source.p.s.t", 2.0, "pass")],
    )
    html = render_html(data)
    assert html.count('class="point"') == 4 + 3 + 7
    assert html.count('class="bar"') == 2 + 1
    assert "no open incidents" in html


def test_batches_come_from_the_loader_when_the_warehouse_cannot_be_opened(
    tmp_path: Path,
) -> None:
    proj = Project(tmp_path)
    proj.warehouse.unlink()  # e.g. held by another process, or not a DuckDB target
    (proj.target / "run_results.json").write_text(json.dumps({"results": []}))
    loaded = EntityResult("erp", "orders", "merge", "loaded", "b-1", ["a.csv", "b.csv"], 0, 42)
    out = record_run(
        proj.settings,
        command="build",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=5),
        status="success",
        target_dir=proj.target,
        ingested=[loaded],
        config=proj.config,
    )
    assert out.recorded and out.counts["load batches"] == 1
    with duckdb.connect(str(proj.config.store), read_only=True) as con:
        assert con.execute(
            "select batch_id, source, entity, files, rows_loaded from load_batches"
        ).fetchall() == [("b-1", "erp", "orders", 2, 42)]


def test_monitor_config_precedence_and_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        root=tmp_path,
        project_dir=tmp_path,
        warehouse=tmp_path / "wh" / "dataops.duckdb",
        sources=tmp_path / "s.yml",
        landing_root=tmp_path,
        tool_config={"monitor": {"webhook": "http://from-config/x", "window": 5}},
    )
    monkeypatch.delenv("DATAOPS_ALERT_WEBHOOK", raising=False)
    monkeypatch.delenv("DATAOPS_MONITOR_STORE", raising=False)
    config = load_monitor_config(settings)
    assert config.store == tmp_path / "wh" / "monitoring.duckdb"
    assert config.window == 5 and config.webhook == "http://from-config/x"
    monkeypatch.setenv("DATAOPS_ALERT_WEBHOOK", "http://from-env/y")
    assert load_monitor_config(settings).webhook == "http://from-env/y"
    assert load_monitor_config(settings, webhook="http://cli/z").webhook == "http://cli/z"
    bad = Settings(**{**settings.__dict__, "tool_config": {"monitor": {"windoww": 3}}})
    with pytest.raises(UsageError, match="unknown key 'windoww'"):
        load_monitor_config(bad)
    wrong = Settings(**{**settings.__dict__, "tool_config": {"monitor": {"freshness": "no"}}})
    with pytest.raises(UsageError, match="freshness must be a bool"):
        load_monitor_config(wrong)


def test_a_run_that_stopped_before_dbt_is_recorded_as_an_error(tmp_path: Path) -> None:
    proj = Project(tmp_path)
    proj.run(nodes={"model.proj.a": ("success", 0.1)})  # leaves a run_results.json behind
    failed = record_run(
        proj.settings,
        command="build",
        started_at=T0 + timedelta(days=1),
        finished_at=T0 + timedelta(days=1, seconds=2),
        status="error",
        target_dir=proj.target,
        ingested=None,
        config=proj.config,
        error="dbt build failed: Compilation Error in model a",
    )
    assert failed.recorded and failed.counts["nodes"] == 0  # the stale artifact is ignored
    assert [(n.check_name, n.key) for n in failed.new_incidents] == [("run_error", "build")]
    assert "Compilation Error" in failed.new_incidents[0].detail
    proj.runs = 30  # the next run starts later
    fixed = proj.run(nodes={"model.proj.a": ("success", 0.1)})
    assert [n.check_name for n in fixed.resolved_incidents] == ["run_error"]
    with duckdb.connect(str(proj.config.store), read_only=True) as con:
        assert con.execute(
            "select status, error is not null from runs order by started_at"
        ).fetchall() == [("success", False), ("error", True), ("success", False)]
