"""The lineage site from a fixture manifest (no dbt run): escaping and structure."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from lineage_fixture import catalog, col, manifest, model, rel, source

from tooling.docs.graph_page import graph_nodes
from tooling.docs.site import build_site, page_name

EVIL = '<script>alert(1)</script><img src=x onerror="alert(2)">'
SRC = "source.proj.crm.people"
STG = "model.proj.stg_people"
EXPOSURE = "exposure.proj.evil_board"


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse(path: Path) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.tags


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = source("crm", "people", [col("id"), col("email", pii=True, description=EVIL)])
    src["description"] = EVIL
    stg = model(
        "stg_people",
        f"select id, md5(email) as email_hash from {rel('raw', 'people')}",
        [SRC],
        [col("email_hash", pii="hashed", description=EVIL)],
        description=EVIL,
    )
    stg["tags"] = [EVIL]
    stg["meta"] = {"owner": EVIL}
    stg.setdefault("config", {})["grants"] = {"select": ["dataops_engineer", EVIL]}
    test = {
        "unique_id": "test.proj.not_null_stg_people_email_hash",
        "resource_type": "test",
        "name": "not_null_stg_people_email_hash",
        "attached_node": STG,
        "column_name": "email_hash",
        "test_metadata": {"name": "not_null"},
        "depends_on": {"nodes": [STG]},
    }
    exposure = {
        "unique_id": EXPOSURE,
        "resource_type": "exposure",
        "name": "evil_board",
        "description": EVIL,
        "url": "javascript:alert(3)",
        "owner": {"name": EVIL, "email": None},
        "depends_on": {"nodes": [STG]},
    }
    man = manifest(src, stg, exposures=[exposure])
    man["nodes"][test["unique_id"]] = test
    cat = catalog(man, {SRC: ["id", "email"], STG: ["id", "email_hash"]})
    results = {
        "metadata": {"generated_at": "2026-11-30T08:15:00Z"},
        "args": {"which": "build"},
        "results": [{"unique_id": test["unique_id"], "status": "pass"}],
    }
    out = tmp_path_factory.mktemp("site")
    build_site(man, cat, results, out)
    return out


def test_pages_exist(site: Path) -> None:
    assert {p.name for p in (site / "nodes").iterdir()} == {
        page_name(SRC),
        page_name(STG),
        page_name(EXPOSURE),
    }


def test_no_manifest_string_becomes_markup(site: Path) -> None:
    for page in [site / "index.html", site / "graph.html", *(site / "nodes").iterdir()]:
        tags = parse(page)
        scripts = [attrs.get("src") for tag, attrs in tags if tag == "script"]
        if page.name == "graph.html":
            # One JSON data block (no code), then the vendored library and our script.
            assert scripts == [None, "assets/vendor/cytoscape.min.js", "assets/graph.js"]
            types = [attrs.get("type") for tag, attrs in tags if tag == "script"]
            assert types[0] == "application/json"
        elif page.parent.name == "nodes" and scripts:
            # A column graph: its JSON data block, the library, our script.
            assert scripts == [None, "../assets/vendor/cytoscape.min.js", "../assets/columns.js"]
        else:
            assert scripts in ([], ["assets/search.js"]), page.name
        assert not [t for t, _ in tags if t == "img"], page.name
        handlers = [(t, a) for t, a in tags for name in a if name.startswith("on")]
        assert handlers == [], page.name
        hrefs = [a.get("href") or "" for _, a in tags]
        assert not [h for h in hrefs if h.lower().startswith("javascript:")], page.name
    graph = (site / "graph.html").read_text()
    block = graph.split('<script type="application/json" id="graph-data">')[1]
    block = block.split("</script>")[0]
    assert "<" not in block  # no manifest string can end the data block
    data = json.loads(block)
    assert [EVIL] in [n["tags"] for n in graph_nodes(data)]
    text = (site / "nodes" / page_name(STG)).read_text()
    assert (
        text.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4
    )  # description, tag, owner, column


def test_graph_data_rebuilds_every_node(site: Path) -> None:
    """The column-wise data block, rebuilt one object per node (as graph.js does),
    holds what the manifest says of each node and the link to its page."""
    graph = (site / "graph.html").read_text()
    block = graph.split('<script type="application/json" id="graph-data">')[1]
    data = json.loads(block.split("</script>")[0])
    nodes = {n["id"]: n for n in graph_nodes(data)}
    assert set(nodes) == {SRC, STG, EXPOSURE}
    for uid, node in nodes.items():
        assert node["href"] == "nodes/" + page_name(uid)
    assert nodes[STG] | {"label": None} == {
        "id": STG,
        "label": None,
        "name": "stg_people",
        "type": "model",
        "fqn": ["proj", "staging", "stg_people"],
        "tags": [EVIL],
        "path": "models/staging/stg_people.sql",
        "patch": None,
        "pkg": "",  # the fixture's entries have no package_name
        "src": "",
        "href": "nodes/model.proj.stg_people.html",
    }
    assert nodes[SRC]["type"] == "source" and nodes[SRC]["src"] == "crm"
    assert nodes[SRC]["fqn"] == ["proj", "crm", "people"]
    assert nodes[EXPOSURE]["type"] == "exposure"
    assert len(data["edges"]) == 4  # source -> staging -> exposure, as index pairs


def test_columns_tests_and_lineage_links(site: Path) -> None:
    tags = parse(site / "nodes" / page_name(STG))
    links = {a.get("href") for t, a in tags if t == "a" and "upcol" in (a.get("class") or "")}
    assert links == {f"{page_name(SRC)}#col-id", f"{page_name(SRC)}#col-email"}
    text = (site / "nodes" / page_name(STG)).read_text()
    assert "not_null: pass" in text
    assert "ran 2026-11-30 08:15 UTC" in text
    assert "PII: hashed" in text
    assert "crm.people.email" in text


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    from conftest import run_cli

    project = tmp_path / "proj"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: p\nprofile: p\n")
    no_site = run_cli("docs", "serve", "--out", str(tmp_path / "nothing"), cwd=tmp_path)
    assert no_site.returncode == 1
    assert no_site.stderr.startswith("error: no site at") and no_site.stderr.count("\n") == 1
    no_manifest = run_cli(
        "docs", "build", "--skip-dbt", "--project-dir", str(project), cwd=tmp_path
    )
    assert no_manifest.returncode == 1
    assert "manifest.json not found" in no_manifest.stderr
    assert no_manifest.stderr.count("\n") == 1
    no_node = run_cli("lineage", "x", "--project-dir", str(project), cwd=tmp_path)
    assert no_node.returncode == 1 and "manifest.json not found" in no_node.stderr


def test_results_of_a_compile_or_docs_generate_are_no_run_status(tmp_path: Path) -> None:
    src = source("crm", "people", [col("id")])
    stg = model("stg_people", f"select id from {rel('raw', 'people')}", [SRC], [col("id")])
    test = {
        "unique_id": "test.proj.not_null_stg_people_id",
        "resource_type": "test",
        "name": "not_null_stg_people_id",
        "attached_node": STG,
        "column_name": "id",
        "test_metadata": {"name": "not_null"},
        "depends_on": {"nodes": [STG]},
    }
    man = manifest(src, stg)
    man["nodes"][test["unique_id"]] = test
    for which in ("generate", "compile", None):
        results = {
            "args": {"which": which} if which else {},
            "results": [
                {"unique_id": STG, "status": "success"},
                {"unique_id": test["unique_id"], "status": "success"},
            ],
        }
        out = tmp_path / str(which)
        build_site(man, None, results, out)
        text = (out / "nodes" / page_name(STG)).read_text()
        assert "never run here" in text, which
        assert "success" not in text, which
        assert "runs nothing" in text, which


def test_model_page_says_who_can_read_it(site: Path) -> None:
    """The grants of the node's config, escaped, on its page (issue 17: access)."""
    import re

    text = (site / "nodes" / page_name(STG)).read_text()
    access = re.search(r'<dd id="access">(.*?)</dd>', text, re.S)
    assert access is not None
    assert "select: <code>dataops_engineer</code>" in access.group(1)
    assert "&lt;script&gt;" in access.group(1) and "<script>" not in access.group(1)
    source_page = (site / "nodes" / page_name(SRC)).read_text()
    assert 'id="access"' not in source_page  # sources are read through their models
