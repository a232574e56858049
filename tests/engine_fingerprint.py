"""Content fingerprints of a table, computed inside each engine with its own SQL.

A fingerprint is (row count, sum over rows of a 60-bit integer taken from the md5
of the canonicalised row). Equal fingerprints mean, with overwhelming probability,
equal multisets of rows. Each column is canonicalised to text the same way on
every engine: exact decimals at 4 places, integers, dates, timestamps to the
second, booleans as 0/1, NULL as a marker.
"""

from __future__ import annotations

NULL = "'<null>'"


def canonical(dialect: str, column: str, data_type: str) -> str:
    q = f"`{column}`" if dialect == "spark" else f'"{column}"'
    t = data_type.upper()
    if t.startswith(("DECIMAL", "NUMERIC", "DOUBLE", "FLOAT", "REAL")):
        text = f"cast(cast({q} as decimal(38, 4)) as {_text(dialect)})"
    elif t in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT"):
        text = f"cast(cast({q} as bigint) as {_text(dialect)})"
    elif t.startswith("TIMESTAMP"):
        text = {
            "duckdb": f"strftime({q}, '%Y-%m-%d %H:%M:%S')",
            "postgres": f"to_char({q}, 'YYYY-MM-DD HH24:MI:SS')",
            "spark": f"date_format({q}, 'yyyy-MM-dd HH:mm:ss')",
        }[dialect]
    elif t == "DATE":
        text = {
            "duckdb": f"strftime({q}, '%Y-%m-%d')",
            "postgres": f"to_char({q}, 'YYYY-MM-DD')",
            "spark": f"date_format({q}, 'yyyy-MM-dd')",
        }[dialect]
    elif t == "BOOLEAN":
        text = f"case when {q} then '1' when not {q} then '0' end"
    else:
        text = f"cast({q} as {_text(dialect)})"
    return f"coalesce({text}, {NULL})"


def _text(dialect: str) -> str:
    return "string" if dialect == "spark" else "varchar"


def fingerprint_sql(dialect: str, relation: str, columns: list[tuple[str, str]]) -> str:
    row = " || '|' || ".join(canonical(dialect, c, t) for c, t in columns)
    digest = f"substr(md5({row}), 1, 15)"
    as_int = {
        "duckdb": f"cast(('0x' || {digest}) as bigint)",
        "postgres": f"('x' || lpad({digest}, 16, '0'))::bit(64)::bigint",
        "spark": f"cast(conv({digest}, 16, 10) as bigint)",
    }[dialect]
    return (
        f"select count(*), cast(coalesce(sum(cast({as_int} as decimal(38, 0))), 0) as "
        f"{_text(dialect)}) from {relation}"
    )


def duckdb_marts(warehouse) -> dict[str, list[tuple[str, str]]]:
    """Columns (name, DuckDB type) of each table in the DuckDB build's `marts` schema."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' order by table_name, ordinal_position"
        ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        out.setdefault(table, []).append((column, data_type))
    return out


def duckdb_fingerprints(warehouse, tables: dict[str, list[tuple[str, str]]]) -> dict:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            t: tuple(con.execute(fingerprint_sql("duckdb", f"marts.{t}", cols)).fetchone())
            for t, cols in tables.items()
        }
