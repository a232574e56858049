"""`dataops lint --target`: the dialect and the dispatched macros are the target engine's.

A tmp project has three outputs (duckdb, postgres, spark) and a .sqlfluff saying
`dialect = duckdb`. Two models tell the dialects apart by what sqlfluff itself can
parse (checked on the bare SQL first, so the test does not rest on our word):

* `star_exclude.sql`: DuckDB's `select * exclude (...)`: parses in duckdb only;
* `as_text.sql`: a macro dispatched per adapter: `a::text` (default) or
  `` cast(`a` as string) `` (spark__): each parses only in its own engine's dialect,
  so a Spark lint is clean only if the templater rendered the spark__ variant.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from tooling import lint as lint_mod

PROFILES = """shop:
  target: dev
  outputs:
    dev: {type: duckdb, path: shop.duckdb, schema: main}
    pg: {type: postgres, host: localhost, port: 5432, user: u, password: secret-pw,
         dbname: shop, schema: public}
    lake: {type: spark, method: session, host: localhost, schema: shop}
"""
MACRO = """{% macro as_text(column_name) -%}
    {{ return(adapter.dispatch('as_text', 'shop')(column_name)) }}
{%- endmacro %}

{% macro default__as_text(column_name) -%}
    {{ column_name }}::text
{%- endmacro %}

{% macro spark__as_text(column_name) -%}
    cast(`{{ column_name }}` as string)
{%- endmacro %}
"""
STAR_EXCLUDE = "select * exclude (a)\nfrom {{ ref('src') }}\n"
AS_TEXT = "select {{ as_text('a') }} as a_text\nfrom {{ ref('src') }}\n"


def parses(sql: str, dialect: str) -> bool:
    from sqlfluff.core import Linter

    parsed = Linter(dialect=dialect).parse_string(sql)
    return not parsed.violations and "unparsable" not in parsed.tree.stringify()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.dataops]\nproject_dir = "dbt"\n')
    shutil.copy(REPO / ".sqlfluff", tmp_path / ".sqlfluff")  # says dialect = duckdb
    project = tmp_path / "dbt"
    (project / "models").mkdir(parents=True)
    (project / "macros").mkdir()
    (project / "dbt_project.yml").write_text(
        "name: shop\nversion: '1.0.0'\nprofile: shop\nmacro-paths: ['macros']\n"
    )
    (project / "profiles.yml").write_text(PROFILES)
    (project / "macros" / "as_text.sql").write_text(MACRO)
    (project / "models" / "src.sql").write_text("select 1 as a\n")
    (project / "models" / "star_exclude.sql").write_text(STAR_EXCLUDE)
    (project / "models" / "as_text.sql").write_text(AS_TEXT)
    return project


def test_the_constructs_tell_the_dialects_apart() -> None:
    """sqlfluff's own parser: the expectations below follow from these."""
    star = "select * exclude (a)\nfrom t\n"
    assert [parses(star, d) for d in ("duckdb", "postgres", "sparksql")] == [True, False, False]
    colon_cast, spark_cast = "select a::text as a_text\nfrom t\n", "select cast(`a` as string)\n"
    assert parses(colon_cast, "duckdb") and parses(colon_cast, "postgres")
    assert not parses(colon_cast, "sparksql")
    assert parses(spark_cast, "sparksql")
    assert not parses(spark_cast, "duckdb") and not parses(spark_cast, "postgres")


@pytest.mark.parametrize(
    ("target", "adapter", "dialect", "unparsable"),
    [
        ("dev", "duckdb", "duckdb", set()),
        ("pg", "postgres", "postgres", {"star_exclude.sql"}),
        ("lake", "spark", "sparksql", {"star_exclude.sql"}),
    ],
)
def test_lint_parses_in_the_targets_dialect_with_its_macros(
    project: Path, target: str, adapter: str, dialect: str, unparsable: set[str]
) -> None:
    report = lint_mod.lint(
        lint_mod.discover(project),
        project_dir=project,
        root=project.parent,
        processes=1,
        target_name=target,
        profiles_dir=project,
        use_cache=False,
    )
    assert report.dialect == dialect
    assert report.dialect_from == f"target {target} ({adapter})"
    prs = {Path(v.path).name for v in report.violations if v.code == "PRS"}
    assert prs == unparsable, report.violations
    assert not report.problems


def test_cli_target_postgres_reports_the_dialect(project: Path) -> None:
    root = project.parent
    out = run_cli("lint", "--target", "pg", "--no-cache", "-f", "json", cwd=root)
    assert out.returncode == 1, out.stderr  # star_exclude.sql does not parse on PostgreSQL
    data = json.loads(out.stdout)
    assert data["dialect"] == "postgres" and data["dialect_from"] == "target pg (postgres)"
    assert {(Path(v["path"]).name, v["code"]) for v in data["violations"]} >= {
        ("star_exclude.sql", "PRS")
    }
    assert "secret-pw" not in out.stdout + out.stderr
    human = run_cli("lint", "--target", "dev", "--no-cache", cwd=root)
    # On DuckDB it parses; only style findings are left (AM04: select *).
    assert human.returncode == 1 and " PRS " not in human.stdout, human.stdout + human.stderr
    assert "(dialect duckdb, config: .sqlfluff)" in " ".join(human.stdout.split())


def test_without_a_profile_the_sqlfluff_dialect_stands(project: Path) -> None:
    (project / "profiles.yml").unlink()
    config = project.parent / ".sqlfluff"
    config.write_text(config.read_text().replace("dialect = duckdb", "dialect = postgres"))
    report = lint_mod.lint(
        [project / "models" / "star_exclude.sql"],
        project_dir=project,
        root=project.parent,
        processes=1,
        profiles_dir=project,
        use_cache=False,
    )
    assert report.dialect == "postgres" and report.dialect_from == str(config)
    assert [v.code for v in report.violations if v.code == "PRS"]


def test_dialect_for_adapter_types() -> None:
    assert lint_mod.dialect_for("duckdb") == "duckdb"
    assert lint_mod.dialect_for("postgres") == "postgres"
    assert lint_mod.dialect_for("spark") == "sparksql"
    assert lint_mod.dialect_for("no_such_engine") is None
