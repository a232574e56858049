"""End to end: build the sample project, `dataops docs build`, serve it with
`dataops docs serve`, and use both sites in Debian's headless Chromium.

A probe model is added to the temporary copy: its description carries
``<script>`` and ``<img onerror=...>`` (must render as text and run nothing), and
it copies a raw PII column into a mart (the exact PII rule must find exactly it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import copy_repo, run_cli

from tooling.devtools.workspace import CHROMIUM, CHROMIUM_ARGS
from tooling.lineage import pii_exposures

pytestmark = [pytest.mark.e2e]

XSS = (
    "Probe <script>window.__xss = 1; alert('script ran')</script> "
    "and <img src=x onerror=\"window.__xss = 2; alert('img ran')\"> end."
)
PROBE_SQL = """{{ config(contract={'enforced': false}) }}
select
    customers.customer_id,
    customers.email_hash,
    raw_customers.email as leaked_email
from {{ ref('stg_erp__customers') }} as customers
left join {{ source('erp', 'customers') }} as raw_customers
    on customers.customer_id = raw_customers.customer_id
"""
PROBE_YML = f"""models:
  - name: fct_xss_probe
    description: |
      {XSS}
    columns:
      - name: customer_id
        description: "<b>bold?</b> no: text"
"""
PROBE = "model.dataops.fct_xss_probe"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = copy_repo(tmp_path_factory.mktemp("docs") / "repo")
    probe_dir = copy / "dbt_project" / "models" / "marts" / "probe"
    probe_dir.mkdir(parents=True)
    (probe_dir / "fct_xss_probe.sql").write_text(PROBE_SQL)
    (probe_dir / "_probe__models.yml").write_text(PROBE_YML)
    built = run_cli("build", "--quiet", cwd=copy)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    docs = run_cli("docs", "build", cwd=copy)
    assert docs.returncode == 0, docs.stdout[-3000:] + docs.stderr[-3000:]
    return copy


@pytest.fixture(scope="module")
def server(repo: Path) -> Iterator[str]:
    exe = shutil.which("dataops", path=str(Path(sys.executable).parent)) or "dataops"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAOPS_")}
    proc = subprocess.Popen(
        [exe, "docs", "serve", "--port", "0"],
        cwd=repo,
        env={**env, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        assert proc.stdout is not None
        for _ in range(5):
            line = proc.stdout.readline()
            found = re.search(r"lineage site: (http://127\.0\.0\.1:\d+/)", line)
            if found:
                url = found.group(1)
                break
        assert url, "docs serve did not print its address"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_site_files_and_dbt_docs_copy(repo: Path) -> None:
    site = repo / "site"
    for name in ("index.html", "graph.html", "lineage.json", "assets/search.js"):
        assert (site / name).is_file(), name
    assert (site / "dbt" / "index.html").is_file()
    assert (site / "dbt" / "static_index.html").is_file()
    manifest = json.loads((repo / "dbt_project/target/manifest.json").read_text())
    pages = {p.name for p in (site / "nodes").iterdir()}
    expected = {
        uid
        for section in ("nodes", "sources", "exposures")
        for uid, e in manifest[section].items()
        if e["resource_type"] in ("model", "source", "seed", "snapshot", "exposure")
    }
    assert pages == {f"{uid}.html" for uid in expected}
    # The last build's test results survive `dbt docs generate`.
    results = json.loads((repo / "dbt_project/target/run_results.json").read_text())
    assert any(r["unique_id"].startswith("test.") for r in results["results"])
    # Every description is escaped in the raw HTML.
    html = (site / "nodes" / f"{PROBE}.html").read_text()
    assert "<script>window.__xss" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__xss" in html


def test_column_lineage_of_the_real_project(repo: Path) -> None:
    lineage = json.loads((repo / "site" / "lineage.json").read_text())
    dim = lineage["model.dataops.dim_customers"]
    assert [u["node"] + "." + u["column"] for u in dim["email_hash"]["upstream"]] == [
        "model.dataops.stg_erp__customers.email_hash"
    ]
    stg = lineage["model.dataops.stg_erp__customers"]
    assert [(u["node"], u["column"]) for u in stg["email_hash"]["upstream"]] == [
        ("source.dataops.erp.customers", "email")
    ]
    assert stg["email_hash"]["unmasked"] == []  # md5 through hash_pii
    initials = {(u["node"], u["column"]) for u in stg["customer_initials"]["upstream"]}
    assert initials == {
        ("source.dataops.erp.customers", "first_name"),
        ("source.dataops.erp.customers", "last_name"),
    }
    manifest = json.loads((repo / "dbt_project" / "target" / "manifest.json").read_text())
    python_models = {
        uid for uid, node in manifest["nodes"].items() if node.get("language") == "python"
    }
    assert python_models  # the ML stage: no SQL, so no column lineage to resolve
    unknown = {
        (uid, c)
        for uid, cols in lineage.items()
        for c, item in cols.items()
        if item["status"] == "unknown" and uid not in python_models
    }
    # Apart from Python models, only the columns dbt's snapshot materialisation adds
    # are unknown.
    assert {c for _, c in unknown} <= {
        "dbt_scd_id",
        "dbt_updated_at",
        "dbt_valid_from",
        "dbt_valid_to",
    }
    assert all(uid.startswith("snapshot.") for uid, _ in unknown)


def test_exact_pii_rule_on_the_real_project(repo: Path) -> None:
    target = repo / "dbt_project" / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    found = [
        (e.mart, e.column, e.source, e.source_column) for e in pii_exposures(manifest, catalog)
    ]
    assert found == [(PROBE, "leaked_email", "source.dataops.erp.customers", "email")]


def test_lineage_command_formats(repo: Path) -> None:
    as_json = run_cli(
        "lineage", "fct_xss_probe", "--column", "leaked_email", "-f", "json", cwd=repo
    )
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert [(e["node"], e["column"]) for e in data["upstream"]] == [
        ("source.dataops.erp.customers", "email")
    ]
    tree = run_cli("lineage", "dim_customers", "--upstream", "1", "--downstream", "0", cwd=repo)
    assert tree.returncode == 0, tree.stderr
    assert "stg_erp__customers" in tree.stdout and "fct_orders" in tree.stdout
    assert "erp.customers" not in tree.stdout  # two levels up: not asked for
    chart = run_cli("lineage", "stg_erp__customers", "-f", "mermaid", cwd=repo)
    assert chart.stdout.startswith("flowchart LR")
    assert "n_source_dataops_erp_customers --> n_model_dataops_stg_erp__customers" in chart.stdout
    bad = run_cli("lineage", "dim_customers", "--column", "nope", cwd=repo)
    assert bad.returncode == 2 and "has no column 'nope'" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.browser
def test_browse_the_lineage_site_and_dbt_docs(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(server)
            page.fill("#search", "dim_cust")
            visible = page.locator("#node-table tbody tr:visible")
            expect(visible).to_have_count(1)
            visible.locator("a").click()
            expect(page.locator("#node-title")).to_contain_text("dim_customers")
            row = page.locator("#col-email_hash")
            expect(row).to_be_visible()
            expect(row.locator("a.upcol")).to_have_text(["stg_erp__customers.email_hash"])
            lifetime = page.locator("#col-lifetime_value_usd a.upcol")
            expect(lifetime).to_have_text(["fct_orders.net_paid_usd"])
            assert page.locator("#columns tbody tr").count() == 13
            # Click through to a parent, then see its column's source column.
            page.locator("#upstream a", has_text="stg_erp__customers").click()
            expect(page.locator("#node-title")).to_contain_text("stg_erp__customers")
            expect(page.locator("#col-email_hash a.upcol")).to_have_text(["erp.customers.email"])
            # Following a column link lands on the parent's column row.
            page.locator("#col-email_hash a.upcol").click()
            expect(page.locator("#node-title")).to_contain_text("erp.customers")
            assert page.url.endswith("#col-email")

            # The probe: its HTML shows as text and nothing runs.
            page.goto(server + f"nodes/{PROBE}.html")
            description = page.locator("#description")
            expect(description).to_contain_text("<script>window.__xss = 1;")
            expect(description).to_contain_text("<img src=x onerror=")
            assert page.evaluate("typeof window.__xss") == "undefined"
            assert page.locator("#description img, #description script").count() == 0
            page.goto(server)
            page.fill("#search", "probe")
            expect(page.locator("#node-table tbody tr:visible")).to_have_count(1)
            assert page.evaluate("typeof window.__xss") == "undefined"
            assert dialogs == []

            # dbt's single-file docs page renders a model. (Before issue 13 the probe's
            # `</script>` ended dbt's inline script and the manifest spilled onto the
            # page as text, which is what made every model name "visible" here.)
            page.goto(server + "dbt/static_index.html#!/model/model.dataops.dim_customers")
            expect(page.get_by_text("dim_customers").first).to_be_visible(timeout=20000)
            assert '"nodes"' not in page.evaluate("document.body.innerText")
            assert page.evaluate("typeof window.__xss") == "undefined" and dialogs == []
        finally:
            browser.close()


def _lineage_view(lineage: dict) -> dict:
    return {
        uid: {
            col.lower(): (
                item.status,
                item.kind,
                sorted((r.node, r.column.lower()) for r in item.upstream),
            )
            for col, item in cols.items()
        }
        for uid, cols in lineage.items()
    }


def test_lineage_without_a_catalog_equals_lineage_with_one(repo: Path) -> None:
    from tooling.lineage.columns import compute_column_lineage

    target = repo / "dbt_project" / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    with_catalog = _lineage_view(compute_column_lineage(manifest, catalog))
    without = _lineage_view(compute_column_lineage(manifest, None))
    assert without == with_catalog
    assert sum(len(cols) for cols in with_catalog.values()) > 100


def _closure(start: tuple[str, str], edges: dict, hops: int) -> set[tuple[str, str]]:
    seen, frontier = set(), [start]
    for _ in range(hops):
        frontier = [n for key in frontier for n in edges.get(key, []) if n not in seen]
        seen.update(frontier)
    return seen


@pytest.mark.browser
def test_column_graph_on_a_model_page(repo: Path, server: str) -> None:
    from playwright.sync_api import sync_playwright

    lineage = json.loads((repo / "site" / "lineage.json").read_text())
    up: dict[tuple[str, str], list[tuple[str, str]]] = {}
    down: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for uid, cols in lineage.items():
        for col, item in cols.items():
            for ref in item["upstream"]:
                key, ref_key = (uid, col), (ref["node"], ref["column"])
                up.setdefault(key, []).append(ref_key)
                down.setdefault(ref_key, []).append(key)
    start = ("model.dataops.stg_erp__customers", "email_hash")
    expected_up = {f"{n}.{c}" for n, c in _closure(start, up, 2)}
    expected_down = {f"{n}.{c}" for n, c in _closure(start, down, 2)}
    assert "source.dataops.erp.customers.email" in expected_up
    assert "model.dataops.dim_customers.email_hash" in expected_down
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server + "nodes/model.dataops.stg_erp__customers.html")
            page.wait_for_function("() => window.columnGraph && window.columnGraph.ready")
            page.locator("#col-email_hash .col-name code").click()
            picked = page.evaluate("window.columnGraph.picked")
            assert set(picked["up"]) == expected_up
            assert set(picked["down"]) == expected_down
            info = page.locator("#column-info").inner_text()
            assert "derives from: erp.customers.email" in info
            kind = lineage["model.dataops.dim_customers"]["email_hash"]["kind"]
            assert kind in ("passthrough", "rename", "cast", "expression", "aggregate")
            assert f"dim_customers.email_hash ({kind})" in info
            assert errors == []
        finally:
            browser.close()
