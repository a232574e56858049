"""The relations compiled SQL reads: which manifest node a table is, and its columns.

Columns and their order come from the catalog (what the warehouse holds), else a
seed's CSV header, else the columns documented in the manifest; the SQL dialect
from the manifest's adapter type.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlglot import exp

# dbt adapter type -> sqlglot dialect (None: sqlglot's generic dialect).
DIALECTS = {
    "duckdb": "duckdb",
    "postgres": "postgres",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "databricks": "databricks",
    "spark": "spark",
    "trino": "trino",
    "athena": "athena",
    "clickhouse": "clickhouse",
    "sqlserver": "tsql",
    "fabric": "tsql",
    "mysql": "mysql",
    "sqlite": "sqlite",
    "oracle": "oracle",
    "teradata": "teradata",
}


def sql_dialect(manifest: dict[str, Any]) -> str | None:
    adapter = (manifest.get("metadata") or {}).get("adapter_type")
    return DIALECTS.get(str(adapter).lower()) if adapter else None


def _norm(*parts: str | None) -> str:
    return ".".join(p.lower() for p in parts if p)


def entry_identifier(entry: dict[str, Any]) -> str:
    return str(entry.get("identifier") or entry.get("alias") or entry.get("name"))


class RelationIndex:
    """Finds the manifest node behind a table reference in compiled SQL."""

    def __init__(self, manifest: dict[str, Any]) -> None:
        self.full: dict[str, str] = {}
        partial: dict[str, set[str]] = {}
        for section in ("nodes", "sources"):
            for uid, entry in (manifest.get(section) or {}).items():
                if entry.get("resource_type") not in ("model", "source", "seed", "snapshot"):
                    continue
                ident = entry_identifier(entry)
                db, schema = entry.get("database"), entry.get("schema")
                self.full[_norm(db, schema, ident)] = uid
                partial.setdefault(_norm(schema, ident), set()).add(uid)
                partial.setdefault(_norm(ident), set()).add(uid)
        self.partial = {k: next(iter(v)) for k, v in partial.items() if len(v) == 1}

    def lookup(self, table: exp.Table) -> tuple[str | None, str]:
        name = _norm(table.catalog, table.db, table.name)
        uid = self.full.get(name) or self.partial.get(name)
        return uid, name


def catalog_ids(catalog: dict[str, Any] | None) -> set[str]:
    """The nodes and sources the catalog lists with their columns."""
    return {
        uid
        for section in ("nodes", "sources")
        for uid, entry in ((catalog or {}).get(section) or {}).items()
        if entry.get("columns")
    }


def _seed_header(entry: dict[str, Any]) -> list[str]:
    """The column names in a seed's CSV header ([] when the file cannot be read)."""
    root, path = entry.get("root_path"), entry.get("original_file_path")
    if not root or not path:
        return []
    try:
        with (Path(str(root)) / str(path)).open(encoding="utf-8-sig", newline="") as handle:
            return [name.strip() for name in next(csv.reader(handle), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def relation_columns(
    manifest: dict[str, Any], catalog: dict[str, Any] | None
) -> dict[str, tuple[tuple[str, str, str], dict[str, str]]]:
    """Per node: ((database, schema, identifier), {column: type}).

    Columns and their order come from the catalog (what the warehouse holds);
    without a catalog entry, from a seed's CSV header, else the columns
    documented in the manifest.
    """
    out: dict[str, tuple[tuple[str, str, str], dict[str, str]]] = {}
    cat_entries: dict[str, Any] = {}
    for section in ("nodes", "sources"):
        cat_entries.update((catalog or {}).get(section) or {})
    for section in ("nodes", "sources"):
        for uid, entry in (manifest.get(section) or {}).items():
            if entry.get("resource_type") not in ("model", "source", "seed", "snapshot"):
                continue
            cat = cat_entries.get(uid)
            if cat and cat.get("columns"):
                meta = cat.get("metadata") or {}
                where = (
                    str(meta.get("database") or entry.get("database") or ""),
                    str(meta.get("schema") or entry.get("schema") or ""),
                    str(meta.get("name") or entry_identifier(entry)),
                )
                ordered = sorted(cat["columns"].values(), key=lambda c: c.get("index") or 0)
                cols = {str(c["name"]): str(c.get("type") or "unknown") for c in ordered}
            else:
                where = (
                    str(entry.get("database") or ""),
                    str(entry.get("schema") or ""),
                    entry_identifier(entry),
                )
                cols = {
                    str(c.get("name") or name): str(c.get("data_type") or "unknown")
                    for name, c in (entry.get("columns") or {}).items()
                }
                if entry.get("resource_type") == "seed":
                    header = _seed_header(entry)
                    if header:
                        by_lower = {k.lower(): v for k, v in cols.items()}
                        cols = {h: by_lower.get(h.lower(), "unknown") for h in header}
            out[uid] = (where, cols)
    return out
