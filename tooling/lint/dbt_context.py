"""The Jinja world dbt renders a model in, rebuilt without a database or ``dbt parse``.

Macros come from their real source (``dbt_macros.py``): the root project's macro
paths (and ``tests/generic``), every package under ``dbt_packages/`` and dbt's
internal packages (``dbt`` = the global project shipped with dbt-adapters, and
the adapter's own, ``dbt_duckdb``). They are found with dbt's own block lexer
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
them. What needs a database or a parsed manifest is a stub (``dbt_stand_ins.py``,
whose ``STUBS`` lists them; the README repeats the list).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tooling.lint.dbt_macros import ADAPTER, World, adapter_prefixes, read_yaml
from tooling.lint.dbt_stand_ins import (
    BASE_MEMBERS,
    ConfigRecorder,
    EmptyTable,
    Namespace,
    Relation,
    RenderError,
    StubAdapter,
    base_member,
    lazy_column,
    lazy_exceptions,
    lazy_modules,
    relation_class,
)

SECRET_PREFIX = "DBT_ENV_SECRET_"


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
        profile = str(read_yaml(project_dir / "dbt_project.yml").get("profile") or "default")
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
            entry = read_yaml(path).get(profile)
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
            return results.get(name) or Namespace(response=None, data=[], table=EmptyTable())

        def store_result(name: str, response: Any = None, agate_table: Any = None) -> str:
            results[name] = Namespace(response=response, data=[], table=agate_table or EmptyTable())
            return ""

        ctx.update(internal)
        ctx.update(non_internal)
        ctx["dbt"] = internal
        ctx.update(packages[root])
        config = ConfigRecorder()
        this = relation(stem)
        ctx.update(
            {
                "adapter": StubAdapter(dispatch, world.adapter),
                "api": Namespace(Relation=relation_cls, Column=lazy_column(world.adapter)),
                "builtins": Namespace(ref=ref, source=source, config=config),
                "config": config,
                "database": target.database,
                "dbt_version": _dbt_version(),
                "env_var": env_var,
                "exceptions": lazy_exceptions(),
                "execute": False,
                "flags": Namespace(FULL_REFRESH=False, STORE_FAILURES=False, WHICH="compile"),
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
                "model": Namespace(
                    name=stem,
                    alias=stem,
                    unique_id=f"model.{root}.{stem}",
                    package_name=root,
                    original_file_path=fname,
                    config=config.values,
                    resource_type="model",
                ),
                "modules": lazy_modules(),
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
                "target": Namespace(target.as_dict()),
                "this": this,
                "var": var,
                "write": lambda *a, **k: "",
            }
        )
        for name in BASE_MEMBERS:
            ctx[name] = base_member(name)
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
