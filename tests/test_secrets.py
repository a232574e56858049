"""No secret in any output, log, table, report or webhook body (issue 13, Why 1).

Distinct secrets are planted in a PostgreSQL DSN (an invalid percent-encoding, a
DSN without ``=``, a DSN with a query-string password), in URL credentials
(``base_url_env`` with ``user:password@`` answered by HTTP 401), in a bearer token
and in the webhook URL's path. Every failure mode is driven through the real
console script against a throwaway PostgreSQL server and real HTTP servers on
loopback; then stdout/stderr (text and ``--log-format json``), the warehouse, the
monitoring store (every string column, via SQL, and the raw bytes), ``target/``,
the monitoring report, ``monitor status --format json``, crash logs and the bodies
the webhook received are searched: zero hits.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from conftest import run_cli
from pytest_httpserver import HTTPServer
from test_ingest_postgres import pg_dsn  # noqa: F401  (the throwaway-server fixture)
from werkzeug import Request, Response

pytestmark = [pytest.mark.postgres]

SECRETS = {
    "pct": "Pg%zzS3cretPass",
    "noeq": "NoEqualsS3cretDsn",
    "query": "QueryS3cretPw77",
    "url": "UrlS3cretPw42",
    "token": "TokS3cretBearer9",
    "hook": "WebhookS3cretPath5",
}


def forms(secret: str) -> set[str]:
    """The secret and the spellings it may take in text, JSON or a URL."""
    return {
        secret,
        urllib.parse.quote(secret),
        urllib.parse.unquote(secret),
        json.dumps(secret)[1:-1],
    }


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, HTTPServer]]:
    api, hook = HTTPServer(host="127.0.0.1", port=0), HTTPServer(host="127.0.0.1", port=0)
    api.expect_request("/payments").respond_with_response(
        Response('{"error": "unauthorized"}', status=401, content_type="application/json")
    )
    bodies: list[str] = []

    def record(request: Request) -> Response:
        bodies.append(request.get_data(as_text=True))
        return Response("ok")

    hook.expect_request(f"/hook/{SECRETS['hook']}", method="POST").respond_with_handler(record)
    for server in (api, hook):
        server.start()
    try:
        yield {"api": api, "hook": hook, "bodies": bodies}  # type: ignore[dict-item]
    finally:
        for server in (api, hook):
            server.stop()


def write_project(root: Path, pg_port: int, api_url: str) -> dict[str, str]:
    proj = root / "proj"
    (proj / "models").mkdir(parents=True)
    (proj / "dbt_project.yml").write_text("name: sec\nprofile: sec\nversion: '1.0'\n")
    (proj / "profiles.yml").write_text(
        "sec:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {root / 'w.duckdb'}\n"
    )
    (proj / "models" / "m.sql").write_text("select 1 as id\n")
    (root / "landing").mkdir()
    sources = root / "sources.yml"
    sources.write_text(
        """sources:
  - name: pg_pct
    type: postgres
    dsn_env: PG_DSN_PCT
    entities: [{name: accounts, table: public.accounts}]
  - name: pg_noeq
    type: postgres
    dsn_env: PG_DSN_NOEQ
    entities: [{name: accounts, table: public.accounts}]
  - name: pg_query
    type: postgres
    dsn_env: PG_DSN_QUERY
    entities: [{name: accounts, table: public.accounts}]
  - name: api
    type: rest_api
    base_url_env: API_URL
    auth: {type: bearer, env: API_TOKEN}
    entities: [{name: payments, endpoint: /payments, record_path: data}]
"""
    )
    host = urllib.parse.urlsplit(api_url)
    return {
        "PG_DSN_PCT": f"postgresql://postgres:{SECRETS['pct']}@127.0.0.1:{pg_port}/postgres",
        "PG_DSN_NOEQ": SECRETS["noeq"],
        "PG_DSN_QUERY": (
            f"postgresql://postgres@127.0.0.1:{pg_port}/no_such_db?password={SECRETS['query']}"
        ),
        "API_URL": f"http://apiuser:{SECRETS['url']}@{host.netloc}",
        "API_TOKEN": SECRETS["token"],
        "DATAOPS_SOURCES": str(sources),
        "DATAOPS_LANDING_ROOT": str(root / "landing"),
        "DATAOPS_WAREHOUSE": str(root / "w.duckdb"),
        "DATAOPS_PROJECT_DIR": str(proj),
        "DATAOPS_MONITOR_STORE": str(root / "monitoring.duckdb"),
        "DATAOPS_CRASH_DIR": str(root / "crashes"),
        "DBT_PROFILES_DIR": str(proj),
    }


def string_cells(db: Path) -> str:
    """Every string value of every table, as one text (compression cannot hide one)."""
    if not db.is_file():
        return ""
    out = []
    with duckdb.connect(str(db), read_only=True) as con:
        for schema, table, column in con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type in ('VARCHAR', 'VARCHAR[]', 'JSON')"
        ).fetchall():
            rows = con.execute(
                f'select "{column}"::varchar from "{schema}"."{table}" where "{column}" is not null'
            ).fetchall()
            out.extend(r[0] for r in rows)
    return "\n".join(out)


@pytest.fixture(scope="module")
def evidence(
    tmp_path_factory: pytest.TempPathFactory,
    pg_dsn: str,  # noqa: F811
    servers: dict,
) -> dict:
    root = tmp_path_factory.mktemp("secrets")
    pg_port = int(pg_dsn.split("port=")[1].split()[0])
    env = write_project(root, pg_port, servers["api"].url_for(""))
    env["DATAOPS_ALERT_WEBHOOK"] = servers["hook"].url_for(f"/hook/{SECRETS['hook']}")
    outputs: dict[str, str] = {}
    runs = {
        "pct": ["build", "--select", "m"],
        "noeq": ["ingest", "--source", "pg_noeq"],
        "query": ["--log-format", "json", "ingest", "--source", "pg_query"],
        "api": ["ingest", "--source", "api"],
        "api-build": ["build"],  # the first failing source stops the build: pg_pct
    }
    codes = {}
    for name, args in runs.items():
        if name == "api-build":  # a build whose failure is the API's 401: only that source
            data = (root / "sources.yml").read_text()
            (root / "sources.yml").write_text("sources:\n" + data[data.index("  - name: api") :])
        result = run_cli(*args, cwd=root, env=env)
        codes[name] = result.returncode
        outputs[name] = result.stdout + result.stderr
    for name, args in {
        "status": ["monitor", "status", "--format", "json"],
        "report": ["monitor", "report", "--out", str(root / "report.html")],
        "ingest-status": ["ingest", "status", "--format", "json"],
    }.items():
        result = run_cli(*args, cwd=root, env=env)
        outputs[name] = result.stdout + result.stderr
    files = {
        str(p): p.read_bytes().decode("utf-8", "replace")
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix != ".duckdb"
        and "landing" not in p.parts
        and p.name != "profiles.yml"
    }
    return {
        "root": root,
        "codes": codes,
        "outputs": outputs,
        "files": files,
        "tables": {n: string_cells(root / n) for n in ("w.duckdb", "monitoring.duckdb")},
        "raw": {
            n: (root / n).read_bytes().decode("latin-1") if (root / n).is_file() else ""
            for n in ("w.duckdb", "monitoring.duckdb")
        },
        "bodies": list(servers["bodies"]),
    }


def test_every_failure_mode_failed_in_one_line(evidence: dict) -> None:
    for name in ("pct", "noeq", "query", "api", "api-build"):
        assert evidence["codes"][name] != 0, (name, evidence["outputs"][name][-1500:])
        assert "Traceback" not in evidence["outputs"][name]
    # the errors still say what went wrong, with the secret masked
    assert "raw_pg_pct.accounts" in evidence["outputs"]["pct"]
    assert "401" in evidence["outputs"]["api"]
    assert evidence["bodies"], "the webhook received the failed build's alert"
    assert evidence["tables"]["monitoring.duckdb"], "the failures were recorded"
    errors = evidence["tables"]["w.duckdb"]
    assert "raw_pg_pct.accounts" in errors and "***" in errors
    # each mode's message kept its meaning, only the secret is masked
    for name in ("pct", "noeq", "api"):
        assert "***" in evidence["outputs"][name], (name, evidence["outputs"][name][-800:])


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_no_secret_anywhere(evidence: dict, secret: str) -> None:
    places = {
        **{f"output of {k}": v for k, v in evidence["outputs"].items()},
        **{f"file {k}": v for k, v in evidence["files"].items()},
        **{f"table cells of {k}": v for k, v in evidence["tables"].items()},
        **{f"bytes of {k}": v for k, v in evidence["raw"].items()},
        **{f"webhook body {i}": b for i, b in enumerate(evidence["bodies"])},
    }
    for form in forms(SECRETS[secret]):
        leaks = [where for where, text in places.items() if form in text]
        assert leaks == [], f"{form!r} leaked into {leaks}"
