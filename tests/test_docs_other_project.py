"""The toolkit on a dbt project that is not ours, given only --project-dir.

tests/fixtures/other_project: seeds, two models (CTE, select *, aliased join with
`using`, aggregates, a window function, case) and an exposure; its own profile.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO, run_cli

pytestmark = pytest.mark.e2e

FIXTURE = REPO / "tests" / "fixtures" / "other_project"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    work = tmp_path_factory.mktemp("other")
    project = shutil.copytree(FIXTURE, work / "shop")
    env = {"SHOP_ANALYTICS_DB": str(work / "shop.duckdb")}
    result = run_cli("build", "--project-dir", str(project), "--skip-ingest", cwd=work, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    site = work / "site"
    docs = run_cli(
        "--project-dir", str(project), "docs", "build", "--out", str(site), cwd=work, env=env
    )
    assert docs.returncode == 0, docs.stdout[-2000:] + docs.stderr[-2000:]
    return project, site, env


def test_site_for_another_project(built: tuple[Path, Path, dict]) -> None:
    _, site, _ = built
    names = {p.name for p in (site / "nodes").iterdir()}
    assert names == {
        "model.shop_analytics.people.html",
        "model.shop_analytics.visit_summary.html",
        "seed.shop_analytics.raw_people.html",
        "seed.shop_analytics.raw_visits.html",
        "exposure.shop_analytics.growth_board.html",
    }
    assert (site / "dbt" / "static_index.html").is_file()
    exposure = (site / "nodes" / "exposure.shop_analytics.growth_board.html").read_text()
    assert "Growth growth@example.com" in exposure
    assert 'href="https://example.com/board"' in exposure


def test_column_lineage_of_another_project(built: tuple[Path, Path, dict]) -> None:
    _, site, _ = built
    lineage = json.loads((site / "lineage.json").read_text())
    seed_people, seed_visits = "seed.shop_analytics.raw_people", "seed.shop_analytics.raw_visits"
    people = "model.shop_analytics.people"

    def ups(model: str, column: str) -> set[tuple[str, str]]:
        return {(u["node"], u["column"]) for u in lineage[model][column]["upstream"]}

    summary = "model.shop_analytics.visit_summary"
    assert ups(people, "country_code") == {(seed_people, "country")}
    assert ups(people, "name_length") == {(seed_people, "full_name")}
    assert ups(summary, "person_id") == {(people, "person_id")}
    assert ups(summary, "total_pages") == {(seed_visits, "pages")}
    assert ups(summary, "country_rank") == {(people, "country_code"), (seed_visits, "pages")}
    assert ups(summary, "segment") == {(seed_visits, "pages")}
    assert lineage[summary]["visit_count"]["status"] == "constant"  # count(*)


def test_lineage_command_on_another_project(built: tuple[Path, Path, dict]) -> None:
    project, _, env = built
    result = run_cli(
        "lineage",
        "growth_board",
        "--project-dir",
        str(project),
        "--upstream",
        "5",
        "-f",
        "json",
        cwd=project.parent,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data["nodes"]) == {
        "exposure.shop_analytics.growth_board",
        "model.shop_analytics.visit_summary",
        "model.shop_analytics.people",
        "seed.shop_analytics.raw_people",
        "seed.shop_analytics.raw_visits",
    }
    missing = run_cli("lineage", "nope", "--project-dir", str(project), cwd=project.parent)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
