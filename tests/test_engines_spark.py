"""The same dbt project on DuckDB, PostgreSQL and Spark: every mart equal.

ONE build per engine for the module (Spark is slow on 2 cores): the sample is
ingested into DuckDB and built there, then built with `--target postgres` (a
throwaway server on loopback) and `--target spark` (dbt-spark's session method,
local[2], Parquet tables). The test then computes each mart's row count and
content fingerprint (tests/engine_fingerprint.py) inside each engine with that
engine's own SQL, and compares.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from conftest import copy_repo, run_cli, skip_unless
from engine_fingerprint import fingerprint_sql

from tooling.devtools.pg_server import PG_BIN, PgServer, pg_server

pytestmark = [pytest.mark.postgres, pytest.mark.e2e, pytest.mark.spark]


@dataclass
class Engines:
    repo: Path
    server: PgServer
    builds: dict[str, str]  # engine -> build stdout

    @property
    def warehouse(self) -> Path:
        return self.repo / "warehouse" / "dataops.duckdb"

    @property
    def spark_dir(self) -> Path:
        return self.repo / "warehouse" / "spark"


def _build(repo: Path, env: dict[str, str], *args: str) -> str:
    result = run_cli("build", "--no-monitor", "-q", *args, cwd=repo, env=env, timeout=1500)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result.stdout


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    pytest.importorskip("pyspark")
    skip_unless(shutil.which("java") is not None, "Java 17 missing")
    skip_unless((PG_BIN / "initdb").exists(), "PostgreSQL 15 binaries missing")
    repo = copy_repo(tmp_path_factory.mktemp("engines") / "repo")
    with pg_server() as server:
        env = server.env
        builds = {"duckdb": _build(repo, env)}
        builds["postgres"] = _build(repo, env, "--target", "postgres", "--skip-ingest")
        builds["spark"] = _build(repo, env, "--target", "spark", "--skip-ingest")
        yield Engines(repo, server, builds)


@pytest.fixture(scope="module")
def spark(engines: Engines):
    """A Spark session of its own on the build's metastore and warehouse folder."""
    from pyspark.sql import SparkSession

    folder = engines.spark_dir
    session = (
        SparkSession.builder.master("local[2]")
        .appName("dataops-test")
        .enableHiveSupport()
        .config("spark.sql.warehouse.dir", str(folder / "tables"))
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={folder}/metastore_db;create=false",
        )
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={folder}")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    session.stop()


def marts(warehouse: Path) -> dict[str, list[tuple[str, str]]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' order by table_name, ordinal_position"
        ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        out.setdefault(table, []).append((column, data_type))
    return out


def test_every_mart_equal_on_duckdb_postgres_and_spark(engines: Engines, spark) -> None:
    tables = marts(engines.warehouse)
    assert len(tables) == 6
    results: dict[str, dict[str, tuple[int, str]]] = {"duckdb": {}, "postgres": {}, "spark": {}}
    with duckdb.connect(str(engines.warehouse), read_only=True) as con:
        for table, columns in tables.items():
            n, digest = con.execute(fingerprint_sql("duckdb", f"marts.{table}", columns)).fetchone()
            results["duckdb"][table] = (int(n), str(digest))
    with engines.server.connect() as pg:
        pg.execute("set timezone = 'UTC'")
        for table, columns in tables.items():
            sql = fingerprint_sql("postgres", f"public_marts.{table}", columns)
            n, digest = pg.execute(sql).fetchone()
            results["postgres"][table] = (int(n), str(digest))
    for table, columns in tables.items():
        row = spark.sql(fingerprint_sql("spark", f"dataops_marts.{table}", columns)).collect()[0]
        results["spark"][table] = (int(row[0]), str(row[1]))
    assert all(n > 0 for n, _ in results["duckdb"].values())
    assert results["postgres"] == results["duckdb"]
    assert results["spark"] == results["duckdb"]


def test_spark_build_summary_and_what_it_leaves_out(engines: Engines, spark) -> None:
    out = " ".join(engines.builds["spark"].split())
    assert "Raw tables published to spark: 0 moved, 8 unchanged" not in out
    assert "Raw tables published to spark: 8 moved, 0 unchanged" in out
    assert "build passed" in out
    # The snapshot is disabled on Spark (Parquet cannot MERGE): no snapshot row.
    assert "snapshot" not in out.split("dbt build", 1)[1].split("warehouse:", 1)[0]
    # Marts are Parquet tables; raw tables point at the Parquet files DuckDB wrote.
    detail = {
        r[0]: r[1] for r in spark.sql("describe table extended dataops_marts.fct_orders").collect()
    }
    assert detail.get("Provider") == "parquet"
    raw = {r[0]: r[1] for r in spark.sql("describe table extended raw_erp.orders").collect()}
    assert str(engines.spark_dir / "raw" / "raw_erp" / "orders") in raw["Location"]
    assert os.path.isdir(engines.spark_dir / "raw" / "raw_erp" / "orders")
