"""Docs that run no injected script (issue 13), in Debian's Chromium.

A small dbt project carries 21 probes: HTML and ``</script>`` in descriptions,
column names, tags, meta keys and values, test arguments, SQL literals and
comments, sources and exposures (incl. ``javascript:`` URLs). Each probe, if it
ran, would set ``window.__flag`` or open a dialog. `dataops build` and `dataops
docs build` make the sites; the test opens our lineage pages, dbt's
``static_index.html`` (file://) and ``index.html`` (through `dataops docs
serve`), and the monitoring report. Control: dbt's own unescaped
``static_index.html`` in ``target/`` does run probes, so they are live.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_cli

from tooling.devtools.workspace import CHROMIUM, CHROMIUM_ARGS
from tooling.docs import harden

pytestmark = [pytest.mark.e2e]


def flag(name: str) -> str:
    # backticks: valid inside SQL string literals, YAML and HTML attributes alike
    return f"window.__flag=`{name}`;alert(`{name}`)"


PROBES = {
    "sql-comment": "comment",
    "sql-literal": "literal",
    "column-name": "column",
    "desc-script": "description",
    "desc-img": "description",
    "md-link": "description",
    "tag": "tag",
    "meta-value": "meta",
    "meta-key": "meta",
    "col-desc": "column description",
    "col-tag": "column tag",
    "col-meta": "column meta",
    "test-arg": "test argument",
    "src-desc": "source",
    "src-table-desc": "source table",
    "src-col-desc": "source column",
    "src-meta": "source meta",
    "exposure-url": "exposure url",
    "exposure-desc": "exposure",
    "exposure-owner": "exposure owner",
    "exposure-label": "exposure label",
}
LITERAL = f"</script><script>{flag('sql-literal')}</script>"
MODEL_SQL = f"""-- </script><script>{flag("sql-comment")}</script>
select
    1 as id,
    '{LITERAL}' as lit,
    2 as "<img src=x onerror={flag("column-name")}>"
"""


def _yaml(value: str) -> str:
    return json.dumps(value)  # JSON strings are YAML strings


SCHEMA_YML = f"""version: 2
sources:
  - name: probe_src
    description: {_yaml(f'<img src=x onerror="{flag("src-desc")}">')}
    meta: {{owner: {_yaml(f"<img src=x onerror={flag('src-meta')}>")}}}
    tables:
      - name: raw_things
        description: {_yaml(f'<a href="javascript:{flag("src-table-desc")}">open</a>')}
        columns:
          - name: thing
            description: {_yaml(f"</script><script>{flag('src-col-desc')}</script>")}
models:
  - name: probe_model
    description: {
    _yaml(
        f"</script><script>{flag('desc-script')}</script> "
        f'<img src=x onerror="{flag("desc-img")}"> [click](javascript:{flag("md-link")})'
    )
}
    tags: [{_yaml(f"<img src=x onerror={flag('tag')}>")}]
    meta:
      owner: {_yaml(f"<img src=x onerror={flag('meta-value')}>")}
      {_yaml(f"</script><script>{flag('meta-key')}</script>")}: 1
    columns:
      - name: id
        description: {_yaml(f'<svg onload="{flag("col-desc")}"></svg>')}
        tags: [{_yaml(f"<img src=x onerror={flag('col-tag')}>")}]
        meta: {{note: {_yaml(f"<img src=x onerror={flag('col-meta')}>")}}}
      - name: lit
        data_tests:
          - accepted_values:
              arguments:
                values: [{_yaml(f"</script><script>{flag('test-arg')}</script>")}, {_yaml(LITERAL)}]
exposures:
  - name: probe_exposure
    label: {_yaml(f"<img src=x onerror={flag('exposure-label')}>")}
    type: dashboard
    url: {_yaml(f"javascript:{flag('exposure-url')}")}
    description: {_yaml(f'<img src=x onerror="{flag("exposure-desc")}">')}
    owner:
      name: {_yaml(f"<img src=x onerror={flag('exposure-owner')}>")}
      email: owner@example.com
    depends_on:
      - ref('probe_model')
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docs_security")
    proj = root / "probes"
    (proj / "models").mkdir(parents=True)
    (proj / "dbt_project.yml").write_text("name: probes\nprofile: probes\nversion: '1.0'\n")
    (proj / "profiles.yml").write_text(
        "probes:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {root / 'probes.duckdb'}\n      threads: 1\n"
    )
    (proj / "models" / "probe_model.sql").write_text(MODEL_SQL)
    (proj / "models" / "schema.yml").write_text(SCHEMA_YML)
    env = {"DATAOPS_MONITOR_STORE": str(root / "monitoring.duckdb")}
    common = ["--project-dir", str(proj), "--warehouse", str(root / "probes.duckdb")]
    built = run_cli(*common, "build", "--skip-ingest", cwd=root, env=env)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    docs = run_cli(*common, "docs", "build", "--out", str(root / "site"), cwd=root)
    assert docs.returncode == 0, docs.stdout[-3000:] + docs.stderr[-3000:]
    report = run_cli(
        *common, "monitor", "report", "--out", str(root / "report.html"), cwd=root, env=env
    )
    assert report.returncode == 0, report.stdout[-3000:] + report.stderr[-3000:]
    return root


@pytest.fixture(scope="module")
def served(project: Path) -> Iterator[str]:
    exe = shutil.which("dataops", path=str(Path(sys.executable).parent)) or "dataops"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAOPS_")}
    proc = subprocess.Popen(
        [exe, "docs", "serve", "--port", "0", "--out", str(project / "site")],
        cwd=project,
        env={**env, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = None
        for _ in range(5):
            found = re.search(r"(http://127\.0\.0\.1:\d+/)", proc.stdout.readline())
            if found:
                url = found.group(1)
                break
        assert url, "docs serve did not print its address"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_static_index_inlines_no_raw_script_end(project: Path) -> None:
    html = (project / "site" / "dbt" / "static_index.html").read_text()
    # one real closing tag: the data cannot close the script
    assert len(re.findall(r"</script", html, re.I)) == 1
    manifest = json.loads((project / "probes" / "target" / "manifest.json").read_text())
    # the same JSON value, escaped: decode the inlined object literal back
    start = html.index('"metadata"', html.index("manifest:")) - 1
    decoded, _ = json.JSONDecoder().raw_decode(html, start)
    assert decoded == manifest
    assert harden.META_MARK in html.split("<script", 1)[0]  # the CSP comes first


def test_docs_serve_sends_the_policy(served: str) -> None:
    with urllib.request.urlopen(served + "dbt/index.html", timeout=30) as response:
        header = response.headers["Content-Security-Policy"]
    assert (
        "script-src 'self' 'sha256-" in header
        and "'unsafe-inline'" not in header.split("style-src")[0]
    )


def _visit(browser, url: str, clicks: str | None = None, wait_text: str | None = None) -> dict:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    if wait_text:
        page.get_by_text(wait_text).first.wait_for(timeout=30000)
    else:
        page.wait_for_timeout(700)
    if clicks:
        for link in page.locator(clicks).all():
            try:
                link.click(timeout=2000, no_wait_after=True)
            except Exception:  # hidden links cannot be clicked: fine
                continue
        page.wait_for_timeout(500)
    result = {
        "flag": page.evaluate("typeof window.__flag === 'undefined' ? null : window.__flag"),
        "dialogs": dialogs,
        "text": page.evaluate("document.body.innerText"),
    }
    page.close()
    return result


@pytest.mark.browser
def test_no_probe_runs_anywhere_and_dbts_page_still_works(project: Path, served: str) -> None:
    from playwright.sync_api import sync_playwright

    site = project / "site"
    dbt_static = (site / "dbt" / "static_index.html").as_uri()
    visits = {
        "our index": (site / "index.html").as_uri(),
        "our model page": (site / "nodes" / "model.probes.probe_model.html").as_uri(),
        "our exposure page": (site / "nodes" / "exposure.probes.probe_exposure.html").as_uri(),
        "our graph": (site / "graph.html").as_uri(),
        "dbt static model": dbt_static + "#!/model/model.probes.probe_model",
        "dbt static exposure": dbt_static + "#!/exposure/exposure.probes.probe_exposure",
        "dbt static source": dbt_static + "#!/source/source.probes.probe_src.raw_things",
        "dbt served model": served + "dbt/index.html#!/model/model.probes.probe_model",
        "dbt served exposure": served + "dbt/index.html#!/exposure/exposure.probes.probe_exposure",
        "monitoring report": (project / "report.html").as_uri(),
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            control = _visit(
                browser, (project / "probes" / "target" / "static_index.html").as_uri()
            )
            assert control["flag"] or control["dialogs"], "the probes must be live"
            for name, url in visits.items():
                wait = "probe_model" if name.startswith("dbt") and "model" in name else None
                got = _visit(browser, url, clicks="a[href^='javascript:']", wait_text=wait)
                assert got["flag"] is None and got["dialogs"] == [], (name, got)
                if wait:  # dbt's page rendered the model, with its probes as inert text
                    assert "probe_model" in got["text"]
        finally:
            browser.close()
