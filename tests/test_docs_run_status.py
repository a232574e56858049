"""A project that was only compiled shows no run status (issue 12): `dbt compile`
and `dbt docs generate` write run_results.json too, with "success" for nodes
that never ran. After a real `dbt build`, the statuses and the run's time show."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_cli, run_dbt

sys.path.insert(0, str(REPO / "benchmarks"))
from synthetic_project import make_project

pytestmark = [pytest.mark.e2e]

MART = "model.synth.fct_items_0000"


def dbt(project: Path, env: dict[str, str], *args: str) -> None:
    result = run_dbt(project, env, *args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_compiled_only_project_shows_no_run_status(tmp_path: Path) -> None:
    project = make_project(tmp_path / "synth", 6, seed=1)
    warehouse = str(tmp_path / "s.duckdb")
    env = {**os.environ, "DO_NOT_TRACK": "1", "DATAOPS_WAREHOUSE": warehouse}
    dbt(project, env, "compile")
    compiled = json.loads((project / "target" / "run_results.json").read_text())
    assert {r["status"] for r in compiled["results"]} == {"success"}  # what dbt claims
    out = tmp_path / "site"
    cli_env = {"DATAOPS_WAREHOUSE": warehouse}
    docs = run_cli("--project-dir", str(project), "docs", "build", "--out", str(out), env=cli_env)
    assert docs.returncode == 0, docs.stdout[-2000:] + docs.stderr[-2000:]
    page = (out / "nodes" / f"{MART}.html").read_text()
    assert "never run here" in page
    assert 'class="status success"' not in page and ": success" not in page
    assert "unique: pass" not in page

    dbt(project, env, "build")
    built = json.loads((project / "target" / "run_results.json").read_text())
    ran = {r["unique_id"]: r for r in built["results"]}
    assert ran[MART]["status"] == "success"
    docs = run_cli("--project-dir", str(project), "docs", "build", "--out", str(out), env=cli_env)
    assert docs.returncode == 0, docs.stdout[-2000:] + docs.stderr[-2000:]
    page = (out / "nodes" / f"{MART}.html").read_text()
    assert "never run here" not in page
    assert '<span class="status success">success</span>' in page
    finished = next(t for t in ran[MART]["timing"] if t["name"] == "execute")["completed_at"]
    assert finished[:10] + " " + finished[11:16] + " UTC" in page  # the run's time, shown
    tests = [u for u in ran if u.startswith("test.") and "unique" in u and "fct_items_0000" in u]
    assert tests and "unique: pass" in page
