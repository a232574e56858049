"""The same dbt project on DuckDB and Spark: every mart equal.

ONE Spark build for the module (Spark is slow on 2 cores): the sample is
ingested into DuckDB and built there, then built with `--target spark`
(dbt-spark's session method, local[2], Parquet tables). The test computes each
mart's row count and content fingerprint (tests/engine_fingerprint.py) inside
each engine with that engine's own SQL and compares; test_engines_postgres.py
does the same for PostgreSQL against DuckDB, so all three are equal.
"""

from __future__ import annotations

import json
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


def _build(repo: Path, *args: str, monitor: bool = False) -> str:
    flags = ["-q"] if monitor else ["--no-monitor", "-q"]
    result = run_cli("build", *flags, *args, cwd=repo, timeout=1800)
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
    # Monitored: its row counts are asked of the build's own Spark session.
    builds["incremental"] = _build(
        repo, "--target", "spark", "--skip-ingest", "--select", "fct_daily_revenue", monitor=True
    )
    yield Engines(repo, builds)


# The tests below run `dataops` commands that open Spark themselves (dbt docs
# generate): they come before any test using the `spark` fixture, since the Derby
# metastore takes one JVM at a time.


def test_spark_docs_build_reads_the_catalog_from_spark(engines: Engines) -> None:
    site = engines.repo / "site"
    result = run_cli("docs", "build", "--target", "spark", cwd=engines.repo, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (site / "index.html").is_file() and (site / "dbt" / "index.html").is_file()
    catalog = json.loads((engines.repo / "dbt_project" / "target" / "catalog.json").read_text())
    nodes = {n["metadata"]["name"]: n for n in catalog["nodes"].values()}
    # Every mart Spark holds, with DuckDB's columns under Spark's type names.
    on_duckdb = duckdb_marts(engines.warehouse)
    spark_marts = {
        name: n for name, n in nodes.items() if n["metadata"]["schema"] == "dataops_marts"
    }
    assert len(spark_marts) >= 6 and set(spark_marts) <= set(on_duckdb)
    for name, node in spark_marts.items():
        # (as a set: Spark puts a partition column, fct_daily_revenue's day, last)
        assert {c["name"] for c in node["columns"].values()} == {c for c, _ in on_duckdb[name]}
    types = {c["type"] for n in spark_marts.values() for c in n["columns"].values()}
    assert "string" in types and not any("varchar" in t.lower() for t in types), types
    # The build's run_results.json is back, with its own time (state publish reads it).
    results = json.loads((engines.repo / "dbt_project" / "target" / "run_results.json").read_text())
    assert results["args"]["which"] == "build"


def test_spark_state_publish_is_the_artifacts_only(engines: Engines, tmp_path: Path) -> None:
    state = tmp_path / "state"
    target = engines.repo / "dbt_project" / "target"
    catalog = target / "catalog.json"
    catalog_before = catalog.read_bytes() if catalog.is_file() else None
    result = run_cli("state", "publish", str(state), "--target", "spark", cwd=engines.repo)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "no warehouse copy" in result.stdout
    assert not (state / "warehouse.duckdb").exists()
    for name in ("manifest.json", "catalog.json", "run_results.json"):
        assert (state / name).read_bytes() == (target / name).read_bytes(), name
    if catalog_before is not None:  # after the docs build test: its catalog was current,
        assert (state / "catalog.json").read_bytes() == catalog_before  # not generated again
    manifest = json.loads((state / "manifest.json").read_text())
    assert manifest["metadata"]["adapter_type"] == "spark"
    assert json.loads((state / "run_results.json").read_text())["args"]["which"] == "build"


@dataclass
class SlimCi:
    state: Path
    ran: str
    diffed: str
    run: dict
    diff: dict


@pytest.fixture(scope="module")
def slim_ci(engines: Engines, tmp_path_factory: pytest.TempPathFactory) -> SlimCi:
    """Slim CI on Spark: stg_erp__stores changed on a branch, `state:modified+` built
    with --defer into the `dataops_ci_*` databases, the diff in Spark SQL. Before any
    test opens its own session (Derby takes one JVM at a time)."""
    state = tmp_path_factory.mktemp("spark_state") / "state"
    published = run_cli("state", "publish", str(state), "--target", "spark", cwd=engines.repo)
    assert published.returncode == 0, published.stdout[-3000:] + published.stderr[-3000:]
    model = engines.repo / "dbt_project" / "models" / "staging" / "erp" / "stg_erp__stores.sql"
    sql = model.read_text()
    model.write_text(
        sql.replace("trim(store_name) as store_name", "upper(trim(store_name)) as store_name")
    )
    try:
        ran = run_cli(
            "ci", "run", "--state", str(state), "--target", "spark", cwd=engines.repo, timeout=1800
        )
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
        diffed = run_cli(
            "ci", "diff", "--state", str(state), "--target", "spark", cwd=engines.repo, timeout=1200
        )
        assert diffed.returncode == 0, diffed.stdout[-3000:] + diffed.stderr[-3000:]
    finally:
        model.write_text(sql)
    out = engines.repo / "ci" / "out"
    return SlimCi(
        state,
        ran.stdout,
        diffed.stdout,
        json.loads((out / "run.json").read_text()),
        json.loads((out / "diff.json").read_text()),
    )


def test_spark_slim_ci_builds_the_change_and_diffs_it_in_spark_sql(
    engines: Engines, slim_ci: SlimCi
) -> None:
    built = slim_ci.run["built"]
    assert "model.dataops.stg_erp__stores" in built and "model.dataops.dim_stores" in built
    assert "model.dataops.fct_order_items" not in built  # not downstream of stores
    # The diff counts what the change does, recomputed here from the raw rows in DuckDB.
    with duckdb.connect(str(engines.warehouse), read_only=True) as con:
        renamed = con.execute(
            "select count(*) from raw_erp.stores where trim(store_name) <> upper(trim(store_name))"
        ).fetchone()[0]
    stores = next(
        m for m in slim_ci.diff["models"] if m["unique_id"] == "model.dataops.stg_erp__stores"
    )
    assert renamed > 0
    assert (stores["rows_changed"], stores["changed_by_column"]) == (
        renamed,
        {"store_name": renamed},
    )
    assert (stores["rows_added"], stores["rows_removed"]) == (0, 0)
    assert stores["prod_relation"] == "`dataops_staging`.`stg_erp__stores`"
    assert stores["ci_relation"] == "`dataops_ci_staging`.`stg_erp__stores`"


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


def test_spark_slim_ci_left_production_unchanged(engines: Engines, slim_ci: SlimCi, spark) -> None:
    """Production still equals DuckDB (fingerprints computed in each engine); the
    change sits in the CI databases only."""
    tables = duckdb_marts(engines.warehouse)
    on_duckdb = duckdb_fingerprints(engines.warehouse, {"dim_stores": tables["dim_stores"]})
    for database, expect_upper in (("dataops_marts", False), ("dataops_ci_marts", True)):
        sql = fingerprint_sql("spark", f"{database}.dim_stores", tables["dim_stores"])
        row = spark.sql(sql).collect()[0]
        assert ((int(row[0]), str(row[1])) == on_duckdb["dim_stores"]) is not expect_upper
        upper = spark.sql(
            f"select count(*) from {database}.dim_stores where store_name <> upper(store_name)"
        ).collect()[0][0]
        assert (upper == 0) is expect_upper, database
    ci_tables = {r.tableName for r in spark.sql("show tables in dataops_ci_marts").collect()}
    assert "dim_stores" in ci_tables and "fct_order_items" not in ci_tables


def test_spark_monitoring_counts_rows_in_the_session(engines: Engines, spark) -> None:
    """The monitored build recorded each table's rows as Spark counts them."""
    with duckdb.connect(str(engines.repo / "warehouse" / "monitoring.duckdb"), read_only=True) as m:
        run_id, target = m.execute(
            "select run_id, target from runs order by started_at desc limit 1"
        ).fetchone()
        recorded = dict(
            m.execute(
                "select relation, row_count from table_rows where run_id = ?", [run_id]
            ).fetchall()
        )
    assert target == "spark"
    manifest = json.loads((engines.repo / "dbt_project" / "target" / "manifest.json").read_text())
    tracked = {
        n["relation_name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["config"]["materialized"] in ("table", "incremental")
    }
    assert set(recorded) == tracked and len(tracked) >= 6
    for relation, rows in recorded.items():
        assert rows == spark.sql(f"select count(*) from {relation}").collect()[0][0], relation
    assert recorded["dataops_marts.fct_orders"] > 0


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
