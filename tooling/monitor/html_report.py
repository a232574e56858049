"""Read the monitoring store: open incidents, history for charts, the HTML report.

The report is one static HTML file with inline SVG charts (``charts.py``): it
opens offline, from a file, with no CDN and no JavaScript.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

import duckdb

from tooling.docs.harden import with_csp
from tooling.errors import DataOpsError
from tooling.monitor.charts import bar_chart, line_chart
from tooling.monitor.store import StoreLocked, open_store

STATUS_COLOURS = {"pass": "#16a34a", "warn": "#eab308", "error": "#dc2626"}


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


def _label(value: datetime) -> str:
    return value.strftime("%m-%d %H:%M:%S")


CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#111;max-width:780px}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}
.error{color:#dc2626}.warn{color:#a16207}.empty{color:#666;font-style:italic}
"""


def render_html(data: History, *, title: str = "dataops observability report") -> str:
    labels = [_label(r["started_at"]) for r in data.runs]
    sections: list[str] = []

    def chart(chart_id: str, heading: str, body: str, note: str = "") -> None:
        sections.append(
            f'<section class="chart" data-chart="{chart_id}"><h2>{escape(heading)}</h2>'
            f"{f'<p>{escape(note)}</p>' if note else ''}{body}</section>"
        )

    chart(
        "build-duration",
        "Build duration over time",
        line_chart(
            "build-duration-svg",
            labels,
            {"duration": [r["duration_s"] for r in data.runs]},
            "seconds",
            point_colours=[None if r["status"] == "success" else "#dc2626" for r in data.runs],
        ),
        f"{len(data.runs)} run(s); failed runs in red",
    )
    chart(
        "slowest-models",
        "Slowest models (median execution time)",
        bar_chart(
            "slowest-models-svg",
            [(u.rsplit(".", 1)[-1], s, None) for u, s in data.slowest_models],
            "seconds",
        ),
    )
    chart(
        "test-pass-rate",
        "Test pass rate over time",
        line_chart(
            "test-pass-rate-svg",
            labels,
            {"pass rate": data.test_pass_rate},
            "% passed",
            y_max=100.0,
        ),
    )
    chart(
        "table-rows",
        "Row counts of the marts over time",
        line_chart(
            "table-rows-svg",
            labels,
            {u.rsplit(".", 1)[-1]: v for u, v in data.table_rows.items()},
            "rows",
        ),
        f"{len(data.table_rows)} table(s)",
    )
    chart(
        "freshness",
        "Freshness per source (hours since the last load, latest check)",
        bar_chart(
            "freshness-svg",
            [
                (u.split(".", 2)[-1], h, STATUS_COLOURS.get(s, "#dc2626"))
                for u, h, s in data.freshness
            ],
            "hours",
        )
        if data.freshness
        else '<p class="empty">no freshness recorded (run `dataops build --freshness`)</p>',
    )
    if data.model_metrics:
        chart(
            "model-metrics",
            "Model holdout metrics per training run",
            line_chart("model-metrics-svg", labels, data.model_metrics, "value", y_max=1.0),
            "ROC AUC against the naive baseline's, and the expected calibration error",
        )
        chart(
            "feature-drift",
            "Feature drift of the newest training run (population stability index)",
            bar_chart(
                "feature-drift-svg",
                [
                    (name, value, "#dc2626" if value > 0.25 else None)
                    for name, value in data.feature_psi
                ],
                "PSI (scored population vs the training run's reference; > 0.25 in red)",
            ),
        )
    if data.incidents:
        rows = "".join(
            f'<tr class="incident {escape(i.severity)}"><td>{escape(i.severity)}</td>'
            f"<td>{escape(i.check_name)}</td><td>{escape(i.key)}</td>"
            f"<td>{escape(i.detail)}</td><td>{escape(i.opened_at)}</td></tr>"
            for i in data.incidents
        )
        table = (
            '<table id="open-incidents"><tr><th>severity</th><th>check</th><th>key</th>'
            f"<th>detail</th><th>opened (UTC)</th></tr>{rows}</table>"
        )
    else:
        table = '<p class="empty" id="open-incidents">no open incidents</p>'
    sections.append(f'<section data-chart="incidents"><h2>Open incidents</h2>{table}</section>')
    last = data.runs[-1] if data.runs else None
    summary = (
        f"{len(data.runs)} run(s); last {escape(str(last['command']))} "
        f"{escape(str(last['status']))} at {last['started_at']:%Y-%m-%d %H:%M:%S %Z}"
        if last
        else "no runs recorded"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>{summary}</p>{''.join(sections)}</body></html>"
    )


def write_report(store: Path, out: Path, *, last: int = 50) -> History:
    con = connect_read(store)
    try:
        data = history(con, last=last)
    finally:
        con.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(with_csp(render_html(data)), encoding="utf-8")
    return data
