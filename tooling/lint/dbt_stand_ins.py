"""What a model's Jinja gets instead of a database: relations, an empty result, the adapter.

``STUBS`` lists every context member that needs a database or a parsed manifest
and what it does here instead (the README repeats the list). dbt's own members
that need neither are imported from dbt-core only when first used (``Lazy``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tooling.lint.dbt_macros import ADAPTER

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


class StubAdapter:
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


class ConfigRecorder:
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


class Lazy:
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


def base_member(name: str) -> Lazy:
    def load() -> Any:
        from dbt.context.base import BaseContext

        # dbt's own table of context names (``zip`` is the method ``_zip``)
        return getattr(BaseContext, BaseContext._context_attrs_[name])

    return Lazy(load)


def lazy_modules() -> Lazy:
    def load() -> Any:
        from dbt.context.base import get_context_modules

        return Namespace(get_context_modules())

    return Lazy(load)


def lazy_column(adapter: str = ADAPTER) -> Lazy:
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

    return Lazy(load)


def lazy_exceptions() -> Lazy:
    def load() -> Any:
        from dbt.context.exceptions_jinja import wrapped_exports

        return Namespace(wrapped_exports(None))

    return Lazy(load)


class Namespace(dict):
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
