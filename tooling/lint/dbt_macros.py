"""Every macro dbt would load for a project, found and split as dbt does.

Macros come from the root project's macro paths (and ``tests/generic``), every
package under ``dbt_packages/`` and dbt's internal packages (``dbt`` = the
global project shipped with dbt-adapters, and the adapter's own, ``dbt_duckdb``),
split into blocks with dbt's own lexer (``extract_toplevel_blocks``). A file
that cannot be read or split is a problem line; the rest loads.

dbt's internal packages (about 130 files, 500 macros) are split only when one of
their macros is first rendered: their names come from a scan for the opening tag,
which tests/test_lint_dbt_macros.py checks against dbt's lexer on the installed
files. Lexing them all up front cost 0.66 G instructions (callgrind), more than
sqlfluff spends linting five small models.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ADAPTER = "duckdb"  # the adapter a target without a readable profile renders for


def adapter_prefixes(adapter: str) -> tuple[str, ...]:
    """``adapter.dispatch``'s prefixes for an adapter type, as dbt searches them."""
    return (adapter, "default")


BLOCKS = {"macro", "materialization", "test", "docs"}


@dataclass(frozen=True)
class MacroDef:
    """What dbt's template cache and ``CallableMacroGenerator`` read of a macro node.

    ``sql`` is None for a macro of dbt's internal packages until it is first read:
    ``macro_sql`` then splits its file with dbt's lexer.
    """

    name: str
    package_name: str
    path: str
    sql: str | None = field(default=None, repr=False, compare=False)

    @property
    def macro_sql(self) -> str:
        if self.sql is not None:
            return self.sql
        blocks = _file_blocks(self.path)
        if self.name not in blocks:
            raise KeyError(f"macro {self.name!r} is not a block of {self.path}")
        return blocks[self.name]

    @property
    def unique_id(self) -> str:
        return f"macro.{self.package_name}.{self.name}"


# An opening macro or test tag, as dbt's block lexer finds one ({%, {%- or {%+),
# outside Jinja comments and raw blocks, which the lexer skips.
_OPENING_TAG = re.compile(r"\{%[-+]?\s*(macro|test)\s+([A-Za-z_]\w*)")
_SKIPPED = re.compile(r"\{#.*?#\}|\{%[-+]?\s*raw\s*[-+]?%\}.*?\{%[-+]?\s*endraw\s*[-+]?%\}", re.S)


def _block_name(kind: str, name: str) -> str:
    return f"test_{name}" if kind == "test" else name


def split_blocks(text: str) -> dict[str, str]:
    """Macro (and generic test) name -> full block, split with dbt's own lexer."""
    from dbt_common.clients.jinja import extract_toplevel_blocks

    out = {}
    for block in extract_toplevel_blocks(text, allowed_blocks=BLOCKS, collect_raw_data=False):
        if block.block_type_name in ("macro", "test"):
            out[_block_name(block.block_type_name, block.block_name)] = block.full_block
    return out


def scan_names(text: str) -> list[str]:
    """Macro (and generic test) names of a file from its opening tags, without lexing."""
    return [_block_name(kind, name) for kind, name in _OPENING_TAG.findall(_SKIPPED.sub("", text))]


@cache
def _file_blocks(path: str) -> dict[str, str]:
    return split_blocks(Path(path).read_text(encoding="utf-8"))


@dataclass
class Package:
    name: str
    root: Path
    internal: bool
    macros: dict[str, MacroDef] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)


@dataclass
class World:
    """Every macro dbt would load for the project, plus the project settings."""

    project_dir: Path
    root_name: str
    packages: dict[str, Package]
    search_orders: dict[str, list[str]]
    project_vars: dict[str, Any]
    file_hashes: dict[str, str]
    problems: list[str]
    # The adapter type whose internal macros are loaded (dbt.include.<adapter>).
    adapter: str = ADAPTER

    @property
    def internal_order(self) -> list[str]:
        return [p.name for p in self.packages.values() if p.internal]

    def signature(self) -> str:
        """Changes when a macro is added, removed or moved (dispatch may resolve elsewhere)."""
        names = sorted(
            f"{m.unique_id}@{m.path}" for p in self.packages.values() for m in p.macros.values()
        )
        text = "\n".join(
            [*names, repr(self.search_orders), repr(self.project_vars), *self.problems]
        )
        return hashlib.sha256(text.encode()).hexdigest()


def read_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _sql_files(folder: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".sql"):
                yield Path(dirpath) / name


def _macro_folders(root: Path, data: Mapping[str, Any], with_generic: bool) -> list[Path]:
    folders = [root / p for p in data.get("macro-paths") or ["macros"]]
    if with_generic:  # dbt also reads generic tests (and their macros) from tests/generic
        folders += [root / p / "generic" for p in data.get("test-paths") or ["tests"]]
    return [f for f in folders if f.is_dir()]


def _load_package(
    name: str,
    root: Path,
    data: Mapping[str, Any],
    *,
    internal: bool,
    hashes: dict[str, str],
    problems: list[str],
) -> Package:
    """A package's macros; a macro file that cannot be read or split is a problem, skipped.

    The files of dbt's internal packages are only scanned for names here (see above).
    """
    from dbt_common.exceptions import CompilationError

    package = Package(name=name, root=root, internal=internal)
    raw_vars = data.get("vars")
    package.vars = dict(raw_vars) if isinstance(raw_vars, Mapping) else {}
    for folder in _macro_folders(root, data, with_generic=not internal):
        for path in _sql_files(folder):
            try:
                text = path.read_text(encoding="utf-8")
                if internal:
                    blocks: Mapping[str, str | None] = dict.fromkeys(scan_names(text))
                else:
                    blocks = split_blocks(text)
            except (OSError, UnicodeDecodeError, CompilationError) as exc:
                problems.append(f"cannot read macro file {path}: {_first_line(exc)}")
                continue
            hashes[str(path)] = hashlib.sha256(text.encode()).hexdigest()
            for macro_name, sql in blocks.items():
                package.macros[macro_name] = MacroDef(macro_name, name, str(path), sql)
    return package


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


@cache
def _internal_roots(adapter: str = ADAPTER) -> tuple[tuple[str, Path], ...]:
    """dbt's internal packages for the adapter: (name, folder), adapter first.

    An adapter whose dbt package is not installed (``uv sync --extra spark``)
    gets the global project only: its own macros then resolve to ``default__``.
    """
    out = []
    for module in (f"dbt.include.{adapter}", "dbt.include.global_project"):
        spec = importlib.util.find_spec(module)
        if spec and spec.submodule_search_locations:
            folder = Path(next(iter(spec.submodule_search_locations)))
            out.append((read_yaml(folder / "dbt_project.yml").get("name", module), folder))
    return tuple(out)


def load_world(project_dir: Path, adapter: str = ADAPTER) -> World:
    """Read the project, its installed packages and dbt's internal macros.

    A package folder that is not a dbt package (no dbt_project.yml) or whose
    files cannot be read is left out and named in ``problems``; the rest loads.
    """
    project_dir = project_dir.resolve()
    data = read_yaml(project_dir / "dbt_project.yml")
    root_name = str(data.get("name") or project_dir.name)
    hashes: dict[str, str] = {}
    problems: list[str] = []
    packages: dict[str, Package] = {}
    packages[root_name] = _load_package(
        root_name, project_dir, data, internal=False, hashes=hashes, problems=problems
    )
    installed = project_dir / str(data.get("packages-install-path") or "dbt_packages")
    if installed.is_dir():
        for folder in sorted(p for p in installed.iterdir() if p.is_dir()):
            project_file = folder / "dbt_project.yml"
            if not project_file.is_file():
                problems.append(
                    f"{folder}: not a dbt package (no dbt_project.yml); its macros are not loaded"
                )
                continue
            try:
                pdata = read_yaml(project_file)
                name = str(pdata.get("name") or folder.name)
                packages.setdefault(
                    name,
                    _load_package(
                        name, folder, pdata, internal=False, hashes=hashes, problems=problems
                    ),
                )
            except (OSError, yaml.YAMLError) as exc:
                problems.append(f"{project_file}: {_first_line(exc)}")
    for name, folder in _internal_roots(adapter):
        pdata = read_yaml(folder / "dbt_project.yml")
        packages[name] = _load_package(
            name, folder, pdata, internal=True, hashes=hashes, problems=problems
        )
    search_orders: dict[str, list[str]] = {}
    for entry in data.get("dispatch") or []:
        if isinstance(entry, Mapping) and isinstance(entry.get("macro_namespace"), str):
            search_orders[entry["macro_namespace"]] = [
                str(p) for p in entry.get("search_order") or []
            ]
    raw_vars = data.get("vars")
    return World(
        project_dir=project_dir,
        root_name=root_name,
        packages=packages,
        search_orders=search_orders,
        project_vars=dict(raw_vars) if isinstance(raw_vars, Mapping) else {},
        file_hashes=hashes,
        problems=problems,
        adapter=adapter,
    )
