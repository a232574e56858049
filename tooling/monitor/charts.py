"""Inline SVG charts for the offline report: no JavaScript, no CDN.

Every data point is one element with a class (``point`` on line charts,
``bar`` on bar charts) and ``data-*`` attributes, so a browser test can count
them and read their values. Elements are written by ``tooling/svg.py``.
"""

from __future__ import annotations

from markupsafe import Markup

from tooling.svg import number, svg, tag

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f")
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40


def _axis(y_max: float, y_label: str) -> list[Markup]:
    parts = [
        tag(
            "line",
            {"x1": LEFT, "y1": HEIGHT - BOTTOM, "x2": WIDTH - RIGHT, "y2": HEIGHT - BOTTOM}
            | {"stroke": "#999"},
        ),
        tag("line", {"x1": LEFT, "y1": TOP, "x2": LEFT, "y2": HEIGHT - BOTTOM, "stroke": "#999"}),
    ]
    for i in range(5):
        value = y_max * i / 4
        y = HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * i / 4
        parts.append(
            tag(
                "text",
                {"x": LEFT - 6, "y": f"{y + 4:.1f}", "text-anchor": "end", "font-size": 11},
                number(value),
            )
        )
        parts.append(
            tag(
                "line",
                {"x1": LEFT, "y1": f"{y:.1f}", "x2": WIDTH - RIGHT, "y2": f"{y:.1f}"}
                | {"stroke": "#eee"},
            )
        )
    middle = f"{TOP + (HEIGHT - TOP - BOTTOM) / 2:.0f}"
    parts.append(
        tag(
            "text",
            {"x": 12, "y": middle, "font-size": 11, "transform": f"rotate(-90 12 {middle})"}
            | {"text-anchor": "middle"},
            y_label,
        )
    )
    return parts


def _root(chart_id: str, height: int) -> dict[str, object]:
    return {
        "class": "chart-svg",
        "id": chart_id,
        "viewBox": f"0 0 {WIDTH} {height}",
        "width": WIDTH,
        "height": height,
        "role": "img",
    }


def line_chart(
    chart_id: str,
    x_labels: list[str],
    series: dict[str, list[float | None]],
    y_label: str,
    *,
    y_max: float | None = None,
    point_colours: list[str | None] | None = None,
) -> Markup:
    """One polyline and one circle per (series, x) with a value."""
    values = [v for vals in series.values() for v in vals if v is not None]
    y_max = y_max or (max(values, default=1.0) * 1.1 or 1.0)
    n = max(len(x_labels), 1)
    span = WIDTH - LEFT - RIGHT

    def x_at(i: int) -> float:
        return LEFT + (span * (i + 0.5) / n)

    def y_at(v: float) -> float:
        return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (v / y_max)

    parts = _axis(y_max, y_label)
    step = max(1, n // 8)
    for i, label in enumerate(x_labels):
        if i % step == 0:
            parts.append(
                tag(
                    "text",
                    {"x": f"{x_at(i):.1f}", "y": HEIGHT - BOTTOM + 16, "font-size": 10}
                    | {"text-anchor": "middle"},
                    label,
                )
            )
    legend_y = TOP + 4
    for s_index, (name, vals) in enumerate(series.items()):
        color = PALETTE[s_index % len(PALETTE)]
        coords = [(x_at(i), y_at(v)) for i, v in enumerate(vals) if v is not None]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(tag("polyline", {"points": path, "fill": "none", "stroke": color}))
        for i, v in enumerate(vals):
            if v is None:
                continue
            fill = (point_colours[i] if point_colours else None) or color
            attrs = {"class": "point", "cx": f"{x_at(i):.1f}", "cy": f"{y_at(v):.1f}", "r": 3.5}
            attrs |= {"fill": fill, "data-series": name, "data-x": x_labels[i], "data-y": v}
            title = tag("title", None, f"{name} {x_labels[i]}: {number(v)}")
            parts.append(tag("circle", attrs, title))
        if len(series) > 1:
            x = LEFT + 8 + 110 * (s_index % 6)
            y = legend_y + 12 * (s_index // 6)
            parts.append(tag("text", {"x": x, "y": y, "font-size": 10, "fill": color}, name[:18]))
    return svg(_root(chart_id, HEIGHT), parts)


def bar_chart(chart_id: str, bars: list[tuple[str, float, str | None]], y_label: str) -> Markup:
    """Horizontal bars: (label, value, css colour or None)."""
    row = 22
    height = TOP + BOTTOM + row * max(len(bars), 1)
    v_max = max((v for _, v, _ in bars), default=1.0) or 1.0
    label_w = 260
    span = WIDTH - label_w - RIGHT - 60
    parts = [tag("text", {"x": label_w, "y": height - 8, "font-size": 11}, y_label)]
    for i, (label, value, color) in enumerate(bars):
        y = TOP + i * row
        w = max(span * value / v_max, 1.0)
        parts.append(
            tag(
                "text",
                {"x": label_w - 6, "y": y + 14, "font-size": 11, "text-anchor": "end"},
                label[-40:],
            )
        )
        attrs = {"class": "bar", "x": label_w, "y": y + 3, "width": f"{w:.1f}", "height": row - 6}
        attrs |= {"fill": color or PALETTE[0], "data-label": label, "data-value": value}
        parts.append(tag("rect", attrs, tag("title", None, f"{label}: {number(value)}")))
        parts.append(
            tag(
                "text", {"x": f"{label_w + w + 4:.1f}", "y": y + 14, "font-size": 11}, number(value)
            )
        )
    return svg(_root(chart_id, height), parts)
