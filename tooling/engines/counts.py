"""Row counts of built relations, asked of the target engine (for monitoring).

On DuckDB monitoring counts straight from the warehouse file; on PostgreSQL and
Spark the relations live in the engine, so they are counted there.
"""

from __future__ import annotations

from typing import Any

from tooling.engines.profile import resolve_target
from tooling.engines.publish import pg_connect
from tooling.settings import Settings


def engine_row_counts(
    settings: Settings, relations: list[tuple[str, str]]
) -> list[tuple[str, str, int]] | None:
    """(unique_id, relation, rows) of the relations that exist; None on a DuckDB target."""
    target = resolve_target(settings)
    if target.type == "duckdb":
        return None
    if target.type == "postgres":
        with pg_connect(target) as conn:
            return _count(conn.cursor(), relations, exists="select to_regclass(%s) is not null")
    from pyspark.sql import SparkSession

    # The session dbt-spark opened in this process: active in dbt's worker threads,
    # so this (main) thread may only find it as the instantiated one.
    spark = SparkSession.getActiveSession() or SparkSession._instantiatedSession
    if spark is None:  # the build's session is gone: nothing to ask
        return []
    out = []
    for uid, relation in relations:
        name = relation.replace("`", "")
        if spark.catalog.tableExists(name):
            out.append(
                (uid, relation, int(spark.sql(f"select count(*) from {relation}").first()[0]))
            )
    return out


def _count(
    cur: Any, relations: list[tuple[str, str]], *, exists: str
) -> list[tuple[str, str, int]]:
    out = []
    for uid, relation in relations:
        cur.execute(exists, (relation,))
        if cur.fetchone()[0]:
            cur.execute(f"select count(*) from {relation}")
            out.append((uid, relation, int(cur.fetchone()[0])))
    return out
