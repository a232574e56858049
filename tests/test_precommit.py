"""`pre-commit run --all-files` passes on a tmp copy of the repository, offline.

Every hook is `repo: local` over the project's .venv (linked into the copy), so
nothing is cloned or downloaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, copy_repo

pytestmark = pytest.mark.e2e

HOOKS = ("ruff", "ruff-format", "check-yaml", "dataops-lint", "dataops-check", "zizmor")


def run(cmd: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAOPS_")}
    env.update(
        PRE_COMMIT_HOME=str(home),
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("precommit")
    repo = copy_repo(base / "repo")
    (repo / ".venv").symlink_to(REPO / ".venv")
    home = base / "pre-commit-home"
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"]):
        run(cmd, repo, home).check_returncode()
    run(["git", "commit", "-qm", "copy"], repo, home).check_returncode()
    return repo, home


def pre_commit(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "pre-commit"), *args]


def test_config_lists_the_hooks() -> None:
    import yaml

    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    [repo] = config["repos"]
    assert repo["repo"] == "local"
    assert [h["id"] for h in repo["hooks"]] == list(HOOKS)
    assert all(h["entry"].startswith(".venv/bin/") for h in repo["hooks"])


def test_run_all_files_passes(clone: tuple[Path, Path]) -> None:
    repo, home = clone
    result = run(pre_commit("run", "--all-files", "--color", "never"), repo, home)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    lines = result.stdout.splitlines()
    for name in ("ruff (lint)", "ruff (format)", "dataops lint", "dataops check"):
        [line] = [ln for ln in lines if ln.startswith(name)]
        assert line.endswith("Passed"), line
    # zizmor runs on .github/workflows/*.yml: skipped while there are none.
    [zizmor] = [ln for ln in lines if ln.startswith("zizmor")]
    has_workflows = any((repo / ".github" / "workflows").glob("*.y*ml"))
    assert zizmor.endswith("Passed" if has_workflows else "Skipped"), zizmor


def test_hooks_catch_bad_sql_and_workflows(clone: tuple[Path, Path]) -> None:
    repo, home = clone
    bad = repo / "dbt_project" / "models" / "staging" / "erp" / "stg_erp__bad.sql"
    bad.write_text("SELECT 1 AS x\n")
    workflow = repo / ".github" / "workflows" / "zz_bad.yml"
    workflow.parent.mkdir(parents=True, exist_ok=True)
    workflow.write_text(
        "on: pull_request_target\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n        with:\n"
        "          ref: ${{ github.event.pull_request.head.sha }}\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
    )
    try:
        rel = [str(p.relative_to(repo)) for p in (bad, workflow)]
        lint = run(pre_commit("run", "dataops-lint", "--files", rel[0]), repo, home)
        assert lint.returncode == 1
        assert "stg_erp__bad.sql" in lint.stdout and "CP01" in lint.stdout
        zizmor = run(pre_commit("run", "zizmor", "--files", rel[1]), repo, home)
        assert zizmor.returncode == 1
        assert "template-injection" in zizmor.stdout
    finally:
        bad.unlink()
        workflow.unlink()
