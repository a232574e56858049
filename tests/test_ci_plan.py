"""Why-modified reasons, change classes and impact, on small fixture manifests (no dbt)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tooling.ci.plan import build_plan, classify, descendants, reasons_for


def model(name: str, sql: str, *, contract: dict[str, str] | None = None, **config: Any) -> dict:
    columns = {c: {"name": c, "data_type": t} for c, t in (contract or {}).items()}
    return {
        "unique_id": f"model.p.{name}",
        "resource_type": "model",
        "name": name,
        "original_file_path": f"models/{name}.sql",
        "checksum": {"name": "sha256", "checksum": sql},
        "config": {"materialized": "view", "schema": "s", "database": "prod", **config},
        "unrendered_config": dict(config),
        "contract": {"enforced": contract is not None, "checksum": str(sorted(columns.items()))},
        "columns": columns,
        "depends_on": {"macros": ["macro.p.cents"], "nodes": []},
        "description": "",
    }


@pytest.fixture
def prod() -> dict[str, Any]:
    nodes = {
        "model.p.stg": model("stg", "a"),
        "model.p.mart": model("mart", "b", contract={"id": "bigint", "amount": "decimal(18,2)"}),
        "model.p.other": model("other", "c"),
        "seed.p.codes": {
            "unique_id": "seed.p.codes",
            "resource_type": "seed",
            "name": "codes",
            "checksum": {"name": "sha256", "checksum": "s1"},
            "config": {},
            "unrendered_config": {},
        },
        "test.p.unique_mart_id": {"resource_type": "test", "name": "unique_mart_id"},
    }
    return {
        "metadata": {"project_name": "p"},
        "nodes": nodes,
        "sources": {
            "source.p.raw.t": {
                "unique_id": "source.p.raw.t",
                "resource_type": "source",
                "name": "t",
                "identifier": "t",
                "loaded_at_field": "_loaded_at",
                "database": "prod",
            }
        },
        "macros": {
            "macro.p.cents": {"name": "cents", "macro_sql": "x / 100", "depends_on": {"macros": []}}
        },
        "child_map": {
            "source.p.raw.t": ["model.p.stg"],
            "model.p.stg": ["model.p.mart"],
            "model.p.mart": ["test.p.unique_mart_id"],
            "model.p.other": [],
            "seed.p.codes": [],
            "test.p.unique_mart_id": [],
        },
    }


def test_each_kind_of_change_gets_its_reason(prod: dict[str, Any]) -> None:
    new = copy.deepcopy(prod)
    new["nodes"]["model.p.stg"]["checksum"]["checksum"] = "a2"
    new["nodes"]["model.p.other"]["unrendered_config"]["materialized"] = "table"
    new["nodes"]["model.p.other"]["config"]["materialized"] = "table"
    new["nodes"]["seed.p.codes"]["checksum"]["checksum"] = "s2"
    new["sources"]["source.p.raw.t"]["loaded_at_field"] = "updated_at"
    new["sources"]["source.p.raw.t"]["database"] = "ci"  # environment, not definition
    assert reasons_for("model.p.stg", new, prod) == ["SQL body"]
    assert reasons_for("model.p.other", new, prod) == ["config: materialized"]
    assert reasons_for("seed.p.codes", new, prod) == ["seed contents"]
    assert reasons_for("source.p.raw.t", new, prod) == ["source definition: loaded_at_field"]
    assert reasons_for("model.p.mart", new, prod) == ["other (dbt state:modified)"]

    macro = copy.deepcopy(prod)
    macro["macros"]["macro.p.cents"]["macro_sql"] = "x / 100.0"
    assert reasons_for("model.p.stg", macro, prod) == ["macro cents"]

    contract = copy.deepcopy(prod)
    contract["nodes"]["model.p.mart"]["contract"]["checksum"] = "changed"
    assert reasons_for("model.p.mart", contract, prod) == ["contract"]

    fresh = copy.deepcopy(prod)
    fresh["nodes"]["model.p.new"] = model("new", "n")
    assert reasons_for("model.p.new", fresh, prod) == ["new node"]


def test_environment_only_config_differences_are_not_reasons(prod: dict[str, Any]) -> None:
    new = copy.deepcopy(prod)
    new["nodes"]["model.p.stg"]["checksum"]["checksum"] = "a2"
    new["nodes"]["model.p.stg"]["config"]["database"] = "ci"
    assert reasons_for("model.p.stg", new, prod) == ["SQL body"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"a": "int"}, {"a": "int", "b": "text"}, ("non-breaking", ["b"], [], [])),
        ({"a": "int", "b": "text"}, {"a": "int"}, ("breaking", [], ["b"], [])),
        ({"a": "int"}, {"a": "bigint"}, ("breaking", [], [], ["a"])),
        ({"a": "int"}, {"x": "int"}, ("breaking", ["x"], ["a"], [])),  # a rename
        ({"a": "decimal(18, 2)"}, {"a": "DECIMAL(18,2)"}, ("non-breaking", [], [], [])),
        (None, {"a": "int"}, ("unknown", [], [], [])),
    ],
)
def test_classify(old: Any, new: Any, expected: tuple) -> None:
    assert classify(old, new) == expected


def test_plan_classes_impact_and_deletions(prod: dict[str, Any]) -> None:
    new = copy.deepcopy(prod)
    mart = new["nodes"]["model.p.mart"]
    mart["checksum"]["checksum"] = "b2"
    del mart["columns"]["amount"]
    mart["contract"]["checksum"] = "changed"
    new["nodes"]["model.p.stg"]["checksum"]["checksum"] = "a2"
    del new["nodes"]["model.p.other"]
    plan = build_plan(
        new=new,
        old=prod,
        modified_ids=["model.p.stg", "model.p.mart", "test.p.unique_mart_id"],
    )
    assert plan.modified_ids == ["model.p.stg", "model.p.mart"]  # tests are impact, not cause
    by_id = {m.unique_id: m for m in plan.modified}
    assert by_id["model.p.mart"].change_class == "breaking"
    assert by_id["model.p.mart"].columns_removed == ["amount"]
    assert by_id["model.p.stg"].change_class == "unknown"  # no contract: decided by the diff
    assert set(plan.impacted) == {"model.p.stg", "model.p.mart", "test.p.unique_mart_id"}
    assert plan.deleted == ["model.p.other"]
    assert ("model.p.stg", "model.p.mart") in plan.edges


def test_descendants_follow_the_child_map(prod: dict[str, Any]) -> None:
    assert descendants(prod, ["source.p.raw.t"]) == [
        "source.p.raw.t",
        "model.p.stg",
        "model.p.mart",
        "test.p.unique_mart_id",
    ]
