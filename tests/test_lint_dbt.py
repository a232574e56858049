"""`dataops lint` with the dataops templater on a dbt project written here.

The project has a local package in dbt_packages/ with dispatched macros
(default__ and duckdb__) and a project override of one of them, models using
every dbt filter and context member the templater provides, a .sqlfluff that
names `templater = dbt-cloud`, and planted violations. The expectation is
computed in the test by running sqlfluff's own dbt templater (dbt compiles the
project) on the same files with the same rules.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from tooling import lint as lint_mod
from tooling.lint import dbt_context, dbt_macros, reflow_memo

PROJECT_YML = """name: shop
version: '1.0.0'
config-version: 2
profile: shop
macro-paths: ['macros']
vars:
  lookback_days: 3
  shop:
    currency: usd
dispatch:
  - macro_namespace: kit
    search_order: ['shop', 'kit']
"""

PROFILES_YML = """shop:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{path}"
      schema: main
      threads: 1
"""

KIT_PROJECT_YML = "name: kit\nversion: '1.0.0'\nconfig-version: 2\nmacro-paths: ['macros']\n"

# The package: two dispatched macros; the project overrides duckdb__label.
KIT_MACROS = """{% macro money(column_name) -%}
    {{ return(adapter.dispatch('money', 'kit')(column_name)) }}
{%- endmacro %}

{% macro default__money(column_name) -%}
    cast({{ column_name }} / 100.0 as numeric(18, 2))
{%- endmacro %}

{% macro duckdb__money(column_name) -%}
    round({{ column_name }} / 100.0, 2)
{%- endmacro %}

{% macro label(column_name) -%}
    {{ return(adapter.dispatch('label', 'kit')(column_name)) }}
{%- endmacro %}

{% macro default__label(column_name) -%}
    upper({{ column_name }})
{%- endmacro %}

{% macro duckdb__label(column_name) -%}
    package_label_never_used({{ column_name }})
{%- endmacro %}

{% macro status_case(column_name) -%}
    case
        when {{ column_name }} = 'open' then 'active'
        else 'closed'
    end
{%- endmacro %}

{% macro flag(value) -%}
    {%- if value | as_bool -%} true {%- else -%} false {%- endif -%}
{%- endmacro %}
"""

# The project's override of the package's duckdb__label (searched first: dispatch config).
PROJECT_MACROS = """{% macro duckdb__label(column_name) -%}
    lower(trim({{ column_name }}))
{%- endmacro %}

{% macro days_back() -%}
    {{ return(var('lookback_days') | as_number) }}
{%- endmacro %}
"""

SOURCES_YML = """version: 2
sources:
  - name: raw
    schema: main
    tables:
      - name: orders
"""

STG_ORDERS = """with

source as (

    select * from {{ source('raw', 'orders') }}

),

renamed as (

    select
        id as order_id,
        customer_name,
        amount_cents,
        status,
        ordered_at

    from source

)

select * from renamed
"""

# Every filter and context member of the templater, in SQL that dbt compiles the same
# way whether or not it executes (the dbt templater compiles with execute = true).
EVERYTHING = """{{ config(materialized='table', tags=['core']) }}
{%- set settings = fromjson('{"region": "eu", "tiers": [1, 2]}') -%}
{%- set spec = fromyaml('threshold: 10') -%}
{%- set stamp = modules.datetime.date(2024, 1, 31).isoformat() -%}
{%- set slug = modules.re.sub('[^a-z]', '', 'or-ders') -%}
{%- set pairs = zip(['order_id', 'status'], ['a', 'b']) | list -%}
{%- set unique_tiers = set([1, 1, 2]) -%}
{%- if execute -%}
    {%- set probe = run_query('select 1 as n') -%}
    {%- call statement('probe_statement', fetch_result=true) -%} select 1 {%- endcall -%}
{%- endif -%}
{%- if graph is not mapping -%}
    {{ exceptions.raise_compiler_error('graph must be a mapping') }}
{%- endif -%}
{%- do log('rendering ' ~ this.identifier) -%}
{%- do print('') -%}

with

orders as (

    select * from {{ ref('stg_orders') }}

),

final as (

    select
        order_id,
        {{ kit.money('amount_cents') }} as amount_usd,
        {{ kit.label('status') }} as status_label,
        {{ kit.flag('true') }} as is_flagged,
        {{ 'yes' | as_bool }} as yes_flag,
        {{ '7' | as_number }} as seven,
        {{ [1, 2] | as_native | length }} as two,
        '{{ 'abc' | as_text }}' as abc,
        {{ dbt.dateadd('day', days_back(), 'ordered_at') }} as due_at,
        cast({{ dbt.date_trunc('day', 'ordered_at') }} as date) as order_date,
        cast(status as {{ dbt.type_string() }}) as status_text,
        '{{ settings.region }}' as region,
        {{ spec.threshold }} as threshold,
        '{{ stamp }}' as stamp,
        '{{ slug }}' as slug,
        {{ pairs | length }} as pair_count,
        {{ unique_tiers | length }} as tier_count,
        '{{ local_md5("shop") }}' as shop_hash,
        '{{ tojson(settings.tiers) }}' as tiers_json,
        '{{ toyaml({"a": 1}) | trim }}' as a_yaml,
        '{{ target.name }}' as built_for,
        '{{ this.identifier }}' as model_name,
        '{{ var("currency") }}' as currency,
        '{{ env_var("SHOP_REGION", "eu") }}' as shop_region,
        {{ is_incremental() }} as incremental_run,
        {{ execute and false }} as never_true

    from orders

)

select * from final
"""

# Planted violations; the line of each is found by searching for its marker. The first
# CP01 is on the line of a package-macro call that renders four lines; the next one
# comes after that output: both are reported at the model's source lines.
BAD = """select
    order_id,
    {{ kit.status_case('status') }} AS status_group,
    status AS order_status,
    {{ kit.label('status') }} as status_label
from {{ ref('stg_orders') }}
join {{ ref('stg_orders') }} as again on again.order_id = stg_orders.order_id
"""
# Layout problems for the four rules that share one reflow sequence (reflow_memo.py):
# double spaces (LT01), a wrong indent (LT02), a line over 100 characters (LT05) and
# a clause keyword after a table reference on its line (LT14).
LAYOUT = """select
    order_id,
      status   as order_status,
    'a text that makes this line run well past the hundred characters that the config allows here' as long_note
from {{ ref('stg_orders') }} where order_id > 0
"""
PLANTED = {
    "AS status_group": "CP01",
    "AS order_status": "CP01",
    "join {{": "AM05",
}


def line_of(text: str, marker: str) -> int:
    [index] = [i for i, line in enumerate(text.splitlines(), start=1) if marker in line]
    return index


def make_repo(root: Path) -> Path:
    project = root / "dbt"
    for folder in ("models/staging", "models/marts", "macros", "dbt_packages/kit/macros"):
        (project / folder).mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[tool.dataops]\nproject_dir = "dbt"\n')
    sqlfluff = (REPO / ".sqlfluff").read_text()
    assert "templater = jinja" in sqlfluff
    (root / ".sqlfluff").write_text(sqlfluff.replace("templater = jinja", "templater = dbt-cloud"))
    (project / "dbt_project.yml").write_text(PROJECT_YML)
    (project / "profiles.yml").write_text(PROFILES_YML.format(path=root / "shop.duckdb"))
    (project / "dbt_packages/kit/dbt_project.yml").write_text(KIT_PROJECT_YML)
    (project / "dbt_packages/kit/macros/kit.sql").write_text(KIT_MACROS)
    (project / "macros/overrides.sql").write_text(PROJECT_MACROS)
    (project / "models/staging/_sources.yml").write_text(SOURCES_YML)
    (project / "models/staging/stg_orders.sql").write_text(STG_ORDERS)
    (project / "models/marts/fct_everything.sql").write_text(EVERYTHING)
    (project / "models/marts/fct_bad.sql").write_text(BAD)
    (project / "models/marts/fct_layout.sql").write_text(LAYOUT)
    return project


def dbt_templater_violations(root: Path, project: Path, files: list[Path]) -> set[tuple]:
    """(file, line, rule) from sqlfluff's dbt templater on the same files and rules."""
    extra = root / "dbt_templater.cfg"
    extra.write_text(
        f"[sqlfluff:templater:dbt]\nproject_dir = {project}\nprofiles_dir = {project}\n"
    )
    out = root / "dbt_templater.json"
    env = {**os.environ, "DO_NOT_TRACK": "1", "SHOP_REGION": "eu"}
    env.pop("DBT_PROFILES_DIR", None)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "sqlfluff"),
            "lint",
            "--templater",
            "dbt",
            "--config",
            str(extra),
            "--processes",
            "1",
            "--format",
            "json",
            "--write-output",
            str(out),
            *map(str, files),
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.is_file(), result.stdout[-2000:] + result.stderr[-2000:]
    data = json.loads(out.read_text())
    return {
        (Path(f["filepath"]).resolve().relative_to(root).as_posix(), v["start_line_no"], v["code"])
        for f in data
        for v in f["violations"]
    }


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("lint_dbt")
    project = make_repo(root)
    files = lint_mod.discover(project)
    expected = dbt_templater_violations(root, project, files)
    return {"root": root, "project": project, "files": files, "expected": expected}


def test_violations_equal_the_dbt_templater(shop: dict) -> None:
    root, project, files = shop["root"], shop["project"], shop["files"]
    report = lint_mod.lint(files, project_dir=project, root=root, processes=1, use_cache=False)
    found = {(v.path, v.line, v.code) for v in report.violations}
    assert not [v for v in report.violations if v.code in ("TMP", "PRS")], report.violations
    assert not [v for v in shop["expected"] if v[2] in ("TMP", "PRS")], shop["expected"]
    assert found == shop["expected"]
    # ... and they are the planted ones, at the lines of the package-macro calls.
    bad = "dbt/models/marts/fct_bad.sql"
    planted = {(bad, line_of(BAD, marker), code) for marker, code in PLANTED.items()}
    assert planted <= found
    assert report.problems == []


def test_shared_reflow_sequence_changes_no_violation(
    shop: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The layout rules share one reflow sequence per file (tooling/lint/reflow_memo.py):
    every violation, with its column and text, equals a lint where each rule builds its own."""
    root, project, files = shop["root"], shop["project"], shop["files"]

    def violations() -> list[tuple]:
        report = lint_mod.lint(files, project_dir=project, root=root, processes=1, use_cache=False)
        return sorted((v.path, v.line, v.column, v.code, v.description) for v in report.violations)

    shared = violations()
    monkeypatch.setattr(reflow_memo, "shared_root_sequences", contextlib.nullcontext)
    assert violations() == shared
    layout = {code for *_, code, _ in shared if code in ("LT01", "LT02", "LT05", "LT14")}
    assert layout == {"LT01", "LT02", "LT05", "LT14"}, shared  # each sharing rule finds one


def test_dispatch_and_filters_render_as_dbt_does(shop: dict) -> None:
    """The rendered SQL: project override first, then the package's duckdb__, filters."""
    project = shop["project"]
    renderer = dbt_context.Renderer(dbt_macros.load_world(project), cli_vars={"lookback_days": 9})
    env = dbt_context.environment()

    def render(text: str) -> str:
        ctx = renderer.context("model.sql")
        return env.from_string(text, globals=ctx).render({}).strip()

    assert render("{{ kit.label('s') }}") == "lower(trim(s))"  # the project's override
    assert render("{{ kit.money('c') }}") == "round(c / 100.0, 2)"  # the package's duckdb__
    assert render("{{ days_back() }}") == "9"  # --vars over project vars
    assert render("{{ var('currency') }}") == "usd"  # project-scoped var
    assert render("{{ dbt.type_string() }}") == "TEXT"  # dbt-duckdb's own answer
    # dbt's text-mode filters: as_bool leaves the string, so a non-empty one is truthy.
    assert render("{{ 'false' | as_bool }}|{{ kit.flag('false') }}|{{ kit.flag('') }}") == (
        "false|true|false"
    )
    assert render("{{ ref('stg_orders') }}") == '"shop"."main"."stg_orders"'
    macro_file = str(project / "dbt_packages/kit/macros/kit.sql")
    assert macro_file in renderer.used


def test_cli_notice_for_dbt_cloud_and_formats(shop: dict) -> None:
    root = shop["root"]
    result = run_cli("lint", "--format", "json", "--no-cache", cwd=root)
    assert result.returncode == 1, result.stderr
    notice = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notice) == 1 and "'dbt-cloud' is not installed" in notice[0], result.stderr
    data = json.loads(result.stdout)
    assert data["templater"] == "dataops"
    assert {(v["path"], v["line"], v["code"]) for v in data["violations"]} == shop["expected"]
    github = run_cli("lint", "--format", "github", "dbt/models/marts/fct_bad.sql", cwd=root)
    line = line_of(BAD, "AS order_status")
    assert f"::error file=dbt/models/marts/fct_bad.sql,line={line},col=12,title=CP01::" in (
        github.stdout
    )


def test_cache_relints_exactly_what_changed(tmp_path: Path) -> None:
    project = make_repo(tmp_path)
    models = project / "models/marts"
    # Three more models: two use the package macro kit.money, one uses no macro.
    (models / "fct_money.sql").write_text(
        "select {{ kit.money('amount_cents') }} as amount_usd\nfrom {{ ref('stg_orders') }}\n"
    )
    (models / "fct_plain.sql").write_text("select order_id\nfrom {{ ref('stg_orders') }}\n")
    files = lint_mod.discover(project)

    def run() -> lint_mod.LintReport:
        return lint_mod.lint(files, project_dir=project, root=tmp_path, processes=1)

    first = run()
    assert sorted(first.relinted) == sorted(first.files)
    second = run()
    assert second.relinted == []
    assert second.violations == first.violations
    # Edit the package macro file: only the files whose rendering called it re-lint.
    kit = project / "dbt_packages/kit/macros/kit.sql"
    kit.write_text(
        KIT_MACROS.replace("round({{ column_name }} / 100.0, 2)", "ROUND({{ column_name }}, 2)")
    )
    third = run()
    users = {
        "dbt/models/marts/fct_everything.sql",
        "dbt/models/marts/fct_bad.sql",
        "dbt/models/marts/fct_money.sql",
    }
    assert set(third.relinted) == users
    # The project's own macro file: used by fct_everything only (days_back, duckdb__label).
    (project / "macros/overrides.sql").write_text(PROJECT_MACROS + "\n")
    fourth = run()
    assert set(fourth.relinted) == {
        "dbt/models/marts/fct_everything.sql",
        "dbt/models/marts/fct_bad.sql",
    }
    # A model edit: that model only.
    (models / "fct_plain.sql").write_text("select order_id\nfrom {{ ref('stg_orders') }}\n\n")
    assert run().relinted == ["dbt/models/marts/fct_plain.sql"]


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    project = make_repo(tmp_path)
    models = project / "models/marts"
    # A macro that raises at render time, called on line 3 of a model.
    (project / "macros/boom.sql").write_text(
        "{% macro boom() %}{{ exceptions.raise_compiler_error('no boom today') }}{% endmacro %}\n"
    )
    (models / "fct_boom.sql").write_text(
        "select\n    order_id,\n    {{ boom() }} as b\nfrom {{ ref('stg_orders') }}\n"
    )
    # A package folder that is not a dbt package.
    (project / "dbt_packages/stray/macros").mkdir(parents=True)
    result = run_cli("lint", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2, result.stderr
    assert any("dbt_packages/stray: not a dbt package (no dbt_project.yml)" in e for e in errors)
    assert any(
        e.startswith("error: dbt/models/marts/fct_boom.sql:3: ") and "no boom today" in e
        for e in errors
    )
    data = json.loads(result.stdout)
    assert data["files_linted"] == len(lint_mod.discover(project))  # the others too
    assert ("dbt/models/marts/fct_bad.sql", line_of(BAD, "AS order_status"), "CP01") in {
        (v["path"], v["line"], v["code"]) for v in data["violations"]
    }
    # A .sqlfluff that does not parse: one line, exit 2, the files linted with defaults.
    (tmp_path / ".sqlfluff").write_text("[sqlfluff\ndialect = duckdb\n")
    shutil.rmtree(project / "dbt_packages/stray")
    (models / "fct_boom.sql").unlink()
    result = run_cli("lint", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        line for line in errors if f"cannot read sqlfluff config {tmp_path / '.sqlfluff'}" in line
    ]
    assert len(errors) == 1
    assert json.loads(result.stdout)["files_linted"] == len(lint_mod.discover(project))
    # An unknown templater: one line, exit 2.
    result = run_cli("lint", "--templater", "nope", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --templater: unknown templater 'nope'; choose one of dataops, jinja, dbt"
    ]


def test_internal_macro_names_scanned_equal_dbts_lexer() -> None:
    """dbt's internal macros are only scanned for names until one is rendered: the
    scan must find exactly the macros dbt's lexer splits out of the installed files,
    and a lazily read macro must be the block the lexer gives."""
    from dbt_common.clients.jinja import extract_toplevel_blocks

    roots = dbt_macros._internal_roots(dbt_macros.ADAPTER)
    assert {name for name, _ in roots} >= {"dbt", "dbt_duckdb"}
    files = 0
    for _, folder in roots:
        for path in folder.rglob("*.sql"):
            text = path.read_text(encoding="utf-8")
            lexed = [
                (f"test_{b.block_name}" if b.block_type_name == "test" else b.block_name)
                for b in extract_toplevel_blocks(
                    text, allowed_blocks=dbt_macros.BLOCKS, collect_raw_data=False
                )
                if b.block_type_name in ("macro", "test")
            ]
            assert dbt_macros.scan_names(text) == lexed, path
            files += 1
    assert files > 100
    world = dbt_macros.load_world(REPO / "dbt_project")
    macro = world.packages["dbt"].macros["default__date_trunc"]
    assert macro.sql is None  # not split yet
    [block] = [
        b.full_block
        for b in extract_toplevel_blocks(Path(macro.path).read_text(encoding="utf-8"))
        if b.block_type_name == "macro" and b.block_name == "default__date_trunc"
    ]
    assert macro.macro_sql == block
