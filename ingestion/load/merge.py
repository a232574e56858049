"""``merge`` loads: upsert the staged batch into the table, newest cursor wins.

The batch is staged in ``__staged`` (a temp table) by the insert step; null
keys and conflicting duplicates go to quarantine, soft deletes remove keys and
leave tombstones so an older version arriving later cannot bring a key back.
"""

from __future__ import annotations

import duckdb

from ingestion.config import Entity
from ingestion.load.batch import Batch
from ingestion.load.quarantine import insert_prefix
from ingestion.state import METADATA_COLUMNS
from ingestion.warehouse import quote

STAGED = "__staged"


def stage(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """An empty temp table shaped like the target, for the batch to be merged from."""
    con.execute(f"create or replace temp table {STAGED} as select * from {table} limit 0")
    return STAGED


def unstage(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"drop table if exists {STAGED}")


def merge(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    table: str,
    names: list[str],
    q: str,
    batch: Batch,
) -> int:
    """Upsert ``__staged`` into the table exactly; return the rows applied.

    Per key the version with the newest cursor wins; identical duplicates
    collapse; different versions with the same cursor (or without a cursor)
    are ambiguous and go to quarantine. Against the table a row is replaced or
    deleted (soft-delete flag) only by a version whose cursor is not older, so
    late files cannot roll data back.
    """
    keys = [quote(k) for k in entity.primary_key]
    data = [quote(c) for c in names if c not in METADATA_COLUMNS]
    null_key = " or ".join(f"{k} is null" for k in keys)
    qi = insert_prefix(q, batch)
    con.execute(
        f"{qi} {batch.stamp_name_sql('s._loaded_at')}, null, 'null primary key', "
        "to_json(s)::varchar "
        f"from __staged as s where {null_key}"
    )
    con.execute(f"delete from __staged where {null_key}")
    dup = con.execute(
        f"select count(*) from (select 1 from __staged group by {', '.join(keys)} "
        "having count(*) > 1)"
    ).fetchone()
    # Common case, one version per key: merge the staged rows as they are (no
    # window, no grouping, no second copy of the batch).
    unique = bool(dup and dup[0] == 0)
    src = "__staged" if unique else _resolve_duplicates(con, entity, keys, data, qi, batch)
    match = " and ".join(f"t.{k} = b.{k}" for k in keys)
    newer = ""
    if entity.cursor:
        cur = quote(entity.cursor)
        newer = f" and (t.{cur} is null or b.{cur} is null or b.{cur} >= t.{cur})"
    deleting = ""
    not_deleted = ""
    if entity.soft_delete and entity.soft_delete in names:
        flag = f"b.{quote(entity.soft_delete)}"
        deleting = f"when matched{newer} and {flag} then delete "
        not_deleted = f" and ({flag} is null or not {flag})"
        if entity.cursor:
            _apply_tombstones(con, entity, table, keys, match, src, batch)
    sets = ", ".join(f"{quote(c)} = b.{quote(c)}" for c in names)
    cols = ", ".join(quote(c) for c in names)
    vals = ", ".join(f"b.{quote(c)}" for c in names)
    con.execute(
        f"merge into {table} as t using {src} as b on ({match}) {deleting}"
        f"when matched{newer} then update set {sets} "
        f"when not matched{not_deleted} then insert ({cols}) values ({vals})"
    )
    applied = con.execute(f"select count(*) from {src}").fetchone()
    for tmp in ("__top", "__latest", "__conflict"):
        con.execute(f"drop table if exists {tmp}")
    return int(applied[0]) if applied else 0


def _resolve_duplicates(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    keys: list[str],
    data: list[str],
    qi: str,
    batch: Batch,
) -> str:
    """One row per key in ``__latest``: newest cursor wins, identical rows collapse,
    conflicting versions of one key go to quarantine."""
    top = "__staged"
    if entity.cursor:
        con.execute(
            f"create or replace temp table __top as select * from __staged qualify rank() over "
            f"(partition by {', '.join(keys)} order by {quote(entity.cursor)} desc nulls last) = 1"
        )
        top = "__top"
    con.execute(
        f"create or replace temp table __latest as select {', '.join(data)}, "
        f"min(_loaded_at) as _loaded_at from {top} group by all"
    )
    match_l = " and ".join(f"l.{k} = c.{k}" for k in keys)
    con.execute(
        f"create or replace temp table __conflict as select {', '.join(keys)} from __latest "
        f"group by all having count(*) > 1"
    )
    con.execute(
        f"{qi} {batch.stamp_name_sql('l._loaded_at')}, null, "
        "'duplicate key in one batch with conflicting values', "
        f"to_json(l)::varchar from __latest as l semi join __conflict as c on {match_l}"
    )
    con.execute(f"delete from __latest as l using __conflict as c where {match_l}")
    return "__latest"


def _apply_tombstones(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    table: str,
    keys: list[str],
    match: str,
    src: str,
    batch: Batch,
) -> None:
    """Remember deleted keys with the delete's cursor and batch key; drop older versions
    arriving late.

    Without this a version older than a delete, arriving in a later batch,
    would find no row to compare with and resurrect the deleted key, so the
    table would no longer equal a full load of the final state.
    """
    assert entity.cursor and entity.soft_delete
    cur, flag = quote(entity.cursor), quote(entity.soft_delete)
    tomb = f"{quote(entity.schema)}.{quote(entity.tombstones)}"
    con.execute(
        f"create table if not exists {tomb} as select {', '.join(keys)}, {cur}, "
        f"null::bigint as _batch_key from {table} limit 0"
    )
    # a version not newer than the key's latest delete loses to it
    con.execute(
        f"delete from {src} as b using {tomb} as t where {match} "
        f"and b.{cur} is not null and t.{cur} is not null and b.{cur} < t.{cur}"
    )
    cols = ", ".join([*keys, cur, "_batch_key"])
    con.execute(
        f"merge into {tomb} as t using (select {', '.join([*keys, cur])}, "
        f"{batch.key}::bigint as _batch_key from {src} where {flag}) as b "
        f"on ({match}) when matched and (t.{cur} is null or b.{cur} >= t.{cur}) then update "
        f"set {cur} = b.{cur}, _batch_key = b._batch_key when not matched then insert ({cols}) "
        f"values ({', '.join(f'b.{c}' for c in [*keys, cur, '_batch_key'])})"
    )
