"""The same dbt project on DuckDB and Spark: every mart equal.

ONE Spark build for the module (Spark is slow on 2 cores): the sample is
ingested into DuckDB and built there, then built with `--target spark`
(dbt-spark's session method, local[2], Parquet tables). The test computes each
mart's row count and content fingerprint (tests/engine_fingerprint.py) inside
each engine with that engine's own SQL and compares; test_engines_postgres.py
does the same for PostgreSQL against DuckDB, so all three are equal.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from conftest import copy_repo, run_cli, skip_unless
from engine_fingerprint import duckdb_fingerprints, duckdb_marts, fingerprint_sql

pytestmark = [pytest.mark.e2e, pytest.mark.spark]


@dataclass
class Engines:
    repo: Path
    builds: dict[str, str]  # engine -> build stdout

    @property
    def warehouse(self) -> Path:
        return self.repo / "warehouse" / "dataops.duckdb"

    @property
    def spark_dir(self) -> Path:
        return self.repo / "warehouse" / "spark"


def _build(repo: Path, *args: str) -> str:
    result = run_cli("build", "--no-monitor", "-q", *args, cwd=repo, timeout=1800)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result.stdout


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    pytest.importorskip("pyspark")
    skip_unless(shutil.which("java") is not None, "Java 17 missing")
    repo = copy_repo(tmp_path_factory.mktemp("engines") / "repo")
    builds = {"duckdb": _build(repo)}
    builds["spark"] = _build(repo, "--target", "spark", "--skip-ingest")
    # The incremental model again: an incremental run (insert_overwrite of the rebuilt days).
    builds["incremental"] = _build(
        repo, "--target", "spark", "--skip-ingest", "--select", "fct_daily_revenue"
    )
    yield Engines(repo, builds)


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


def test_every_mart_equal_on_duckdb_and_spark(engines: Engines, spark) -> None:
    tables = duckdb_marts(engines.warehouse)
    on_duckdb = duckdb_fingerprints(engines.warehouse, tables)
    built = {r.tableName for r in spark.sql("show tables in dataops_marts").collect()}
    # Python models run on DuckDB only: the build names the ones it disabled here.
    notice = re.search(
        r"disabled by config on this target \(spark\): ([\w, ]+)", engines.builds["spark"]
    )
    disabled = set(notice[1].replace(" ", "").split(",")) if notice else set()
    assert set(tables) - built == disabled and len(built) >= 6
    on_spark = {}
    for table in sorted(built):
        sql = fingerprint_sql("spark", f"dataops_marts.{table}", tables[table])
        row = spark.sql(sql).collect()[0]
        on_spark[table] = (int(row[0]), str(row[1]))
    assert all(n > 0 for n, _ in on_spark.values())
    assert on_spark == {t: on_duckdb[t] for t in built}


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


def test_spark_incremental_run_replaces_only_rebuilt_days(engines: Engines, spark) -> None:
    """After the incremental run (equality above covers its content): one partition a day."""
    out = " ".join(engines.builds["incremental"].split())
    assert "0 moved, 8 unchanged" in out and "build passed" in out
    partitions = spark.sql("show partitions dataops_marts.fct_daily_revenue").count()
    days = spark.sql(
        "select count(distinct revenue_date) from dataops_marts.fct_daily_revenue"
    ).collect()[0][0]
    with duckdb.connect(str(engines.warehouse), read_only=True) as con:
        expected = con.execute("select count(distinct revenue_date) from marts.fct_daily_revenue")
        assert partitions == days == expected.fetchone()[0]
