"""Semantic models, metrics, saved queries and exposures are lineage nodes (issue 12)."""

from __future__ import annotations

from pathlib import Path

from lineage_fixture import col, manifest, model, rel, source

from tooling.docs.site import build_site, page_name
from tooling.lineage.graph import build_graph, resolve_node
from tooling.lineage.query import node_lineage

SRC = "source.proj.shop.orders"
FCT = "model.proj.fct_orders"
SEM = "semantic_model.proj.orders"
REVENUE = "metric.proj.revenue"
AOV = "metric.proj.average_order_value"
SAVED = "saved_query.proj.weekly_revenue"
EXPO = "exposure.proj.board"


def semantic_manifest() -> dict:
    src = source("shop", "orders", [col("id"), col("amount")])
    fct = model("fct_orders", f"select id, amount from {rel('raw', 'orders')}", [SRC], [])
    man = manifest(src, fct)

    def entry(uid: str, rtype: str, name: str, depends: list[str]) -> dict:
        return {
            "unique_id": uid,
            "resource_type": rtype,
            "name": name,
            "description": f"the {name} {rtype}",
            "depends_on": {"nodes": depends},
        }

    man["semantic_models"] = {SEM: entry(SEM, "semantic_model", "orders", [FCT])}
    man["metrics"] = {
        REVENUE: entry(REVENUE, "metric", "revenue", [SEM]),
        AOV: entry(AOV, "metric", "average_order_value", [REVENUE]),
    }
    man["saved_queries"] = {SAVED: entry(SAVED, "saved_query", "weekly_revenue", [AOV])}
    man["exposures"] = {EXPO: entry(EXPO, "exposure", "board", [SAVED, FCT])}
    return man


def test_semantic_nodes_are_in_the_graph_and_the_lineage_command() -> None:
    man = semantic_manifest()
    graph = build_graph(man)
    assert graph.parents[SEM] == [FCT]
    assert graph.parents[AOV] == [REVENUE]
    assert graph.parents[SAVED] == [AOV]
    assert sorted(graph.parents[EXPO]) == [FCT, SAVED]
    assert resolve_node(man, "average_order_value") == AOV
    result = node_lineage(man, FCT, 0, None)
    data = result.as_dict()
    assert set(data["nodes"]) == {FCT, SEM, REVENUE, AOV, SAVED, EXPO}
    assert [FCT, SEM] in data["edges"] and [AOV, SAVED] in data["edges"]
    chart = result.mermaid()
    assert "n_semantic_model_proj_orders --> n_metric_proj_revenue" in chart
    assert '["weekly_revenue (saved_query)"]' in chart
    tree = node_lineage(man, SAVED, None, 0).upstream
    chain = []
    while tree.edges:
        tree = tree.edges[0]
        chain.append((tree.unique_id, tree.resource_type))
    assert chain == [
        (AOV, "metric"),
        (REVENUE, "metric"),
        (SEM, "semantic_model"),
        (FCT, "model"),
        (SRC, "source"),
    ]


def test_semantic_nodes_have_pages(tmp_path: Path) -> None:
    build_site(semantic_manifest(), None, None, tmp_path)
    pages = {p.name for p in (tmp_path / "nodes").iterdir()}
    assert {page_name(u) for u in (SEM, REVENUE, AOV, SAVED, EXPO)} <= pages
    text = (tmp_path / "nodes" / page_name(REVENUE)).read_text()
    assert f'href="{page_name(SEM)}"' in text and f'href="{page_name(AOV)}"' in text


def test_a_manifest_from_a_newer_dbt_schema_is_refused_in_one_line(tmp_path: Path) -> None:
    import json

    from conftest import run_cli

    project = tmp_path / "proj"
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: proj\nprofile: proj\n")
    man = semantic_manifest()
    man["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/manifest/v13.json"
    man["metadata"]["dbt_version"] = "1.12.0"
    (project / "target" / "manifest.json").write_text(json.dumps(man))
    result = run_cli("lineage", "fct_orders", "--project-dir", str(project), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: manifest.json is dbt schema v13 (dbt 1.12.0), newer than")
    assert "Traceback" not in result.stderr
