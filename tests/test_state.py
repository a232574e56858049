"""`dataops state publish` and state loading, on a tmp project (no dbt run)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest
from conftest import run_main

from tooling import production_state as state
from tooling.errors import DataOpsError
from tooling.settings import resolve


@pytest.fixture
def project(tmp_path: Path) -> Path:
    proj = tmp_path / "proj"
    target = proj / "target"
    target.mkdir(parents=True)
    (proj / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (target / "manifest.json").write_text(json.dumps({"metadata": {"project_name": "shop"}}))
    (target / "run_results.json").write_text(json.dumps({"results": [{"unique_id": "x"}]}))
    (target / "catalog.json").write_text(json.dumps({"nodes": {}}))
    # catalog newer than the run results: publish must not need `dbt docs generate`.
    os.utime(target / "run_results.json", (1_000_000, 1_000_000))
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        con.execute("create table t as select range as i from range(1000)")
        con.execute("insert into t select 5000")  # sits in the WAL until a checkpoint
    return proj


def test_publish_writes_a_consistent_state(project: Path, tmp_path: Path) -> None:
    settings = resolve(project_dir=project, warehouse=tmp_path / "wh.duckdb", cwd=tmp_path)
    out = state.publish(settings, tmp_path / "state")
    names = sorted(p.name for p in out.files)
    assert names == ["catalog.json", "manifest.json", "run_results.json", "warehouse.duckdb"]
    assert json.loads((tmp_path / "state" / "run_results.json").read_text())["results"]
    copy = tmp_path / "state" / "warehouse.duckdb"
    assert out.warehouse_sha256 == state.sha256(copy)
    assert not copy.with_name("warehouse.duckdb.wal").exists()
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.execute("select count(*), max(i) from t").fetchone() == (1001, 5000)
    loaded = state.load(tmp_path / "state", project)
    assert loaded.project_name == "shop" and loaded.warehouse == copy


def test_publish_and_load_errors_name_the_problem(project: Path, tmp_path: Path) -> None:
    (project / "target" / "catalog.json").unlink()
    (project / "target" / "run_results.json").unlink()
    settings = resolve(project_dir=project, warehouse=tmp_path / "wh.duckdb", cwd=tmp_path)
    with pytest.raises(DataOpsError, match=r"run_results\.json, catalog\.json missing"):
        state.publish(settings, tmp_path / "state")
    with pytest.raises(DataOpsError, match=r"state directory .* not found"):
        state.load(tmp_path / "nowhere", project)
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"metadata": {"project_name": "bank"}}))
    with pytest.raises(DataOpsError, match="belongs to dbt project 'bank', not 'shop'"):
        state.load(other, project)


def test_state_publish_cli_error_is_one_line(project: Path, tmp_path: Path) -> None:
    result = run_main(
        "state",
        "publish",
        str(tmp_path / "s"),
        "--project-dir",
        str(project),
        "--warehouse",
        str(tmp_path / "missing.duckdb"),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: cannot publish state: no warehouse file at {tmp_path / 'missing.duckdb'}"
    ]
