"""The lineage site on a generated N-model project, against dbt's own docs site.

Goal (issue 6): building the lineage site, column lineage included, takes at
most 60 s for 1,000 models. Baseline: `dbt docs generate --static` (the
open-source dbt docs site), on the same project and artifacts. Measured in one
run:

- build time: `dataops docs build --skip-dbt` (a subprocess: imports, reading
  the artifacts, column lineage of every column, every page) against
  `dbt docs generate --static`; plus, in-process, column lineage and rendering
  apart, and ms per model;
- size: the lineage site (without its dbt/ copy) against dbt's single-file page;
- render time in headless Chromium (Debian's), served over loopback: open a
  model page until its columns show, ours against dbt's static page at the same
  model.

    uv run python benchmarks/bench_docs.py [--models 1000] [--pages 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from synthetic_project import make_project

from tooling.devtools.workspace import CHROMIUM, CHROMIUM_ARGS
from tooling.docs.serve import make_server
from tooling.docs.site import build_site, page_name

BIN = Path(sys.executable).parent


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def mb(num: int) -> str:
    return f"{num / 1_000_000:.1f} MB"


def render_times(site: Path, models: list[tuple[str, str, str]], repeats: int) -> None:
    from playwright.sync_api import sync_playwright

    server = make_server(site, 0)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}/"
    ours: list[float] = []
    theirs: list[float] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(repeats):
                for uid, name, column in models:
                    page = browser.new_page()
                    start = time.perf_counter()
                    page.goto(f"{base}dbt/static_index.html#!/model/{uid}")
                    page.wait_for_function(
                        "([name, column]) => { const t = document.querySelector('.app-title');"
                        " return t && t.innerText.trim().startsWith(name)"
                        " && document.body.innerText.includes(column); }",
                        arg=[name, column],
                        timeout=120_000,
                    )
                    theirs.append(time.perf_counter() - start)
                    page.close()
                    page = browser.new_page()
                    start = time.perf_counter()
                    page.goto(f"{base}nodes/{page_name(uid)}")
                    page.locator(f"#col-{column}").wait_for(timeout=120_000)
                    ours.append(time.perf_counter() - start)
                    page.close()
            browser.close()
    finally:
        server.shutdown()
    o, t = statistics.median(ours), statistics.median(theirs)
    print(
        f"render a model page in Chromium (median of {len(ours)}): ours {o * 1000:.0f} ms, "
        f"dbt docs {t * 1000:.0f} ms; dbt/ours = {t / o:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--pages", type=int, default=5, help="model pages opened in Chromium")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-docs-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        project = make_project(work / "synth", args.models)
        env = {
            **os.environ,
            "DO_NOT_TRACK": "1",
            "DATAOPS_WAREHOUSE": str(work / "synth.duckdb"),
        }
        dbt = [str(BIN / "dbt"), "--quiet"]
        where = ["--project-dir", str(project), "--profiles-dir", str(project)]
        print(f"project: {args.models} models at {project}", flush=True)
        t_run = run([*dbt, "run", *where], work, env)
        print(f"dbt run (setup, not compared): {t_run:.1f}s", flush=True)
        t_dbt = run([*dbt, "docs", "generate", "--static", *where], work, env)
        target = project / "target"
        manifest = json.loads((target / "manifest.json").read_text())
        catalog = json.loads((target / "catalog.json").read_text())
        n_models = sum(1 for e in manifest["nodes"].values() if e["resource_type"] == "model")

        site = work / "site"
        t_ours = run(
            [
                str(BIN / "dataops"),
                "--project-dir",
                str(project),
                "docs",
                "build",
                "--skip-dbt",
                "--out",
                str(site),
            ],
            work,
            env,
        )
        outcome = build_site(manifest, catalog, None, work / "site-inprocess")
        shutil.rmtree(work / "site-inprocess")
        print(
            f"build: dataops docs build --skip-dbt {t_ours:.1f}s "
            f"({t_ours * 1000 / n_models:.1f} ms/model; goal <= 60 s), "
            f"dbt docs generate --static {t_dbt:.1f}s; ours/dbt = {t_ours / t_dbt:.2f}"
        )
        print(
            f"  in-process: column lineage {outcome.lineage_seconds:.1f}s "
            f"({outcome.lineage_seconds * 1000 / n_models:.1f} ms/model), "
            f"pages {outcome.render_seconds:.1f}s; {outcome.columns} columns, "
            f"{outcome.columns_resolved} resolved, {outcome.columns_unknown} unknown"
        )
        ours_size = sum(
            p.stat().st_size
            for p in site.rglob("*")
            if p.is_file() and p.relative_to(site).parts[0] != "dbt"
        )
        largest_page = max(p.stat().st_size for p in (site / "nodes").iterdir())
        dbt_static = (target / "static_index.html").stat().st_size
        print(
            f"size: lineage site {mb(ours_size)} in {outcome.pages} files "
            f"(largest page {largest_page / 1000:.0f} kB, graph.html "
            f"{(site / 'graph.html').stat().st_size / 1000:.0f} kB); "
            f"dbt static_index.html {mb(dbt_static)} (one file the browser loads whole)"
        )
        models = sorted(
            (uid, e["name"], next(iter(e.get("columns") or {"entity_id": 0})))
            for uid, e in manifest["nodes"].items()
            if e["resource_type"] == "model"
        )
        step = max(1, len(models) // args.pages)
        render_times(site, models[::step][: args.pages], args.repeats)
        print("note: shared 2-core machine; other jobs were running, figures are noisy")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
