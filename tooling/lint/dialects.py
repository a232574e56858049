"""sqlfluff's dialect for a dbt target: the SQL dbt runs is that engine's."""

from __future__ import annotations

# sqlfluff's dialect for a dbt adapter type whose name is not itself a dialect.
ADAPTER_DIALECTS = {"spark": "sparksql", "databricks": "databricks", "sqlserver": "tsql"}


def dialect_for(adapter: str) -> str | None:
    """The sqlfluff dialect of a dbt adapter type (duckdb, postgres, spark -> sparksql
    ...); None when sqlfluff has none for it."""
    from tooling.lint import _import_sqlfluff  # sqlfluff without its pytest import

    _import_sqlfluff()
    from sqlfluff.core.dialects import load_raw_dialect
    from sqlfluff.core.errors import SQLFluffUserError

    name = ADAPTER_DIALECTS.get(adapter, adapter)
    try:
        # This one dialect only: dialect_readout() imports all of them (0.9 s).
        load_raw_dialect(name)
    except (SQLFluffUserError, KeyError):
        return None
    return name
