"""The observability report: one static HTML file of the monitoring store's history.

Rendered from ``templates/report.html`` (``tooling/jinja_env.py``, autoescaped)
with inline SVG charts (``charts.py``): it opens offline, from a file, with no
CDN and no JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from markupsafe import Markup

from tooling.docs.harden import with_csp
from tooling.jinja_env import environment
from tooling.monitor.charts import bar_chart, line_chart
from tooling.monitor.history import History, connect_read, history

STATUS_COLOURS = {"pass": "#16a34a", "warn": "#eab308", "error": "#dc2626"}


@dataclass
class Chart:
    id: str
    heading: str
    svg: Markup | None
    note: str = ""
    empty: str = ""  # shown instead of the chart when there is nothing to draw


def _label(value: datetime) -> str:
    return value.strftime("%m-%d %H:%M:%S")


def _charts(data: History) -> list[Chart]:
    labels = [_label(r["started_at"]) for r in data.runs]
    charts = [
        Chart(
            "build-duration",
            "Build duration over time",
            line_chart(
                "build-duration-svg",
                labels,
                {"duration": [r["duration_s"] for r in data.runs]},
                "seconds",
                point_colours=[None if r["status"] == "success" else "#dc2626" for r in data.runs],
            ),
            note=f"{len(data.runs)} run(s); failed runs in red",
        ),
        Chart(
            "slowest-models",
            "Slowest models (median execution time)",
            bar_chart(
                "slowest-models-svg",
                [(u.rsplit(".", 1)[-1], s, None) for u, s in data.slowest_models],
                "seconds",
            ),
        ),
        Chart(
            "test-pass-rate",
            "Test pass rate over time",
            line_chart(
                "test-pass-rate-svg",
                labels,
                {"pass rate": data.test_pass_rate},
                "% passed",
                y_max=100.0,
            ),
        ),
        Chart(
            "table-rows",
            "Row counts of the marts over time",
            line_chart(
                "table-rows-svg",
                labels,
                {u.rsplit(".", 1)[-1]: v for u, v in data.table_rows.items()},
                "rows",
            ),
            note=f"{len(data.table_rows)} table(s)",
        ),
        Chart(
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
            else None,
            empty="no freshness recorded (run `dataops build --freshness`)",
        ),
    ]
    if data.model_metrics:
        charts.append(
            Chart(
                "model-metrics",
                "Model holdout metrics per training run",
                line_chart("model-metrics-svg", labels, data.model_metrics, "value", y_max=1.0),
                note="ROC AUC against the naive baseline's, and the expected calibration error",
            )
        )
        charts.append(
            Chart(
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
        )
    return charts


def render_html(data: History, *, title: str = "dataops observability report") -> str:
    last = data.runs[-1] if data.runs else None
    summary = (
        f"{len(data.runs)} run(s); last {last['command']} "
        f"{last['status']} at {last['started_at']:%Y-%m-%d %H:%M:%S %Z}"
        if last
        else "no runs recorded"
    )
    template = environment("tooling.monitor").get_template("report.html")
    return template.render(
        title=title, summary=summary, charts=_charts(data), incidents=data.incidents
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
