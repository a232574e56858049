"""Other engines for the same dbt project: the target's adapter, preflight checks,
and the publish step that moves DuckDB's raw tables to PostgreSQL or Spark.

Ingestion stays DuckDB-native; ``dataops build --target <postgres|spark>`` checks
the target (:func:`preflight`), ingests into DuckDB, publishes the raw tables that
changed (:func:`publish_raw`), then runs dbt against the target.
"""

from tooling.engines.profile import Target, resolve_target
from tooling.engines.publish import PublishResult, preflight, publish_raw, require_engine

__all__ = [
    "PublishResult",
    "Target",
    "preflight",
    "publish_raw",
    "require_engine",
    "resolve_target",
]
