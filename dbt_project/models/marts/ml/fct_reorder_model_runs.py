"""One row per training run of the reorder model (a dbt Python model, run in-process by dbt-duckdb).

Trains a scikit-learn pipeline (standard scaling + logistic regression) on the 'train'
snapshots of fct_customer_features and validates it on the 'holdout' snapshot (the most
recent cutoff whose label window is complete: a time-based split). Hyperparameters, the
seed and the minimum training rows come from this model's config (_ml__models.yml).

Each run appends one row: ROC AUC, log loss, Brier score and expected calibration error on
the holdout, the same for a naive baseline (the training base rate for everyone), the row
counts, a sha256 fingerprint of the training data and the sha256 of the joblib artefact,
which is stored content-addressed as <warehouse folder>/ml_artifacts/<model hash>.joblib,
so the same data and seed give the same hash (and file). It also stores, per feature, the
decile edges of the holdout rows (the newest labelled population the run validated on, the
drift reference) with the holdout's and the scoring population's shares per bin, from
which `dataops monitor` computes the population stability index.

Bad input raises one line naming this model and the cause: too few training rows, a single
class, NaN features, scikit-learn missing. Nothing downstream (fct_customer_scores) is
built then.
"""

import hashlib
import io
import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path

MODEL = "fct_reorder_model_runs"
BINS = 10


class TrainingError(ValueError):
    pass


def _fail(cause):
    raise TrainingError(f"{MODEL}: {cause}")


def _load(dbt, features):
    columns = ", ".join(f"cast({name} as double) as {name}" for name in features)
    relation = dbt.ref("fct_customer_features").project(
        f"customer_id, cutoff_date, snapshot_role, has_next_order, {columns}"
    )
    return relation.order("cutoff_date, customer_id").fetchnumpy()


def _matrix(np, data, mask, features):
    return np.column_stack([np.asarray(data[name], dtype="float64")[mask] for name in features])


def _calibration_error(np, y, p):
    """Expected calibration error over 10 equal-width probability bins."""
    bins = np.minimum((p * 10).astype(int), 9)
    total = 0.0
    for b in range(10):
        in_bin = bins == b
        if in_bin.any():
            total += in_bin.sum() * abs(p[in_bin].mean() - y[in_bin].mean())
    return float(total / len(y))


def _metrics(sk_metrics, np, y, p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return {
        "roc_auc": float(sk_metrics.roc_auc_score(y, p)),
        "log_loss": float(sk_metrics.log_loss(y, p, labels=[0, 1])),
        "brier_score": float(sk_metrics.brier_score_loss(y, p)),
        "calibration_error": _calibration_error(np, y, p),
    }


def _profile(np, reference, current, features):
    """Per feature: decile edges of the reference rows, and both populations' bin shares.

    Bin i holds edges[i-1] <= x < edges[i] (bin 0 below the first edge, the last bin at or
    above the last edge).
    """
    profile = {}
    for i, name in enumerate(features):
        edges = np.unique(np.quantile(reference[:, i], np.linspace(0, 1, BINS + 1)[1:-1]))
        shares = []
        for values in (reference[:, i], current[:, i]):
            counts = np.bincount(
                np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1
            )
            shares.append([round(float(c) / max(len(values), 1), 6) for c in counts])
        profile[name] = {
            "edges": [float(e) for e in edges],
            "reference": shares[0],
            "current": shares[1],
            "reference_rows": len(reference),
            "current_rows": len(current),
        }
    return profile


def _artifact_dir(session):
    row = session.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    if not row or not row[0]:
        _fail("the warehouse is not a DuckDB file, so there is no folder for the model artefact")
    return Path(row[0]).resolve().parent / "ml_artifacts"


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="append")
    features = tuple(str(dbt.config.get("ml_features")).split())
    seed = int(dbt.config.get("ml_seed"))
    hyperparameters = {
        "C": float(dbt.config.get("ml_c")),
        "max_iter": int(dbt.config.get("ml_max_iter")),
    }
    min_rows = int(dbt.config.get("ml_min_training_rows"))
    try:
        import joblib
        import numpy as np
        import pyarrow as pa
        from sklearn import metrics as sk_metrics
        from sklearn.dummy import DummyClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError as exc:
        _fail(f"scikit-learn (with numpy and joblib) is not installed: {exc}")

    data = _load(dbt, features)
    role = np.asarray(data["snapshot_role"]).astype(str)
    train, holdout, score = role == "train", role == "holdout", role == "score"
    x_all = _matrix(np, data, np.ones(len(role), dtype=bool), features)
    bad = [name for i, name in enumerate(features) if not np.isfinite(x_all[:, i]).all()]
    if bad:
        _fail(f"NaN or infinite values in feature(s) {', '.join(bad)} of fct_customer_features")
    labels = np.asarray(data["has_next_order"], dtype=object)
    for name, mask in (("training", train), ("holdout", holdout)):
        count = int(mask.sum())
        if count < min_rows:
            _fail(f"too few {name} rows ({count} < ml_min_training_rows {min_rows})")
        classes = {bool(v) for v in labels[mask]}
        if len(classes) < 2:
            _fail(f"the {name} labels have a single class ({classes.pop()} for all {count} rows)")
    x_train, x_holdout, x_score = x_all[train], x_all[holdout], x_all[score]
    y_train = labels[train].astype(bool).astype(int)
    y_holdout = labels[holdout].astype(bool).astype(int)

    pipeline = make_pipeline(
        StandardScaler(), LogisticRegression(random_state=seed, **hyperparameters)
    )
    pipeline.fit(x_train, y_train)
    baseline = DummyClassifier(strategy="prior").fit(x_train, y_train)
    model_metrics = _metrics(sk_metrics, np, y_holdout, pipeline.predict_proba(x_holdout)[:, 1])
    baseline_metrics = _metrics(sk_metrics, np, y_holdout, baseline.predict_proba(x_holdout)[:, 1])

    fingerprint = hashlib.sha256()
    for column in (data["customer_id"][train], data["cutoff_date"][train], x_train, y_train):
        fingerprint.update(np.ascontiguousarray(np.asarray(column).astype(str)).tobytes())
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer)
    blob = buffer.getvalue()
    model_hash = hashlib.sha256(blob).hexdigest()
    folder = _artifact_dir(session)
    folder.mkdir(parents=True, exist_ok=True)
    artifact = folder / f"{model_hash}.joblib"
    if not artifact.exists():
        partial = artifact.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(blob)
        partial.replace(artifact)

    cutoffs = np.asarray(data["cutoff_date"]).astype("datetime64[D]")
    row = {
        "trained_at": datetime.now(UTC).replace(tzinfo=None),
        "model_name": "reorder_within_label_days",
        "estimator": "StandardScaler+LogisticRegression",
        "hyperparameters": json.dumps(hyperparameters, sort_keys=True),
        "seed": seed,
        "training_rows": int(train.sum()),
        "holdout_rows": int(holdout.sum()),
        "scoring_rows": int(score.sum()),
        "training_positive_rate": float(y_train.mean()),
        "holdout_cutoff_date": cutoffs[holdout].max().item(),
        "scoring_cutoff_date": cutoffs[score].max().item() if score.any() else None,
        **model_metrics,
        **{f"baseline_{k}": v for k, v in baseline_metrics.items()},
        "data_fingerprint": fingerprint.hexdigest(),
        "model_hash": model_hash,
        "artifact_path": str(artifact),
        "feature_profile": json.dumps(_profile(np, x_holdout, x_score, features), sort_keys=True),
    }
    if any(isinstance(v, float) and not math.isfinite(v) for v in row.values()):
        _fail(f"a holdout metric is not finite: {row}")
    return pa.Table.from_pylist([row])
