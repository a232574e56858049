"""One redaction path: every message that leaves the process or is stored goes through it.

:func:`redact` removes

- the values of every secret the configuration references (registered with
  :func:`register_env` / :func:`register`: the variables named by ``dsn_env``,
  ``auth.env`` and ``base_url_env``, the monitoring webhook), and the parts of
  them an error text may echo on its own (a URL's password, user-info, path
  and query; a key/value DSN's ``password=``), raw and percent-decoded;
- URL user-info (``scheme://user:password@host`` becomes ``scheme://***@host``);
- passwords and query strings of connection strings (``password=...``,
  ``postgresql://host/db?sslpassword=...``), even when never registered.

The registry is per process and only grows: a secret seen once stays redacted.
stderr (:mod:`tooling.console`), JSON logs (:mod:`tooling.eventlog`),
``load_batches.error``, the monitoring store, webhook bodies and the reports
call it; nothing else needs to know which values are secret.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

MASK = "***"
# Shorter values are not worth masking (and would mangle ordinary words).
MIN_SECRET = 4

_SECRETS: set[str] = set()
_PATTERN: re.Pattern[str] | None = None

_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/\s@'\"<>]+)@")
_KV_PASSWORD = re.compile(
    r"(?P<key>\b(?:password|passwd|pwd|sslpassword|secret|token|api_key|apikey)\s*=\s*)"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&;,'\"]+)",
    re.IGNORECASE,
)
_DSN_QUERY = re.compile(
    r"(?P<url>\b(?:postgres|postgresql|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|"
    r"sqlserver|mssql|jdbc:[a-z]+|snowflake|clickhouse)://[^\s?'\"<>]*)\?[^\s'\"<>]*",
    re.IGNORECASE,
)


def _variants(value: str) -> set[str]:
    """The value and the pieces of it an error message may echo on their own."""
    out = {value, unquote(value)}
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is not None and parts.scheme and parts.netloc:
        if parts.password:
            out |= {parts.password, unquote(parts.password)}
        if "@" in parts.netloc:
            info = parts.netloc.rsplit("@", 1)[0]
            out |= {info, unquote(info)}
        if parts.query:
            out |= {parts.query, unquote(parts.query)}
            for pair in parts.query.split("&"):
                out.add(pair.partition("=")[2])
        if parts.path and parts.path != "/" and not parts.scheme.startswith("postgres"):
            # A webhook's path is its token (Slack); a database name is not a secret.
            out |= {parts.path, parts.path.lstrip("/")}
    for match in _KV_PASSWORD.finditer(value):
        out.add(match.group("value").strip("'\""))
    return {v for v in out if len(v) >= MIN_SECRET}


def register(*values: str | None) -> None:
    """Treat these values (and their echoable parts) as secrets from now on."""
    global _PATTERN
    added = False
    for value in values:
        if value and len(value) >= MIN_SECRET:
            new = _variants(value) - _SECRETS
            if new:
                _SECRETS.update(new)
                added = True
    if added:
        ordered = sorted(_SECRETS, key=len, reverse=True)  # longest first: no partial leftovers
        _PATTERN = re.compile("|".join(re.escape(s) for s in ordered))


def register_env(names: Iterable[str | None]) -> None:
    """Register the current values of these environment variables (unset ones are skipped)."""
    register(*(os.environ.get(name) for name in names if name))


def redact(text: str) -> str:
    """``text`` without any registered secret, URL user-info, DSN password or DSN query."""
    if not text:
        return text
    if _PATTERN is not None:
        text = _PATTERN.sub(MASK, text)
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    text = _KV_PASSWORD.sub(lambda m: f"{m.group('key')}{MASK}", text)
    return _DSN_QUERY.sub(lambda m: f"{m.group('url')}?{MASK}", text)


def redact_value(value: Any) -> Any:
    """:func:`redact` applied to every string inside a JSON-like value."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


def redact_json(text: str) -> str:
    """A JSON document with every string redacted (structure kept valid)."""
    return json.dumps(redact_value(json.loads(text)))


def clear() -> None:
    """Forget every registered secret (tests that run many configs in one process)."""
    global _PATTERN
    _SECRETS.clear()
    _PATTERN = None
