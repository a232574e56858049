"""SQL linting of a dbt project with sqlfluff. Takes paths, returns data; never prints.

Templaters (``--templater`` / ``[tool.dataops.lint] templater``):

* ``dataops`` (default): the model rendered as dbt renders it, with the real
  macros of the project, of ``dbt_packages/`` and of dbt itself, in dbt's own
  Jinja environment (``tooling/lint/dbt_context.py``, ``templater.py``), with a
  result cache and a forked worker pool (``engine.py``). No profile, warehouse
  or ``dbt parse`` needed.
* ``jinja``: sqlfluff's jinja templater with dbt's builtins and same-shape stubs
  (``library_path`` = ``sqlfluff_dbt_stubs``), the project's macros loaded by
  sqlfluff.
* ``dbt``: sqlfluff's dbt templater (sqlfluff-templater-dbt), which compiles the
  project with dbt first.

A ``.sqlfluff`` naming a templater that is not installed (``dbt-cloud``) gets
``dataops`` and a notice; its rules and dialect are kept.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tooling.errors import DataOpsError, UsageError
from tooling.lint.dialects import dialect_for
from tooling.lint.files import (
    changed_files,
    check_readable,
    discover,
    macro_roots,
    select_changed,
    sql_roots,
)

# What the command and the tests call as ``lint.<name>``: files are chosen in files.py.
__all__ = [
    "LintReport",
    "Violation",
    "changed_files",
    "choose_templater",
    "dialect_for",
    "discover",
    "lint",
    "package_names",
    "select_changed",
]

STUBS = Path(__file__).resolve().parent / "sqlfluff_dbt_stubs"
TEMPLATERS = ("dataops", "jinja", "dbt")
DEFAULT_TEMPLATER = "dataops"


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    column: int
    code: str
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "description": self.description,
        }


@dataclass
class LintReport:
    files: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    fixed_files: list[str] = field(default_factory=list)
    config_file: str | None = None
    templater: str = DEFAULT_TEMPLATER
    # sqlfluff's dialect the files were parsed with, and where it came from.
    dialect: str | None = None
    dialect_from: str | None = None
    # Files linted in this run; the others' results came from the cache.
    relinted: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    # Bad input met on the way (one line each, naming the file): exit 2.
    problems: list[str] = field(default_factory=list)

    @property
    def files_linted(self) -> int:
        return len(self.files)

    def as_dict(self) -> dict[str, Any]:
        """The shared lint JSON shape (read by the CI report)."""
        return {
            "files_linted": self.files_linted,
            "files_from_cache": self.files_linted - len(self.relinted),
            "templater": self.templater,
            "dialect": self.dialect,
            "dialect_from": self.dialect_from,
            "violations": [v.as_dict() for v in self.violations],
            "problems": list(self.problems),
        }


def find_config_file(project_dir: Path, root: Path) -> Path | None:
    """The nearest .sqlfluff at or above the project folder, else the repository's."""
    for folder in (project_dir, *project_dir.parents, root):
        candidate = folder / ".sqlfluff"
        if candidate.is_file():
            return candidate
    return None


def choose_templater(option: str | None, tool_config: Mapping[str, Any] | None = None) -> str:
    """``--templater``, else ``[tool.dataops.lint] templater``, else dataops."""
    lint_table = (tool_config or {}).get("lint") or {}
    value = option or (lint_table.get("templater") if isinstance(lint_table, Mapping) else None)
    value = str(value or DEFAULT_TEMPLATER)
    if value not in TEMPLATERS:
        where = "--templater" if option else "[tool.dataops.lint] templater"
        raise UsageError(
            f"{where}: unknown templater {value!r}; choose one of {', '.join(TEMPLATERS)}"
        )
    return value


def _import_sqlfluff() -> None:
    """Import sqlfluff, skipping its ``import pytest`` outside a test run.

    sqlfluff's package ``__init__`` imports pytest when it is installed (to
    register assertion rewriting for its test helpers): 0.4 s of CPU on every
    lint in an environment with the dev dependencies, for nothing.
    """
    import sys

    if "sqlfluff" in sys.modules or "pytest" in sys.modules:
        return
    sys.modules["pytest"] = None  # type: ignore[assignment]  # makes `import pytest` fail
    try:
        import sqlfluff  # noqa: F401
    finally:
        del sys.modules["pytest"]


def available_templaters() -> set[str]:
    from itertools import chain

    from sqlfluff.core.plugin.host import get_plugin_manager

    from tooling.lint import templater as dataops_templater

    dataops_templater.register()
    hook = get_plugin_manager().hook
    return {t.name for t in chain.from_iterable(hook.get_templaters())}


@dataclass
class LintConfig:
    """The settings sqlfluff gets, and what was noticed reading them."""

    layers: dict[str, Any]
    config_file: Path | None
    templater: str
    dialect_from: str = "default"
    notices: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def config_readable(self) -> bool:
        return not self.problems


def lint_config(
    project_dir: Path,
    root: Path,
    templater: str = DEFAULT_TEMPLATER,
    *,
    adapter: str | None = None,
    target_name: str | None = None,
) -> LintConfig:
    """Read the nearest .sqlfluff and point it at the chosen templater.

    Paths are made absolute so linting works from any folder, on any file and
    on any dbt project. The dialect is the target's: ``adapter`` (the dbt
    target's type) picks sqlfluff's dialect for it (duckdb, postgres, spark ->
    sparksql), over the .sqlfluff's ``dialect``, since the SQL dbt runs is that
    engine's; an adapter sqlfluff has no dialect for keeps the .sqlfluff's, and
    without either the dialect is duckdb. A .sqlfluff that does not parse is a
    problem: the defaults are used and the run ends with exit 2.
    """
    _import_sqlfluff()
    from sqlfluff.core.config.loader import load_config_file

    config_file = find_config_file(project_dir, root)
    out = LintConfig(layers={}, config_file=config_file, templater=templater)
    if config_file is not None:
        try:
            out.layers = load_config_file(str(config_file.parent), config_file.name)
        except Exception as exc:  # sqlfluff raises several types for a bad file
            detail = " ".join(str(exc).split())[:300]
            out.problems.append(f"cannot read sqlfluff config {config_file}: {detail}")
            out.layers = {}
    layers = out.layers
    core = layers.setdefault("core", {})
    from_target = dialect_for(adapter) if adapter else None
    if from_target is not None:
        core["dialect"] = from_target
        out.dialect_from = f"target {target_name or '?'} ({adapter})"
    elif core.get("dialect"):
        out.dialect_from = str(config_file)
    else:
        core["dialect"] = "duckdb"
    configured = core.get("templater")
    available = available_templaters()
    if configured and configured not in available:
        out.notices.append(
            f"{config_file}: templater {configured!r} is not installed here; "
            f"linting with the {templater} templater"
        )
    if templater not in available:
        raise UsageError(
            f"--templater {templater}: not installed (the dbt templater needs sqlfluff-templater-dbt)"
        )
    core["templater"] = templater
    section = layers.setdefault("templater", {})
    if templater == "dataops":
        section.setdefault("dataops", {})["project_dir"] = str(project_dir.resolve())
    elif templater == "dbt":
        dbt = section.setdefault("dbt", {})
        dbt["project_dir"] = str(project_dir.resolve())
        if (project_dir / "profiles.yml").is_file():
            dbt.setdefault("profiles_dir", str(project_dir.resolve()))
    else:
        jinja = section.setdefault("jinja", {})
        jinja["apply_dbt_builtins"] = True
        jinja["library_path"] = str(STUBS)
        # The linted project's own macro folders (from its dbt_project.yml) always,
        # plus any configured folder that exists.
        configured_paths = [
            p.strip() for p in str(jinja.get("load_macros_from_path") or "").split(",")
        ]
        paths = [str(p) for p in macro_roots(project_dir) if p.is_dir()]
        paths += [str(p / "generic") for p in sql_roots(project_dir) if (p / "generic").is_dir()]
        paths += [p for p in configured_paths if p and Path(p).is_dir() and p not in paths]
        # Never empty: an empty value would not override a .sqlfluff found above a
        # linted file; the stubs folder holds no .sql macros.
        jinja["load_macros_from_path"] = ",".join(dict.fromkeys(paths)) or str(STUBS)
    return out


def _ini_lines(layers: Mapping[str, Any], section: tuple[str, ...] = ()) -> list[str]:
    scalars = {k: v for k, v in layers.items() if not isinstance(v, Mapping)}
    lines: list[str] = []
    if scalars:
        name = (
            ":".join(("sqlfluff", *section[1:]))
            if section == ("core",)
            else ":".join(("sqlfluff", *section))
        )
        lines.append(f"[{name}]")
        for key, value in scalars.items():
            if value is None:
                continue
            text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
            lines.append(f"{key} = {text}")
    for key, value in layers.items():
        if isinstance(value, Mapping):
            lines.extend(_ini_lines(value, (*section, key)))
    return lines


def write_config(layers: Mapping[str, Any], path: Path) -> Path:
    """One .sqlfluff-format file sqlfluff applies last to every file it lints."""
    path.write_text("\n".join(_ini_lines(layers)) + "\n", encoding="utf-8")
    return path


def package_names(project_dir: Path) -> list[str]:
    """Namespaces of the project's dbt packages (``dbt_utils`` for dbt-labs/dbt_utils).

    From ``packages.yml``/``dependencies.yml`` (hub entries ``org/name``) and from
    the ``name`` of each installed package under ``dbt_packages/``.
    """
    names: set[str] = set()
    for file_name in ("packages.yml", "dependencies.yml"):
        path = project_dir / file_name
        if not path.is_file():
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        for entry in data.get("packages") or [] if isinstance(data, dict) else []:
            if isinstance(entry, dict) and isinstance(entry.get("package"), str):
                names.add(entry["package"].rsplit("/", 1)[-1].replace("-", "_"))
    installed = project_dir / "dbt_packages"
    if installed.is_dir():
        for project_file in installed.glob("*/dbt_project.yml"):
            try:
                data = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError):
                continue
            if isinstance(data, dict) and isinstance(data.get("name"), str):
                names.add(data["name"])
    return sorted(n for n in names if n.isidentifier())


def _relative(path: str | Path, root: Path) -> str:
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(root).as_posix()
    except ValueError:
        return resolved.as_posix()


def lint(
    files: Sequence[Path],
    *,
    project_dir: Path,
    root: Path,
    fix: bool = False,
    processes: int | None = None,
    templater: str = DEFAULT_TEMPLATER,
    vars: Mapping[str, Any] | None = None,
    use_cache: bool = True,
    target_name: str | None = None,
    profiles_dir: Path | None = None,
) -> LintReport:
    """Lint (and with ``fix`` rewrite) the given SQL files; violations left after fixing.

    ``vars`` are dbt's ``--vars`` (over the project's vars); ``target_name`` and
    ``profiles_dir`` pick the profile target models see as ``target``. Problems (a bad
    .sqlfluff, a package without dbt_project.yml, a macro raising at render
    time) are in ``report.problems``; the other files are still linted.
    """
    report = LintReport(files=[_relative(f, root) for f in files], templater=templater)
    if not files:
        return report
    check_readable(files)
    from tooling.lint import dbt_context

    target = dbt_context.read_target(project_dir, target_name, profiles_dir)
    config = lint_config(
        project_dir,
        root,
        templater,
        adapter=target.type if target.from_profile else None,
        target_name=target.name,
    )
    report.config_file = _relative(config.config_file, root) if config.config_file else None
    report.dialect = str(config.layers["core"]["dialect"])
    report.dialect_from = config.dialect_from
    report.notices.extend(config.notices)
    report.problems.extend(config.problems)
    with tempfile.TemporaryDirectory(prefix="dataops-lint-") as tmp:
        extra = write_config(config.layers, Path(tmp) / "sqlfluff.cfg")
        if templater == "dataops":
            _lint_dataops(
                report,
                files,
                project_dir,
                root,
                config,
                extra,
                fix,
                processes,
                vars,
                target,
                use_cache,
            )
        else:
            report.relinted = list(report.files)
            _lint_into(report, files, project_dir, root, extra, fix=fix, processes=processes)
    report.violations.sort(key=lambda v: (v.path, v.line, v.column, v.code))
    return report


def _lint_dataops(
    report: LintReport,
    files: Sequence[Path],
    project_dir: Path,
    root: Path,
    config: LintConfig,
    extra: Path,
    fix: bool,
    processes: int | None,
    cli_vars: Mapping[str, Any] | None,
    target: Any,
    use_cache: bool,
) -> None:
    import json

    from sqlfluff.core import FluffConfig
    from sqlfluff.core.errors import SQLFluffUserError

    from tooling.lint import engine
    from tooling.lint import templater as dataops_templater

    world = dataops_templater.world_for(str(project_dir), reload=True, adapter=target.type)
    report.problems.extend(world.problems)
    dataops_templater.configure(str(project_dir), cli_vars or {}, target)
    try:
        if config.config_readable:
            fluff = FluffConfig.from_path(str(project_dir), extra_config_path=str(extra))
        else:
            fluff = FluffConfig(configs=config.layers)
    except SQLFluffUserError as exc:
        raise DataOpsError(f"sqlfluff config: {str(exc).splitlines()[0]}") from None
    settings_key = json.dumps([dict(cli_vars or {}), target.as_dict()], sort_keys=True, default=str)
    result = engine.run(
        files,
        project_dir=project_dir,
        root=root,
        config=fluff,
        config_text=extra.read_text(encoding="utf-8"),
        world=world,
        settings_key=settings_key,
        fix=fix,
        processes=processes,
        nested=config.config_readable,
        use_cache=use_cache,
    )
    report.relinted = [_relative(p, root) for p in result.linted]
    for file_result in result.results:
        rel = _relative(file_result.path, root)
        if file_result.fixed:
            report.fixed_files.append(rel)
        for line, column, code, description in file_result.violations:
            report.violations.append(Violation(rel, line, column, code, description))
            if engine.is_problem(code, description):
                report.problems.append(f"{rel}:{line}: {description}")


def _lint_into(
    report: LintReport,
    files: Sequence[Path],
    project_dir: Path,
    root: Path,
    extra: Path,
    *,
    fix: bool,
    processes: int | None,
) -> None:
    from sqlfluff.core import FluffConfig, Linter
    from sqlfluff.core.errors import SQLFluffUserError

    try:
        config = FluffConfig.from_path(str(project_dir), extra_config_path=str(extra))
    except SQLFluffUserError as exc:
        raise DataOpsError(f"sqlfluff config: {str(exc).splitlines()[0]}") from None
    workers = processes or min(2, os.cpu_count() or 1)
    if len(files) < 4:
        workers = 1  # a pool costs more than it saves on a handful of files
    # Read by sqlfluff_dbt_stubs (in this process and the forked workers).
    os.environ["DATAOPS_LINT_PACKAGES"] = ",".join(package_names(project_dir))
    # sqlfluff's worker pool leaves a harmless resource_tracker warning at exit.
    os.environ.setdefault("PYTHONWARNINGS", "ignore:resource_tracker:UserWarning")
    try:
        result = Linter(config=config).lint_paths(
            tuple(str(f) for f in files),
            fix=fix,
            apply_fixes=fix,
            processes=workers,
            retain_files=True,
        )
    except SQLFluffUserError as exc:
        raise DataOpsError(f"sqlfluff: {str(exc).splitlines()[0]}") from None
    if fix:
        for path, outcome in result.persist_changes(formatter=None).items():
            if outcome is True:
                report.fixed_files.append(_relative(path, root))
        # What is left after fixing: lint the rewritten files again.
        result = Linter(config=config).lint_paths(tuple(str(f) for f in files), processes=workers)
    for linted_dir in result.paths:
        for linted in linted_dir.files:
            rel = _relative(linted.path, root)
            for v in linted.get_violations():
                report.violations.append(
                    Violation(
                        path=rel,
                        line=int(v.line_no),
                        column=int(v.line_pos),
                        code=str(v.rule_code()),
                        description=str(v.desc()),
                    )
                )
