"""Inline SVG charts for the offline report: no JavaScript, no CDN.

Every data point is one element with a class (``point`` on line charts,
``bar`` on bar charts) and ``data-*`` attributes, so a browser test can count
them and read their values.
"""

from __future__ import annotations

from html import escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f")
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40


def _fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _axis(y_max: float, y_label: str) -> list[str]:
    parts = [
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" '
        'stroke="#999"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#999"/>',
    ]
    for i in range(5):
        value = y_max * i / 4
        y = HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * i / 4
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{_fmt(value)}</text>"
        )
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#eee"/>'
        )
    parts.append(
        f'<text x="12" y="{TOP + (HEIGHT - TOP - BOTTOM) / 2:.0f}" font-size="11" '
        f'transform="rotate(-90 12 {TOP + (HEIGHT - TOP - BOTTOM) / 2:.0f})" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    return parts


def line_chart(
    chart_id: str,
    x_labels: list[str],
    series: dict[str, list[float | None]],
    y_label: str,
    *,
    y_max: float | None = None,
    point_colours: list[str | None] | None = None,
) -> str:
    """One polyline and one circle per (series, x) with a value."""
    values = [v for vals in series.values() for v in vals if v is not None]
    y_max = y_max or (max(values, default=1.0) * 1.1 or 1.0)
    n = max(len(x_labels), 1)
    span = WIDTH - LEFT - RIGHT

    def x_at(i: int) -> float:
        return LEFT + (span * (i + 0.5) / n)

    def y_at(v: float) -> float:
        return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (v / y_max)

    parts = [
        f'<svg class="chart-svg" id="{chart_id}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img">',
        *_axis(y_max, y_label),
    ]
    step = max(1, n // 8)
    for i, label in enumerate(x_labels):
        if i % step == 0:
            parts.append(
                f'<text x="{x_at(i):.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="10" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    legend_y = TOP + 4
    for s_index, (name, vals) in enumerate(series.items()):
        color = PALETTE[s_index % len(PALETTE)]
        coords = [(x_at(i), y_at(v), v) for i, v in enumerate(vals) if v is not None]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in coords)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}"/>')
        for i, v in enumerate(vals):
            if v is None:
                continue
            fill = (point_colours[i] if point_colours else None) or color
            parts.append(
                f'<circle class="point" cx="{x_at(i):.1f}" cy="{y_at(v):.1f}" r="3.5" '
                f'fill="{fill}" data-series="{escape(name)}" data-x="{escape(x_labels[i])}" '
                f'data-y="{v}"><title>{escape(name)} {escape(x_labels[i])}: {_fmt(v)}</title>'
                "</circle>"
            )
        if len(series) > 1:
            parts.append(
                f'<text x="{LEFT + 8 + 110 * (s_index % 6)}" y="{legend_y + 12 * (s_index // 6)}" '
                f'font-size="10" fill="{color}">{escape(name[:18])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(chart_id: str, bars: list[tuple[str, float, str | None]], y_label: str) -> str:
    """Horizontal bars: (label, value, css colour or None)."""
    row = 22
    height = TOP + BOTTOM + row * max(len(bars), 1)
    v_max = max((v for _, v, _ in bars), default=1.0) or 1.0
    label_w = 260
    span = WIDTH - label_w - RIGHT - 60
    parts = [
        f'<svg class="chart-svg" id="{chart_id}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img">',
        f'<text x="{label_w}" y="{height - 8}" font-size="11">{escape(y_label)}</text>',
    ]
    for i, (label, value, color) in enumerate(bars):
        y = TOP + i * row
        w = max(span * value / v_max, 1.0)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" font-size="11" text-anchor="end">'
            f"{escape(label[-40:])}</text>"
        )
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" '
            f'fill="{color or PALETTE[0]}" data-label="{escape(label)}" data-value="{value}">'
            f"<title>{escape(label)}: {_fmt(value)}</title></rect>"
        )
        parts.append(
            f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" font-size="11">{_fmt(value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
