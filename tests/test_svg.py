"""The one SVG helper: every attribute value and text is escaped, elements nest as they are."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from markupsafe import Markup

from tooling.svg import SVG_NS, number, svg, tag


def test_values_and_text_are_escaped_and_nested_elements_kept() -> None:
    hostile = "\"><script>alert('x')</script>&"
    out = svg(
        {"class": "chart", "aria-label": hostile},
        [
            tag(
                "rect",
                {"data-label": hostile, "width": 3.5, "skip": None},
                tag("title", None, hostile),
            )
        ],
    )
    assert isinstance(out, Markup)
    assert "<script>" not in out
    root = ET.fromstring(str(out))  # well-formed: nothing broke out of an attribute
    assert root.tag == f"{{{SVG_NS}}}svg" and root.get("aria-label") == hostile
    (rect,) = list(root)
    assert rect.get("data-label") == hostile and rect.get("width") == "3.5"
    assert "skip" not in rect.attrib
    assert rect[0].text == hostile


def test_childless_elements_close_themselves_and_numbers_stay_short() -> None:
    assert tag("line", {"x1": 1}) == '<line x1="1"/>'
    assert number(1234567.0) == "1,234,567" and number(0.123456) == "0.123"
