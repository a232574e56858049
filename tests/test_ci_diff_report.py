"""Data diff over two real DuckDB files, and the report built from it (no dbt run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from tooling.ci.diff import diff, primary_key
from tooling.ci.plan import ModifiedNode, Plan
from tooling.ci.pr_report import MARKER, build_report, render_markdown
from tooling.errors import DataOpsError

UID = "model.p.fct_orders"
N = 200


def node(database: str) -> dict[str, Any]:
    return {
        "unique_id": UID,
        "resource_type": "model",
        "name": "fct_orders",
        "database": database,
        "schema": "marts",
        "alias": "fct_orders",
        "config": {"materialized": "table"},
        "columns": {},
        "constraints": [],
    }


def manifest(database: str) -> dict[str, Any]:
    test = {
        "resource_type": "test",
        "attached_node": UID,
        "column_name": "order_id",
        "test_metadata": {"name": "unique", "kwargs": {"column_name": "order_id"}},
    }
    return {
        "nodes": {UID: node(database), "test.p.unique_order_id": test},
        "child_map": {UID: ["test.p.unique_order_id"]},
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("diff")
    prod, ci = folder / "prod.duckdb", folder / "ci.duckdb"
    with duckdb.connect(str(prod)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_orders as select range as order_id, range * 10 as amount, "
            "cast(range % 3 as integer) as qty, 'x' as legacy from range(1, ?)",
            [N + 1],
        )
    with duckdb.connect(str(ci)) as con:
        con.execute(f"attach '{prod}' as prod (read_only)")
        # Branch: orders 1-5 dropped, 201-203 added, amount doubled where order_id % 50 = 0,
        # qty widened to bigint, legacy dropped, channel added.
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_orders as "
            "select order_id, case when order_id % 50 = 0 then amount * 2 else amount end "
            "as amount, cast(qty as bigint) as qty, 'web' as channel "
            "from prod.marts.fct_orders where order_id > 5 "
            "union all select range, range * 10, 0, 'web' from range(?, ?)",
            [N + 1, N + 4],
        )
    return prod, ci


def test_primary_key_comes_from_the_unique_test() -> None:
    assert primary_key(manifest("ci"), UID) == ["order_id"]
    with_constraint = manifest("ci")
    with_constraint["nodes"][UID]["constraints"] = [{"type": "primary_key", "columns": ["a", "b"]}]
    assert primary_key(with_constraint, UID) == ["a", "b"]


def test_diff_counts_rows_and_columns(files: tuple[Path, Path]) -> None:
    prod, ci = files
    before = prod.read_bytes()
    result = diff(
        [UID],
        new_manifest=manifest("ci"),
        prod_manifest=manifest("prod"),
        ci_warehouse=ci,
        prod_warehouse=prod,
        prod_catalog="prod",
    )
    assert prod.read_bytes() == before
    (m,) = result.models
    assert m.columns_added == ["channel"]
    assert m.columns_removed == ["legacy"]
    assert m.columns_retyped == [{"column": "qty", "prod": "INTEGER", "ci": "BIGINT"}]
    assert (m.rows_prod, m.rows_ci) == (N, N - 5 + 3)
    assert (m.rows_added, m.rows_removed) == (3, 5)
    doubled = len([i for i in range(6, N + 1) if i % 50 == 0])
    assert m.rows_changed == doubled  # qty values are equal as text once widened
    assert m.changed_by_column == {"amount": doubled}
    assert [s["order_id"] for s in m.samples["removed"]] == [1, 2, 3]
    assert [s["order_id"] for s in m.samples["added"]] == [N + 1, N + 2, N + 3]
    assert m.samples["changed"][0] == {"order_id": 50, "amount": {"prod": 500, "ci": 1000}}


def test_diff_skips_new_models_and_needs_the_files(files: tuple[Path, Path]) -> None:
    prod, ci = files
    result = diff(
        [UID],
        new_manifest=manifest("ci"),
        prod_manifest={"nodes": {}},
        ci_warehouse=ci,
        prod_warehouse=prod,
        prod_catalog="prod",
    )
    assert result.models == [] and "not in production" in result.skipped[UID]
    with pytest.raises(DataOpsError, match="run `dataops ci run` first"):
        diff(
            [UID],
            new_manifest={},
            prod_manifest={},
            ci_warehouse=ci.with_name("missing.duckdb"),
            prod_warehouse=prod,
            prod_catalog="prod",
        )


def test_report_filters_lint_and_check_to_the_change(files: tuple[Path, Path]) -> None:
    prod, ci = files
    result = diff(
        [UID],
        new_manifest=manifest("ci"),
        prod_manifest=manifest("prod"),
        ci_warehouse=ci,
        prod_warehouse=prod,
        prod_catalog="prod",
    )
    plan = Plan(
        state_dir="ci/state",
        full=False,
        modified=[
            ModifiedNode(
                unique_id=UID,
                resource_type="model",
                name="fct_orders",
                path="models/fct_orders.sql",
                reasons=["SQL body"],
                change_class="breaking",
                columns_removed=["legacy"],
            )
        ],
        impacted=[UID, "model.p.report", "test.p.unique_order_id"],
        edges=[(UID, "model.p.report")],
    )
    lint = {
        "files_linted": 2,
        "violations": [
            {
                "path": "dbt/models/fct_orders.sql",
                "line": 3,
                "column": 1,
                "code": "LT01",
                "description": "spacing",
            },
            {
                "path": "dbt/models/untouched.sql",
                "line": 1,
                "column": 1,
                "code": "LT02",
                "description": "indent",
            },
        ],
    }
    check = {
        "score": 91.5,
        "errors": 2,
        "warnings": 0,
        "findings": [
            {
                "rule": "has_owner",
                "severity": "error",
                "node": UID,
                "path": None,
                "message": "no owner",
            },
            {
                "rule": "has_owner",
                "severity": "error",
                "node": "model.p.elsewhere",
                "path": None,
                "message": "no owner",
            },
        ],
    }
    data = build_report(
        plan,
        run={"built": [UID], "failed": [], "dbt_success": True, "wall_seconds": 1.0},
        diff=result,
        lint=lint,
        check=check,
        project_prefix="dbt",
    )
    assert [v["code"] for v in data["lint"]["violations"]] == ["LT01"]
    assert [f["node"] for f in data["check"]["findings"]] == [UID]
    assert data["breaking"] == [UID] and data["status"] == "failed"  # a governance error
    assert data["modified"][0]["downstream"] == ["model.p.report"]
    text = render_markdown(data)
    assert text.startswith(MARKER + "\n")
    assert "**breaking:** `fct_orders`" in text
    assert "+3 / -5 / ~4 rows" in text and "-legacy" in text and "~qty (INTEGER → BIGINT)" in text
    assert "LT01" in text and "LT02" not in text
    assert "```mermaid" in text and "p_fct_orders --> model_p_report" in text
    assert text.count("<details>") == text.count("</details>")


def test_report_names_skipped_nodes_and_what_would_break() -> None:
    """The run part of the report from a run.json as `ci run` writes it."""
    mart, stg, test = "model.p.customers", "model.p.stg_customers", "test.p.not_null_x.ab12"
    exposure = "exposure.p.dashboard"
    plan = Plan(
        state_dir="ci/state",
        full=False,
        modified=[ModifiedNode(stg, "model", "stg_customers", None, ["SQL body"], "breaking")],
        impacted=[stg, mart, test, exposure, "metric.p.revenue", "saved_query.p.weekly"],
        edges=[(stg, mart)],
    )
    run = {
        "built": [stg, test],
        "failed": [test],
        "dbt_success": False,
        "wall_seconds": 2.0,
        "statuses": {stg: "success", test: "error", mart: "skipped", exposure: "skipped"},
        "skipped": {mart: [test], exposure: [test]},
        "would_break": [
            {"unique_id": mart, "resource_type": "mart", "status": "skipped", "because": [test]},
            {
                "unique_id": exposure,
                "resource_type": "exposure",
                "status": "skipped",
                "because": [test],
            },
        ],
    }
    data = build_report(plan, run=run, diff=None, lint=None, check=None)
    assert data["impacted_by_type"] == {
        "model": 2,
        "test": 1,
        "metric": 1,
        "saved_query": 1,
        "exposure": 1,
    }
    assert data["run_by_type"] == {
        "pass": {"model": 1},
        "error": {"test": 1},
        "skip": {"model": 1, "exposure": 1},
    }
    text = render_markdown(data)
    assert "impact: 2 models, 1 data test, 1 metric, 1 saved query, 1 exposure" in text
    assert "Run: passed 1 model; failed 1 data test; skipped 1 model, 1 exposure" in text
    assert (
        "**Would break:** `customers` (mart, skipped: `not_null_x` failed), "
        "`dashboard` (exposure, skipped: `not_null_x` failed)"
    ) in text
    assert "| `customers` | model | `not_null_x` |" in text
    assert text.count("<details>") == text.count("</details>")
