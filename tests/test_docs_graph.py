"""The interactive model graph on a generated 2,000-node project, in Debian's Chromium.

Expected selections come from dbt itself (`dbt ls`, which also writes the
manifest the site is built from: one parse for the whole module); focus views and
paths from the graph recomputed here from the manifest's ``depends_on``. Large
views (the whole graph at load) are drawn on the page's own canvas, small ones by
Cytoscape: both are checked, the canvas also by the colour of its pixels.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, run_dbt

from tooling.devtools.workspace import CHROMIUM, CHROMIUM_ARGS
from tooling.docs.serve import make_server
from tooling.docs.site import build_site

sys.path.insert(0, str(REPO / "benchmarks"))
from synthetic_project import make_project

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

MODELS = 1540  # + 462 sources = 2,002 nodes
TARGET = "int_items_0300_joined"
# A union of six terms: depths, @, intersections of path, parents and resource
# type, a source with its children, an fqn wildcard.
COMPLEX = (
    "fct_items_0002+1 2+fct_items_0003 @stg_synth__items_0007 "
    "path:models/staging,+int_items_0500_joined "
    "resource_type:source,+fct_items_0004,path:models "
    "source:synth.src_0011+1 marts.core.dim_items_000*"
)
GRAPH_TYPES = ("model", "source", "seed", "snapshot", "exposure")


def dbt_ls(project: Path, env: dict[str, str], selector: str) -> set[str]:
    output = ["--output", "json", "--output-keys", "unique_id"]
    result = run_dbt(project, env, "ls", "-s", *selector.split(), *output)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ids = {json.loads(line)["unique_id"] for line in result.stdout.splitlines() if line.strip()}
    # The graph page shows models, sources, seeds, snapshots, exposures and the
    # semantic layer; dbt ls also lists the tests.
    return {uid for uid in ids if uid.split(".")[0] in GRAPH_TYPES}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("graph")
    proj = make_project(work / "synth", MODELS)
    env = {**os.environ, "DO_NOT_TRACK": "1", "DATAOPS_WAREHOUSE": str(work / "s.duckdb")}
    expected = {TARGET: dbt_ls(proj, env, f"+{TARGET}+"), "complex": dbt_ls(proj, env, COMPLEX)}
    manifest = json.loads((proj / "target" / "manifest.json").read_text())
    site = work / "site"
    build_site(manifest, None, None, site)
    return {"manifest": manifest, "site": site, "expected": expected}


@pytest.fixture(scope="module")
def page_url(project: dict[str, Any]) -> Iterator[str]:
    server = make_server(project["site"], 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/graph.html"
    finally:
        server.shutdown()
        server.server_close()


def parents_of(manifest: dict[str, Any]) -> dict[str, list[str]]:
    entries = {**manifest["nodes"], **manifest["sources"], **manifest.get("exposures", {})}
    graph = {uid: e for uid, e in entries.items() if e["resource_type"] in GRAPH_TYPES}
    return {
        uid: [p for p in e.get("depends_on", {}).get("nodes", []) if p in graph]
        for uid, e in graph.items()
    }


def reach(start: str, edges: dict[str, list[str]], depth: int | None) -> set[str]:
    seen, frontier, level = {start}, [start], 0
    while frontier and (depth is None or level < depth):
        frontier = [m for k in frontier for m in edges.get(k, []) if m not in seen]
        seen.update(frontier)
        level += 1
    return seen


def overlapping_boxes(boxes: list[dict[str, float]]) -> list[tuple[str, str]]:
    """Pairs of boxes whose interiors intersect (a sweep over x)."""
    out: list[tuple[str, str]] = []
    active: list[dict[str, float]] = []
    for box in sorted(boxes, key=lambda b: b["x1"]):
        active = [a for a in active if a["x2"] > box["x1"]]
        out += [(a["id"], box["id"]) for a in active if a["y1"] < box["y2"] and box["y1"] < a["y2"]]
        active.append(box)
    return out


# Fill colours of the boxes (graph.js), as RGBA.
MODEL_FILL, SOURCE_FILL, PATH_FILL = (
    [238, 243, 255, 255],
    [236, 249, 239, 255],
    [255, 232, 163, 255],
)

# Zooms to a node and reads the canvas pixel 5 px inside its box's top-left
# corner (clear of border and label) once the frame is drawn.
FILL_AT_JS = """(id) => new Promise(done => {
  const g = window.lineageGraph;
  g.zoomTo(id);
  requestAnimationFrame(() => requestAnimationFrame(() => {
    const at = g.renderedCentre(id), canvas = document.querySelector('#cy canvas.cy-overview');
    const box = canvas.getBoundingClientRect();
    const x = Math.round(at.x - box.left - 110 + 5), y = Math.round(at.y - box.top - 15 + 5);
    done(Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data));
  }));
})"""

# Runs in the page over the geometry on screen (Cytoscape's rendered edge points,
# or the polylines the canvas drew): edges whose polyline enters a box other than
# their own two nodes'.
CROSSINGS_JS = """() => {
  const g = window.lineageGraph, boxes = g.boxes(), lines = g.polylines();
  const inset = 1.5, bad = [];
  const hits = (p, q, b) => {  // Liang-Barsky clip of segment p-q against box b
    let t0 = 0, t1 = 1;
    const dx = q.x - p.x, dy = q.y - p.y;
    const tests = [[-dx, p.x - (b.x1 + inset)], [dx, (b.x2 - inset) - p.x],
                   [-dy, p.y - (b.y1 + inset)], [dy, (b.y2 - inset) - p.y]];
    for (const [pp, qq] of tests) {
      if (pp === 0) { if (qq < 0) return false; continue; }
      const r = qq / pp;
      if (pp < 0) { if (r > t1) return false; if (r > t0) t0 = r; }
      else { if (r < t0) return false; if (r < t1) t1 = r; }
    }
    return t0 < t1;
  };
  const cols = new Map();
  for (const b of boxes) { if (!cols.has(b.x1)) cols.set(b.x1, []); cols.get(b.x1).push(b); }
  for (const line of lines) {
    for (let i = 0; i + 1 < line.points.length; i++) {
      const p = line.points[i], q = line.points[i + 1];
      const lo = Math.min(p.x, q.x), hi = Math.max(p.x, q.x);
      for (const [x1, col] of cols) {
        if (x1 > hi || col[0].x2 < lo) continue;
        for (const b of col) {
          if (b.id === line.source || b.id === line.target) continue;
          if (hits(p, q, b)) bad.push([line.source, line.target, b.id]);
        }
      }
    }
  }
  return {edges: lines.length, bad: bad.slice(0, 20), count: bad.length};
}"""


def test_graph_page_selectors_focus_paths_and_geometry(
    project: dict[str, Any], page_url: str
) -> None:
    from playwright.sync_api import sync_playwright

    manifest = project["manifest"]
    parents = parents_of(manifest)
    children: dict[str, list[str]] = {uid: [] for uid in parents}
    for uid, ps in parents.items():
        for p in ps:
            children[p].append(uid)
    assert len(parents) >= 2000
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_url)
            page.wait_for_function("() => window.lineageGraph && window.lineageGraph.ready")
            graph = "window.lineageGraph"
            assert set(page.evaluate(f"{graph}.visible()")) == set(parents)
            boxes = page.evaluate(f"{graph}.boxes()")
            assert len(boxes) == len(parents)
            assert overlapping_boxes(boxes) == []
            crossings = page.evaluate(CROSSINGS_JS)
            assert crossings["edges"] == sum(len(v) for v in parents.values())
            assert crossings["count"] == 0, crossings["bad"]

            # The whole graph is on the canvas: boxes where the geometry says, in
            # their type's colour; a real click on one focuses it.
            assert page.evaluate(f"{graph}.mode()") == "canvas"
            ids = sorted(parents)
            for uid in ids[:: len(ids) // 12]:
                want = SOURCE_FILL if uid.startswith("source.") else MODEL_FILL
                assert page.evaluate(FILL_AT_JS, uid) == want, uid
            clicked = f"model.synth.{TARGET}"
            page.evaluate(f"{graph}.zoomTo({json.dumps(clicked)})")
            at = page.evaluate(f"{graph}.renderedCentre({json.dumps(clicked)})")
            page.mouse.click(at["x"], at["y"])
            assert page.evaluate(f"{graph}.focused()") == [clicked]
            assert set(page.evaluate(f"{graph}.visible()")) == (
                reach(clicked, parents, 2) | reach(clicked, children, 2)
            )
            assert page.evaluate(f"{graph}.mode()") == "cytoscape"
            page.click("#reset")
            assert set(page.evaluate(f"{graph}.visible()")) == set(parents)

            # +model+ shows exactly what dbt ls lists.
            page.fill("#selector", f"+{TARGET}+")
            page.press("#selector", "Enter")
            shown = set(page.evaluate(f"{graph}.visible()"))
            assert shown == project["expected"][TARGET]
            assert len(shown) > 3
            assert page.evaluate(f"{graph}.mode()") == "cytoscape"
            assert page.text_content("#graph-message").startswith(f"{len(shown)} of ")
            page.fill("#selector", COMPLEX)
            page.click("#apply")
            assert set(page.evaluate(f"{graph}.visible()")) == project["expected"]["complex"]
            assert overlapping_boxes(page.evaluate(f"{graph}.boxes()")) == []
            assert page.evaluate(CROSSINGS_JS)["count"] == 0

            # A real click on a node focuses it, two levels each way.
            clicked = f"model.synth.{TARGET}"
            page.fill("#selector", f"+{TARGET}+")
            page.press("#selector", "Enter")
            page.evaluate(f"{graph}.zoomTo({json.dumps(clicked)})")
            at = page.evaluate(f"{graph}.renderedCentre({json.dumps(clicked)})")
            page.mouse.click(at["x"], at["y"])
            assert page.evaluate(f"{graph}.focused()") == [clicked]
            focus = reach(clicked, parents, 2) | reach(clicked, children, 2)
            assert set(page.evaluate(f"{graph}.visible()")) == focus
            assert page.get_attribute("#graph-open", "href") == f"nodes/{clicked}.html"

            # The path between a source and a mart: every node on some path.
            mart = next(iter(sorted(u for u in reach(clicked, children, None) if "fct_" in u)))
            source = next(
                u for u in sorted(reach(clicked, parents, None)) if u.startswith("source.")
            )
            page.fill("#path-from", source.split(".")[-1])
            page.fill("#path-to", mart.split(".")[-1])
            page.click("#path-go")
            on_path = reach(source, children, None) & reach(mart, parents, None)
            assert set(page.evaluate(f"{graph}.highlighted()")) == on_path
            assert {source, mart} <= on_path
            # The same path over the whole graph, on the canvas.
            page.click("#reset")
            page.click("#path-go")
            assert page.evaluate(f"{graph}.mode()") == "canvas"
            assert set(page.evaluate(f"{graph}.highlighted()")) == on_path
            assert set(page.evaluate(f"{graph}.visible()")) == set(parents)
            assert page.evaluate(FILL_AT_JS, source) == PATH_FILL
            off_path = next(u for u in ids if u.startswith("model.") and u not in on_path)
            assert page.evaluate(FILL_AT_JS, off_path) == MODEL_FILL

            # Bad input: one clear message, the graph stays as it was.
            before = set(page.evaluate(f"{graph}.visible()"))
            page.fill("#selector", "colour:red")
            page.press("#selector", "Enter")
            assert page.text_content("#graph-message").startswith("selector error: 'colour'")
            page.fill("#selector", "++x")
            page.press("#selector", "Enter")
            assert page.text_content("#graph-message").startswith("selector error:")
            page.fill("#selector", "no_such_model+")
            page.press("#selector", "Enter")
            assert page.text_content("#graph-message") == "nothing matches no_such_model+"
            assert set(page.evaluate(f"{graph}.visible()")) == before
            assert errors == []
        finally:
            browser.close()
