"""End to end: slim CI in a temporary git repository.

main builds and publishes its state once (module fixture); each test checks
out a branch from main, changes something, and runs the real `dataops ci`
commands against that state. Expectations are derived independently: the set
of nodes to build from the branch manifest's child map, the data changes from
SQL over the production file.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import duckdb
import pytest
from conftest import copy_repo, run_cli

pytestmark = pytest.mark.e2e

STG = "dbt_project/models/staging/erp/stg_erp__customers.sql"
STG_ID = "model.dataops.stg_erp__customers"
MART_SQL = "dbt_project/models/marts/core/dim_stores.sql"
MART_YML = "dbt_project/models/marts/core/_core__models.yml"
MART_ID = "model.dataops.dim_stores"


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = copy_repo(tmp_path_factory.mktemp("slimci") / "repo")
    git(copy, "init", "-q", "-b", "main")
    git(copy, "add", "-A")
    git(copy, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "main")
    ok(run_cli("build", "--quiet", cwd=copy))
    ok(run_cli("state", "publish", "ci/state", cwd=copy))
    return copy


@pytest.fixture(scope="module")
def prod_sha(repo: Path) -> str:
    return sha256(repo / "ci" / "state" / "warehouse.duckdb")


def branch(repo: Path, name: str) -> None:
    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "-B", name)


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", message)


def edit(repo: Path, path: str, old: str, new: str) -> None:
    file = repo / path
    text = file.read_text()
    assert old in text, f"{old!r} not in {path}"
    file.write_text(text.replace(old, new))


def ci_json(repo: Path, out: Path, command: str) -> dict:
    """`dataops ci <command> --state ci/state --ci-dir OUT --format json`, parsed."""
    result = run_cli(
        "ci", command, "--state", "ci/state", "--ci-dir", str(out), "--format", "json", cwd=repo
    )
    return json.loads(ok(result).stdout)


def children_closure(manifest: dict, root: str) -> set[str]:
    seen, todo = set(), [root]
    while todo:
        uid = todo.pop()
        if uid not in seen:
            seen.add(uid)
            todo.extend(manifest["child_map"].get(uid, []))
    return seen


def test_staging_edit_builds_exactly_its_descendants(repo: Path, prod_sha: str) -> None:
    branch(repo, "upper-city")
    edit(
        repo,
        STG,
        "nullif(trim(city), '') as city,",
        "upper(nullif(trim(city), '')) as city,\n        length(trim(city)) as city_length,",
    )
    commit(repo, "upper-case cities")
    out = repo / "ci" / "out-upper"
    ok(run_cli("ci", "run", "--state", "ci/state", "--ci-dir", str(out), cwd=repo))

    manifest = json.loads((out / "target" / "manifest.json").read_text())
    expected = children_closure(manifest, STG_ID)
    results = json.loads((out / "target" / "run_results.json").read_text())["results"]
    built = {r["unique_id"] for r in results if not r["unique_id"].startswith("operation.")}
    assert built == expected
    assert all(r["status"] in {"success", "pass"} for r in results)
    assert sha256(repo / "ci" / "state" / "warehouse.duckdb") == prod_sha

    diff = ci_json(repo, out, "diff")
    with duckdb.connect() as con:
        # Production views name their catalog (the production file's stem at build time).
        con.execute(f"attach '{repo / 'ci' / 'state' / 'warehouse.duckdb'}' as dataops (read_only)")
        rows, upper_changes = con.execute(
            "select count(*), count(*) filter (where city is distinct from upper(city)) "
            "from dataops.staging.stg_erp__customers"
        ).fetchone()
    assert upper_changes > 0
    (model,) = diff["models"]
    assert model["unique_id"] == STG_ID
    assert model["columns_added"] == ["city_length"]
    assert model["columns_removed"] == [] and model["columns_retyped"] == []
    assert (model["rows_prod"], model["rows_ci"]) == (rows, rows)
    assert (model["rows_added"], model["rows_removed"]) == (0, 0)
    assert model["rows_changed"] == upper_changes
    assert model["changed_by_column"] == {"city": upper_changes}
    assert model["primary_key"] == ["customer_id"]
    assert model["samples"]["changed"], "changed rows come with samples"

    report_file = out / "report.md"
    report = ok(
        run_cli("ci", "report", "--ci-dir", str(out), "--out", str(report_file), cwd=repo)
    ).stdout
    assert report_file.read_text() == report
    assert report.startswith("<!-- dataops-ci-report -->")
    row = next(line for line in report.splitlines() if line.startswith("| `stg_erp__customers`"))
    assert "SQL body" in row and "non-breaking" in row
    downstream = {u.split(".")[-1] for u in expected if u.startswith("model.") and u != STG_ID}
    assert downstream and all(f"`{name}`" in row for name in downstream)
    assert f"~{upper_changes} rows" in report and "+city_length" in report
    assert "```mermaid" in report
    data = json.loads(
        ok(run_cli("ci", "report", "--ci-dir", str(out), "--format", "json", cwd=repo)).stdout
    )
    assert data["modified"][0]["reasons"] == ["SQL body"]
    # every relation below the change: models and the customers snapshot
    relations = {u for u in expected if u.split(".")[0] in ("model", "snapshot", "seed")}
    assert set(data["impacted"]) == relations
    assert sha256(repo / "ci" / "state" / "warehouse.duckdb") == prod_sha


def test_branch_without_model_changes_builds_nothing(repo: Path, prod_sha: str) -> None:
    branch(repo, "docs-only")
    (repo / "README.md").write_text((repo / "README.md").read_text() + "\nA note.\n")
    commit(repo, "docs only")
    out = repo / "ci" / "out-none"
    result = ok(run_cli("ci", "run", "--state", "ci/state", "--ci-dir", str(out), cwd=repo))
    assert "nothing to build" in result.stdout
    assert json.loads((out / "run.json").read_text())["built"] == []
    assert not (out / "target" / "run_results.json").exists()
    report = ok(run_cli("ci", "report", "--ci-dir", str(out), cwd=repo)).stdout
    assert "passed" in report.splitlines()[1] and "0 modified" in report
    assert sha256(repo / "ci" / "state" / "warehouse.duckdb") == prod_sha


def test_dropping_a_mart_column_is_breaking(repo: Path, prod_sha: str) -> None:
    branch(repo, "drop-tax-rate")
    edit(
        repo,
        MART_SQL,
        "cast(opened_date as date) as opened_date,\n        cast(tax_rate as numeric(6, 4)) as tax_rate",
        "cast(opened_date as date) as opened_date",
    )
    edit(
        repo,
        MART_YML,
        "      - name: tax_rate\n        description: Sales tax rate applied to the store's orders.\n"
        "        data_type: numeric(6,4)\n",
        "",
    )
    commit(repo, "drop dim_stores.tax_rate")
    out = repo / "ci" / "out-drop"
    plan = ci_json(repo, out, "plan")
    (item,) = [m for m in plan["modified"] if m["unique_id"] == MART_ID]
    assert item["change_class"] == "breaking"
    assert item["columns_removed"] == ["tax_rate"]
    assert "contract" in item["reasons"] and "SQL body" in item["reasons"]

    ok(run_cli("ci", "run", "--state", "ci/state", "--ci-dir", str(out), cwd=repo))
    diff = ci_json(repo, out, "diff")
    (model,) = [m for m in diff["models"] if m["unique_id"] == MART_ID]
    assert model["columns_removed"] == ["tax_rate"]
    report = ok(run_cli("ci", "report", "--ci-dir", str(out), cwd=repo)).stdout
    assert "**breaking:** `dim_stores`" in report
    assert sha256(repo / "ci" / "state" / "warehouse.duckdb") == prod_sha


def test_missing_or_foreign_state_is_a_clear_error(repo: Path, tmp_path: Path) -> None:
    missing = run_cli("ci", "plan", "--state", str(tmp_path / "nope"), cwd=repo)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: state directory") and "--full" in missing.stderr
    assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    manifest = json.loads((repo / "ci" / "state" / "manifest.json").read_text())
    manifest["metadata"]["project_name"] = "someone_else"
    (foreign / "manifest.json").write_text(json.dumps(manifest))
    result = run_cli("ci", "run", "--state", str(foreign), cwd=repo)
    assert result.returncode == 1
    assert "belongs to dbt project 'someone_else', not 'dataops'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("ci", "plan", "--state", str(empty), cwd=repo)
    assert result.returncode == 1 and "production manifest.json not found" in result.stderr

    full = run_cli(
        "ci", "plan", "--state", str(tmp_path / "nope"), "--full", "--format", "json", cwd=repo
    )
    assert ok(full) and json.loads(full.stdout)["full"] is True
