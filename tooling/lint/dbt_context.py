"""The Jinja world dbt renders a model in, rebuilt without a database or ``dbt parse``.

Macros come from their real source: the root project's macro paths (and
``tests/generic``), every package under ``dbt_packages/`` and dbt's internal
packages (``dbt`` = the global project shipped with dbt-adapters, and the
adapter's own, ``dbt_duckdb``). They are found with dbt's own block lexer
(``extract_toplevel_blocks``), compiled by dbt's own template cache and called
through dbt's own ``CallableMacroGenerator`` (which unwraps ``return(...)``),
in dbt's environment (``get_environment``: its parser, extensions and filters
``as_bool``/``as_number``/``as_native``/``as_text``/``is_list``). Names resolve
in dbt's order (root project, then packages by name, then ``dbt.``, then the
internal macros) and ``adapter.dispatch`` searches as dbt does: the project's
``dispatch:`` search order for that namespace if set, else the root project then
the namespace's package, with the prefixes ``duckdb__`` then ``default__``.

Context members that need no database are dbt's own, imported on first use from
``dbt.context.base`` (``fromjson``, ``tojson``, ``fromyaml``, ``toyaml``, ``set``,
``zip``, ``local_md5``, ``modules`` ...) and ``dbt.context.exceptions_jinja``
(``exceptions``): that import costs about 1.5 s, paid only by a run that uses
them. What needs a database or a parsed manifest is a stub; ``STUBS`` lists them
(the README repeats the list).
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.util
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ADAPTER = "duckdb"  # the adapter a target without a readable profile renders for


def adapter_prefixes(adapter: str) -> tuple[str, ...]:
    """``adapter.dispatch``'s prefixes for an adapter type, as dbt searches them."""
    return (adapter, "default")


SECRET_PREFIX = "DBT_ENV_SECRET_"
BLOCKS = {"macro", "materialization", "test", "docs"}

# What renders without a database, and how. Everything not listed here is dbt's own.
STUBS = {
    "execute": "False, as while dbt parses",
    "load_result / run_query / statement": "statement runs nothing; load_result gives an "
    "empty result whose .table has no rows (so dbt's own run_query returns an empty table)",
    "store_result / write": "accepted, nothing stored",
    "adapter": "dispatch is dbt's search; quote/quote_as_configured/type as on DuckDB; "
    "get_relation -> none; get_columns_in_relation, get_missing_columns -> []; "
    "any other method -> none",
    "ref / source / this / api.Relation": 'relations rendered "database"."schema"."name" '
    "with the target's database and schema (no custom-schema resolution)",
    "graph / selected_resources": "empty (no manifest is read)",
    "config": "config(...) renders nothing; config.get/require read what the file set",
    "is_incremental": "False (no table exists without a database)",
    "log / print": "render nothing (lint prints only its report)",
    "target": "from the profile in profiles.yml if found, else dev/duckdb/main",
    "var / env_var": "dbt's rules (cli vars over project vars; missing var or env var is "
    "an error; DBT_ENV_SECRET_ vars are refused), written here",
    "invocation_id / run_started_at / flags": "fixed values",
}


class RenderError(Exception):
    """A problem dbt would raise while rendering (missing var, dispatch, ...)."""


@dataclass(frozen=True)
class MacroDef:
    """What dbt's template cache and ``CallableMacroGenerator`` read of a macro node."""

    name: str
    package_name: str
    path: str
    macro_sql: str

    @property
    def unique_id(self) -> str:
        return f"macro.{self.package_name}.{self.name}"


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


def _read_yaml(path: Path) -> dict[str, Any]:
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
    """A package's macros; a macro file that cannot be read or split is a problem, skipped."""
    from dbt_common.clients.jinja import extract_toplevel_blocks
    from dbt_common.exceptions import CompilationError

    package = Package(name=name, root=root, internal=internal)
    raw_vars = data.get("vars")
    package.vars = dict(raw_vars) if isinstance(raw_vars, Mapping) else {}
    for folder in _macro_folders(root, data, with_generic=not internal):
        for path in _sql_files(folder):
            try:
                text = path.read_text(encoding="utf-8")
                blocks = extract_toplevel_blocks(
                    text, allowed_blocks=BLOCKS, collect_raw_data=False
                )
            except (OSError, UnicodeDecodeError, CompilationError) as exc:
                problems.append(f"cannot read macro file {path}: {_first_line(exc)}")
                continue
            hashes[str(path)] = hashlib.sha256(text.encode()).hexdigest()
            for block in blocks:
                if block.block_type_name == "macro":
                    macro_name = block.block_name
                elif block.block_type_name == "test":
                    macro_name = f"test_{block.block_name}"
                else:
                    continue
                package.macros[macro_name] = MacroDef(macro_name, name, str(path), block.full_block)
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
            out.append((_read_yaml(folder / "dbt_project.yml").get("name", module), folder))
    return tuple(out)


def load_world(project_dir: Path, adapter: str = ADAPTER) -> World:
    """Read the project, its installed packages and dbt's internal macros (those of
    ``adapter``, the target's type, and the global project).

    A package folder that is not a dbt package (no dbt_project.yml) or whose
    files cannot be read is left out and named in ``problems``; the rest loads.
    """
    project_dir = project_dir.resolve()
    data = _read_yaml(project_dir / "dbt_project.yml")
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
                pdata = _read_yaml(project_file)
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
        pdata = _read_yaml(folder / "dbt_project.yml")
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


# --- Relations, results, adapter -------------------------------------------------------


class Relation:
    """What ``ref``/``source``/``this`` return: dbt-duckdb renders them fully quoted."""

    def __init__(
        self,
        database: str | None,
        schema: str | None,
        identifier: str | None,
        type: str | None = None,
    ) -> None:
        self.database, self.schema, self.identifier, self.type = database, schema, identifier, type
        self.name, self.table = identifier, identifier

    def render(self) -> str:
        return ".".join(f'"{p}"' for p in (self.database, self.schema, self.identifier) if p)

    def _new(self, *parts: Any) -> Relation:
        return type(self)(*parts)

    __str__ = render

    def __html__(self) -> str:
        return self.render()

    def include(
        self, database: bool = True, schema: bool = True, identifier: bool = True
    ) -> Relation:
        return self._new(
            self.database if database else None,
            self.schema if schema else None,
            self.identifier if identifier else None,
            self.type,
        )

    def incorporate(self, **kwargs: Any) -> Relation:
        path = kwargs.get("path") or {}
        return self._new(
            path.get("database", self.database),
            path.get("schema", self.schema),
            path.get("identifier", self.identifier),
            kwargs.get("type", self.type),
        )

    @property
    def is_table(self) -> bool:
        return self.type == "table"

    @property
    def is_view(self) -> bool:
        return self.type == "view"

    @classmethod
    def create(
        cls,
        database: str | None = None,
        schema: str | None = None,
        identifier: str | None = None,
        type: str | None = None,
        **_: Any,
    ) -> Relation:
        return cls(database, schema, identifier, type)


class SparkRelation(Relation):
    """dbt-spark's relations: ``schema.identifier``, no database, not quoted."""

    def render(self) -> str:
        return ".".join(p for p in (self.schema, self.identifier) if p)

    __str__ = render


def relation_class(adapter: str) -> type[Relation]:
    return SparkRelation if adapter in ("spark", "databricks") else Relation


class EmptyTable:
    """An agate-like table with no rows: what a query gives when nothing runs."""

    rows: tuple = ()
    columns: tuple = ()
    column_names: tuple = ()
    column_types: tuple = ()

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0

    def print_table(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Adapter:
    unsafe_callable = False
    alters_data = False

    def __init__(self, dispatch: Callable[..., Any], adapter: str = ADAPTER) -> None:
        self.dispatch = dispatch
        self._type = adapter

    def type(self) -> str:
        return self._type

    def quote(self, identifier: str) -> str:
        if self._type in ("spark", "databricks"):
            return f"`{identifier}`"
        return f'"{identifier}"'

    def quote_as_configured(self, identifier: str, quote_key: str) -> str:
        return f'"{identifier}"'

    def get_relation(self, *args: Any, **kwargs: Any) -> None:
        return None

    def get_columns_in_relation(self, *args: Any, **kwargs: Any) -> list:
        return []

    def get_missing_columns(self, *args: Any, **kwargs: Any) -> list:
        return []

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: None


class _Config:
    """``config(...)`` records what the file sets; ``config.get`` reads it back."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        for arg in args:
            if isinstance(arg, Mapping):
                self.values.update(arg)
        self.values.update(kwargs)
        return ""

    def get(self, name: str, default: Any = None, validator: Any = None) -> Any:
        return self.values.get(name, default)

    def require(self, name: str, validator: Any = None) -> Any:
        if name not in self.values:
            raise RenderError(f"config: required value {name!r} is not set")
        return self.values[name]

    def set(self, name: str, value: Any) -> str:
        self.values[name] = value
        return ""


class _Lazy:
    """A dbt context member imported from dbt-core only when first used."""

    unsafe_callable = False
    alters_data = False

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load
        self._value: Any = None

    def _get(self) -> Any:
        if self._value is None:
            self._value = self._load()
        return self._value

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._get()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._get(), name)

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]


def _base_member(name: str) -> _Lazy:
    def load() -> Any:
        from dbt.context.base import BaseContext

        # dbt's own table of context names (``zip`` is the method ``_zip``)
        return getattr(BaseContext, BaseContext._context_attrs_[name])

    return _Lazy(load)


def _modules() -> _Lazy:
    def load() -> Any:
        from dbt.context.base import get_context_modules

        return _Namespace(get_context_modules())

    return _Lazy(load)


def _column(adapter: str = ADAPTER) -> _Lazy:
    """dbt-adapters' own ``Column`` (``api.Column.translate_type`` of the type macros).

    Loaded from its file: it needs only dbt_common, while importing its package
    ``dbt.adapters.base`` costs about 1.5 s of CPU. dbt-duckdb's and dbt-postgres'
    subclasses change nothing ``translate_type`` reads; dbt-spark's translates no
    type (``string`` stays ``string``, not ``TEXT``), and so does the class given
    for a Spark target.
    """

    def load() -> Any:
        import sys

        name = "_dataops_dbt_adapters_base_column"
        if name not in sys.modules:
            spec = importlib.util.find_spec("dbt.adapters")
            folder = Path(next(iter(spec.submodule_search_locations)))  # type: ignore[union-attr]
            file_spec = importlib.util.spec_from_file_location(name, folder / "base" / "column.py")
            module = importlib.util.module_from_spec(file_spec)  # type: ignore[arg-type]
            sys.modules[name] = module
            file_spec.loader.exec_module(module)  # type: ignore[union-attr]
        base = sys.modules[name].Column
        if adapter not in ("spark", "databricks"):
            return base

        class SparkColumn(base):  # type: ignore[misc,valid-type]
            @classmethod
            def translate_type(cls, dtype: str) -> str:
                return dtype

        return SparkColumn

    return _Lazy(load)


def _exceptions() -> _Lazy:
    def load() -> Any:
        from dbt.context.exceptions_jinja import wrapped_exports

        return _Namespace(wrapped_exports(None))

    return _Lazy(load)


class _Namespace(dict):
    """A dict whose keys are also attributes (``modules.datetime``, ``exceptions.warn``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


BASE_MEMBERS = (
    "fromjson",
    "tojson",
    "fromyaml",
    "toyaml",
    "set",
    "set_strict",
    "zip",
    "zip_strict",
    "local_md5",
    "diff_of_two_dicts",
)


# --- The per-file context ---------------------------------------------------------------


@dataclass
class Target:
    name: str = "dev"
    type: str = ADAPTER
    schema: str = "main"
    database: str = "warehouse"
    profile_name: str = "default"
    threads: int = 1
    # Read from a profile (else the defaults above): only then does its type pick
    # the lint dialect.
    from_profile: bool = field(default=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target_name": self.name,
            "type": self.type,
            "schema": self.schema,
            "database": self.database,
            "profile_name": self.profile_name,
            "threads": self.threads,
        }


def _profile_value(value: Any) -> Any:
    """A profile field as dbt reads it: strings are Jinja with ``env_var``."""
    if not isinstance(value, str) or "{" not in value:
        return value

    def env_var(name: str, default: str | None = None) -> str:
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise RenderError(f"Env var required but not provided: '{name}'")
        return default

    return environment().from_string(value).render({"env_var": env_var})


def read_target(
    project_dir: Path, target_name: str | None = None, profiles_dir: Path | None = None
) -> Target:
    """The profile's target as dbt picks it (--profiles-dir, DBT_PROFILES_DIR, the
    current folder, the project, ~/.dbt).

    Only the fields a model can see are read; any problem gives the defaults.
    """
    try:
        profile = str(_read_yaml(project_dir / "dbt_project.yml").get("profile") or "default")
    except (OSError, yaml.YAMLError):
        profile = "default"
    candidates = [
        str(profiles_dir) if profiles_dir else None,
        os.environ.get("DBT_PROFILES_DIR"),
        str(Path.cwd()),
        str(project_dir),
        str(Path.home() / ".dbt"),
    ]
    for folder in filter(None, candidates):
        path = Path(folder) / "profiles.yml"
        if not path.is_file():
            continue
        try:
            entry = _read_yaml(path).get(profile)
            if not isinstance(entry, Mapping):
                break
            name = str(target_name or _profile_value(entry.get("target")) or "dev")
            outputs = entry.get("outputs") or {}
            out = outputs.get(name) if isinstance(outputs, Mapping) else None
            if not isinstance(out, Mapping):
                break
            fields = {
                k: _profile_value(v)
                for k, v in out.items()
                if k in ("type", "schema", "database", "path", "dbname", "threads")
            }
        except Exception:  # a profile lint cannot read renders with the defaults
            break
        db_path = str(fields.get("path") or "")
        database = (
            fields.get("database")
            or fields.get("dbname")
            or (Path(db_path).stem if db_path and db_path != ":memory:" else "memory")
        )
        return Target(
            name=name,
            type=str(fields.get("type") or ADAPTER),
            schema=str(fields.get("schema") or "main"),
            database=str(database),
            profile_name=profile,
            threads=int(fields.get("threads") or 1),
            from_profile=True,
        )
    return Target(name=target_name or "dev", profile_name=profile)


class Renderer:
    """Builds the dbt context of one file; records the macro files its rendering uses."""

    def __init__(
        self,
        world: World,
        *,
        cli_vars: Mapping[str, Any] | None = None,
        target: Target | None = None,
    ) -> None:
        from dbt_common.clients.jinja import CallableMacroGenerator

        self.world = world
        self.cli_vars = dict(cli_vars or {})
        self.target = target or read_target(world.project_dir)
        used: set[str] = set()
        self.used = used

        class _Generator(CallableMacroGenerator):
            """dbt's macro generator; notes the macro's file when it is called."""

            def __call__(self, *args: Any, **kwargs: Any) -> Any:
                used.add(self.macro.path)
                return super().__call__(*args, **kwargs)

        self._generator = _Generator

    def context(self, fname: str) -> dict[str, Any]:
        world, target = self.world, self.target
        stem = Path(fname).stem
        ctx: dict[str, Any] = {}
        root = world.root_name
        packages: dict[str, dict[str, Any]] = {}
        for package in world.packages.values():
            packages[package.name] = {n: self._generator(m, ctx) for n, m in package.macros.items()}
        internal: dict[str, Any] = {}
        for name in reversed(world.internal_order):
            internal.update(packages[name])
        non_internal = {n: ns for n, ns in packages.items() if not world.packages[n].internal}

        def lookup(package: str | None, name: str) -> Any:
            if package is None:
                for flat in (packages[root], non_internal, {"dbt": internal}, internal):
                    if name in flat:
                        return flat[name]
                return None
            if package == "dbt":
                return internal.get(name)
            if package in non_internal:
                return non_internal[package].get(name)
            raise RenderError(f"In dispatch: no package named {package!r} is installed")

        def dispatch(
            macro_name: str, macro_namespace: str | None = None, packages: Any = None
        ) -> Any:
            if "." in macro_name:
                raise RenderError(
                    f'In adapter.dispatch, "." is not a valid macro name component: {macro_name!r}'
                )
            search: list[str | None] = [None]
            if macro_namespace is not None:
                order = world.search_orders.get(macro_namespace)
                if order:
                    search = list(order)
                elif macro_namespace in non_internal:
                    search = [root, macro_namespace]
            attempts = []
            for package in search:
                for prefix in adapter_prefixes(world.adapter):
                    candidate = f"{prefix}__{macro_name}"
                    attempts.append(candidate if package is None else f"{package}.{candidate}")
                    found = lookup(package, candidate)
                    if found is not None:
                        return found
            raise RenderError(
                f"In dispatch: No macro named {macro_name!r} found within namespace: "
                f"{macro_namespace!r}; searched for: {', '.join(attempts)}"
            )

        relation_cls = relation_class(world.adapter)

        def relation(name: str, schema: str | None = None, database: str | None = None) -> Relation:
            return relation_cls(database or target.database, schema or target.schema, name)

        def ref(*args: str, **kwargs: Any) -> Relation:
            if not args or len(args) > 2:
                raise RenderError(f"ref() takes a model name and an optional package: ref{args!r}")
            return relation(args[-1])

        def source(source_name: str, table_name: str) -> Relation:
            return relation_cls(target.database, source_name, table_name)

        def var(name: str, default: Any = _MISSING) -> Any:
            scoped = world.project_vars.get(root)
            merged = {
                k: v
                for k, v in world.project_vars.items()
                if not isinstance(v, Mapping) or k not in world.packages
            }
            if isinstance(scoped, Mapping):
                merged.update(scoped)
            merged.update(self.cli_vars)
            if name in merged:
                return merged[name]
            if default is not _MISSING:
                return default
            raise RenderError(
                f"Required var '{name}' not found in config: vars supplied to {stem} = {sorted(merged)}"
            )

        def env_var(name: str, default: str | None = None) -> str:
            if name.startswith(SECRET_PREFIX):
                raise RenderError(
                    f"Secret env vars are allowed only in profiles.yml or packages.yml: {name}"
                )
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise RenderError(f"Env var required but not provided: '{name}'")

        results: dict[str, Any] = {}

        def load_result(name: str) -> Any:
            return results.get(name) or _Namespace(response=None, data=[], table=EmptyTable())

        def store_result(name: str, response: Any = None, agate_table: Any = None) -> str:
            results[name] = _Namespace(
                response=response, data=[], table=agate_table or EmptyTable()
            )
            return ""

        ctx.update(internal)
        ctx.update(non_internal)
        ctx["dbt"] = internal
        ctx.update(packages[root])
        config = _Config()
        this = relation(stem)
        ctx.update(
            {
                "adapter": _Adapter(dispatch, world.adapter),
                "api": _Namespace(Relation=relation_cls, Column=_column(world.adapter)),
                "builtins": _Namespace(ref=ref, source=source, config=config),
                "config": config,
                "database": target.database,
                "dbt_version": _dbt_version(),
                "env_var": env_var,
                "exceptions": _exceptions(),
                "execute": False,
                "flags": _Namespace(FULL_REFRESH=False, STORE_FAILURES=False, WHICH="compile"),
                "graph": {
                    k: {}
                    for k in (
                        "nodes",
                        "sources",
                        "exposures",
                        "metrics",
                        "groups",
                        "semantic_models",
                        "saved_queries",
                    )
                },
                "invocation_id": "00000000-0000-0000-0000-000000000000",
                "is_incremental": lambda: False,
                "load_result": load_result,
                "log": lambda msg, info=False: "",
                "model": _Namespace(
                    name=stem,
                    alias=stem,
                    unique_id=f"model.{root}.{stem}",
                    package_name=root,
                    original_file_path=fname,
                    config=config.values,
                    resource_type="model",
                ),
                "modules": _modules(),
                "print": lambda msg: "",
                "project_name": root,
                "ref": ref,
                "return": _return,
                "run_started_at": datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC),
                "schema": target.schema,
                "schemas": [target.schema],
                "selected_resources": [],
                "source": source,
                "store_result": store_result,
                "target": _Namespace(target.as_dict()),
                "this": this,
                "var": var,
                "write": lambda *a, **k: "",
            }
        )
        for name in BASE_MEMBERS:
            ctx[name] = _base_member(name)
        return ctx


_MISSING = object()


def _return(value: Any) -> None:
    """dbt's ``return``: raise MacroReturn, which dbt's macro generator unwraps."""
    from dbt_common.exceptions.macros import MacroReturn

    raise MacroReturn(value)


@cache
def _dbt_version() -> str:
    from importlib.metadata import version

    return version("dbt-core")


@cache
def environment() -> Any:
    """dbt's text-mode Jinja environment (its parser, extensions and filters).

    ``keep_trailing_newline`` as sqlfluff's templaters set it, so the rendered
    file ends as the source does (sqlfluff's dbt templater restores it too).
    """
    from dbt_common.clients.jinja import get_environment

    env = get_environment()
    env.keep_trailing_newline = True
    return env
