"""Jinja context for sqlfluff's jinja templater on dbt projects (``library_path``).

sqlfluff's ``apply_dbt_builtins`` covers ``ref``, ``source``, ``config``, ``var``,
``is_incremental`` and ``this``. What a dbt model also uses, and what this
package adds, is dbt's own macro namespace (``dbt.type_string()``,
``dbt.date_trunc(...)``, every cross-database macro), ``adapter.dispatch``,
``target``, ``env_var``, ``exceptions``, ``log``, ``modules``, ``execute`` and
``run_query``. Each stub renders *SQL of the same shape* as dbt would on DuckDB
(a function call, a type name, a relation), so the linter sees a statement it can
parse and reports style on the model's own SQL, never a templating error on a
model that compiles.

sqlfluff imports this package by its folder name (``library_path``) and puts
every public attribute of it into the Jinja context. It must not import
anything from ``tooling`` (sqlfluff loads it as a top-level module).
"""

from __future__ import annotations

import datetime as _datetime
import os as _os
import re as _re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, ClassVar

from jinja2 import pass_context
from jinja2.runtime import Context

_DIALECT = "duckdb"


def _sql(value: Any) -> str:
    """A macro argument as SQL text (dbt passes SQL fragments as strings)."""
    if isinstance(value, (list, tuple)):
        return ", ".join(_sql(v) for v in value)
    return str(value)


def _call(name: str) -> Callable[..., str]:
    def render(*args: Any, **kwargs: Any) -> str:
        parts = [_sql(a) for a in args] + [_sql(v) for v in kwargs.values()]
        return f"{name}({', '.join(parts)})"

    return render


class _DbtNamespace:
    """``dbt.<macro>``: dbt's global macros, rendered as they are on DuckDB.

    Macros not listed render as a function call of the same name with the same
    arguments, which parses the same way as dbt's SQL expression would.
    """

    unsafe_callable = False
    alters_data = False

    _TYPES: ClassVar[dict[str, str]] = {
        "type_string": "varchar",
        "type_timestamp": "timestamp",
        "type_float": "double",
        "type_numeric": "numeric(28, 6)",
        "type_bigint": "bigint",
        "type_int": "integer",
        "type_boolean": "boolean",
    }

    def __getattr__(self, name: str) -> Callable[..., str]:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._TYPES:
            sql_type = self._TYPES[name]
            return lambda *args, **kwargs: sql_type
        return getattr(_Macros, name, None) or _call(name)


class _Macros:
    @staticmethod
    def safe_cast(field: Any, type_: Any) -> str:
        return f"try_cast({_sql(field)} as {_sql(type_)})"

    @staticmethod
    def cast(field: Any, type_: Any) -> str:
        return f"cast({_sql(field)} as {_sql(type_)})"

    @staticmethod
    def hash(field: Any) -> str:
        return f"md5(cast({_sql(field)} as varchar))"

    @staticmethod
    def concat(fields: Any) -> str:
        return f"concat({_sql(fields)})"

    @staticmethod
    def current_timestamp() -> str:
        return "now()"

    @staticmethod
    def date_trunc(datepart: Any, date: Any) -> str:
        return f"date_trunc('{_sql(datepart)}', {_sql(date)})"

    @staticmethod
    def dateadd(datepart: Any, interval: Any, from_date_or_timestamp: Any) -> str:
        return f"date_add({_sql(from_date_or_timestamp)}, interval ({_sql(interval)}) {datepart})"

    @staticmethod
    def datediff(first_date: Any, second_date: Any, datepart: Any) -> str:
        return f"date_diff('{_sql(datepart)}', {_sql(first_date)}, {_sql(second_date)})"

    @staticmethod
    def split_part(string_text: Any, delimiter_text: Any, part_number: Any) -> str:
        return f"split_part({_sql(string_text)}, {_sql(delimiter_text)}, {_sql(part_number)})"

    @staticmethod
    def string_literal(value: Any) -> str:
        return "'" + str(value).replace("'", "''") + "'"

    @staticmethod
    def escape_single_quotes(expression: Any) -> str:
        return str(expression).replace("'", "''")

    @staticmethod
    def listagg(
        measure: Any,
        delimiter_text: Any = "','",
        order_by_clause: Any = None,
        limit_num: Any = None,
    ) -> str:
        return f"string_agg({_sql(measure)}, {_sql(delimiter_text)})"


class _Relation(str):
    """A relation (``api.Relation.create``, ``adapter.get_relation``, ``this``)."""

    unsafe_callable = False
    alters_data = False

    def __getattr__(self, name: str) -> Any:
        if name.startswith("is_"):
            return True
        if name.startswith("_"):
            raise AttributeError(name)
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> _Relation:
        return self


class _Adapter:
    unsafe_callable = False
    alters_data = False

    @pass_context
    def dispatch(
        self, context: Context, macro_name: str, macro_namespace: str | None = None
    ) -> Callable[..., Any]:
        """The project's ``<adapter>__name`` / ``default__name`` macro, else a call."""
        for candidate in (f"{_DIALECT}__{macro_name}", f"default__{macro_name}"):
            macro = context.get(candidate)
            if macro is not None:
                return macro
        return getattr(_DbtNamespace(), macro_name)

    def quote(self, identifier: Any) -> str:
        return f'"{identifier}"'

    def get_relation(self, *args: Any, **kwargs: Any) -> _Relation:
        return _Relation("stub_relation")

    def get_columns_in_relation(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    def __getattr__(self, name: str) -> Callable[..., str]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: ""


class _Exceptions:
    unsafe_callable = False
    alters_data = False

    def __getattr__(self, name: str) -> Callable[..., str]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: ""


def env_var(name: str, default: str | None = None) -> str:
    """dbt's ``env_var``: the default when given, else a placeholder identifier."""
    return default if default is not None else _re.sub(r"\W", "_", name).lower()


def log(*args: Any, **kwargs: Any) -> str:
    return ""


def run_query(*args: Any, **kwargs: Any) -> None:
    return None


class _PackageNamespace:
    """``<package>.<macro>`` of an installed dbt package (``dbt_utils.star(...)``).

    Renders the package's macro when ``load_macros_from_path`` loaded it, else a
    function call of the same name, so a model using the package gets no
    templating error.
    """

    unsafe_callable = False
    alters_data = False

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        @pass_context
        def call(context: Context, *args: Any, **kwargs: Any) -> Any:
            macro = context.get(name)
            if macro is not None and callable(macro):
                return macro(*args, **kwargs)
            return _call(name)(*args, **kwargs)

        return call


# dataops lint lists the linted project's packages (packages.yml, dependencies.yml,
# dbt_packages/) in this variable; each gets a namespace.
for _package in filter(None, _os.environ.get("DATAOPS_LINT_PACKAGES", "").split(",")):
    if _package.isidentifier() and _package not in globals():
        globals()[_package] = _PackageNamespace()

dbt = _DbtNamespace()
adapter = _Adapter()
exceptions = _Exceptions()
api = SimpleNamespace(Relation=SimpleNamespace(create=lambda *a, **k: _Relation("stub_relation")))
target = SimpleNamespace(
    name="dev",
    type=_DIALECT,
    schema="main",
    database="stub_database",
    profile_name="stub_profile",
    threads=1,
)
modules = SimpleNamespace(datetime=_datetime, re=_re)
execute = True
flags = SimpleNamespace(FULL_REFRESH=False, WHICH="run")
