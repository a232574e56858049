"""The one way HTML is rendered: Jinja templates shipped in a package, autoescaped.

Every value a template inserts is escaped unless it is ``Markup`` (the SVG
that ``tooling/svg.py`` writes, already escaped there).
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape


def environment(package: str, folder: str = "templates") -> Environment:
    """The templates in ``<package>/<folder>``, with autoescaping on for every one."""
    return Environment(
        loader=PackageLoader(package, folder),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
