"""`dataops check` and `dataops docs build` with `--target postgres|spark`, no engine at hand.

`check` reads the manifest only: it parses the project for the target named (dbt
needs no connection for that) and asks for no DuckDB file. `docs build` runs `dbt
docs generate`, whose catalog comes from the engine: without one it stops in one
line naming what it needs, exit 2, nothing written. (With a real server and a real
Spark session: tests/test_engines_postgres.py and tests/test_engines_spark.py.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import copy_repo, run_cli

from tooling.devtools.pg_server import free_port

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("engine_commands") / "repo")


def enabled_models(manifest: dict) -> set[str]:
    return {
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["package_name"] == "dataops"
    }


def one_line_exit_2(result, *needles: str) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stdout + result.stderr
    assert lines[0].startswith("error:") and "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("target", ["postgres", "spark"])
def test_check_parses_for_the_target_without_a_duckdb_file(repo: Path, target: str) -> None:
    if target == "spark":
        pytest.importorskip("dbt.adapters.spark")
    else:
        pytest.importorskip("dbt.adapters.postgres")
    # No server runs on this port: parsing must not need one.
    env = {"DATAOPS_PG_PORT": str(free_port()), "DATAOPS_PG_PASSWORD": "Sec-Ret-77"}
    result = run_cli("check", "--parse", "--target", target, cwd=repo, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    manifest = json.loads((repo / "dbt_project" / "target" / "manifest.json").read_text())
    assert manifest["metadata"]["adapter_type"] == target  # dbt's own parse, for the target
    # The models dbt enabled on this target (the Python ones are DuckDB-only).
    assert f"over {len(enabled_models(manifest))} model(s)" in " ".join(result.stdout.split())
    assert "fct_reorder_model_runs" not in enabled_models(manifest)
    assert not (repo / "warehouse").exists()  # no DuckDB file asked for or made
    assert "Sec-Ret-77" not in result.stdout + result.stderr
    # Back on the default target (DuckDB): the Python models are checked again.
    # The manifest on disk was parsed for another engine: check re-parses for this one.
    again = run_cli("check", "--target", "dev", cwd=repo, env=env)
    assert again.returncode == 0, again.stderr[-2000:]
    manifest = json.loads((repo / "dbt_project" / "target" / "manifest.json").read_text())
    assert manifest["metadata"]["adapter_type"] == "duckdb"
    assert f"over {len(enabled_models(manifest))} model(s)" in " ".join(again.stdout.split())
    assert "fct_reorder_model_runs" in enabled_models(manifest)
    assert re.search(r"parsed for \w+, the target is duckdb", again.stderr)


def test_docs_build_without_the_engine_says_what_it_needs(repo: Path) -> None:
    pytest.importorskip("dbt.adapters.postgres")
    port = free_port()
    env = {"DATAOPS_PG_PORT": str(port), "DATAOPS_PG_PASSWORD": "Sec-Ret-77"}
    site = repo / "site-pg"
    result = run_cli("docs", "build", "--target", "postgres", "--out", str(site), cwd=repo, env=env)
    line = one_line_exit_2(result, f":{port}/", "server unreachable", "--skip-dbt")
    assert "Sec-Ret-77" not in result.stdout + result.stderr, line
    assert not site.exists() and not (repo / "warehouse").exists()

    pytest.importorskip("pyspark")
    site = repo / "site-spark"
    result = run_cli("docs", "build", "--target", "spark", "--out", str(site), cwd=repo)
    one_line_exit_2(result, "no Spark warehouse", "dataops build --target spark")
    assert not site.exists() and not (repo / "warehouse").exists()
