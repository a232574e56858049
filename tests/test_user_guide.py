"""The user guide in docs/ builds in mkdocs' strict mode and covers the whole CLI.

A broken link or anchor fails the build; every command group of the CLI (found
by walking Typer's click tree) has a page whose headings name each of its
commands; every sources.yml key (from the pydantic models) and every
[tool.dataops.monitor] key (from the dataclass) is in the configuration page.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from conftest import REPO

from ingestion import schema
from tooling.cli import app
from tooling.monitor.config import MonitorConfig

DOCS = REPO / "docs"


def command_groups() -> dict[str, list[str]]:
    """Top-level name -> the full command names under it (``dataops ci plan``, ...)."""
    root = typer.main.get_command(app)
    groups: dict[str, list[str]] = {}
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        subs = list(getattr(cmd, "commands", {}))
        names = [f"dataops {name} {sub}" for sub in subs]
        if not subs or getattr(cmd, "invoke_without_command", False):
            names.insert(0, f"dataops {name}")
        groups[name] = names
    return groups


def headings(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("guide")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_strict_build_renders_every_page(built: Path) -> None:
    pages = sorted(p.relative_to(DOCS).with_suffix(".html") for p in DOCS.rglob("*.md"))
    assert pages, "no pages in docs/"
    for page in pages:
        html = (built / page).read_text(encoding="utf-8")
        assert "<h1" in html, page
    nav = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    listed = set(re.findall(r"[\w/-]+\.md", str(nav)))
    assert {str(p.with_suffix(".md")) for p in pages} == listed, "a page is missing from nav"


def test_every_command_group_has_a_page_naming_its_commands() -> None:
    pages = {p: headings(p) for p in (DOCS / "commands").glob("*.md")}
    groups = command_groups()
    assert {"build", "ingest", "ci", "state", "docs", "lineage", "monitor"} <= set(groups)
    for group, names in groups.items():
        homes = [p for p, hs in pages.items() if any(h.startswith(names[0]) for h in hs)]
        assert homes, f"no page of docs/commands/ has a heading for `{names[0]}`"
        for name in names:
            assert name in pages[homes[0]], f"{homes[0].name} has no heading `{name}` ({group})"


def test_configuration_page_names_every_key() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    models = [
        schema.SourcesFile,
        schema.SourceSpec,
        schema.EntitySpec,
        schema.Pagination,
        schema.Auth,
        schema.SubjectLink,
    ]
    keys = {f.alias or n for m in models for n, f in m.model_fields.items()}
    keys |= {f.name for f in dataclasses.fields(MonitorConfig)}
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, f"configuration.md does not name: {missing}"


def test_configuration_example_is_a_valid_sources_file() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", text, flags=re.S)
    assert block, "no sources.yml example"
    data = yaml.safe_load(block.group(1))
    assert schema.validate(data) is None
    # and the validator does reject a typo, so the check above can fail
    data["sources"][0]["entities"][0]["laod"] = "merge"
    assert "laod" in (schema.validate(data) or "")
