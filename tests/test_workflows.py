"""The GitHub workflows: security audit, schema, and the rules the issue sets.

zizmor (offline) and check-jsonschema's bundled GitHub-workflow schema run for
real; the rest reads the YAML: actions pinned to commit SHAs, least-privilege
permissions per job, no persisted credentials, no expressions inside `run:`,
superseded runs cancelled, dependencies cached, and every step a ci/ script.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, s) for name, job in workflow["jobs"].items() for s in job.get("steps", [])]


def test_there_is_a_pull_request_and_a_main_workflow() -> None:
    triggers = [load(p)["on"] for p in WORKFLOWS]
    assert any("pull_request" in t for t in triggers)
    assert any("push" in t and t["push"]["branches"] == ["main"] for t in triggers)


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found is not None, f"{name} is in uv.lock but not installed: run `uv sync`"
    return found


def test_zizmor_offline_finds_nothing() -> None:
    result = subprocess.run(
        [tool("zizmor"), "--offline", "--persona", "pedantic", "--format", "plain", *WORKFLOWS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout


def test_workflows_match_the_github_workflow_schema() -> None:
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *WORKFLOWS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_to_commit_shas_with_the_version(path: Path) -> None:
    lines = [ln for ln in path.read_text().splitlines() if re.match(r"\s*(- )?uses:", ln)]
    assert lines
    for line in lines:
        ref = line.split("uses:", 1)[1].split("#", 1)[0].strip()
        assert PIN.match(ref), line
        assert re.search(r"# v\d+\.\d+\.\d+$", line), f"no version comment: {line}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_safe_steps(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {}, "workflow-level permissions must be empty"
    assert workflow["concurrency"]["cancel-in-progress"] is True
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"job {name} has no permissions"
        assert "write-all" not in str(job["permissions"])
    for job, step in steps(workflow):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, job
        run = step.get("run")
        if run is not None:
            assert "${{" not in run, f"expression inside run: in {job}"
            match = re.fullmatch(r"bash (ci/[\w-]+\.sh)( [\w./-]+)*", run.strip())
            assert match, f"step runs more than a ci/ script: {run!r}"
            assert (REPO / match.group(1)).is_file()
    if any("run" in s for _, s in steps(workflow)):
        assert any(s.get("uses", "").startswith("actions/cache@") for _, s in steps(workflow))


def test_pull_request_workflow_comments_with_the_report_and_uses_the_state() -> None:
    workflow = load(REPO / ".github" / "workflows" / "pull-request.yml")
    runs = [s.get("run", "") for _, s in steps(workflow)]
    assert "bash ci/slim-ci.sh" in runs and "bash ci/pr-checks.sh" in runs
    assert "bash ci/post-report.sh ci/out/report.md" in runs
    downloads = [
        s for _, s in steps(workflow) if s.get("with", {}).get("name") == "production-state"
    ]
    assert downloads and downloads[0]["with"]["path"] == "ci/state"
    writers = [n for n, j in workflow["jobs"].items() if "write" in str(j["permissions"])]
    assert writers == ["comment"], "only the comment job may write"
    main = load(REPO / ".github" / "workflows" / "main.yml")
    uploads = [s for _, s in steps(main) if s.get("with", {}).get("name") == "production-state"]
    assert uploads and any("publish-state.sh" in s.get("run", "") for _, s in steps(main))
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for _, s in steps(main))


def test_ci_scripts_parse_and_the_report_script_prints_locally(tmp_path: Path) -> None:
    for script in sorted((REPO / "ci").glob("*.sh")):
        subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)
    report = tmp_path / "report.md"
    report.write_text("<!-- dataops-ci-report -->\n## report\n")
    env = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        ["bash", str(REPO / "ci" / "post-report.sh"), str(report)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert result.returncode == 0 and result.stdout == report.read_text()
    bad = subprocess.run(
        ["bash", str(REPO / "ci" / "post-report.sh"), str(report)],
        capture_output=True,
        text=True,
        env={**env, "GH_REPO": "o/r", "GH_TOKEN": "x", "PR_NUMBER": "1; rm -rf /"},
        timeout=30,
    )
    assert bad.returncode == 1 and "PR_NUMBER must be a number" in bad.stderr
