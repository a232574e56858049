"""sqlfluff's dialect for a dbt target: the SQL dbt runs is that engine's."""

from __future__ import annotations

# sqlfluff's dialect for a dbt adapter type whose name is not itself a dialect.
ADAPTER_DIALECTS = {"spark": "sparksql", "databricks": "databricks", "sqlserver": "tsql"}


def dialect_for(adapter: str) -> str | None:
    """The sqlfluff dialect of a dbt adapter type (duckdb, postgres, spark -> sparksql
    ...); None when sqlfluff has none for it."""
    from tooling.lint import _import_sqlfluff  # sqlfluff without its pytest import

    _import_sqlfluff()
    from sqlfluff.core.dialects import dialect_readout

    known = {d.label for d in dialect_readout()}
    name = ADAPTER_DIALECTS.get(adapter, adapter)
    return name if name in known else None
