"""Inline SVG, escaped in one place: the lineage site's graphs and the monitoring charts.

``tag`` writes one element: attribute values and text children are escaped, a
``Markup`` child (another element) is kept as it is, and an attribute whose
value is ``None`` is left out. The result is ``Markup``, so a Jinja template
with autoescaping inserts it unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from markupsafe import Markup, escape

SVG_NS = "http://www.w3.org/2000/svg"

Attrs = Mapping[str, object]


def tag(name: str, attrs: Attrs | None = None, *children: str) -> Markup:
    """``<name k="v" ...>children</name>``, or ``<name .../>`` without children."""
    rendered = "".join(
        f' {key}="{escape(str(value))}"'
        for key, value in (attrs or {}).items()
        if value is not None
    )
    if not children:
        return Markup(f"<{name}{rendered}/>")
    body = "".join(escape(child) for child in children)
    return Markup(f"<{name}{rendered}>{body}</{name}>")


def svg(attrs: Attrs, children: list[Markup]) -> Markup:
    """The root element, with the SVG namespace, around ``children``."""
    return tag("svg", {"xmlns": SVG_NS, **attrs}, Markup("").join(children))


def number(value: float) -> str:
    """A short axis or tooltip number: thousands separated, else 3 significant digits."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"
