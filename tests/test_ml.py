"""Show: the ML stage trained, gated and monitored inside real `dataops build`s.

One module builds a temporary copy of the repository on generated data (scale 0.1:
500 customers), through the real console script, then: builds the ML subgraph again
(same model hash, identical scores), with the label shuffled by a fixture (the gate
fails, the published scores keep their contents), with too few rows for training and
without scikit-learn (one line naming the model and cause), with a normal extra day
(no drift) and with a day on which every customer orders (drift naming the features).
Expectations are computed here: the holdout AUC by the Mann-Whitney rank formula from
the stored artefact's predictions, PSI with numpy from fct_customer_features.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import joblib
import numpy as np
import pytest
import yaml
from conftest import REPO, copy_repo, run_cli

from tooling.artifacts import disabled_models
from tooling.sample.generate import generate

pytestmark = pytest.mark.e2e

SCALE = 0.1
# The features the models train on, as dbt_project.yml configures them for the ml folder.
FEATURES = tuple(
    yaml.safe_load((REPO / "dbt_project/dbt_project.yml").read_text())["models"]["dataops"][
        "marts"
    ]["ml"]["+ml_features"].split()
)
ML = ("--skip-ingest", "--select", "fct_customer_features+")
LABEL_SQL = "then coalesce(labels.next_orders, 0) > 0"
SHUFFLED_SQL = "then hash(customer_cutoffs.customer_id, customer_cutoffs.cutoff_date) % 2 = 0"
# Every label false: the model must refuse to train on a single class.
SINGLE_CLASS_SQL = "then false"
SHARE_SQL = "cast(online_order_share as {{ type_double() }}) as online_order_share"
# NaN in one feature for a seventh of the customers (NaN is not NULL: not_null passes it).
NAN_SQL = (
    "cast(case when customer_id % 7 = 0 then 'nan'::double else online_order_share end"
    " as {{ type_double() }}) as online_order_share"
)
BLOCK_SKLEARN = """
import importlib.abc, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError("No module named 'sklearn' (blocked by the test)")
        return None
sys.meta_path.insert(0, _Block())
"""


def query(path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def rank_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney U statistic with mid-ranks for ties."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def feature_psi(warehouse: Path) -> dict[str, float]:
    """PSI per feature: score snapshot vs holdout snapshot, over the holdout's deciles."""
    out = {}
    for name in FEATURES:
        ref = np.array(
            [
                r[0]
                for r in query(
                    warehouse,
                    f"select {name}::double from marts.fct_customer_features where snapshot_role = 'holdout'",
                )
            ]
        )
        cur = np.array(
            [
                r[0]
                for r in query(
                    warehouse,
                    f"select {name}::double from marts.fct_customer_features where snapshot_role = 'score'",
                )
            ]
        )
        edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
        a = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
        b = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
        p, q = np.maximum(a / len(ref), 1e-4), np.maximum(b / len(cur), 1e-4)
        out[name] = float(np.sum((q - p) * np.log(q / p)))
    return out


def scores(warehouse: Path) -> list[tuple[Any, ...]]:
    return query(warehouse, "select * from marts.fct_customer_scores order by customer_id")


def drift_incidents(store: Path) -> set[str]:
    rows = query(
        store,
        "select key from incidents where closed_run is null and check_name = 'feature_drift'",
    )
    return {key.rsplit(":", 1)[-1] for (key,) in rows}


def add_shifted_day(landing: Path, day: str) -> None:
    """A new day on which three customers in five order (the last day's orders as templates)."""
    orders = sorted((landing / "erp/orders").glob("orders_*.csv"))[-1]
    with orders.open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["status"] == "placed"]
    items_by_order: dict[str, list[dict[str, str]]] = {}
    for path in sorted((landing / "erp/order_items").glob("*.csv")):
        with path.open() as handle:
            for item in csv.DictReader(handle):
                items_by_order.setdefault(item["order_id"], []).append(item)
    examples = [r for r in rows if r["order_id"] in items_by_order and r["customer_id"]]
    customers = sorted(
        {
            int(r["customer_id"])
            for p in (landing / "erp/customers").glob("*.csv")
            for r in csv.DictReader(p.open())
        }
    )
    template = [
        {**examples[i % len(examples)], "customer_id": str(c)}
        for i, c in enumerate(c for c in customers if c % 5 < 3)
    ]
    new_orders, new_items = [], []
    for n, row in enumerate(template):
        order_id = str(9_000_000 + n)
        ts = f"{day} {row['ordered_at'][11:]}"
        new_orders.append({**row, "order_id": order_id, "ordered_at": ts, "updated_at": ts})
        for k, item in enumerate(items_by_order[row["order_id"]]):
            new_items.append(
                {**item, "order_item_id": str(90_000_000 + n * 8 + k), "order_id": order_id}
            )
    for folder, name, records in (
        ("erp/orders", f"orders_{day}.csv", new_orders),
        ("erp/order_items", f"order_items_{day}.csv", new_items),
    ):
        with (landing / folder / name).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)


class Scenario:
    def __init__(self, repo: Path, landing: Path) -> None:
        self.repo = repo
        self.landing = landing
        self.results: dict[str, subprocess.CompletedProcess[str]] = {}
        self.snapshots: dict[str, Any] = {}

    @property
    def warehouse(self) -> Path:
        return self.repo / "warehouse" / "dataops.duckdb"

    @property
    def store(self) -> Path:
        return self.repo / "warehouse" / "monitoring.duckdb"

    def build(self, name: str, *args: str, env: dict[str, str] | None = None) -> Any:
        result = run_cli(
            "build",
            "--quiet",
            *args,
            cwd=self.repo,
            env={"DATAOPS_LANDING_ROOT": str(self.landing), **(env or {})},
        )
        self.results[name] = result
        return result

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.repo / relative
        text = path.read_text()
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new))


def ok(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    work = tmp_path_factory.mktemp("ml")
    repo = copy_repo(work / "repo")
    landing = work / "landing"
    generate(landing, SCALE)
    sc = Scenario(repo, landing)
    first = sc.build("first")
    assert first.returncode == 0, ok(first)
    sc.snapshots["first_scores"] = scores(sc.warehouse)
    sc.snapshots["first_psi"] = feature_psi(sc.warehouse)
    sc.snapshots["first_drift"] = drift_incidents(sc.store)
    columns = ", ".join(f"{f}::double" for f in FEATURES)
    sc.snapshots["first_holdout"] = query(
        sc.warehouse,
        f"select {columns}, has_next_order::int from marts.fct_customer_features "
        "where snapshot_role = 'holdout' order by cutoff_date, customer_id",
    )

    second = sc.build("second", *ML)
    assert second.returncode == 0, ok(second)
    sc.snapshots["second_scores"] = scores(sc.warehouse)

    features = "dbt_project/models/marts/ml/fct_customer_features.sql"
    sc.edit(features, LABEL_SQL, SHUFFLED_SQL)
    sc.build("shuffled", *ML)
    sc.snapshots["shuffled_scores"] = scores(sc.warehouse)
    sc.edit(features, SHUFFLED_SQL, LABEL_SQL)

    models = "dbt_project/models/marts/ml/_ml__models.yml"
    sc.edit(models, "ml_min_training_rows: 50", "ml_min_training_rows: 100000")
    sc.build("too_few", "--skip-ingest", "--select", "fct_reorder_model_runs+")
    sc.edit(models, "ml_min_training_rows: 100000", "ml_min_training_rows: 50")
    blocker = work / "block_sklearn"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK_SKLEARN)
    sc.build(
        "no_sklearn",
        "--skip-ingest",
        "--select",
        "fct_reorder_model_runs+",
        env={"PYTHONPATH": str(blocker)},
    )

    sc.edit(features, LABEL_SQL, SINGLE_CLASS_SQL)
    sc.build("single_class", *ML)
    sc.edit(features, SINGLE_CLASS_SQL, LABEL_SQL)
    # NaN reaches the feature mart: its range test stops the build before training; the
    # model's own guard is then driven directly on the NaN rows the failed build left.
    sc.edit(features, SHARE_SQL, NAN_SQL)
    sc.build("nan_feature", *ML)
    sc.build("nan_model", "--skip-ingest", "--select", "fct_reorder_model_runs+")
    sc.snapshots["nan_rows"] = query(
        sc.warehouse,
        "select count(*) from marts.fct_customer_features where isnan(online_order_share)",
    )[0][0]
    sc.edit(features, NAN_SQL, SHARE_SQL)
    sc.snapshots["failed_scores"] = scores(sc.warehouse)
    sc.build("restored", *ML)
    assert sc.results["restored"].returncode == 0, ok(sc.results["restored"])

    add_shifted_day(landing, "2026-10-29")
    # The shifted day also lands in the holdout's label window, so the model may fail the
    # gate's calibration bound too (a real consequence); drift is recorded either way.
    sc.build("shifted_day", "-s", "stg_erp__orders+", "-s", "stg_erp__order_items+")
    sc.snapshots["shifted_psi"] = feature_psi(sc.warehouse)
    sc.snapshots["shifted_drift"] = drift_incidents(sc.store)
    return sc


def test_holdout_auc_above_070_and_the_baseline(scenario: Scenario) -> None:
    auc, baseline, holdout_rows, path, model_hash = query(
        scenario.warehouse,
        "select roc_auc, baseline_roc_auc, holdout_rows, artifact_path, model_hash "
        "from marts.fct_reorder_model_runs order by trained_at limit 1",
    )[0]
    # Recomputed here: the stored artefact's predictions on the holdout snapshot.
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == model_hash
    assert Path(path).parent == scenario.warehouse.parent / "ml_artifacts"
    data = np.array(scenario.snapshots["first_holdout"], dtype=float)
    assert len(data) == holdout_rows > 300
    predicted = joblib.load(path).predict_proba(data[:, :-1])[:, 1]
    recomputed = rank_auc(data[:, -1].astype(int), predicted)
    assert math.isclose(recomputed, auc, abs_tol=1e-9)
    assert auc >= 0.70
    assert auc > baseline + 0.05
    assert baseline == pytest.approx(0.5)


def test_same_data_and_seed_give_the_same_hash_and_scores(scenario: Scenario) -> None:
    runs = query(
        scenario.warehouse,
        "select model_hash, data_fingerprint from marts.fct_reorder_model_runs "
        "order by trained_at limit 2",
    )
    assert len(runs) == 2 and runs[0] == runs[1]
    assert scenario.snapshots["first_scores"] == scenario.snapshots["second_scores"]
    customers = query(
        scenario.warehouse,
        "select count(*) from marts.dim_customers where signed_up_at < "
        "(select max(as_of_date) from marts.fct_customer_scores)",
    )[0][0]
    assert len(scenario.snapshots["first_scores"]) == customers


def test_shuffled_label_fails_the_gate_and_keeps_the_published_scores(scenario: Scenario) -> None:
    result = scenario.results["shuffled"]
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "ML gate failed" in line]
    assert lines and "holdout ROC AUC" in lines[0] and "not published" in lines[0], result.stderr
    assert scenario.snapshots["shuffled_scores"] == scenario.snapshots["second_scores"]
    status = dict(
        query(
            scenario.store,
            "select n.unique_id, n.status from node_results n join runs r using (run_id) "
            "where r.run_id = (select run_id from runs order by started_at limit 1 offset 2)",
        )
    )
    assert status["model.dataops.fct_customer_scores"] == "skipped"
    assert status["model.dataops.fct_customer_score_candidates"] == "skipped"


@pytest.mark.parametrize(
    ("build", "cause"),
    [
        ("too_few", "fct_reorder_model_runs: too few training rows"),
        ("no_sklearn", "fct_reorder_model_runs: scikit-learn (with numpy and joblib) is not"),
        ("single_class", "fct_reorder_model_runs: the training labels have a single class"),
        (
            "nan_model",
            "fct_reorder_model_runs: NaN or infinite values in feature(s) online_order_share",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_model(scenario: Scenario, build: str, cause: str) -> None:
    result = scenario.results[build]
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if cause in line]
    assert len(lines) == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert scenario.snapshots["failed_scores"] == scenario.snapshots["second_scores"]


def test_nan_feature_stops_the_build_at_the_feature_mart_test(scenario: Scenario) -> None:
    result = scenario.results["nan_feature"]
    assert result.returncode == 1
    assert scenario.snapshots["nan_rows"] > 0
    named = [line for line in result.stderr.splitlines() if "online_order_share" in line]
    assert named, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert not [line for line in result.stderr.splitlines() if "ML gate failed" in line]
    assert scenario.snapshots["failed_scores"] == scenario.snapshots["second_scores"]


def test_unshifted_data_raises_no_drift(scenario: Scenario) -> None:
    computed = scenario.snapshots["first_psi"]
    assert max(computed.values()) < 0.25, computed
    assert scenario.snapshots["first_drift"] == set()
    recorded = dict(
        query(
            scenario.store,
            "select feature, psi from feature_drift where run_id = "
            "(select run_id from runs order by started_at limit 1)",
        )
    )
    for name, value in scenario.snapshots["first_psi"].items():
        assert recorded[name] == pytest.approx(value, abs=1e-3)


def test_shifted_batch_raises_drift_naming_the_features(scenario: Scenario) -> None:
    computed = scenario.snapshots["shifted_psi"]
    expected = {name for name, value in computed.items() if value > 0.25}
    assert "recency_days" in expected, computed
    assert scenario.snapshots["shifted_drift"] == expected
    details = query(
        scenario.store,
        "select detail from incidents where closed_run is null and check_name = 'feature_drift'",
    )
    assert any("feature recency_days" in d and "PSI" in d for (d,) in details)
    trained = query(
        scenario.store,
        "select n.status from node_results n where n.unique_id = ? and n.run_id = "
        "(select run_id from runs order by started_at desc limit 1)",
        ["model.dataops.fct_reorder_model_runs"],
    )
    assert trained == [("success",)], ok(scenario.results["shifted_day"])
    status = run_cli("monitor", "status", "--format", "json", cwd=scenario.repo)
    assert status.returncode == 0, status.stderr
    keys = {i["key"] for i in json.loads(status.stdout)["open_incidents"]}
    assert "model.dataops.fct_reorder_model_runs:recency_days" in keys


def test_report_charts_the_model_runs_and_the_drift(scenario: Scenario, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run_cli("monitor", "report", "--out", str(out), cwd=scenario.repo)
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    recorded = query(scenario.store, "select count(distinct run_id) from model_runs")[0][0]
    assert recorded >= 4  # first, second, shuffled (recorded even though the gate failed), shifted
    auc_points = re.findall(r'data-series="fct_reorder_model_runs roc_auc"', html)
    assert len(auc_points) == recorded
    bars = dict(
        re.findall(r'data-label="fct_reorder_model_runs\.(\w+)" data-value="([\d.e-]+)"', html)
    )
    assert set(bars) == set(FEATURES)
    assert float(bars["recency_days"]) == pytest.approx(
        scenario.snapshots["shifted_psi"]["recency_days"], abs=1e-3
    )


def test_ml_models_disabled_by_config_leave_the_rest(scenario: Scenario, tmp_path: Path) -> None:
    """With the enable flag off (as on a target without Python models) dbt drops the ML models."""
    dbt = Path(sys.executable).parent / "dbt"
    project = scenario.repo / "dbt_project"
    result = subprocess.run(
        [str(dbt), "parse", "--vars", "{ml_enabled: false}", "--target-path", str(tmp_path)],
        cwd=project,
        env={**os.environ, "DBT_PROFILES_DIR": str(project), "DO_NOT_TRACK": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    python_models = {"fct_reorder_model_runs", "fct_customer_score_candidates"}
    expected = sorted(python_models | {"fct_customer_scores"})
    assert disabled_models(tmp_path) == expected
    names = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert not names & set(expected) and "fct_customer_features" in names
    built = json.loads((project / "target/manifest.json").read_text())
    enabled = {n["name"] for n in built["nodes"].values() if n["resource_type"] == "model"}
    assert set(expected) <= enabled and names == enabled - set(expected)


def test_lineage_shows_the_python_model_and_its_inputs(scenario: Scenario) -> None:
    result = run_cli(
        "lineage",
        "fct_reorder_model_runs",
        "--upstream",
        "1",
        "--downstream",
        "1",
        "--format",
        "json",
        cwd=scenario.repo,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    manifest = json.loads((scenario.repo / "dbt_project/target/manifest.json").read_text())
    node = manifest["nodes"]["model.dataops.fct_reorder_model_runs"]
    assert node["language"] == "python"
    assert {n["unique_id"] for n in data["upstream"]} == set(node["depends_on"]["nodes"])
    runs_id = "model.dataops.fct_reorder_model_runs"
    children = {
        uid
        for uid, n in manifest["nodes"].items()
        if n["resource_type"] == "model" and runs_id in n["depends_on"]["nodes"]
    }
    assert children == {"model.dataops.fct_customer_score_candidates"}
    assert {n["unique_id"] for n in data["downstream"]} == children
