"""Small hand-written manifests and catalogs for lineage unit tests (no dbt run).

Shaped like dbt 1.11's artifacts, holding only the keys the lineage code reads.
"""

from __future__ import annotations

from typing import Any

DB = "wh"


def col(name: str, *, pii: Any = None, tags: list[str] | None = None, **extra: Any) -> dict:
    meta = {"pii": pii} if pii is not None else {}
    return {
        "name": name,
        "description": extra.pop("description", ""),
        "meta": meta,
        "tags": tags or [],
        "config": {"meta": meta, "tags": tags or []},
        "data_type": extra.pop("data_type", None),
    }


def source(source_name: str, table: str, columns: list[dict], schema: str = "raw") -> dict:
    uid = f"source.proj.{source_name}.{table}"
    return {
        "unique_id": uid,
        "resource_type": "source",
        "name": table,
        "source_name": source_name,
        "database": DB,
        "schema": schema,
        "identifier": table,
        "relation_name": f'"{DB}"."{schema}"."{table}"',
        "description": f"raw {table}",
        "columns": {c["name"]: c for c in columns},
        "depends_on": {"nodes": []},
        "fqn": ["proj", source_name, table],
    }


def model(
    name: str,
    sql: str,
    depends: list[str],
    columns: list[dict],
    *,
    folder: str = "staging",
    description: str = "",
    resource_type: str = "model",
) -> dict:
    uid = f"{resource_type}.proj.{name}"
    return {
        "unique_id": uid,
        "resource_type": resource_type,
        "name": name,
        "alias": name,
        "database": DB,
        "schema": folder,
        "relation_name": f'"{DB}"."{folder}"."{name}"',
        "description": description,
        "compiled_code": sql,
        "language": "sql",
        "columns": {c["name"]: c for c in columns},
        "depends_on": {"nodes": depends},
        "fqn": ["proj", folder, name],
        "original_file_path": f"models/{folder}/{name}.sql",
        "config": {"materialized": "view", "tags": [], "meta": {}},
        "tags": [],
        "meta": {},
    }


def manifest(*entries: dict, exposures: list[dict] | None = None) -> dict:
    out: dict[str, Any] = {
        "metadata": {"adapter_type": "duckdb", "project_name": "proj"},
        "nodes": {},
        "sources": {},
        "exposures": {e["unique_id"]: e for e in exposures or []},
        "groups": {},
    }
    for entry in entries:
        section = "sources" if entry["resource_type"] == "source" else "nodes"
        out[section][entry["unique_id"]] = entry
    return out


def catalog(man: dict, columns: dict[str, list[str]]) -> dict:
    """A catalog with the given columns (all typed VARCHAR) per unique_id."""
    out: dict[str, Any] = {"nodes": {}, "sources": {}}
    for uid, names in columns.items():
        entry = man["sources"].get(uid) or man["nodes"][uid]
        section = "sources" if uid.startswith("source.") else "nodes"
        out[section][uid] = {
            "unique_id": uid,
            "metadata": {
                "database": entry["database"],
                "schema": entry["schema"],
                "name": entry.get("identifier") or entry.get("alias") or entry["name"],
            },
            "columns": {
                n: {"name": n, "type": "VARCHAR", "index": i + 1} for i, n in enumerate(names)
            },
        }
    return out


def rel(folder: str, name: str) -> str:
    return f'"{DB}"."{folder}"."{name}"'
