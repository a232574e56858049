"""tooling.manifest: walks, tests per node, primary keys, layers, the project file.

Expectations come from dbt's own child map (a manifest dbt 1.11 wrote) and from
small graphs whose answers are written out by hand. No dbt run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tooling.errors import DataOpsError
from tooling.manifest import ManifestGraph, layer, read_project_file, walk

CLEAN = Path(__file__).parent / "fixtures" / "check" / "clean" / "manifest.json"


def test_maps_from_depends_on_equal_dbts_child_map() -> None:
    manifest = json.loads(CLEAN.read_text())
    dbt_children = manifest.pop("child_map")
    ours = ManifestGraph.of(manifest).children
    assert {k: sorted(v) for k, v in ours.items()} == {
        k: sorted(v) for k, v in dbt_children.items()
    }


# a -> b -> c -> d, a -> e, e -> d
EDGES = {"a": ["b", "e"], "b": ["c"], "c": ["d"], "e": ["d"], "d": []}


def test_walk_gives_distances_and_stops_at_depth() -> None:
    assert walk(EDGES, ["a"]) == {"a": 0, "b": 1, "e": 1, "c": 2, "d": 2}
    assert walk(EDGES, ["a"], depth=1) == {"a": 0, "b": 1, "e": 1}
    assert walk(EDGES, ["b", "e"]) == {"b": 0, "e": 0, "c": 1, "d": 1}


def test_follow_leaves_out_and_does_not_walk_through() -> None:
    # without e, d is still reached through b -> c
    assert set(walk(EDGES, ["a"], follow=lambda u: u != "e")) == {"a", "b", "c", "d"}
    assert set(walk(EDGES, ["a"], follow=lambda u: u not in {"b", "e"})) == {"a"}


def _graph() -> ManifestGraph:
    def model(name: str, parents: list[str], **extra: object) -> dict:
        return {
            "unique_id": f"model.p.{name}",
            "resource_type": "model",
            "name": name,
            "fqn": ["p", *extra.pop("folders", []), name],  # type: ignore[misc]
            "depends_on": {"nodes": parents},
            **extra,
        }

    def test(name: str, kind: str, attached: str, **extra: object) -> dict:
        return {
            "unique_id": f"test.p.{name}",
            "resource_type": "test",
            "attached_node": attached,
            "depends_on": {"nodes": [attached]},
            "test_metadata": {"name": kind, "kwargs": extra.pop("kwargs", {})},
            **extra,
        }

    nodes = {
        "model.p.stg": model("stg", ["source.p.raw.t"], folders=["staging"]),
        "model.p.mart": model("mart", ["model.p.stg"], folders=["marts", "core"]),
        "model.p.keyed": model("keyed", [], config={"unique_key": "k"}, folders=["intermediate"]),
        "test.p.u": test("u", "unique", "model.p.mart", column_name="b_id"),
        "test.p.u2": test("u2", "unique", "model.p.mart", column_name="a_id"),
        "test.p.nn": test("nn", "not_null", "model.p.mart", column_name="b_id"),
        "test.p.combo": test(
            "combo",
            "dbt_utils.unique_combination_of_columns",
            "model.p.stg",
            kwargs={"combination_of_columns": ["x", "y"]},
        ),
    }
    manifest = {
        "metadata": {"project_name": "p"},
        "nodes": nodes,
        "sources": {"source.p.raw.t": {"resource_type": "source", "depends_on": {}}},
        "exposures": {
            "exposure.p.dash": {
                "resource_type": "exposure",
                "depends_on": {"nodes": ["model.p.mart"]},
            }
        },
        "metrics": {},
    }
    return ManifestGraph.of(manifest)


def test_descendants_and_ancestors_cross_resource_types() -> None:
    graph = _graph()
    down = graph.descendants(["source.p.raw.t"])
    assert down["exposure.p.dash"] == 3
    assert set(down) >= {"model.p.stg", "model.p.mart", "test.p.u", "test.p.combo"}
    assert set(graph.ancestors(["exposure.p.dash"])) == {
        "exposure.p.dash",
        "model.p.mart",
        "model.p.stg",
        "source.p.raw.t",
    }
    assert graph.node("exposure.p.dash") is not None and graph.node("model.p.none") is None


def test_primary_key_prefers_unique_and_not_null_then_combination_then_unique_key() -> None:
    graph = _graph()
    assert graph.primary_key("model.p.mart") == ["b_id"]  # a_id is unique but nullable
    assert graph.primary_key("model.p.stg") == ["x", "y"]
    assert graph.primary_key("model.p.keyed") == ["k"]
    assert graph.has_primary_key_test("model.p.mart")
    assert graph.has_primary_key_test("model.p.stg")
    assert not graph.has_primary_key_test("model.p.keyed")
    assert not graph.has_primary_key_test("model.p.stg", combination_tests=("other",))
    assert {t["unique_id"] for t in graph.tests_for("model.p.mart")} == {
        "test.p.u",
        "test.p.u2",
        "test.p.nn",
    }


def test_layers_come_from_the_folder_under_the_model_path() -> None:
    graph = _graph()
    assert layer(graph.node("model.p.stg") or {}) == "staging"
    assert layer(graph.node("model.p.mart") or {}) == "marts"
    assert layer(graph.node("model.p.keyed") or {}) == "intermediate"
    assert layer(graph.node("model.p.mart") or {}, {"core": "marts"}) is None
    assert layer({"fqn": ["p", "core", "x"]}, {"core": "marts"}) == "marts"


def test_project_file(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    assert read_project_file(tmp_path)["name"] == "shop"
    (tmp_path / "dbt_project.yml").write_text("- not a mapping\n")
    with pytest.raises(DataOpsError, match="not a YAML mapping"):
        read_project_file(tmp_path)
    with pytest.raises(DataOpsError, match="cannot read"):
        read_project_file(tmp_path / "missing")
