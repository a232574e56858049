"""The redaction function and the small one-line guards of issue 13 (no dbt run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion import redact
from tooling.ci.ci_warehouse import prepare_ci_warehouse, require_production_warehouse
from tooling.ci.paths import CiPaths
from tooling.errors import DataOpsError
from tooling.monitor.alerts import mask_url, post
from tooling.state import ProductionState


@pytest.fixture(autouse=True)
def _fresh_registry() -> None:
    redact.clear()


def test_registered_secret_and_its_echoable_parts() -> None:
    dsn = "postgresql://svc:Pg%zzS3cret@db.internal:5432/prod?sslpassword=Q1uery9&x=1"
    redact.register(dsn)
    for text, secret in [
        (f"cannot connect to {dsn}", dsn),
        ('invalid percent-encoded token: "Pg%zzS3cret"', "Pg%zzS3cret"),
        ("sslpassword Q1uery9 rejected", "Q1uery9"),
        ("user svc:Pg%zzS3cret", "svc:Pg%zzS3cret"),
    ]:
        out = redact.redact(text)
        assert secret not in out and "***" in out, out


def test_unregistered_credentials_are_removed_by_shape() -> None:
    text = (
        "fetch http://bob:hunter22@api.example.com/v1 failed; "
        "dsn host=db password=Tr0ub4dor user=x; "
        "postgresql://db.example.com/prod?password=abc123&sslmode=require"
    )
    out = redact.redact(text)
    for secret in ("hunter22", "Tr0ub4dor", "abc123"):
        assert secret not in out
    assert "api.example.com/v1" in out and "host=db" in out  # the rest stays useful


def test_env_values_and_json_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TOKEN", "tok-1234-secret")
    redact.register_env(["MY_TOKEN", "UNSET_VARIABLE_X", None])
    payload = {"text": "bearer tok-1234-secret refused", "list": ["tok-1234-secret"], "n": 3}
    assert redact.redact_value(payload) == {"text": "bearer *** refused", "list": ["***"], "n": 3}


def test_short_values_are_not_masked() -> None:
    redact.register("ab")
    assert redact.redact("ab cab") == "ab cab"


def test_a_webhook_with_an_impossible_port_never_raises() -> None:
    url = "http://127.0.0.1:99999/hook/Secr3tPath"
    assert mask_url(url) == "<webhook>/***"
    delivery = post(url, {"text": "x"}, attempts=1, backoff=0, timeout=1)
    assert not delivery.delivered and "Secr3tPath" not in (delivery.error or "")


def test_state_without_warehouse_names_the_missing_file(tmp_path: Path) -> None:
    prod = ProductionState(directory=tmp_path, manifest={}, catalog=None, warehouse=None)
    with pytest.raises(DataOpsError, match=r"has no warehouse\.duckdb"):
        require_production_warehouse(prod, tmp_path)


def test_corrupt_production_warehouse_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "warehouse.duckdb"
    bad.write_bytes(b"this is not a duckdb file" * 100)
    manifest = {"nodes": {"model.p.m": {"resource_type": "model", "database": "warehouse"}}}
    prod = ProductionState(directory=tmp_path, manifest=manifest, catalog=None, warehouse=bad)
    with pytest.raises(DataOpsError, match=r"cannot prepare the CI warehouse from .*warehouse"):
        prepare_ci_warehouse(CiPaths(tmp_path / "ci"), prod)
