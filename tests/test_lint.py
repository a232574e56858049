"""`dataops lint`: sqlfluff with the repository's .sqlfluff over a dbt project.

Violations are planted in a small tmp dbt project at lines found by searching the
file text; the repository's own SQL must lint clean. The planted-violation tests
here use `--templater jinja` (sqlfluff's jinja templater with same-shape stubs, where
dbt's multi-line macro output cannot lengthen a line); the dataops templater is
tested against sqlfluff's dbt templater in test_lint_dbt.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from tooling import lint as lint_mod

DBT_PROJECT_YML = "name: shop\nversion: '1.0.0'\nprofile: shop\nmacro-paths: ['macros']\n"

# A macro dispatched per adapter, like the project's json_extract_text.
MACRO = """{% macro first_word(column_name) -%}
    {{ return(adapter.dispatch('first_word', 'shop')(column_name)) }}
{%- endmacro %}

{% macro default__first_word(column_name) -%}
    split_part({{ column_name }}, ' ', 1)
{%- endmacro %}

{% macro duckdb__first_word(column_name) -%}
    string_split({{ column_name }}, ' ')[1]
{%- endmacro %}
"""

# Compiles with dbt: cross-db macros, a dispatched project macro, var, target,
# env_var, is_incremental/this. The jinja templater must render it without a
# templating (TMP) or parse (PRS) error, and it follows the style rules.
GOOD = """{{ config(materialized='incremental', unique_key='order_id') }}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}
    {% if is_incremental() %}
        where ordered_at > (select max(this_run.ordered_at) from {{ this }} as this_run)
    {% endif %}

),

final as (

    select
        order_id,
        {{ first_word('customer_name') }} as customer_first_name,
        cast({{ dbt.date_trunc('day', 'ordered_at') }} as date) as order_date,
        {{ dbt.dateadd('day', var('lookback_days', 3), 'ordered_at') }} as due_at,
        {{ dbt.datediff('ordered_at', 'shipped_at', 'day') }} as days_to_ship,
        {{ dbt.safe_cast('amount', dbt.type_numeric()) }} as amount,
        {{ dbt.hash('customer_name') }} as customer_hash,
        cast(status as {{ dbt.type_string() }}) as status,
        '{{ target.name }}' as built_for,
        '{{ env_var("SHOP_REGION", "eu") }}' as region

    from orders

)

select * from final
"""

# Planted violations; the line of each is found by searching for its marker.
BAD = """with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

customers as (

    select * from {{ ref('stg_shop__customers') }}

)

select
    orders.order_id,
    customers.customer_id AS customer_key
from orders
join customers on orders.customer_id = customers.customer_id
"""
PLANTED = {"AS customer_key": "CP01", "join customers": "AM05"}


def line_of(text: str, marker: str) -> int:
    [index] = [i for i, line in enumerate(text.splitlines(), start=1) if marker in line]
    return index


def make_repo(root: Path) -> Path:
    """A repository: pyproject with [tool.dataops], the real .sqlfluff, a dbt project."""
    project = root / "dbt"
    (project / "models" / "marts").mkdir(parents=True)
    (project / "macros").mkdir()
    (root / "pyproject.toml").write_text('[tool.dataops]\nproject_dir = "dbt"\n')
    shutil.copy(REPO / ".sqlfluff", root / ".sqlfluff")
    (project / "dbt_project.yml").write_text(DBT_PROJECT_YML)
    (project / "macros" / "first_word.sql").write_text(MACRO)
    (project / "models" / "marts" / "fct_good.sql").write_text(GOOD)
    (project / "models" / "marts" / "fct_bad.sql").write_text(BAD)
    return project


def lint_files(project: Path, root: Path, files: list[Path], fix: bool = False):
    return lint_mod.lint(
        files, project_dir=project, root=root, fix=fix, processes=1, templater="jinja"
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_repo(tmp_path)
    return tmp_path


def test_planted_violations_have_their_lines(repo: Path) -> None:
    project = repo / "dbt"
    files = lint_mod.discover(project)
    assert [f.name for f in files] == ["fct_bad.sql", "fct_good.sql"]
    report = lint_files(project, repo, files)
    found = {(v.path, v.line, v.code) for v in report.violations}
    expected = {
        ("dbt/models/marts/fct_bad.sql", line_of(BAD, marker), code)
        for marker, code in PLANTED.items()
    }
    assert expected <= found
    # Nothing else: the well-formed model (dbt macros, dispatch, var, target,
    # env_var, is_incremental) gets no templating, parse or style violation.
    assert found == expected
    column = BAD.splitlines()[line_of(BAD, "AS customer_key") - 1].index("AS") + 1
    assert any(v.code == "CP01" and v.column == column for v in report.violations)


def test_package_macros_render_without_templating_errors(tmp_path: Path) -> None:
    """A project using an installed package's macros (dbt_utils.*) gets no TMP/PRS."""
    project = make_repo(tmp_path)
    (project / "packages.yml").write_text(
        'packages:\n  - package: dbt-labs/dbt_utils\n    version: [">=1.0.0"]\n'
    )
    model = project / "models" / "marts" / "fct_good.sql"
    model.write_text(
        "select\n"
        "    {{ dbt_utils.generate_surrogate_key(['order_id', 'status']) }} as order_key,\n"
        "    order_id\n\n"
        "from {{ ref('stg_shop__orders') }}\n"
    )
    assert lint_mod.package_names(project) == ["dbt_utils"]
    report = lint_files(project, tmp_path, [model])
    assert report.violations == []


def test_fix_rewrites_the_planted_violations(repo: Path) -> None:
    project = repo / "dbt"
    bad = project / "models" / "marts" / "fct_bad.sql"
    report = lint_files(project, repo, [bad], fix=True)
    assert report.fixed_files == ["dbt/models/marts/fct_bad.sql"]
    assert report.violations == []
    text = bad.read_text()
    assert "customers.customer_id as customer_key" in text
    assert "inner join customers on" in text
    assert "{{ ref('stg_shop__customers') }}" in text  # Jinja left as written
    assert lint_files(project, repo, [bad]).violations == []


def test_cli_formats_and_exit_code(repo: Path) -> None:
    bad = "dbt/models/marts/fct_bad.sql"
    result = run_cli("lint", "--format", "json", "--templater", "jinja", cwd=repo)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["files_linted"] == 2
    assert {(v["path"], v["line"], v["code"]) for v in data["violations"]} == {
        (bad, line_of(BAD, marker), code) for marker, code in PLANTED.items()
    }
    assert set(data["violations"][0]) == {"path", "line", "column", "code", "description"}
    github = run_cli("lint", "--format", "github", bad, cwd=repo)  # dataops templater
    assert github.returncode == 1
    am05 = line_of(BAD, "join customers")
    assert f"::error file={bad},line={am05},col=1,title=AM05::AM05: " in github.stdout
    good = run_cli("lint", "--templater", "jinja", "dbt/models/marts/fct_good.sql", cwd=repo)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "1 SQL file(s) linted, 0 violation(s)" in good.stdout


def git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout


def test_changed_selects_exactly_the_changed_files(tmp_path: Path) -> None:
    project = make_repo(tmp_path)
    models = project / "models" / "marts"
    for name in ("a", "b", "c", "d", "e"):
        (models / f"fct_{name}.sql").write_text("select 1 as x\n")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    git(tmp_path, "checkout", "-qb", "feature")
    (models / "fct_a.sql").write_text("select 2 as x\n")  # committed on the branch
    git(tmp_path, "commit", "-qam", "change a")
    # main moves on after the branch point: its change is not the branch's.
    git(tmp_path, "checkout", "-q", "main")
    (models / "fct_e.sql").write_text("select 9 as x\n")
    git(tmp_path, "commit", "-qam", "change e on main")
    git(tmp_path, "checkout", "-q", "feature")
    (models / "fct_b.sql").write_text("select 3 as x\n")  # staged only
    git(tmp_path, "add", str(models / "fct_b.sql"))
    (models / "fct_c.sql").write_text("select 4 as x\n")  # unstaged
    (models / "fct_new.sql").write_text("select 5 as x\n")  # untracked
    (models / "fct_d.sql").unlink()  # deleted: nothing to lint
    (tmp_path / "notes.md").write_text("not SQL\n")  # untracked, not SQL
    expected = {f"dbt/models/marts/fct_{n}.sql" for n in ("a", "b", "c", "new")}

    changed = lint_mod.changed_files(tmp_path)
    selected = lint_mod.select_changed(lint_mod.discover(project), changed)
    assert {p.relative_to(tmp_path).as_posix() for p in selected} == expected

    # The CLI lints exactly those: each changed file is made to violate CP01 once.
    for name in ("a", "b", "c", "new"):
        (models / f"fct_{name}.sql").write_text("SELECT 1 as x\n")
    result = run_cli("lint", "--changed", "--format", "json", cwd=tmp_path)
    data = json.loads(result.stdout)
    assert data["files_linted"] == 4
    assert {v["path"] for v in data["violations"]} == expected


def test_repository_sql_lints_clean() -> None:
    """The project's own models, tests and snapshots: no violation at all."""
    result = run_cli("lint", "--format", "json", cwd=REPO)
    data = json.loads(result.stdout)
    assert data["violations"] == [], data["violations"][:5]
    project = REPO / "dbt_project"
    expected = [
        p
        for folder in ("models", "tests", "snapshots", "analyses")
        for p in (project / folder).rglob("*.sql")
    ]
    assert data["files_linted"] == len(expected) > 0
    assert result.returncode == 0


def test_unreadable_and_missing_sql(repo: Path) -> None:
    models = repo / "dbt" / "models" / "marts"
    (models / "fct_gone.sql").symlink_to(repo / "nowhere.sql")  # cannot be opened
    result = run_cli("lint", cwd=repo)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: cannot read SQL file {models / 'fct_gone.sql'}: No such file or directory"
    ]
    (models / "fct_gone.sql").unlink()
    latin1 = "select 'café' as x\n".encode("latin-1")
    (models / "fct_latin1.sql").write_bytes(latin1)
    result = run_cli("lint", cwd=repo)
    assert result.returncode == 1
    assert f"not UTF-8 text (byte 0xe9 at offset {latin1.index(0xE9)})" in result.stderr
    missing = run_cli("lint", "dbt/models/nope.sql", cwd=repo)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "error: no such file or folder: dbt/models/nope.sql"


def test_templater_choice_order() -> None:
    """--templater, else [tool.dataops.lint] templater, else dataops; anything else: exit 2."""
    from tooling.errors import UsageError

    table = {"lint": {"templater": "jinja"}}
    assert lint_mod.choose_templater(None, {}) == "dataops"
    assert lint_mod.choose_templater(None, table) == "jinja"
    assert lint_mod.choose_templater("dbt", table) == "dbt"
    with pytest.raises(UsageError, match=r"\[tool.dataops.lint\] templater: unknown templater 'x'"):
        lint_mod.choose_templater(None, {"lint": {"templater": "x"}})
    assert UsageError.exit_code == 2
