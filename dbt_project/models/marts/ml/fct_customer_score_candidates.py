"""Scores every customer at the scoring cutoff with the latest trained reorder model.

Loads the joblib artefact of the newest row of fct_reorder_model_runs (checking its
sha256 against the stored model hash) and predicts the 'score' snapshot of
fct_customer_features. It runs after the validation gate on fct_reorder_model_runs,
so when the gate fails dbt skips it and fct_customer_scores keeps its previous contents.
"""

import hashlib
from pathlib import Path

MODEL = "fct_customer_score_candidates"


def model(dbt, session):
    dbt.config(materialized="table")
    features = tuple(str(dbt.config.get("ml_features")).split())
    try:
        import joblib
        import numpy as np
        import pyarrow as pa
    except ImportError as exc:
        raise ValueError(
            f"{MODEL}: scikit-learn (with numpy and joblib) is not installed: {exc}"
        ) from None
    runs = dbt.ref("fct_reorder_model_runs")
    latest = runs.order("trained_at desc").limit(1).project("model_hash, artifact_path").fetchone()
    if latest is None:
        raise ValueError(f"{MODEL}: fct_reorder_model_runs has no training run")
    model_hash, artifact_path = latest
    blob = Path(artifact_path).read_bytes()
    if hashlib.sha256(blob).hexdigest() != model_hash:
        raise ValueError(f"{MODEL}: the artefact {artifact_path} does not match its hash")
    pipeline = joblib.load(artifact_path)
    columns = ", ".join(f"cast({name} as double) as {name}" for name in features)
    data = (
        dbt.ref("fct_customer_features")
        .filter("snapshot_role = 'score'")
        .project(f"customer_id, cutoff_date, {columns}")
        .order("customer_id")
        .fetchnumpy()
    )
    x = np.column_stack([np.asarray(data[name], dtype="float64") for name in features])
    probabilities = pipeline.predict_proba(x)[:, 1] if len(x) else np.array([])
    return pa.table(
        {
            "customer_id": pa.array(np.asarray(data["customer_id"], dtype="int64")),
            "as_of_date": pa.array(
                np.asarray(data["cutoff_date"]).astype("datetime64[D]"), type=pa.date32()
            ),
            "reorder_probability": pa.array(probabilities.astype("float64")),
            "model_hash": pa.array([model_hash] * len(x), type=pa.string()),
        }
    )
