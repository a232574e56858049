"""Hostile models in slim CI: none of them can write production or the developer's warehouse.

main builds and publishes its state once; a branch then adds one harmless model and
one model per attack (each a post-hook, so the model itself compiles and runs). One
real `dataops ci run` builds them all. Expected: the run fails, every hostile model
is among the failed nodes with DuckDB's guard message in its result, the harmless
one builds, and the sha256 of the state folder's warehouse and of the developer's
warehouse are what they were before.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from conftest import copy_repo, run_cli

pytestmark = pytest.mark.e2e


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)


def _sql(text: str) -> str:
    return text.replace("'", "''")


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> dict:
    repo = copy_repo(tmp_path_factory.mktemp("isolation") / "repo")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "main")
    for args in (("build", "--quiet"), ("state", "publish", "ci/state")):
        result = run_cli(*args, cwd=repo)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    state_file = repo / "ci" / "state" / "warehouse.duckdb"
    dev_file = repo / "warehouse" / "dataops.duckdb"
    manifest = json.loads((repo / "ci" / "state" / "manifest.json").read_text())
    catalog = next(
        n["database"] for n in manifest["nodes"].values() if n["resource_type"] == "model"
    )
    before = {"state": sha256(state_file), "dev": sha256(dev_file)}
    prod, dev = _sql(str(state_file)), _sql(str(dev_file))
    attacks = {
        "hostile_reattach": [
            f'detach "{catalog}"',
            f"attach '{prod}' as \"{catalog}\"",
            f'create table "{catalog}".main.hacked as select 1 as x',
        ],
        "hostile_attach_rw": [
            f"attach '{prod}' as prod_rw (read_only false)",
            "create table prod_rw.main.hacked as select 1 as x",
        ],
        "hostile_attach_dev": [
            f"attach '{dev}' as dev_rw",
            "create table dev_rw.main.hacked as select 1 as x",
        ],
        "hostile_copy_to_prod": [f"copy (select 1 as x) to '{prod}' (use_tmp_file false)"],
        "hostile_copy_to_dev": [f"copy (select 1 as x) to '{dev}' (format csv)"],
        "hostile_install": ["install httpfs"],
        "hostile_load": ["load httpfs"],
        "hostile_unlock": ["set enable_external_access = true"],
    }
    git(repo, "checkout", "-q", "-b", "attack")
    folder = repo / "dbt_project" / "models" / "staging" / "erp"
    (folder / "harmless_ci_model.sql").write_text("select 42 as answer\n")
    for name, hooks in attacks.items():
        hook_list = ", ".join(json.dumps(h) for h in hooks)
        (folder / f"{name}.sql").write_text(
            f"{{{{ config(materialized='table', post_hook=[{hook_list}]) }}}}\nselect 1 as x\n"
        )
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "attack")
    out = repo / "ci" / "out"
    result = run_cli("ci", "run", "--state", "ci/state", "--ci-dir", str(out), cwd=repo)
    results = json.loads((out / "target" / "run_results.json").read_text())["results"]
    return {
        "result": result,
        "results": {r["unique_id"].rsplit(".", 1)[-1]: r for r in results},
        "attacks": attacks,
        "before": before,
        "after": {"state": sha256(state_file), "dev": sha256(dev_file)},
    }


def test_the_run_fails_and_names_the_hostile_models(attacked: dict) -> None:
    result = attacked["result"]
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    output = result.stdout + result.stderr
    for name in attacked["attacks"]:
        assert name in output, f"{name} not named in the output"


@pytest.mark.parametrize(
    "name",
    [
        "hostile_reattach",
        "hostile_attach_rw",
        "hostile_attach_dev",
        "hostile_copy_to_prod",
        "hostile_copy_to_dev",
        "hostile_install",
        "hostile_load",
        "hostile_unlock",
    ],
)
def test_each_attack_fails_on_duckdbs_guard(attacked: dict, name: str) -> None:
    node = attacked["results"][name]
    assert node["status"] == "error"
    message = node["message"] or ""
    assert any(
        phrase in message
        for phrase in (
            "disabled by configuration",
            "disabled through configuration",
            "configuration has been locked",
        )
    ), message


def test_a_harmless_model_still_builds(attacked: dict) -> None:
    assert attacked["results"]["harmless_ci_model"]["status"] == "success"


def test_production_and_developer_warehouses_are_unchanged(attacked: dict) -> None:
    assert attacked["after"] == attacked["before"]
