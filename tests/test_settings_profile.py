"""Settings from the dbt profile, --vars, and the stale-manifest test (no dbt run)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from tooling import settings as settings_mod
from tooling.dbt_invoke import base_args, override_profiles_dir, prepare_environment
from tooling.errors import UsageError
from tooling.staleness import stale_reason


def _profile(folder: Path, path: str, **outputs: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    content = {
        "shop": {
            "target": "dev",
            "outputs": {"dev": {"type": "duckdb", "path": path, "threads": 1}, **outputs},
        }
    }
    (folder / "profiles.yml").write_text(yaml.safe_dump(content), encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in [k for k in os.environ if k.startswith("DATAOPS_") or k == "DBT_PROFILES_DIR"]:
        monkeypatch.delenv(key)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "dbt_project.yml").write_text("name: shop\nprofile: \"{{ 'sh' ~ 'op' }}\"\n")
    (tmp_path / "cwd").mkdir()
    return proj


def _resolve(project: Path, **kwargs) -> settings_mod.Settings:
    return settings_mod.resolve(project_dir=project, cwd=project.parent / "cwd", **kwargs)


def test_profiles_found_where_dbt_looks(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp = project.parent
    _profile(project, str(tmp / "in-project.duckdb"))
    assert _resolve(project).warehouse == tmp / "in-project.duckdb"
    _profile(tmp / "cwd", str(tmp / "in-cwd.duckdb"))
    assert _resolve(project).warehouse == tmp / "in-cwd.duckdb"  # dbt: the current folder
    _profile(tmp / "env", str(tmp / "from-env.duckdb"))
    monkeypatch.setenv("DBT_PROFILES_DIR", str(tmp / "env"))
    assert _resolve(project).warehouse == tmp / "from-env.duckdb"
    _profile(tmp / "opt", str(tmp / "from-option.duckdb"))
    assert _resolve(project, profiles_dir=tmp / "opt").warehouse == tmp / "from-option.duckdb"


def test_env_var_var_and_relative_paths_render_as_dbt_does(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _profile(project, "{{ env_var('SHOP_DIR') }}/{{ var('db_name', 'shop') }}.duckdb")
    monkeypatch.setenv("SHOP_DIR", "data")
    cwd = project.parent / "cwd"
    assert _resolve(project).warehouse == cwd / "data" / "shop.duckdb"  # relative: from cwd
    assert _resolve(project, vars="db_name: other").warehouse == cwd / "data" / "other.duckdb"
    monkeypatch.delenv("SHOP_DIR")
    with pytest.raises(UsageError, match="Env var required but not provided: 'SHOP_DIR'"):
        _ = _resolve(project).warehouse


def test_overrides_win_over_the_profile(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp = project.parent
    _profile(project, str(tmp / "profile.duckdb"))
    (tmp / "cwd" / "pyproject.toml").write_text('[tool.dataops]\nwarehouse = "cfg.duckdb"\n')
    assert _resolve(project).warehouse == tmp / "cwd" / "cfg.duckdb"
    monkeypatch.setenv("DATAOPS_WAREHOUSE", str(tmp / "env.duckdb"))
    assert _resolve(project).warehouse == tmp / "env.duckdb"
    assert _resolve(project, warehouse=Path("opt.duckdb")).warehouse == tmp / "cwd" / "opt.duckdb"


def test_an_override_reaches_dbt_through_a_generated_profile(project: Path) -> None:
    """A profile that does not read DATAOPS_WAREHOUSE gets a copy with the path replaced."""
    _profile(project, "{{ env_var('SHOP_DB', 'shop.duckdb') }}", extra={"type": "duckdb"})
    settings = _resolve(project, warehouse=project.parent / "over.duckdb")
    folder = override_profiles_dir(settings)
    assert folder is not None
    written = yaml.safe_load((folder / "profiles.yml").read_text())
    assert written == {
        "shop": {
            "target": "dev",
            "outputs": {"dev": {"type": "duckdb", "path": str(project.parent / "over.duckdb"),
                                "threads": 1}},
        }
    }  # fmt: skip
    assert base_args(settings)[base_args(settings).index("--profiles-dir") + 1] == str(folder)
    assert override_profiles_dir(_resolve(project)) is None  # no override: the profile as is


def test_this_repository_keeps_its_warehouse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its profile reads DATAOPS_WAREHOUSE: the [tool.dataops] file, no generated profile."""
    for key in [k for k in os.environ if k.startswith("DATAOPS_")]:
        monkeypatch.delenv(key)
    settings = settings_mod.resolve(cwd=REPO)
    assert settings.warehouse == REPO / "warehouse" / "dataops.duckdb"
    prepare_environment(settings)
    assert override_profiles_dir(settings) is None
    assert settings.profile.duckdb_path(REPO) == REPO / "warehouse" / "dataops.duckdb"
    assert settings.adapter_type == "duckdb"


def test_non_duckdb_target_exposes_credentials_and_says_what_needs_duckdb(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_PG_PASSWORD", "s3cret")
    pg = {
        "type": "postgres",
        "host": "localhost",
        "port": "{{ env_var('SHOP_PG_PORT', '5433') | as_number }}",
        "user": "u",
        "password": "{{ env_var('SHOP_PG_PASSWORD') }}",
        "dbname": "shop",
        "schema": "public",
    }
    _profile(project, "x.duckdb", pg=pg)
    settings = _resolve(project, target="pg")
    assert settings.adapter_type == "postgres"
    assert settings.profile.credentials["port"] == 5433
    assert settings.profile.credentials["password"] == "s3cret"
    assert "s3cret" not in repr(settings.profile)
    # dbt's own error text may echo a rendered credential: every output redacts it now.
    from ingestion.redact import redact

    leaked = 'connection to server failed: password "s3cret" rejected for user u'
    assert "s3cret" not in redact(leaked) and "user u" in redact(leaked)
    with pytest.raises(UsageError, match=r"is postgres, not duckdb; these commands need") as exc:
        _ = settings.warehouse
    assert "state publish" in str(exc.value) and "ci run" in str(exc.value)


def test_vars_yaml_or_json_with_config_defaults(project: Path) -> None:
    (project.parent / "cwd" / "pyproject.toml").write_text(
        '[tool.dataops]\nvars = { a = 1, b = "x" }\n'
    )
    _profile(project, "x.duckdb")
    settings = _resolve(project, vars='{"b": "y", "c": [1, 2]}')
    assert json.loads(settings.vars or "") == {"a": 1, "b": "y", "c": [1, 2]}
    assert base_args(settings)[-2:] == ["--vars", settings.vars]
    assert json.loads(_resolve(project, vars="c: true").vars or "") == {"a": 1, "b": "x", "c": True}
    with pytest.raises(UsageError, match="--vars is not YAML"):
        _resolve(project, vars="{a: [1")
    with pytest.raises(UsageError, match="--vars must be a YAML mapping"):
        _resolve(project, vars="- 1")


# --- the stale-manifest test -------------------------------------------------------------


def test_stale_manifest_is_found_and_a_current_one_is_not(tmp_path: Path) -> None:
    proj = tmp_path / "p"
    (proj / "models" / "staging").mkdir(parents=True)
    (proj / "macros").mkdir()
    (proj / "dbt_project.yml").write_text("name: shop\n")
    (proj / "models" / "staging" / "stg_a.sql").write_text("select 1")
    (proj / "models" / "off.sql").write_text("select 2")
    (proj / "macros" / "m.sql").write_text("{% macro m() %}1{% endmacro %}")
    manifest_path = proj / "target" / "manifest.json"
    manifest_path.parent.mkdir()
    manifest = {
        "nodes": {
            "model.shop.stg_a": {"package_name": "shop",
                                 "original_file_path": "models/staging/stg_a.sql"},
        },
        "disabled": {"model.shop.off": [{"package_name": "shop",
                                         "original_file_path": "models/off.sql"}]},
    }  # fmt: skip
    manifest_path.write_text(json.dumps(manifest))
    past = manifest_path.stat().st_mtime - 10
    for path in proj.rglob("*"):
        if path.is_file() and path != manifest_path:
            os.utime(path, (past, past))
    assert stale_reason(proj, manifest_path) is None
    assert stale_reason(proj, manifest_path, manifest) is None
    # A model added (with an old mtime, as a checkout can leave it) is missing from it.
    new = proj / "models" / "staging" / "stg_b.sql"
    new.write_text("select 3")
    os.utime(new, (past, past))
    assert stale_reason(proj, manifest_path) == "models/staging/stg_b.sql is not in manifest.json"
    new.unlink()
    # An edited macro is newer than the manifest.
    os.utime(proj / "macros" / "m.sql", (past + 20, past + 20))
    assert stale_reason(proj, manifest_path) == "macros/m.sql is newer than manifest.json"
    assert stale_reason(proj, proj / "nowhere" / "manifest.json") == (
        f"no manifest.json at {proj / 'nowhere'}"
    )
    # What .dbtignore names, dbt never parses: neither new nor edited files there count.
    os.utime(proj / "macros" / "m.sql", (past, past))
    (proj / ".dbtignore").write_text("# scratch work\nmodels/scratch/\n*.tmp.sql\n")
    (proj / "models" / "scratch").mkdir()
    (proj / "models" / "scratch" / "wip.sql").write_text("select 4")
    (proj / "models" / "draft.tmp.sql").write_text("select 5")
    assert stale_reason(proj, manifest_path) is None
    (proj / "models" / "kept.sql").write_text("select 6")
    assert stale_reason(proj, manifest_path) == "models/kept.sql is newer than manifest.json"


def test_a_named_manifest_folder_is_never_rewritten(project: Path) -> None:
    """--target-dir DIR: a stale manifest there is reported, not re-parsed over."""
    from tooling.staleness import refresh_if_stale

    (project / "models").mkdir()
    folder = project.parent / "their-target"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"nodes": {}}))
    before = (folder / "manifest.json").read_bytes()
    (project / "models" / "late.sql").write_text("select 1")
    os.utime(folder / "manifest.json", (1_000_000, 1_000_000))
    refreshed = refresh_if_stale(_resolve(project), folder, reparse=False)
    assert refreshed.stale == "models/late.sql is newer than manifest.json"
    assert not refreshed.reparsed
    assert refreshed.note is not None and "not re-parsed because --target-dir" in refreshed.note
    assert (folder / "manifest.json").read_bytes() == before
