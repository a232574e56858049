"""Orchestration and deployment, checked without running Airflow.

The scheduled workflow's shape (zizmor and the workflow schema run over every
workflow in tests/test_workflows.py), hadolint on the Dockerfile and
kubernetes-validate on the CronJob (both for real, and each shown to fail on a
broken copy), and `dataops orchestrate airflow`'s bad input: one line, exit 2.
The DAG itself runs in tests/test_orchestration_airflow.py.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_cli
from test_workflows import load, steps

from tooling.devtools.airflow_run import parse_project, project_copy
from tooling.orchestration.airflow import PINS

BIN = Path(sys.executable).parent
DOCKERFILE = REPO / "Dockerfile"
CRONJOB = REPO / "orchestration" / "kubernetes" / "cronjob.yaml"
REQUIREMENTS = REPO / "orchestration" / "airflow" / "requirements.txt"


# --- the scheduled workflow -------------------------------------------------


def test_scheduled_workflow_runs_the_production_steps_in_order() -> None:
    workflow = load(REPO / ".github" / "workflows" / "scheduled.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    cron = workflow["on"]["schedule"][0]["cron"]
    assert len(cron.split()) == 5
    runs = [s["run"].split()[1] for _, s in steps(workflow) if "run" in s]
    assert runs == [
        "ci/ingest.sh",
        "ci/build.sh",
        "ci/monitor.sh",
        "ci/publish-state.sh",
        "ci/docs.sh",
    ]
    build = next(s for _, s in steps(workflow) if s.get("run", "").startswith("bash ci/build.sh"))
    assert "--skip-ingest" in build["run"]
    # The alert webhook is a secret: it reaches the build through env only.
    assert build["env"]["DATAOPS_ALERT_WEBHOOK"] == "${{ secrets.DATAOPS_ALERT_WEBHOOK }}"
    # The warehouse (and its monitoring store) carries over from the last run.
    restore = [s for _, s in steps(workflow) if s.get("with", {}).get("path") == "warehouse"]
    assert restore and restore[0]["with"]["restore-keys"] == "warehouse-"
    uploads = {
        s["with"]["name"] for _, s in steps(workflow) if "upload-artifact" in s.get("uses", "")
    }
    assert uploads == {"production-state", "monitoring-report"}
    writers = [n for n, j in workflow["jobs"].items() if "write" in str(j["permissions"])]
    assert writers == ["pages"]


# --- the container image and the CronJob -----------------------------------


def tool(*args: str) -> subprocess.CompletedProcess[str]:
    """One of the dev tools of the project's env (hadolint, kubernetes-validate)."""
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]], capture_output=True, text=True, timeout=120
    )


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return tool("hadolint", "--no-color", str(path))


def test_hadolint_passes_the_dockerfile_and_fails_a_careless_one(tmp_path: Path) -> None:
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    careless = tmp_path / "Dockerfile"
    careless.write_text(
        "FROM python:latest\nRUN pip install uv\nRUN cd /app && uv sync\nUSER root\n"
    )
    bad = hadolint(careless)
    assert bad.returncode != 0
    for rule in ("DL3007", "DL3013", "DL3003", "DL3002"):
        assert rule in bad.stdout, bad.stdout


def test_dockerfile_is_multi_stage_locked_non_root_and_parses_dbt() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)$", text, flags=re.M)
    assert stages == ["build", "runtime"]
    assert "uv sync --frozen --no-dev" in text
    assert re.search(r'pip install --no-cache-dir "uv==([\d.]+)"', text).group(1) == re.search(
        r'UV_VERSION="([\d.]+)"', (REPO / "ci" / "bootstrap.sh").read_text()
    ).group(1)
    assert re.search(r"^RUN .*dbt parse", text, flags=re.M)
    runtime = text.split("AS runtime", 1)[1]
    assert "COPY --from=build" in runtime
    user = re.findall(r"^USER (\S+)$", runtime, flags=re.M)
    assert user == ["10001:10001"]
    cronjob = list(yaml.safe_load_all(CRONJOB.read_text()))[1]
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["runAsNonRoot"] is True
    # the image's warehouse location is on the CronJob's volume
    assert "DATAOPS_WAREHOUSE=/data/warehouse/dataops.duckdb" in runtime
    assert pod["containers"][0]["volumeMounts"][0]["mountPath"] == "/data"


def kubernetes_validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    return tool("kubernetes-validate", "--strict", *map(str, paths))


def test_kubernetes_validate_passes_the_cronjob_and_fails_a_broken_one(tmp_path: Path) -> None:
    result = kubernetes_validate(CRONJOB)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed for resource cronjob/dataops-build" in result.stdout
    docs = list(yaml.safe_load_all(CRONJOB.read_text()))
    kinds = [d["kind"] for d in docs]
    assert kinds == ["PersistentVolumeClaim", "CronJob"]
    job = docs[1]["spec"]
    assert job["concurrencyPolicy"] == "Forbid"  # DuckDB: one writer per file
    container = job["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][0] == "build"
    claim = job["jobTemplate"]["spec"]["template"]["spec"]["volumes"][0]
    assert claim["persistentVolumeClaim"]["claimName"] == docs[0]["metadata"]["name"]

    broken = docs[1]  # a typo a hand-written manifest carries: `cmd` for `command`
    broken["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["cmd"] = ["x"]
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken))
    bad = kubernetes_validate(path)
    assert bad.returncode != 0
    assert "'cmd' was unexpected" in bad.stdout + bad.stderr


# --- `dataops orchestrate airflow`: what it reads and its bad input ----------


def test_the_pins_of_the_generator_match_the_requirements_file() -> None:
    pinned = dict(re.findall(r"^([a-z0-9-]+)==([\w.]+)", REQUIREMENTS.read_text(), flags=re.M))
    for package, series in PINS.items():
        assert pinned[package].startswith(series + "."), (package, pinned[package])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository with a parsed manifest and the project's env linked in."""
    root = project_copy(REPO, tmp_path_factory.mktemp("orchestrate") / "repo")
    parse_project(root)
    return root


def generate(project: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("orchestrate", "airflow", "--out", str(out), *args, cwd=project)


def dag_config_literal(source: str) -> dict:
    """The CONFIG literal of a generated DAG file, read with the ast module."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "CONFIG":
            return ast.literal_eval(node.value)
    raise AssertionError("no CONFIG in the DAG file")


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def test_the_committed_dag_is_what_the_generator_writes(project: Path) -> None:
    out = project / "orchestration" / "airflow"
    result = generate(project, out)
    assert result.returncode == 0, result.stdout + result.stderr
    written = (out / "dataops_dag.py").read_text()
    committed = (REPO / "orchestration" / "airflow" / "dataops_dag.py").read_text()
    assert written == committed, (
        "regenerate: dataops orchestrate airflow --out orchestration/airflow"
    )
    # the pre-commit hooks (ruff check, ruff format) leave a generated DAG as written
    for check in (["check"], ["format", "--check"]):
        ruff = tool("ruff", *check, str(out / "dataops_dag.py"))
        assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    values = dag_config_literal(written)
    assert values["root"] == "../.."
    assert values["executables"] == {"dbt": ".venv/bin/dbt", "dataops": ".venv/bin/dataops"}
    assert [s["name"] for s in values["sources"]] == ["erp", "payments", "events"]
    assert values["raw_schemas"] == {
        "raw_erp": "erp",
        "raw_payments": "payments",
        "raw_events": "events",
    }
    assert values["max_active_tasks"] == 1  # a DuckDB target: one writer


def test_a_project_without_sources_is_one_line(project: Path, tmp_path: Path) -> None:
    line = one_error_line(generate(project, tmp_path, "--sources", str(tmp_path / "no.yml")))
    assert "has no sources to ingest" in line and "no.yml" in line
    empty = tmp_path / "empty.yml"
    empty.write_text("version: 1\nsources: []\n")
    line = one_error_line(generate(project, tmp_path, "--sources", str(empty)))
    assert "empty.yml" in line
    assert not list(tmp_path.glob("*.py")), "nothing is written on bad input"


def test_an_unreachable_executable_is_one_line(project: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "dbt"
    line = one_error_line(generate(project, tmp_path, "--dbt-executable", str(missing)))
    assert f"dbt executable not found at {missing}" in line
    not_exec = tmp_path / "dataops"
    not_exec.write_text("#!/bin/sh\n")
    line = one_error_line(generate(project, tmp_path, "--dataops-executable", str(not_exec)))
    assert "is not executable" in line


def fake_airflow_env(folder: Path, airflow: str, cosmos: str) -> Path:
    """A real interpreter whose installed-package metadata says these versions."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120
    )
    purelib = sysconfig.get_path("purelib", vars={"base": str(folder), "platbase": str(folder)})
    for name, version in (("apache_airflow", airflow), ("astronomer_cosmos", cosmos)):
        info = Path(purelib) / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n"
        )
    return folder / "bin" / "python"


def test_airflow_or_cosmos_outside_the_pins_is_one_line(project: Path, tmp_path: Path) -> None:
    old = fake_airflow_env(tmp_path / "old", "2.10.5", "1.15.1")
    line = one_error_line(generate(project, tmp_path, "--airflow-python", str(old)))
    assert "apache-airflow 2.10.5" in line and "outside the pin 3.3.x" in line
    newer = fake_airflow_env(tmp_path / "newer", "3.3.2", "1.16.0")
    line = one_error_line(generate(project, tmp_path, "--airflow-python", str(newer)))
    assert "astronomer-cosmos 1.16.0" in line
    line = one_error_line(
        generate(project, tmp_path, "--airflow-python", str(tmp_path / "none" / "python"))
    )
    assert "Airflow's python" in line

    # A DAG file moved to an Airflow outside the pins says so in one line, too.
    out = tmp_path / "dags"
    assert generate(project, out).returncode == 0
    parsed = subprocess.run(
        [str(old), str(out / "dataops_dag.py")], capture_output=True, text=True, timeout=60
    )
    assert parsed.returncode != 0
    assert parsed.stderr.strip().splitlines()[-1] == (
        "RuntimeError: dataops DAG: apache-airflow 2.10.5 is outside the pin 3.3.x; "
        "install orchestration/airflow/requirements.txt"
    )


def test_bad_dag_options_are_one_line(project: Path, tmp_path: Path) -> None:
    line = one_error_line(generate(project, tmp_path, "--dag-id", "a b"))
    assert "--dag-id" in line
    line = one_error_line(generate(project, tmp_path, "--test-behavior", "sometimes"))
    assert "--test-behavior" in line
