"""The REST API source: a paginated JSON API into newline-delimited JSON spool files.

Pagination: ``cursor`` (the body names the next cursor), ``page_number``
(``?page=n`` until an empty page), ``link_header`` (RFC 8288 ``rel="next"``),
or ``none``. Retries with exponential backoff on 429 and 5xx (and connection
errors), honouring ``Retry-After`` (:mod:`ingestion.retry`); every request has a
timeout. The secret for
the auth header is read from the environment and never appears in messages.
Malformed pages are returned as bad records (quarantined by the loader), not
silently dropped. The spool is read back by DuckDB's NDJSON reader.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx

from ingestion import redact, retry
from ingestion.config import Entity, RestConfig
from ingestion.errors import SourceFileError
from ingestion.sources.base import Bad, Extracted, Part
from ingestion.sql import path_list
from ingestion.warehouse import quote

MAX_PAGES = 100_000


@dataclass
class RestExtract:
    spool: list[Path] = field(default_factory=list)
    records: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    bad: list[tuple[str, str]] = field(default_factory=list)  # (reason, original text)


def _headers(rest: RestConfig, where: str) -> dict[str, str]:
    if not rest.auth_type:
        return {"Accept": "application/json"}
    secret = os.environ.get(rest.auth_env or "")
    if not secret:
        raise SourceFileError(f"{where}: environment variable {rest.auth_env} (auth) is not set")
    redact.register(secret)
    if rest.auth_type == "bearer":
        return {"Accept": "application/json", "Authorization": f"Bearer {secret}"}
    return {"Accept": "application/json", rest.auth_header: secret}


def _get(
    client: httpx.Client,
    url: str,
    params: dict[str, str] | None,
    rest: RestConfig,
    stats: RestExtract,
    where: str,
    sleep: Callable[[float], None],
) -> httpx.Response:
    def send() -> httpx.Response:
        stats.requests += 1
        return client.get(url, params=params or None)

    def retried() -> None:
        stats.retries += 1

    got = retry.call(
        send,
        attempts=rest.max_retries + 1,
        backoff=rest.backoff,
        on_retry=retried,
        sleep=sleep,
    )
    if got.response is None:
        raise SourceFileError(
            f"{where}: request to {url} failed after {got.attempts} attempts: "
            f"{type(got.error).__name__}"
        ) from None
    if got.response.status_code >= 400:
        raise SourceFileError(
            f"{where}: {url} answered HTTP {got.response.status_code} "
            f"after {got.attempts} attempt(s)"
        )
    return got.response


def _dig(body: Any, path: str | None) -> Any:
    if path is None:
        return body
    current = body
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become ``parent__child`` columns; lists stay as JSON values."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}__"))
        else:
            out[name] = value
    return out


def extract(con: duckdb.DuckDBPyConnection, entity: Entity, since: str | None) -> Extracted:
    """Fetch the new records into a spool and describe them as one NDJSON reader call."""
    spool = Path(tempfile.mkdtemp(prefix=f"dataops-{entity.source}-{entity.name}-"))
    try:
        got = fetch(entity, spool, since=since)
        label = f"rest:{entity.rest.endpoint if entity.rest else ''}"
        parts: list[Part] = []
        if got.spool:
            reader = (
                f"read_json({path_list(got.spool)}, format = 'newline_delimited', sample_size = -1)"
            )
            schema = con.execute(f"describe select * from {reader}").fetchall()
            columns = {r[0]: r[1] for r in schema}
            sel = ", ".join(quote(c) for c in columns)
            parts.append(Part(f"select {sel} from {reader}", columns))
        bad = [Bad(reason, record, label) for reason, record in got.bad]
        return Extracted(parts, bad, label, cleanup=spool)
    except BaseException:
        shutil.rmtree(spool, ignore_errors=True)
        raise


def fetch(
    entity: Entity,
    spool_dir: Path,
    *,
    since: str | None,
    sleep: Callable[[float], None] = time.sleep,
) -> RestExtract:
    """Fetch every page (newer than ``since`` when incremental) into spool files."""
    rest = entity.rest
    assert rest is not None
    where = entity.qualified
    stats = RestExtract()
    params = dict(rest.params)
    if since is not None and rest.incremental_param:
        params[rest.incremental_param] = since
    if rest.pagination == "page_number" and rest.page_size_param and rest.page_size:
        params[rest.page_size_param] = str(rest.page_size)
    url: str | None = f"{rest.base_url}{rest.endpoint}"
    page_number = rest.page_start
    if rest.pagination == "page_number":
        params[rest.page_param] = str(page_number)
    with httpx.Client(
        headers=_headers(rest, where), timeout=rest.timeout, follow_redirects=True
    ) as client:
        while url is not None and stats.pages < MAX_PAGES:
            response = _get(client, url, params, rest, stats, where, sleep)
            stats.pages += 1
            text = response.text
            try:
                body = response.json()
            except ValueError:
                stats.bad.append((f"page {stats.pages} is not valid JSON", text[:100_000]))
                break  # the next-page pointer is unknown: stop, loudly (counted as bad)
            records = _dig(body, entity.record_path) if isinstance(body, dict) else body
            if not isinstance(records, list):
                stats.bad.append(
                    (f"page {stats.pages} has no list at '{entity.record_path}'", text[:100_000])
                )
                records = []
            good = []
            for record in records:
                if isinstance(record, dict):
                    good.append(flatten(record) if rest.flatten else record)
                else:
                    stats.bad.append(
                        (f"page {stats.pages}: record is not an object", json.dumps(record))
                    )
            if good:
                path = spool_dir / f"page_{stats.pages:06d}.ndjson"
                path.write_text("".join(json.dumps(r) + "\n" for r in good), encoding="utf-8")
                stats.spool.append(path)
                stats.records += len(good)
            # the next page
            if rest.pagination == "cursor":
                cursor = _dig(body, rest.cursor_path) if isinstance(body, dict) else None
                if cursor in (None, "") or not records:
                    url = None
                else:
                    params[rest.cursor_param] = str(cursor)
            elif rest.pagination == "page_number":
                if not records:
                    url = None
                else:
                    page_number += 1
                    params[rest.page_param] = str(page_number)
            elif rest.pagination == "link_header":
                nxt = response.links.get("next", {}).get("url")
                following = str(response.url.join(nxt)) if nxt else None
                url = following if following != str(response.url) else None
                params = {}  # the link carries the query string
            else:
                url = None
    return stats
