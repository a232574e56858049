"""The CI file set-up that `ci run` makes in a thread while dbt parses (CiFileSetup).

Its errors reach the caller as one DataOpsError line, and a failed or
abandoned set-up leaves neither a CI file nor a production copy behind.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tooling.ci import isolation
from tooling.ci.ci_warehouse import CiFileSetup
from tooling.ci.paths import CiPaths
from tooling.errors import DataOpsError
from tooling.production_state import ProductionState

MANIFEST = {
    "nodes": {
        "model.p.m": {"resource_type": "model", "database": "warehouse", "schema": "main"},
    }
}


def production(tmp_path: Path) -> ProductionState:
    path = tmp_path / "state" / "warehouse.duckdb"
    path.parent.mkdir()
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw; create table raw.orders as select 1 as id")
    return ProductionState(directory=path.parent, manifest=MANIFEST, catalog=None, warehouse=path)


def left_behind(paths: CiPaths, prod: ProductionState) -> list[Path]:
    assert prod.warehouse is not None
    copy = paths.production_copy(prod.warehouse)
    candidates = [paths.warehouse, copy]
    candidates += [p.with_name(p.name + ".wal") for p in candidates]
    return [p for p in candidates if p.exists()]


def test_the_set_up_makes_the_ci_file_and_the_private_copy(tmp_path: Path) -> None:
    prod = production(tmp_path)
    paths = CiPaths(tmp_path / "ci")
    CiFileSetup(paths, prod).wait()
    assert prod.warehouse is not None
    copy = paths.production_copy(prod.warehouse)
    assert copy.read_bytes() == prod.warehouse.read_bytes()
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute(f"attach '{copy}' as warehouse (read_only)")
        assert con.execute("select id from raw.orders").fetchall() == [(1,)]


def test_a_corrupt_production_file_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    prod = production(tmp_path)
    assert prod.warehouse is not None
    prod.warehouse.write_bytes(b"this is not a duckdb file" * 100)
    paths = CiPaths(tmp_path / "ci")
    setup = CiFileSetup(paths, prod)
    with pytest.raises(DataOpsError, match=r"cannot prepare the CI warehouse from ") as info:
        setup.wait()
    assert "\n" not in str(info.value)
    assert left_behind(paths, prod) == []


def test_a_failed_copy_is_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prod = production(tmp_path)
    paths = CiPaths(tmp_path / "ci")

    def half_a_copy(source: Path, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes()[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(isolation, "private_copy", half_a_copy)
    setup = CiFileSetup(paths, prod)
    with pytest.raises(DataOpsError, match=r"cannot copy the production warehouse .*: No space"):
        setup.wait()
    assert left_behind(paths, prod) == []


def test_an_abandoned_set_up_leaves_nothing(tmp_path: Path) -> None:
    """The parse (or the selection) failed while the thread worked: the run removes its files."""
    prod = production(tmp_path)
    paths = CiPaths(tmp_path / "ci")
    CiFileSetup(paths, prod).abandon()
    assert left_behind(paths, prod) == []
