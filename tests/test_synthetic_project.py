"""The benchmark project generator makes a dbt project that really builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from synthetic_project import make_project


def test_synthetic_project_builds(tmp_path: Path) -> None:
    project = make_project(tmp_path / "synth", 20, seed=3)
    env = {**os.environ, "DO_NOT_TRACK": "1", "DATAOPS_WAREHOUSE": str(tmp_path / "s.duckdb")}
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [str(dbt), "build", "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    manifest = json.loads((project / "target/manifest.json").read_text())
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) == 20
    layers = {m["fqn"][1] for m in models}
    assert layers == {"staging", "intermediate", "marts"}
    run = json.loads((project / "target/run_results.json").read_text())
    statuses = {r["status"] for r in run["results"]}
    assert statuses <= {"success", "pass"}
    assert sum(r["unique_id"].startswith("model.") for r in run["results"]) == 20
