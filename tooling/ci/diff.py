"""`dataops ci diff`: what a branch's change does to the data of each modified model.

Runs inside DuckDB: the CI file is opened read-only and the production file
ATTACHED read-only under its production catalog name (so views in either file
resolve), and every figure is one SQL query over both relations. Nothing is
pulled into Python but counts and a few sample rows. Never prints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tooling.errors import DataOpsError
from tooling.manifest import ManifestGraph

SAMPLES = 3


@dataclass
class ModelDiff:
    unique_id: str
    prod_relation: str
    ci_relation: str
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    columns_retyped: list[dict[str, str]] = field(default_factory=list)
    rows_prod: int = 0
    rows_ci: int = 0
    primary_key: list[str] = field(default_factory=list)
    rows_added: int | None = None
    rows_removed: int | None = None
    rows_changed: int | None = None
    changed_by_column: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    note: str | None = None


@dataclass
class DiffResult:
    models: list[ModelDiff] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # unique_id -> why

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiffResult:
        return cls(
            models=[ModelDiff(**m) for m in data.get("models", [])],
            skipped=dict(data.get("skipped", {})),
        )

    def schema_diffs(self) -> dict[str, dict[str, list[str]]]:
        return {
            m.unique_id: {
                "added": m.columns_added,
                "removed": m.columns_removed,
                "retyped": [r["column"] for r in m.columns_retyped],
            }
            for m in self.models
        }


def q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


_quote = q


def relation(node: dict[str, Any]) -> tuple[str, str, str]:
    return (
        str(node["database"]),
        str(node["schema"]),
        str(node.get("alias") or node.get("identifier") or node["name"]),
    )


def render(rel: tuple[str, str, str]) -> str:
    return ".".join(q(p) for p in rel)


_render = render


def primary_key(manifest: dict[str, Any], uid: str) -> list[str]:
    """A model's key, from what its project declares (see ``ManifestGraph.primary_key``)."""
    return ManifestGraph.of(manifest).primary_key(uid)


def _columns(con: Any, rel: tuple[str, str, str]) -> dict[str, str] | None:
    if isinstance(con, PgDiffConnection | SparkDiffConnection):
        return con.columns(rel)
    rows = con.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = ? and schema_name = ? and table_name = ? order by column_index",
        list(rel),
    ).fetchall()
    return {name: dtype for name, dtype in rows} or None


def diff_model(
    con: Any, uid: str, prod_rel: tuple[str, str, str], ci_rel: tuple[str, str, str], key: list[str]
) -> ModelDiff | str:
    # The engine's SQL: DuckDB's and PostgreSQL's by default; Spark quotes with
    # backticks, names no database, casts to string and joins keys with <=>.
    q = getattr(con, "quote", _quote)
    render = getattr(con, "render", _render)
    text = getattr(con, "text_type", "varchar")
    prod_cols = _columns(con, prod_rel)
    ci_cols = _columns(con, ci_rel)
    if prod_cols is None:
        return f"not in production ({render(prod_rel)})"
    if ci_cols is None:
        return f"not built in CI ({render(ci_rel)})"
    out = ModelDiff(unique_id=uid, prod_relation=render(prod_rel), ci_relation=render(ci_rel))
    lower_prod = {c.lower(): c for c in prod_cols}
    lower_ci = {c.lower(): c for c in ci_cols}
    out.columns_added = [lower_ci[c] for c in lower_ci if c not in lower_prod]
    out.columns_removed = [lower_prod[c] for c in lower_prod if c not in lower_ci]
    common = [c for c in lower_ci if c in lower_prod]
    for c in common:
        if prod_cols[lower_prod[c]] != ci_cols[lower_ci[c]]:
            out.columns_retyped.append(
                {
                    "column": lower_ci[c],
                    "prod": prod_cols[lower_prod[c]],
                    "ci": ci_cols[lower_ci[c]],
                }
            )
    prod_sql, ci_sql = render(prod_rel), render(ci_rel)
    out.rows_prod, out.rows_ci = con.execute(
        f"select (select count(*) from {prod_sql}), (select count(*) from {ci_sql})"
    ).fetchone()
    key_l = [k.lower() for k in key]
    if not key_l or any(k not in lower_prod or k not in lower_ci for k in key_l):
        out.note = "no primary key found in both relations: row-level diff skipped"
        return out
    out.primary_key = [lower_ci[k] for k in key_l]
    retyped = {r["column"].lower() for r in out.columns_retyped}
    values = [c for c in common if c not in key_l]

    def cmp(c: str) -> str:
        a, b = f"p.{q(lower_prod[c])}", f"c.{q(lower_ci[c])}"
        if c in retyped:
            a, b = f"cast({a} as {text})", f"cast({b} as {text})"
        return f"{a} is distinct from {b}"

    # PostgreSQL cannot FULL JOIN on `is not distinct from`; its keys are compared with `=`.
    eq = getattr(con, "key_equals", "=" if isinstance(con, PgDiffConnection) else None)
    eq = eq or "is not distinct from"
    join = " and ".join(f"p.{q(lower_prod[k])} {eq} c.{q(lower_ci[k])}" for k in key_l)
    any_change = " or ".join(cmp(c) for c in values) or "false"
    both = "p.__in_prod and c.__in_ci"
    per_col = "".join(f", count(*) filter (where {both} and ({cmp(c)}))" for c in values)
    base = (
        f"from (select *, true as __in_prod from {prod_sql}) as p "
        f"full outer join (select *, true as __in_ci from {ci_sql}) as c on {join}"
    )
    row = con.execute(
        "select count(*) filter (where p.__in_prod is null), "
        "count(*) filter (where c.__in_ci is null), "
        f"count(*) filter (where {both} and ({any_change})){per_col} {base}"
    ).fetchone()
    out.rows_added, out.rows_removed, out.rows_changed = row[0], row[1], row[2]
    out.changed_by_column = {lower_ci[c]: n for c, n in zip(values, row[3:], strict=True) if n}
    key_prod = ", ".join(f"p.{q(lower_prod[k])}" for k in key_l)
    key_ci = ", ".join(f"c.{q(lower_ci[k])}" for k in key_l)
    order = ", ".join(f"{n}" for n in range(1, len(key_l) + 1))

    def sample(select: str, where: str) -> list[tuple[Any, ...]]:
        sql = f"select {select} {base} where {where} order by {order} limit {SAMPLES}"
        return con.execute(sql).fetchall()

    names = out.primary_key
    out.samples["added"] = [
        dict(zip(names, r, strict=True)) for r in sample(key_ci, "p.__in_prod is null")
    ]
    out.samples["removed"] = [
        dict(zip(names, r, strict=True)) for r in sample(key_prod, "c.__in_ci is null")
    ]
    changed_cols = list(out.changed_by_column)
    if changed_cols:
        pairs = ", ".join(
            f"p.{q(lower_prod[c.lower()])}, c.{q(lower_ci[c.lower()])}" for c in changed_cols
        )
        rows = sample(f"{key_ci}, {pairs}", f"{both} and ({any_change})")
        changed = []
        for r in rows:
            item: dict[str, Any] = dict(zip(names, r[: len(names)], strict=True))
            rest = r[len(names) :]
            for i, c in enumerate(changed_cols):
                old, new = rest[2 * i], rest[2 * i + 1]
                if str(old) != str(new):
                    item[c] = {"prod": old, "ci": new}
            changed.append(item)
        out.samples["changed"] = changed
    return out


def diff(
    ids: list[str],
    *,
    new_manifest: dict[str, Any],
    prod_manifest: dict[str, Any],
    ci_warehouse: Path,
    prod_warehouse: Path,
    prod_catalog: str,
) -> DiffResult:
    """Diff each model of ``ids`` that exists in production against its CI build."""
    import duckdb

    if not ci_warehouse.is_file():
        raise DataOpsError(f"no CI warehouse at {ci_warehouse}; run `dataops ci run` first")
    if not prod_warehouse.is_file():
        raise DataOpsError(f"no production warehouse at {prod_warehouse} in the state directory")
    con = duckdb.connect(str(ci_warehouse), read_only=True)
    try:
        path = str(prod_warehouse.resolve()).replace("'", "''")
        con.execute(f"attach '{path}' as {q(prod_catalog)} (read_only)")
        return diff_all(con, ids, new_manifest=new_manifest, prod_manifest=prod_manifest)
    except duckdb.Error as exc:
        raise DataOpsError(f"data diff failed: {exc}") from None
    finally:
        con.close()


def diff_all(
    con: Any, ids: list[str], *, new_manifest: dict[str, Any], prod_manifest: dict[str, Any]
) -> DiffResult:
    """:func:`diff_model` of each model of ``ids`` over one connection seeing both relations."""
    result = DiffResult()
    graph = ManifestGraph.of(new_manifest)
    for uid in ids:
        if uid.split(".", 1)[0] not in {"model", "seed", "snapshot"}:
            continue
        new_node = new_manifest["nodes"].get(uid)
        old_node = prod_manifest.get("nodes", {}).get(uid)
        if old_node is None:
            result.skipped[uid] = "new: not in production"
            continue
        if new_node is None or (new_node.get("config") or {}).get("materialized") == ("ephemeral"):
            result.skipped[uid] = "ephemeral or deleted: no relation"
            continue
        found = diff_model(con, uid, relation(old_node), relation(new_node), graph.primary_key(uid))
        if isinstance(found, str):
            result.skipped[uid] = found
        else:
            result.models.append(found)
    return result


class PgDiffConnection:
    """:func:`diff_model`'s connection on PostgreSQL, where production and CI are two
    schemas of one database: the same SQL (PostgreSQL has ``filter``, ``is distinct
    from`` and full outer joins), columns from the catalog, read-only transaction."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        conn.read_only = True

    def execute(self, sql: str, params: list[Any] | None = None) -> Any:
        cur = self.conn.cursor()
        cur.execute(sql)
        return cur

    def columns(self, rel: tuple[str, str, str]) -> dict[str, str] | None:
        rows = (
            self.conn.cursor()
            .execute(
                "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
                "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped "
                "order by a.attnum",
                [rel[1], rel[2]],
            )
            .fetchall()
        )
        return {name: dtype for name, dtype in rows} or None


class SparkDiffConnection:
    """:func:`diff_model`'s connection on Spark, where production and CI are two
    databases (schemas) of one metastore: Spark SQL has ``filter``, ``is distinct
    from`` and full outer joins; keys join with the null-safe ``<=>``."""

    text_type = "string"
    key_equals = "<=>"

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    @staticmethod
    def quote(name: str) -> str:
        return "`" + str(name).replace("`", "``") + "`"

    @classmethod
    def render(cls, rel: tuple[str, str, str]) -> str:
        return ".".join(cls.quote(p) for p in rel[1:])  # no database on Spark

    def execute(self, sql: str, params: list[Any] | None = None) -> Any:
        return _Rows([tuple(r) for r in self.spark.sql(sql).collect()])

    def columns(self, rel: tuple[str, str, str]) -> dict[str, str] | None:
        if not self.spark.catalog.tableExists(self.render(rel)):
            return None
        return {c.name: c.dataType for c in self.spark.catalog.listColumns(self.render(rel))}


class _Rows:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


def diff_spark(
    ids: list[str], *, new_manifest: dict[str, Any], prod_manifest: dict[str, Any], spark: Any
) -> DiffResult:
    """The diff computed in Spark SQL over the production and CI databases."""
    try:
        return diff_all(
            SparkDiffConnection(spark), ids, new_manifest=new_manifest, prod_manifest=prod_manifest
        )
    except Exception as exc:  # pyspark's AnalysisException and Py4J errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataOpsError(f"data diff failed: {first}") from None


def diff_postgres(
    ids: list[str], *, new_manifest: dict[str, Any], prod_manifest: dict[str, Any], conn: Any
) -> DiffResult:
    """The diff computed in PostgreSQL over the production and CI schemas."""
    import psycopg

    try:
        return diff_all(
            PgDiffConnection(conn), ids, new_manifest=new_manifest, prod_manifest=prod_manifest
        )
    except psycopg.Error as exc:
        raise DataOpsError(f"data diff failed: {str(exc).splitlines()[0]}") from None
