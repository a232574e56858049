"""Show: several real builds over changing sample data, recorded and alerted on.

One module builds a temporary copy of the repository six times, each time with
new landing files (a day of the committed sample), through the real console
script. Build 4 gets an orders file with 90 % fewer rows, one order with a
status the project's accepted_values test rejects, and no new events while the
events table's load times are moved back three days (the source went quiet).
A real HTTP server on loopback receives the webhook posts. Expectations are
computed here from the landing files and the warehouse, not from the tool.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import SAMPLE, copy_repo, hold_duckdb_lock, run_cli, skip_unless
from pytest_httpserver import HTTPServer

from tooling.devtools.workspace import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

SECRET = "T0000/B0000/s3cr3t-t0k3n"
DAILY = {
    "erp/customers": "customers_{}.csv",
    "erp/orders": "orders_{}.csv",
    "erp/order_items": "order_items_{}.csv",
    "events": "events_{}.ndjson",
}
BAD_STATUS = "lost"


def stage(landing: Path, day: str, as_day: str, *, only: tuple[str, ...] = tuple(DAILY)) -> None:
    """Deliver a sample day's files again under a new date (a re-export of those rows)."""
    for folder in only:
        src = SAMPLE / folder / DAILY[folder].format(day)
        shutil.copy(src, landing / folder / DAILY[folder].format(as_day))


def initial_landing(landing: Path) -> None:
    shutil.copytree(SAMPLE, landing, ignore=shutil.ignore_patterns("*.md"))


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open() as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


class Scenario:
    def __init__(self, repo: Path, landing: Path, hook: str) -> None:
        self.repo = repo
        self.landing = landing
        self.hook = hook
        self.results: list[subprocess.CompletedProcess[str]] = []
        self.status_after_incident: dict[str, Any] = {}

    @property
    def env(self) -> dict[str, str]:
        return {"DATAOPS_LANDING_ROOT": str(self.landing), "DATAOPS_ALERT_WEBHOOK": self.hook}

    def build(self, *extra: str, freshness: bool = True) -> subprocess.CompletedProcess[str]:
        flag = "--freshness" if freshness else "--no-freshness"
        result = run_cli("build", "--quiet", flag, *extra, cwd=self.repo, env=self.env)
        self.results.append(result)
        return result

    @property
    def warehouse(self) -> Path:
        return self.repo / "warehouse" / "dataops.duckdb"

    @property
    def store(self) -> Path:
        return self.repo / "warehouse" / "monitoring.duckdb"


@pytest.fixture(scope="module")
def hook_server() -> Any:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request(f"/services/{SECRET}", method="POST").respond_with_data("ok")
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory, hook_server: HTTPServer) -> Scenario:
    work = tmp_path_factory.mktemp("monitor")
    repo = copy_repo(work / "repo")
    # Keep the slow-model check out of this scenario's alerts: on a shared CI
    # machine a view's creation time is noise (the check is unit-tested).
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + "\n[tool.dataops.monitor]\nslow_min_seconds = 30.0\n"
    )
    landing = work / "landing"
    initial_landing(landing)
    sc = Scenario(repo, landing, hook_server.url_for(f"/services/{SECRET}"))
    select = ("--select", "stg_erp__orders")

    first = sc.build()  # B1: everything
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    for day, as_day in (("2026-10-25", "2026-11-01"), ("2026-10-26", "2026-11-02")):
        stage(landing, day, as_day)  # B2, B3: normal days
        result = sc.build(*select, freshness=False)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    # B4: the incident build.
    stage(landing, "2026-10-27", "2026-11-03", only=("erp/customers", "erp/order_items"))
    header, rows = read_rows(SAMPLE / "erp/orders/orders_2026-10-27.csv")
    keep = rows[: len(rows) // 10]  # 90 % fewer rows
    bad = list(keep[0])
    bad[header.index("status")] = BAD_STATUS
    bad[header.index("updated_at")] = "2026-11-03 12:00:00"
    keep[0] = bad
    write_rows(landing / "erp/orders/orders_2026-11-03.csv", header, keep)
    with duckdb.connect(str(sc.warehouse)) as con:  # the events source went quiet 3 days ago
        con.execute("update raw_events.events set _loaded_at = _loaded_at - interval 3 days")
    result = sc.build(*select)
    assert result.returncode == 1, "the failing test must fail the build"
    status = run_cli("monitor", "status", "--format", "json", cwd=repo, env=sc.env)
    assert status.returncode == 0, status.stderr
    sc.status_after_incident = json.loads(status.stdout)

    # B5: orders and events back to normal; the bad order is still there.
    stage(
        landing, "2026-10-28", "2026-11-04", only=("erp/customers", "erp/orders", "erp/order_items")
    )
    stage(landing, "2026-10-27", "2026-11-03", only=("events",))
    result = sc.build(*select)
    assert result.returncode == 1, "the bad order still fails its test"

    # B6: the rest of day 27's orders arrive late, with the bad order corrected.
    late = [list(r) for r in rows[len(rows) // 10 :]]
    fixed = list(rows[0])
    fixed[header.index("updated_at")] = "2026-11-05 09:00:00"
    write_rows(landing / "erp/orders/orders_2026-11-05.csv", header, [*late, fixed])
    stage(landing, "2026-10-28", "2026-11-04", only=("events",))
    result = sc.build(*select)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return sc


def posts(server: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(req.get_data()) for req, _ in server.log]


def test_every_build_was_recorded(scenario: Scenario) -> None:
    for result in scenario.results:
        assert re.search(r"monitoring: recorded run \w+", result.stdout), result.stdout[-2000:]
    with duckdb.connect(str(scenario.store), read_only=True) as con:
        runs = con.execute("select status from runs order by started_at").fetchall()
        assert [r[0] for r in runs] == ["success", "success", "success", "fail", "fail", "success"]
        # the 90 % smaller orders load, as the load audit recorded it
        loads = con.execute(
            "select rows_loaded from load_batches where source = 'erp' and entity = 'orders' "
            "and status = 'loaded' order by started_at"
        ).fetchall()
    day27 = read_rows(SAMPLE / "erp/orders/orders_2026-10-27.csv")[1]
    assert loads[3][0] == len(day27) // 10
    assert loads[3][0] <= 0.1 * loads[2][0] + 1


def test_the_incident_build_opened_exactly_the_expected_incidents(scenario: Scenario) -> None:
    incidents = scenario.status_after_incident["open_incidents"]
    kinds = sorted((i["check_name"], i["key"]) for i in incidents)
    assert ("volume_anomaly", "load:erp.orders") in kinds
    assert ("freshness", "source.dataops.events.events") in kinds
    failing = [k for c, k in kinds if c == "failing_test"]
    assert len(failing) == 1 and "accepted_values_stg_erp__orders" in failing[0]
    assert len(kinds) == 3, kinds


def test_one_grouped_alert_then_resolved_messages_and_no_duplicates(
    scenario: Scenario, hook_server: HTTPServer
) -> None:
    messages = posts(hook_server)
    alerts = [m for m in messages if m["dataops"]["kind"] == "alert"]
    assert len(alerts) == 1, [m["text"] for m in messages]
    alert = alerts[0]
    assert len(alert["dataops"]["new"]) == 3
    assert alert["text"].startswith("dataops: 3 new incident(s)")
    assert all(isinstance(b, dict) and "type" in b for b in alert["blocks"])  # Slack blocks
    resolved = [m for m in messages if m["dataops"]["kind"] == "resolved"]
    assert len(resolved) == 2
    # B5 resolved the load and the freshness, not the still-failing test ...
    assert sorted(n["check_name"] for n in resolved[0]["dataops"]["resolved"]) == [
        "freshness",
        "volume_anomaly",
    ]
    assert resolved[0]["dataops"]["new"] == [] and resolved[0]["dataops"]["open"] == 1
    # ... which B6 resolved
    assert [n["check_name"] for n in resolved[1]["dataops"]["resolved"]] == ["failing_test"]
    assert resolved[1]["dataops"]["open"] == 0
    # no incident was announced twice
    announced = [(n["check_name"], n["key"]) for m in messages for n in m["dataops"]["new"]]
    assert len(announced) == len(set(announced))
    status = run_cli("monitor", "status", "--format", "json", cwd=scenario.repo)
    assert json.loads(status.stdout) == {"open_incidents": []}


def test_the_webhook_url_is_never_printed(scenario: Scenario) -> None:
    printed = "".join(r.stdout + r.stderr for r in scenario.results)
    assert "to http://127.0.0.1" in printed  # the alert was mentioned, masked
    assert SECRET not in printed and "s3cr3t" not in printed
    assert scenario.hook not in printed


def test_report_opens_offline_in_chromium_with_the_expected_points(
    scenario: Scenario, tmp_path: Path
) -> None:
    from playwright import sync_api as playwright

    skip_unless(Path(CHROMIUM).exists(), "Debian's chromium is not installed")
    out = tmp_path / "report.html"
    result = run_cli("monitor", "report", "--out", str(out), cwd=scenario.repo)
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert "<script" not in html and "<link" not in html and "url(" not in html
    assert not re.search(r"(src|href)=\"https?:", html)  # nothing fetched from the network
    with duckdb.connect(str(scenario.warehouse), read_only=True) as con:
        marts = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_type = 'BASE TABLE'"
        ).fetchone()[0]
    sources = sum(
        1
        for line in (scenario.repo / "ingestion/sources.yml").open()
        if line.startswith("      - name: ")
    )
    runs = len(scenario.results)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(out.as_uri())

        def count(selector: str) -> int:
            return page.locator(selector).count()

        # five charts, and two for the ML stage's model (its first build trained it)
        assert count("section.chart") == 7
        assert count("#model-metrics-svg circle.point") == 3  # AUC, baseline AUC, ECE
        assert count("#feature-drift-svg rect.bar") == 8  # one per feature
        assert count("#build-duration-svg circle.point") == runs
        assert count("#test-pass-rate-svg circle.point") == runs
        assert count("#table-rows-svg circle.point") == runs * marts
        assert count("#slowest-models-svg rect.bar") == 10
        assert count("#freshness-svg rect.bar") == sources
        assert page.locator("#open-incidents").inner_text() == "no open incidents"
        # the points are drawn: the SVG has a real size on the page
        box = page.locator("#build-duration-svg").bounding_box()
        assert box is not None and box["width"] > 300
        # the pass rate dips on the two failing runs and is 100 on the others
        rates = page.locator("#test-pass-rate-svg circle.point").evaluate_all(
            "els => els.map(e => parseFloat(e.dataset.y))"
        )
        assert [r == 100.0 for r in rates] == [True, True, True, False, False, True]
        browser.close()
    assert all(url.startswith("file://") for url in requests), requests


def test_a_locked_store_skips_recording_and_the_build_still_passes(scenario: Scenario) -> None:
    with hold_duckdb_lock(scenario.store):
        result = run_cli(
            "--log-format",
            "json",
            "build",
            "--select",
            "stg_erp__orders",
            cwd=scenario.repo,
            env=scenario.env,
            timeout=300,
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    for line in result.stderr.splitlines():
        if line.strip():
            json.loads(line)
    skipped = [e for e in events if e.get("event") == "monitor.skipped"]
    assert len(skipped) == 1
    assert "recording skipped" in skipped[0]["message"]
    assert "locked" in skipped[0]["message"]
    assert events[-1]["event"] == "build.finished" and events[-1]["ok"] is True
    # dbt's own log lines came through as JSON objects too
    assert any("info" in e and "data" in e for e in events)
    with duckdb.connect(str(scenario.store), read_only=True) as con:
        assert con.execute("select count(*) from runs").fetchone()[0] == 6
