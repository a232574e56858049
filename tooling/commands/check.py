"""`dataops check`: governance rules over manifest.json (and catalog.json)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tooling.console import console, err_console, new_table
from tooling.options import STATE, ProfilesDir, ProjectDir, Target, Vars


class CheckFormat(StrEnum):
    table = "table"
    json = "json"
    github = "github"


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def check(
    output_format: Annotated[
        CheckFormat,
        typer.Option("--format", "-f", help="table, json (one object) or github annotations."),
    ] = CheckFormat.table,
    rule: Annotated[
        list[str] | None,
        typer.Option("--rule", "-r", help="Only this rule (repeatable). Default: all enabled."),
    ] = None,
    target_dir: Annotated[
        Path | None,
        typer.Option(
            "--target-dir",
            help="Folder holding manifest.json (and catalog.json). Default: <project>/target.",
        ),
    ] = None,
    parse: Annotated[
        bool,
        typer.Option("--parse", help="Run `dbt parse` first so the manifest is current."),
    ] = False,
    list_rules: Annotated[
        bool, typer.Option("--list-rules", help="List the rules and exit.")
    ] = False,
    dbt_vars: Vars = None,
    suggest_config: Annotated[
        bool,
        typer.Option(
            "--suggest-config",
            help="Print the [tool.dataops.check] block matching the project's own "
            "layer folders and names, and exit.",
        ),
    ] = False,
    include_packages: Annotated[
        bool,
        typer.Option(
            "--include-packages",
            help="Check the models of installed packages too (config: include_packages).",
        ),
    ] = False,
    project_dir: ProjectDir = None,
    target: Target = None,
    profiles_dir: ProfilesDir = None,
) -> None:
    """Check governance rules on the dbt manifest: naming, layers, docs, tests, owners, PII."""
    # Imported here, not at module level: every other dataops command skips them.
    from tooling import check as check_mod
    from tooling.staleness import refresh_if_stale

    if list_rules:
        table = new_table("dataops check rules")
        table.add_column("rule")
        table.add_column("default")
        table.add_column("what it checks")
        for rule_id, spec in check_mod.RULES.items():
            table.add_row(rule_id, spec.default_severity, spec.description)
        console.print(table)
        return
    settings = STATE.settings(
        project_dir=project_dir, target=target, profiles_dir=profiles_dir, vars=dbt_vars
    )
    # A project outside the folder of the pyproject.toml found is not configured by it.
    configured = bool(settings.tool_config) and settings.project_dir.is_relative_to(settings.root)
    config = settings.tool_config.get("check", {}) if configured else {}
    # Rules a project never opted into (owners, contracts) only warn without [tool.dataops].
    # A config mistake is reported before any dbt work.
    check_mod.parse_check_config(config, configured=configured)
    folder = (target_dir or settings.target_dir).resolve()
    if parse:
        from tooling import dbt_invoke

        extra = [] if folder == settings.target_dir else ["--target-path", str(folder)]
        dbt_invoke.invoke(settings, ["parse"], quiet=True, extra=extra)
    manifest, catalog = check_mod.load_artifacts(folder)
    if not parse:
        refreshed = refresh_if_stale(settings, folder, manifest, reparse=target_dir is None)
        if refreshed.note:
            err_console.print(refreshed.note, markup=False, soft_wrap=True)
        if refreshed.reparsed:
            manifest, catalog = check_mod.load_artifacts(folder)
    if suggest_config:
        print(check_mod.suggest_config(manifest, catalog), end="")
        return
    report = check_mod.run_checks(
        manifest,
        catalog,
        config,
        only=rule,
        configured=configured,
        include_packages=True if include_packages else None,
    )
    if output_format is CheckFormat.json:
        print(json.dumps(report.as_dict(), indent=2))
    elif output_format is CheckFormat.github:
        # Annotations need paths from the repository root; dbt's are from the project.
        try:
            prefix = settings.project_dir.relative_to(settings.root).as_posix()
        except ValueError:
            prefix = settings.project_dir.as_posix()
        for f in report.findings:
            level = "error" if f.severity == "error" else "warning"
            path = f"{prefix}/{f.path}".removeprefix("./") if f.path else None
            where = f"file={path}," if path else ""
            print(f"::{level} {where}title={f.rule}::{_escape(f'{f.node}: {f.message}')}")
        print(f"score {report.score}: {report.errors} error(s), {report.warnings} warning(s)")
    else:
        if report.findings:
            table = new_table("Governance findings")
            for column in ("severity", "rule", "node", "message"):
                table.add_column(column)
            for f in report.findings:
                table.add_row(f.severity, f.rule, f.node, f.message)
            console.print(table)
        rules = new_table("Rules")
        for column in ("rule", "severity", "checked", "failed", "excepted"):
            rules.add_column(column, justify="left" if column in ("rule", "severity") else "right")
        for o in report.outcomes:
            if o.enabled:
                rules.add_row(o.rule, o.severity, str(o.checked), str(o.failed), str(o.excepted))
        console.print(rules)
        coverage = (
            f", column docs {report.column_coverage}%" if report.column_coverage is not None else ""
        )
        console.print(
            f"score {report.score}/100 over {report.models} model(s){coverage}, "
            f"convention {report.convention}: "
            f"{report.errors} error(s), {report.warnings} warning(s)"
        )
    if report.errors:
        if output_format is CheckFormat.table:
            err_console.print(f"error: {report.errors} governance error(s)")
        raise typer.Exit(1)
