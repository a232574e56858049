"""The exact PII rule: a PII column that reaches a mart unmasked through any path.

A column is PII at its origin when its ``meta`` (or ``config.meta``) has
``pii: true`` or its tags include ``pii`` (typically on a source). It reaches a
mart column when column lineage links them through a chain of models.

Masking is recognised in two ways:

- in the SQL: the value passes through a hash function (md5, sha1/sha2/sha256/
  sha512, standard_hash, farm_fingerprint, hash ...), a predicate whose result is
  a boolean (``x is not null``, comparisons, ``in``, ``like``), or ``count`` /
  ``length`` (see ``tooling.lineage.model_columns``);
- by declaration: a column on the path whose meta says ``pii`` is one of
  ``hashed``, ``masked``, ``redacted``, ``anonymised``/``anonymized``,
  ``pseudonymised``/``pseudonymized``, ``tokenised``/``tokenized`` or ``false``
  stops the trail (a reviewer signed off on that transformation).

Columns whose lineage is unknown contribute the upstream columns that *were*
resolved; the rest cannot be judged here and are not reported as exposures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tooling.lineage.columns import compute_column_lineage
from tooling.lineage.model_columns import ColumnLineage

MASKED_VALUES = frozenset(
    {
        "hashed",
        "masked",
        "redacted",
        "anonymised",
        "anonymized",
        "pseudonymised",
        "pseudonymized",
        "tokenised",
        "tokenized",
        "false",
    }
)


@dataclass(frozen=True)
class PiiExposure:
    mart: str
    column: str
    source: str
    source_column: str
    path: tuple[str, ...]  # "unique_id.column" from the origin to the mart column

    def message(self) -> str:
        return (
            f"column {self.column} carries PII from {self.source} column "
            f"{self.source_column} unmasked: {' -> '.join(self.path)}"
        )


def _pii_value(column: dict[str, Any]) -> str | None:
    meta = {**(column.get("meta") or {}), **((column.get("config") or {}).get("meta") or {})}
    tags = [*(column.get("tags") or []), *((column.get("config") or {}).get("tags") or [])]
    if "pii" in meta:
        value = meta["pii"]
        return str(value).lower()
    if any(str(t).lower() == "pii" for t in tags):
        return "true"
    return None


def default_is_mart(entry: dict[str, Any]) -> bool:
    """Marts by dbt's conventions: under a ``marts`` folder, or named fct_/dim_/mart_."""
    if entry.get("resource_type") != "model":
        return False
    fqn = [str(p).lower() for p in entry.get("fqn") or []]
    name = str(entry.get("name") or "").lower()
    return "marts" in fqn[:-1] or "mart" in fqn[:-1] or name.startswith(("fct_", "dim_", "mart_"))


def _exposure_finder(
    manifest: dict[str, Any], lineage_map: dict[str, dict[str, ColumnLineage]]
) -> Callable[[str, str], dict[tuple[str, str], tuple[str, ...]]]:
    """``exposed(uid, column)``: the PII origins a column carries unmasked, with paths."""
    entries: dict[str, dict[str, Any]] = {
        **(manifest.get("nodes") or {}),
        **(manifest.get("sources") or {}),
    }
    declared: dict[tuple[str, str], str] = {}
    for uid, entry in entries.items():
        for name, column in (entry.get("columns") or {}).items():
            value = _pii_value(column)
            if value is not None:
                declared[(uid, str(column.get("name") or name).lower())] = value

    memo: dict[tuple[str, str], dict[tuple[str, str], tuple[str, ...]]] = {}

    def exposed(uid: str, column: str, stack: frozenset) -> dict[tuple[str, str], tuple[str, ...]]:
        key = (uid, column.lower())
        if key in memo:
            return memo[key]
        if key in stack:
            return {}
        here = f"{uid}.{column}"
        value = declared.get(key)
        found: dict[tuple[str, str], tuple[str, ...]] = {}
        if value in MASKED_VALUES:
            memo[key] = found
            return found
        if value is not None:  # pii: true / tag pii (any other value counts as PII)
            found[key] = (here,)
        cols = lineage_map.get(uid) or {}
        item = cols.get(column) or next(
            (v for k, v in cols.items() if k.lower() == column.lower()), None
        )
        for ref in item.unmasked if item else []:
            if ref.node is None:
                continue
            for origin, path in exposed(ref.node, ref.column, stack | {key}).items():
                found.setdefault(origin, (*path, here))
        memo[key] = found
        return found

    return lambda uid, column: exposed(uid, column, frozenset())


def pii_exposures(
    manifest: dict[str, Any],
    catalog: dict[str, Any] | None,
    *,
    lineage_map: dict[str, dict[str, ColumnLineage]] | None = None,
    is_mart: Callable[[dict[str, Any]], bool] = default_is_mart,
) -> list[PiiExposure]:
    """Every (mart, column, origin node, origin column, path) with unmasked PII."""
    if lineage_map is None:
        lineage_map = compute_column_lineage(manifest, catalog)
    entries = manifest.get("nodes") or {}
    exposed = _exposure_finder(manifest, lineage_map)
    out: list[PiiExposure] = []
    for uid in sorted(lineage_map):
        entry = entries.get(uid)
        if entry is None or not is_mart(entry):
            continue
        for column in lineage_map[uid]:
            for (origin, origin_col), path in sorted(exposed(uid, column).items()):
                if origin == uid:
                    continue  # a PII tag on the mart itself is the governance rule's business
                out.append(PiiExposure(uid, column, origin, origin_col, path))
    return out


def pii_columns(
    manifest: dict[str, Any],
    catalog: dict[str, Any] | None,
    *,
    lineage_map: dict[str, dict[str, ColumnLineage]] | None = None,
) -> dict[str, set[str]]:
    """Every source and node column holding PII: declared, or carrying it unmasked."""
    if lineage_map is None:
        lineage_map = compute_column_lineage(manifest, catalog)
    exposed = _exposure_finder(manifest, lineage_map)
    out: dict[str, set[str]] = {}
    for group in ("sources", "nodes"):
        for uid, entry in (manifest.get(group) or {}).items():
            names = [str(c.get("name") or n) for n, c in (entry.get("columns") or {}).items()]
            names += [c for c in lineage_map.get(uid, {}) if c not in names]
            for column in names:
                if exposed(uid, column):
                    out.setdefault(uid, set()).add(column.lower())
    return out
