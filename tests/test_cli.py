"""Every command has help text, appears in the README, and user errors are one line."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import typer
from conftest import REPO, run_cli, run_main
from typer.testing import CliRunner

from tooling.cli import app


def command_paths() -> list[tuple[str, ...]]:
    """Every command and sub-command of the CLI, found by walking the click tree."""
    root = typer.main.get_command(app)
    paths: list[tuple[str, ...]] = []

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        if path:
            paths.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, (*path, name))

    walk(root, ())
    return paths


def test_there_are_commands() -> None:
    assert {("build",), ("ingest",), ("generate",)} <= set(command_paths())


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p))
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    root = typer.main.get_command(app)
    cmd = root
    for name in path:
        cmd = cmd.commands[name]  # type: ignore[attr-defined]
    assert (cmd.help or "").strip(), f"dataops {' '.join(path)} has no help text"


def readme_tour() -> dict[str, str]:
    """The README's tour table: `dataops ...` of each row -> the guide page it links to."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "\n## A tour of the commands\n" in readme, "the README has no tour of the commands"
    section = readme.split("\n## A tour of the commands\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        row = re.match(r"\|\s*`(dataops [^`]+)`\s*\|.*\]\((docs/[^)#]+)(#[^)]*)?\)\s*\|\s*$", line)
        if row:
            rows[row.group(1)] = row.group(2)
    return rows


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p))
def test_every_command_is_in_the_readme(path: tuple[str, ...]) -> None:
    """A row of the README's tour table per command (a group: by its commands' rows)."""
    name = f"dataops {' '.join(path)}"
    rows = readme_tour()
    mine = {cmd: page for cmd, page in rows.items() if cmd == name or cmd.startswith(f"{name} ")}
    assert mine, f"`{name}` has no row in the README's tour table"
    for cmd, page in mine.items():
        text = (REPO / page).read_text(encoding="utf-8")
        assert f"## {cmd}\n" in text, (
            f"the README's row for `{cmd}` links to {page}, which has no heading for it"
        )


def test_console_script_help_runs() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "build" in result.stdout and "ingest" in result.stdout


def test_missing_project_is_one_line(tmp_path: Path) -> None:
    result = run_main("build", "--project-dir", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: no dbt project at")
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_option_is_a_usage_error() -> None:
    result = run_main("build", "--no-such-option")
    assert result.returncode == 2
    assert "No such option" in result.stderr


def test_generate_rejects_bad_scale(tmp_path: Path) -> None:
    result = run_main("generate", "--scale", "0", "--out", str(tmp_path / "x"))
    assert result.returncode == 2
    assert "error:" in result.stderr and "Traceback" not in result.stderr


def test_version_names_dataops_dbt_adapter_and_duckdb() -> None:
    """`dataops --version` agrees with what the packages themselves report."""
    import duckdb
    from dbt.version import __version__ as dbt_version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(" ", 1) for line in result.output.splitlines())
    assert lines["dbt-core"] == dbt_version
    assert lines["duckdb"] == duckdb.__version__
    assert "dbt-duckdb" in lines
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert lines["dataops"] == project["version"]
