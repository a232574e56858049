"""`dataops check` convention presets on a project in dbt Labs' style (not ours).

The fixture (tests/fixtures/labs_style, written for issue 10 by another hand)
is parsed by dbt once; a tiny package in dbt_packages/ adds a model of another
package. Expectations come from the fixture's files (which model names break
our strict convention is computed from the .sql file names) and from the
`none` preset (presets differ in naming only), not from earlier output.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from conftest import run_cli

from tooling.check import PRESETS, parse_check_config, run_checks
from tooling.check.conventions import suggest
from tooling.errors import UsageError

FIXTURE = Path(__file__).parent / "fixtures" / "labs_style"
PACKAGE_MODEL = "model.tiny_pkg.helper_rows"
# The fixture's profile reads its DuckDB path from this variable (no default).
ENV = {"LABS_SHOP_DB": str(Path(__file__).parent / "never-written.duckdb")}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("labs") / "labs_shop"
    shutil.copytree(FIXTURE, root)
    package = root / "dbt_packages" / "tiny_pkg"
    (package / "models").mkdir(parents=True)
    (package / "dbt_project.yml").write_text(
        "name: tiny_pkg\nversion: '1.0.0'\nconfig-version: 2\n"
    )
    (package / "models" / "helper_rows.sql").write_text("select 1 as helper_id\n")
    result = run_cli(
        "check",
        "--parse",
        "--project-dir",
        ".",
        "--vars",
        "{load_source_data: true}",
        "-f",
        "json",
        cwd=root,
        env=ENV,
    )
    assert (root / "target" / "manifest.json").is_file(), result.stderr[-2000:]
    return root


def check_cli(project: Path, pyproject: str | None, *args: str) -> dict:
    """The real command, with ``pyproject`` (None: no [tool.dataops]) next to the project."""
    config = project / "pyproject.toml"
    config.unlink(missing_ok=True)
    if pyproject is not None:
        config.write_text(pyproject, encoding="utf-8")
    result = run_cli("check", "--project-dir", ".", "-f", "json", *args, cwd=project, env=ENV)
    config.unlink(missing_ok=True)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def check(project: Path, pyproject: str | None, include_packages: bool | None = None) -> dict:
    """The same in-process (the command's settings logic is covered by check_cli)."""
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    table = (tomllib.loads(pyproject).get("tool") or {}).get("dataops") if pyproject else None
    report = run_checks(
        manifest,
        None,
        (table or {}).get("check"),
        configured=pyproject is not None,
        include_packages=include_packages,
    )
    return report.as_dict()


def naming_nodes(data: dict) -> set[str]:
    return {f["node"] for f in data["findings"] if f["rule"] == "naming"}


def own_models() -> dict[str, str]:
    """model name -> layer folder, from the fixture's files."""
    return {p.stem: p.parent.name for p in (FIXTURE / "models").rglob("*.sql")}


def test_our_convention_flags_every_name_outside_it(project: Path) -> None:
    data = check(project, '[tool.dataops.check]\nconvention = "dataops"\n')
    strict = {
        "staging": r"stg_[a-z0-9]+__\w+",
        "intermediate": r"int_\w+",
        "marts": r"(fct|dim)_\w+",
    }
    expected = {
        f"model.labs_shop.{name}"
        for name, folder in own_models().items()
        if not re.fullmatch(strict[folder], name)
    }
    assert len(expected) == 6  # three stg_<entity>, three entity-named marts
    assert naming_nodes(data) == expected
    assert data["convention"] == "dataops"


def test_dbt_labs_preset_has_no_naming_finding(project: Path) -> None:
    data = check(project, '[tool.dataops.check]\nconvention = "dbt-labs"\n')
    assert naming_nodes(data) == set()
    # presets differ in naming only: every other rule finds what it finds under `none`
    without = check(project, '[tool.dataops.check]\nconvention = "none"\n')
    assert without["findings"] and data["findings"] == without["findings"]
    strict = check(project, '[tool.dataops.check]\nconvention = "dataops"\n')
    assert [f for f in strict["findings"] if f["rule"] != "naming"] == without["findings"]


def test_without_tool_dataops_opt_in_rules_warn(project: Path) -> None:
    data = check_cli(project, None)
    assert data["convention"] == "dbt-labs"
    by_rule = {f["rule"]: f["severity"] for f in data["findings"]}
    assert by_rule["model-owner"] == "warn" and by_rule["mart-contract"] == "warn"
    assert by_rule["primary-key-test"] == "error"
    assert naming_nodes(data) == set()


def test_suggested_config_pasted_in_gives_no_naming_finding(project: Path) -> None:
    (project / "pyproject.toml").unlink(missing_ok=True)
    result = run_cli("check", "--project-dir", ".", "--suggest-config", cwd=project, env=ENV)
    assert result.returncode == 0, result.stderr
    block = result.stdout
    assert block.startswith("[tool.dataops.check]\n")
    pasted = check_cli(project, block)
    assert naming_nodes(pasted) == set()
    # pasted in, it judges the project as it was judged without [tool.dataops]
    unconfigured = check(project, None)
    assert (pasted["errors"], pasted["warnings"]) == (
        unconfigured["errors"],
        unconfigured["warnings"],
    )
    # and under our strict convention the same project has naming findings
    assert naming_nodes(check(project, '[tool.dataops.check]\nconvention = "dataops"\n'))


def test_package_models_are_checked_only_when_asked(project: Path) -> None:
    def nodes(data: dict) -> set[str]:
        return {f["node"] for f in data["findings"]}

    assert PACKAGE_MODEL not in nodes(check(project, None))
    flagged = check_cli(project, None, "--include-packages")
    assert {f["rule"] for f in flagged["findings"] if f["node"] == PACKAGE_MODEL} >= {
        "model-description",
        "primary-key-test",
    }
    listed = check(project, '[tool.dataops.check]\ninclude_packages = ["tiny_pkg"]\n')
    assert PACKAGE_MODEL in nodes(listed)
    other = check(project, '[tool.dataops.check]\ninclude_packages = ["other_pkg"]\n')
    assert PACKAGE_MODEL not in nodes(other)


def test_unknown_preset_is_one_line_exit_2(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.dataops.check]\nconvention = "gitlab"\n')
    result = run_cli("check", "--project-dir", ".", cwd=project, env=ENV)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: unknown convention 'gitlab' in [tool.dataops.check]; presets: " + ", ".join(PRESETS)
    ]
    (project / "pyproject.toml").unlink()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"naming": {"reports": ["r_*"]}}, "unknown layer 'reports'"),
        ({"naming": {"marts": [3]}}, "must be a list of strings"),
        ({"require_layer": "yes"}, "require_layer must be true or false"),
        ({"include_packages": "all"}, "include_packages must be"),
        ({"conventions": "dbt-labs"}, "unknown key"),
    ],
)
def test_bad_convention_config(table: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_check_config(table)


def test_explicit_overrides_win_over_the_preset() -> None:
    conv = parse_check_config(
        {"convention": "dataops", "naming": {"marts": ["*_summary"]}, "layers": {"marts": ["core"]}}
    ).convention
    assert conv.naming["marts"] == ["*_summary"]
    assert conv.naming["staging"] == ["stg_{folder}__*"]  # kept from the preset
    assert conv.layers == {"core": "marts"}


def test_suggest_keeps_a_strict_project_strict() -> None:
    clean = json.loads(
        (Path(__file__).parent / "fixtures" / "check" / "clean" / "manifest.json").read_text()
    )
    models = [n for n in clean["nodes"].values() if n["resource_type"] == "model"]
    suggestion = suggest(models)
    assert suggestion.convention.name == "dataops"
    assert suggestion.convention.naming == {
        "staging": ["stg_{folder}__*"],
        "intermediate": ["int_*"],
        "marts": ["dim_*", "fct_*"],
    }
    report = run_checks(clean, None, {"convention": "dataops"})
    assert not [f for f in report.findings if f.rule == "naming"]


def test_suggest_on_marts_outside_layer_folders() -> None:
    """dbt Labs' small DuckDB demo keeps its marts directly under models/."""

    def model(*fqn: str) -> dict:
        name = fqn[-1]
        return {
            "unique_id": f"model.demo.{name}",
            "resource_type": "model",
            "package_name": "demo",
            "name": name,
            "fqn": ["demo", *fqn],
            "depends_on": {"nodes": []},
        }

    models = [
        model("customers"),
        model("orders"),
        model("staging", "stg_customers"),
        model("staging", "stg_orders"),
        model("mart", "finance", "revenue_by_day"),
    ]
    manifest = {"metadata": {"project_name": "demo"}, "nodes": {m["unique_id"]: m for m in models}}
    suggestion = suggest(models)
    assert suggestion.convention.require_layer is False
    assert suggestion.convention.folders["marts"] == ["mart"]
    assert suggestion.convention.naming["staging"] == ["stg_*"]
    assert suggestion.convention.name == "dbt-labs"
    pasted = tomllib.loads(suggestion.text)["tool"]["dataops"]["check"]
    assert not [f for f in run_checks(manifest, None, pasted).findings if f.rule == "naming"]
    strict = run_checks(manifest, None, {"convention": "dataops"}).findings
    assert {f.node for f in strict if f.rule == "naming"} == {m["unique_id"] for m in models}
