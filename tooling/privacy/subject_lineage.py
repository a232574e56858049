"""Which dbt model columns hold a data subject's raw column, value for value, by lineage.

A column counts when some lineage path from the raw column reaches it unmasked
(not hashed, counted or compared) and its own expression passes the value on
unchanged (renamed or cast): a rank or a sum over the key derives from it
without holding it, and matching those would find other subjects' rows.
"""

from __future__ import annotations

from typing import Any

from ingestion.config import Entity, SubjectColumn


def lineage_columns(
    manifest: dict[str, Any],
    catalog: dict[str, Any] | None,
    entities: list[Entity],
    key: str,
) -> dict[str, dict[str, SubjectColumn]]:
    """unique_id -> {column: the raw subject column it carries, unmasked, by lineage}."""
    from tooling.lineage.columns import column_children, compute_column_lineage

    by_relation = {(e.schema.lower(), e.name.lower()): e for e in entities}
    starts: list[tuple[str, str, SubjectColumn]] = []
    for uid, src in (manifest.get("sources") or {}).items():
        ident = str(src.get("identifier") or src.get("name") or "").lower()
        ent = by_relation.get((str(src.get("schema") or "").lower(), ident))
        if ent is None:
            continue
        for sub in ent.subjects:
            if sub.key == key:
                starts.append((uid, sub.column.lower(), sub))
    if not starts:
        return {}
    lineage = compute_column_lineage(manifest, catalog)
    children = column_children(lineage)
    carries = _Carries(manifest, catalog)
    out: dict[str, dict[str, SubjectColumn]] = {}
    queue = list(starts)
    seen = {(u, c) for u, c, _ in starts}
    while queue:
        node, col, sub = queue.pop()
        for child, child_col in children.get((node, col), []):
            item = lineage.get(child, {}).get(child_col)
            if item is None or not any(
                ref.node == node and ref.column.lower() == col for ref in item.unmasked
            ):
                continue  # masked on every path: hashed, counted, compared
            if not carries(child, child_col):
                continue  # derived from it (a rank over it, a sum) but not its value
            out.setdefault(child, {})[child_col] = sub
            if (child, child_col.lower()) not in seen:
                seen.add((child, child_col.lower()))
                queue.append((child, child_col.lower(), sub))
    return out


def _preserves_value(node: Any) -> bool:
    """Whether a lineage node passes a column's value on unchanged (renamed or cast).

    A row number partitioned by the key, a count or a sum derive from the key
    without holding it: matching them against the subject's value would find
    (and erase) other subjects' rows.
    """
    from sqlglot import exp

    expression = node.expression
    if isinstance(expression, exp.Table):
        return True
    if isinstance(expression, exp.Alias):
        expression = expression.this
    while isinstance(expression, exp.Cast | exp.TryCast | exp.Paren):
        expression = expression.this
    if not isinstance(expression, exp.Column):
        return False
    return any(_preserves_value(child) for child in node.downstream)


class _Carries:
    """``carries(uid, column)``: the model's column holds an upstream value as is."""

    def __init__(self, manifest: dict[str, Any], catalog: dict[str, Any] | None) -> None:
        from tooling.lineage.relations import relation_columns, sql_dialect

        self.manifest = manifest
        self.known = relation_columns(manifest, catalog)
        self.dialect = sql_dialect(manifest)
        self.roots: dict[str, dict[str, Any]] = {}

    def _roots(self, uid: str) -> dict[str, Any]:
        if uid in self.roots:
            return self.roots[uid]
        from sqlglot.lineage import lineage

        entry = (self.manifest.get("nodes") or {}).get(uid) or {}
        schema: dict[str, Any] = {}
        for parent in (entry.get("depends_on") or {}).get("nodes") or []:
            if parent in self.known:
                (db, sch, table), cols = self.known[parent]
                if cols:
                    schema.setdefault(db, {}).setdefault(sch, {})[table] = cols
        try:
            roots = lineage(
                None,
                entry.get("compiled_code") or "",
                schema,
                dialect=self.dialect,
                trim_selects=False,
            )
            found = {name.lower(): root for name, root in roots.items()}
        except Exception:  # sqlglot raises more than SqlglotError on odd SQL
            found = {}
        self.roots[uid] = found
        return found

    def __call__(self, uid: str, column: str) -> bool:
        root = self._roots(uid).get(column.lower())
        return root is not None and _preserves_value(root)
