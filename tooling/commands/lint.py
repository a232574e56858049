"""`dataops lint`: sqlfluff over the dbt project's SQL (all, given paths, or changed)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tooling import lint as lint_mod
from tooling.console import console, err_console
from tooling.options import STATE, ProfilesDir, ProjectDir, Target


class LintFormat(StrEnum):
    human = "human"
    json = "json"
    github = "github"


def _escape(text: str) -> str:
    """GitHub workflow-command escaping of a message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def lint(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="SQL files or folders to lint. Default: the project's model, test, "
            "snapshot and analysis folders.",
            show_default=False,
        ),
    ] = None,
    changed: Annotated[
        bool,
        typer.Option(
            "--changed",
            help="Only SQL files changed against the merge-base with the default branch, "
            "plus untracked ones.",
        ),
    ] = False,
    base: Annotated[
        str | None,
        typer.Option("--base", help="Branch or commit to diff against with --changed."),
    ] = None,
    fix: Annotated[bool, typer.Option("--fix", help="Rewrite files to fix what is fixable.")] = (
        False
    ),
    output_format: Annotated[
        LintFormat,
        typer.Option("--format", "-f", help="human, json (one object) or github annotations."),
    ] = LintFormat.human,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            "-p",
            help="Worker processes. Default: one for a few files, else up to 2 cores.",
        ),
    ] = None,
    templater: Annotated[
        str | None,
        typer.Option(
            "--templater",
            help="dataops (dbt's macros and Jinja, cached; default), jinja (sqlfluff's, "
            "with stubs) or dbt (sqlfluff's dbt templater). Default: "
            "[tool.dataops.lint] templater, else dataops.",
            show_default=False,
        ),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Lint every file again (dataops templater).")
    ] = False,
    project_dir: ProjectDir = None,
    target: Target = None,
    profiles_dir: ProfilesDir = None,
) -> None:
    """Lint the dbt project's SQL with sqlfluff and the repository's .sqlfluff, in the
    dialect of the target's engine (duckdb, postgres, sparksql)."""
    settings = STATE.settings(project_dir=project_dir, target=target, profiles_dir=profiles_dir)
    chosen = lint_mod.choose_templater(templater, settings.tool_config)
    files = lint_mod.discover(settings.project_dir, list(paths or []))
    if changed:
        files = lint_mod.select_changed(files, lint_mod.changed_files(settings.root, base))
    report = lint_mod.lint(
        files,
        project_dir=settings.project_dir,
        root=settings.root,
        fix=fix,
        processes=processes,
        templater=chosen,
        vars=settings.vars_dict,
        target_name=settings.target,
        profiles_dir=settings.profiles_dir,
        use_cache=not no_cache,
    )
    for notice in report.notices:
        err_console.print(f"note: {notice}", markup=False, soft_wrap=True)
    if output_format is LintFormat.json:
        print(json.dumps(report.as_dict(), indent=2))
    elif output_format is LintFormat.github:
        for v in report.violations:
            print(
                f"::error file={v.path},line={v.line},col={v.column},title={v.code}::"
                f"{_escape(f'{v.code}: {v.description}')}"
            )
        print(f"{report.files_linted} file(s) linted, {len(report.violations)} violation(s)")
    else:
        # path:line:col lines (not a table): paths stay whole and editors can jump to them.
        for v in report.violations:
            console.print(f"{v.path}:{v.line}:{v.column}: {v.code} {v.description}", markup=False)
        for path in report.fixed_files:
            console.print(f"fixed: {path}")
        what = "changed SQL file(s)" if changed else "SQL file(s)"
        cached = report.files_linted - len(report.relinted)
        console.print(
            f"{report.files_linted} {what} linted, {len(report.violations)} violation(s)"
            + (f", {cached} unchanged from the cache" if cached else "")
            + f" (dialect {report.dialect}"
            + (f", config: {report.config_file})" if report.config_file else ")")
        )
    for problem in report.problems:
        err_console.print(f"error: {problem}", markup=False, soft_wrap=True)
    if report.problems:
        raise typer.Exit(2)
    if report.violations:
        if output_format is LintFormat.human:
            err_console.print("error: lint failed")
        raise typer.Exit(1)
