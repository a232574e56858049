"""REST API source against a real HTTP server on loopback (pytest-httpserver)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from conftest import run_cli
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from ingestion.config import load_config
from ingestion.errors import SourceFileError
from ingestion.pipeline import ingest

SECRET = "s3cr3t-token-value"

RECORDS = [
    {
        "payment_id": f"p{i}",
        "amount_cents": 100 * i,
        "updated_at": f"2026-10-01 10:{i:02d}:00",
        "card": {"brand": "visa" if i % 2 else "amex", "last4": f"{i:04d}"},
    }
    for i in range(1, 8)
]


def write_sources(tmp_path: Path, url: str, pagination: str, extra: str = "") -> Path:
    path = tmp_path / "sources.yml"
    path.write_text(
        f"""
sources:
  - name: payments
    type: rest_api
    base_url: {url}
    auth: {{type: bearer, env: PAY_TOKEN}}
    backoff: 0.01
    entities:
      - name: payments
        endpoint: /payments
        record_path: data
        primary_key: [payment_id]
        load: merge
        cursor: updated_at
        incremental_param: updated_since
        pagination: {pagination}
        columns: {{payment_id: VARCHAR, amount_cents: BIGINT, updated_at: TIMESTAMP}}
{extra}
"""
    )
    return path


def since_filter(request: Request) -> list[dict]:
    since = request.args.get("updated_since")
    return [r for r in RECORDS if since is None or r["updated_at"] > since]


def table(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PAY_TOKEN", SECRET)
    return SECRET


def test_cursor_pagination_auth_and_incremental(
    httpserver: HTTPServer, tmp_path: Path, token: str
) -> None:
    seen_auth: list[str | None] = []
    seen_since: list[str | None] = []

    def handler(request: Request) -> Response:
        seen_auth.append(request.headers.get("Authorization"))
        seen_since.append(request.args.get("updated_since"))
        records = since_filter(request)
        start = int(request.args.get("cursor", 0))
        page = records[start : start + 3]
        nxt = start + 3 if start + 3 < len(records) else None
        return Response(json.dumps({"data": page, "next_cursor": nxt}), mimetype="application/json")

    httpserver.expect_request("/payments").respond_with_handler(handler)
    config = load_config(write_sources(tmp_path, httpserver.url_for(""), "{type: cursor}"))
    db = tmp_path / "w.duckdb"
    [result] = ingest(config, db, tmp_path)
    assert result.rows == 7 and len(seen_auth) == 3  # pages of 3, 3, 1
    assert set(seen_auth) == {f"Bearer {token}"}
    assert table(db, "select count(*), max(updated_at)::varchar from raw_payments.payments") == [
        (7, "2026-10-01 10:07:00")
    ]
    # nested objects land as a STRUCT
    assert table(db, "select card.brand from raw_payments.payments where payment_id = 'p2'") == [
        ("amex",)
    ]
    # incremental: a new record and an update appear; only they are fetched
    RECORDS.append({"payment_id": "p8", "amount_cents": 800, "updated_at": "2026-10-01 11:00:00"})
    RECORDS.append({"payment_id": "p1", "amount_cents": 150, "updated_at": "2026-10-01 11:01:00"})
    try:
        seen_since.clear()
        [again] = ingest(config, db, tmp_path)
    finally:
        del RECORDS[7:]
    assert seen_since == ["2026-10-01 10:07:00"]
    assert again.rows == 2
    assert table(db, "select count(*), sum(amount_cents) from raw_payments.payments") == [
        (8, sum(100 * i for i in range(2, 8)) + 150 + 800)
    ]


def test_page_number_pagination_with_api_key(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAY_KEY", SECRET)
    keys: list[str | None] = []

    def handler(request: Request) -> Response:
        keys.append(request.headers.get("X-Api-Key"))
        page, size = int(request.args["page"]), int(request.args["per_page"])
        rows = RECORDS[(page - 1) * size : page * size]
        return Response(json.dumps({"data": rows}), mimetype="application/json")

    httpserver.expect_request("/payments").respond_with_handler(handler)
    path = write_sources(
        tmp_path, httpserver.url_for(""), "{type: page_number, size_param: per_page, size: 2}"
    )
    path.write_text(
        path.read_text().replace(
            "{type: bearer, env: PAY_TOKEN}", "{type: api_key, env: PAY_KEY, header: X-Api-Key}"
        )
    )
    [result] = ingest(load_config(path), tmp_path / "w.duckdb", tmp_path)
    assert result.rows == len(RECORDS)
    assert keys == [SECRET] * 5  # 4 pages of data (2+2+2+1), then an empty page


def test_link_header_pagination(httpserver: HTTPServer, tmp_path: Path, token: str) -> None:
    def handler(request: Request) -> Response:
        offset = int(request.args.get("offset", 0))
        headers = {}
        if offset + 4 < len(RECORDS):
            headers["Link"] = f'</payments?offset={offset + 4}>; rel="next"'
        body = json.dumps({"data": RECORDS[offset : offset + 4]})
        return Response(body, mimetype="application/json", headers=headers)

    httpserver.expect_request("/payments").respond_with_handler(handler)
    config = load_config(write_sources(tmp_path, httpserver.url_for(""), "{type: link_header}"))
    [result] = ingest(config, tmp_path / "w.duckdb", tmp_path)
    assert result.rows == len(RECORDS)


def test_retries_after_429_and_500(httpserver: HTTPServer, tmp_path: Path, token: str) -> None:
    statuses = [429, 500, 200]
    calls: list[int] = []

    def handler(request: Request) -> Response:
        status = statuses[min(len(calls), len(statuses) - 1)]
        calls.append(status)
        if status == 429:
            return Response("slow down", status=429, headers={"Retry-After": "0"})
        if status == 500:
            return Response("oops", status=500)
        return Response(json.dumps({"data": RECORDS}), mimetype="application/json")

    httpserver.expect_request("/payments").respond_with_handler(handler)
    config = load_config(write_sources(tmp_path, httpserver.url_for(""), "none"))
    [result] = ingest(config, tmp_path / "w.duckdb", tmp_path)
    assert calls == [429, 500, 200] and result.rows == len(RECORDS)
    # a server that keeps failing: a clear error after max_retries
    httpserver.clear()
    httpserver.expect_request("/payments").respond_with_data("down", status=503)
    with pytest.raises(SourceFileError, match=r"HTTP 503 after 6 attempt"):
        ingest(config, tmp_path / "w2.duckdb", tmp_path)


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_is_honoured(
    httpserver: HTTPServer, tmp_path: Path, token: str, form: str
) -> None:
    # backoff is 0.01 s in these sources; the server asks for about 2 s
    import time
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    arrived: list[float] = []

    def handler(request: Request) -> Response:
        arrived.append(time.monotonic())
        if len(arrived) == 1:
            later = datetime.now(UTC) + timedelta(seconds=3)
            ask = "2" if form == "seconds" else format_datetime(later, usegmt=True)
            return Response("slow down", status=429, headers={"Retry-After": ask})
        return Response(json.dumps({"data": RECORDS}), mimetype="application/json")

    httpserver.expect_request("/payments").respond_with_handler(handler)
    config = load_config(write_sources(tmp_path, httpserver.url_for(""), "none"))
    [result] = ingest(config, tmp_path / "w.duckdb", tmp_path)
    assert result.rows == len(RECORDS) and len(arrived) == 2
    assert arrived[1] - arrived[0] >= 1.5


def test_malformed_page_is_quarantined_or_fails(
    httpserver: HTTPServer, tmp_path: Path, token: str
) -> None:
    def handler(request: Request) -> Response:
        if request.args.get("cursor") == "2":
            return Response("<html>gateway error</html>", mimetype="text/html")
        return Response(
            json.dumps({"data": RECORDS[:3], "next_cursor": 2}), mimetype="application/json"
        )

    httpserver.expect_request("/payments").respond_with_handler(handler)
    config = load_config(write_sources(tmp_path, httpserver.url_for(""), "{type: cursor}"))
    db = tmp_path / "w.duckdb"
    with pytest.raises(SourceFileError, match=r"1 bad row.*not valid JSON"):
        ingest(config, db, tmp_path, max_bad_rows=0)
    [result] = ingest(config, db, tmp_path)
    assert (result.rows, result.quarantined) == (3, 1)
    assert table(db, "select _reason, _record from raw_payments._quarantine_payments") == [
        ("page 2 is not valid JSON", "<html>gateway error</html>")
    ]


def test_secret_never_reaches_the_output(httpserver: HTTPServer, tmp_path: Path) -> None:
    auth: list[str | None] = []

    def handler(request: Request) -> Response:
        auth.append(request.headers.get("Authorization"))
        if len(auth) == 1:
            return Response("retry", status=500)
        return Response(json.dumps({"data": RECORDS}), mimetype="application/json")

    httpserver.expect_request("/payments").respond_with_handler(handler)
    sources = write_sources(tmp_path, httpserver.url_for(""), "none")
    args = [
        "--sources",
        str(sources),
        "--landing-root",
        str(tmp_path),
        "--warehouse",
        str(tmp_path / "w.duckdb"),
    ]
    ok = run_cli("-v", "ingest", *args, cwd=tmp_path, env={"PAY_TOKEN": SECRET})
    assert ok.returncode == 0, ok.stderr
    assert auth == [f"Bearer {SECRET}"] * 2
    status = run_cli("ingest", "status", "--format", "json", *args[:2], *args[4:], cwd=tmp_path)
    assert json.loads(status.stdout)[0]["rows"] == len(RECORDS)
    # a failing run (server down) prints one error line, still without the secret
    httpserver.clear()
    httpserver.expect_request("/payments").respond_with_data("no", status=401)
    bad = run_cli("ingest", *args, "--full-refresh", cwd=tmp_path, env={"PAY_TOKEN": SECRET})
    assert bad.returncode == 1 and "HTTP 401" in bad.stderr
    for out in (ok, status, bad):
        assert SECRET not in out.stdout + out.stderr
