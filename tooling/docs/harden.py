"""Docs that run no injected script: escaped inline JSON and a Content-Security-Policy.

A post-processing layer over every HTML page we publish (our lineage site,
dbt's ``index.html`` and ``static_index.html``, the monitoring report):

- dbt's ``static_index.html`` inlines manifest.json and catalog.json into a
  ``<script>`` unescaped, so a ``</script>`` in a description or SQL literal
  ends the script and starts markup. It is rebuilt here from dbt's own
  ``index.html`` with the JSON made inert inside a script: ``<``, ``>``, ``&``
  and U+2028/U+2029 written as ``\\uXXXX`` escapes (the same JSON value).
- Every page gets a CSP ``<meta>`` as the first element of ``<head>`` (it
  works from ``file://`` and GitHub Pages, which send no headers), and
  ``dataops docs serve`` sends the same policy as a header. Scripts run only
  from the site's own files or when their exact text is hashed into the
  policy; no ``'unsafe-inline'``, so inline event handlers (``<img onerror>``)
  and ``javascript:`` URLs never run. Styles stay ``'unsafe-inline'`` (dbt's
  page sets them inline; a style cannot run script). dbt's AngularJS page
  needs no ``eval``: Angular detects the policy and switches to its CSP mode.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

META_MARK = 'http-equiv="Content-Security-Policy"'
# dbt's index.html holds these string literals where --static inlines the artifacts.
MANIFEST_SLOT = '"MANIFEST.JSON INLINE DATA"'
CATALOG_SLOT = '"CATALOG.JSON INLINE DATA"'
_INLINE_SCRIPT = re.compile(r"<script\b(?P<attrs>[^>]*)>(?P<body>.*?)</script\s*>", re.I | re.S)
_HEAD = re.compile(r"<head\b[^>]*>", re.I)
_SCRIPT_SAFE = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def script_safe_json(value: object) -> str:
    """JSON text that cannot end or alter the ``<script>`` it is inlined into."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _SCRIPT_SAFE[m.group(0)], text)


def _hashes(html: str) -> list[str]:
    """CSP hash sources of the page's inline scripts (JSON data blocks need none)."""
    out = []
    for match in _INLINE_SCRIPT.finditer(html):
        attrs = match.group("attrs").lower()
        if "src=" in attrs or "application/json" in attrs:
            continue
        digest = hashlib.sha256(match.group("body").encode("utf-8")).digest()
        out.append(f"'sha256-{base64.b64encode(digest).decode()}'")
    return sorted(set(out))


def policy(html: str) -> str:
    """The Content-Security-Policy for one page."""
    scripts = " ".join(["'self'", *_hashes(html)])
    return (
        "default-src 'self'; "
        f"script-src {scripts}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'none'; frame-src 'none'"
    )


def with_csp(html: str) -> str:
    """``html`` with its CSP meta tag first in ``<head>`` (replacing an older one)."""
    html = re.sub(r"<meta[^>]*" + re.escape(META_MARK) + r"[^>]*>", "", html)
    meta = f'<meta {META_MARK} content="{policy(html)}">'
    head = _HEAD.search(html)
    if head is None:
        return meta + html
    return html[: head.end()] + meta + html[head.end() :]


def static_index(index_html: str, manifest: object, catalog: object) -> str:
    """dbt's ``static_index.html``, built from its ``index.html`` with script-safe JSON."""
    data = {MANIFEST_SLOT: script_safe_json(manifest), CATALOG_SLOT: script_safe_json(catalog)}
    pattern = re.compile("|".join(re.escape(k) for k in data))
    return pattern.sub(lambda m: data[m.group(0)], index_html)


def harden_dbt_site(dbt_dir: Path, manifest: object, catalog: object | None) -> None:
    """Escape dbt's static page and put the CSP into both of dbt's pages."""
    index = dbt_dir / "index.html"
    if not index.is_file():
        return
    template = index.read_text(encoding="utf-8")
    static = dbt_dir / "static_index.html"
    if static.is_file() or catalog is not None:
        static.write_text(
            with_csp(static_index(template, manifest, catalog or {})), encoding="utf-8"
        )
    index.write_text(with_csp(template), encoding="utf-8")


def harden_tree(folder: Path, *, skip: Path | None = None) -> int:
    """Add the CSP to every ``.html`` under ``folder`` (not under ``skip``); return the count."""
    count = 0
    for page in folder.rglob("*.html"):
        if skip is not None and page.is_relative_to(skip):
            continue
        page.write_text(with_csp(page.read_text(encoding="utf-8")), encoding="utf-8")
        count += 1
    return count
