"""`dataops build --target postgres`: raw tables published by COPY, only changed ones
move; bad targets fail with one line, exit 2, nothing written.

One throwaway PostgreSQL 15 server on loopback (password auth) for the module.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from conftest import copy_repo, run_cli, skip_unless
from engine_fingerprint import duckdb_fingerprints, duckdb_marts, fingerprint_sql

from tooling.devtools.pg_server import PG_BIN, PgServer, free_port, pg_server

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]


@pytest.fixture(scope="module")
def server() -> Iterator[PgServer]:
    skip_unless((PG_BIN / "initdb").exists(), "PostgreSQL 15 binaries missing")
    with pg_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("pgrepo") / "repo")


@pytest.fixture(scope="module")
def first_build(server: PgServer, repo: Path):
    """The sample built on DuckDB (ingest + dbt), then on PostgreSQL from the same raw data."""
    on_duckdb = run_cli("build", "--no-monitor", "-q", cwd=repo, env=server.env)
    assert on_duckdb.returncode == 0, on_duckdb.stdout[-3000:] + on_duckdb.stderr[-3000:]
    result = run_cli(
        "build", "--target", "postgres", "--skip-ingest", "--no-monitor", "-q",
        cwd=repo, env=server.env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def ledger(server: PgServer) -> dict[str, tuple[str, int, object]]:
    with server.connect() as conn:
        rows = conn.execute(
            "select table_name, fingerprint, row_count, published_at "
            "from dataops_meta.raw_publish_ledger"
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def duck_counts(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema like 'raw\\_%' escape '\\' and table_name not like '\\_%' escape '\\'"
        ).fetchall()
        return {
            f'"{s}"."{t}"': con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]
            for s, t in tables
        }


def test_build_publishes_every_raw_table_with_duckdbs_rows(first_build, server, repo):
    assert "Raw tables published to postgres: 8 moved, 0 unchanged" in " ".join(
        first_build.stdout.split()
    )
    expected = duck_counts(repo / "warehouse" / "dataops.duckdb")
    with server.connect() as conn:
        got = {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for t in expected}
        marts = conn.execute(
            "select count(*) from information_schema.tables where table_schema = 'public_marts'"
        ).fetchone()[0]
    assert got == expected and len(expected) == 8
    assert marts >= 7
    # the ledger says what moved: one row per raw table with DuckDB's row count
    assert {t: v[1] for t, v in ledger(server).items()} == expected


def test_marts_equal_on_duckdb_and_postgres(first_build, server, repo):
    """Row count and content fingerprint of every mart, each computed in its own engine."""
    tables = duckdb_marts(repo / "warehouse" / "dataops.duckdb")
    on_duckdb = duckdb_fingerprints(repo / "warehouse" / "dataops.duckdb", tables)
    pg = pg_fingerprints(server, "public_marts")
    on_postgres = {rel.split(".")[1].strip('"'): v for rel, v in pg.items()}
    # Python models run on DuckDB only: the build names the ones it disabled here.
    notice = re.search(
        r"disabled by config on this target \(postgres\): ([\w, ]+)", first_build.stdout
    )
    disabled = set(notice[1].replace(" ", "").split(",")) if notice else set()
    assert set(on_duckdb) - set(on_postgres) == disabled
    assert len(on_postgres) >= 7 and all(n > 0 for n, _ in on_postgres.values())
    assert on_postgres == {t: on_duckdb[t] for t in on_postgres}


def test_docs_build_reads_the_catalog_from_postgres(first_build, server, repo):
    """`docs build --target postgres`: the catalog's columns and types are PostgreSQL's."""
    result = run_cli("docs", "build", "--target", "postgres", cwd=repo, env=server.env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (repo / "site" / "index.html").is_file()
    catalog = json.loads((repo / "dbt_project" / "target" / "catalog.json").read_text())
    got = {
        (n["metadata"]["name"], c["name"]): c["type"]
        for n in catalog["nodes"].values()
        if n["metadata"]["schema"] == "public_marts"
        for c in n["columns"].values()
    }
    with server.connect() as conn:
        expected = {
            (table, column): dtype
            for table, column, dtype in conn.execute(
                "select c.relname, a.attname, format_type(a.atttypid, a.atttypmod) "
                "from pg_attribute a join pg_class c on c.oid = a.attrelid "
                "join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = 'public_marts' and a.attnum > 0 and not a.attisdropped"
            ).fetchall()
        }
    assert got == expected and len({t for t, _ in got}) >= 7
    assert server.env["DATAOPS_PG_PASSWORD"] not in result.stdout + result.stderr


def test_grants_let_the_analyst_read_marts_only(first_build, server, repo):
    """dbt grants (dbt_project.yml) on PostgreSQL, checked as the analyst role itself."""
    import psycopg

    with server.connect() as conn:
        conn.execute("alter role dataops_analyst login password 'analyst-pw'")

        def schema_of(table: str) -> str:
            rows = conn.execute(
                "select table_schema from information_schema.tables where table_name = %s "
                "and table_schema not like %s order by 1",
                [table, "%\\_ci\\_%"],
            ).fetchall()
            assert rows, table
            return rows[0][0]

        mart = f'"{schema_of("fct_orders")}"."fct_orders"'
        staging = f'"{schema_of("stg_erp__orders")}"."stg_erp__orders"'
        expected = conn.execute(f"select count(*) from {mart}").fetchone()[0]
    analyst = dict(host=server.host, port=server.port, dbname=server.dbname, autocommit=True)
    with psycopg.connect(user="dataops_analyst", password="analyst-pw", **analyst) as conn:
        assert conn.execute(f"select count(*) from {mart}").fetchone()[0] == expected > 0
        for relation in (staging, '"raw_erp"."customers"'):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select count(*) from {relation}")


def test_second_build_publishes_only_changed_tables(first_build, server, repo):
    before = ledger(server)
    # Monitored, and with the incremental fact (an incremental run on PostgreSQL).
    again = run_cli(
        "build", "--target", "postgres", "-q", "--select", "stg_erp__stores fct_daily_revenue",
        cwd=repo, env=server.env,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "0 moved, 8 unchanged" in " ".join(again.stdout.split())
    assert ledger(server) == before  # no ledger row was rewritten
    # Monitoring counted the marts in PostgreSQL (not in the DuckDB file).
    store = repo / "warehouse" / "monitoring.duckdb"
    with duckdb.connect(str(store), read_only=True) as mon:
        recorded = dict(
            mon.execute(
                "select relation, row_count from table_rows where run_id = "
                "(select run_id from runs order by started_at desc limit 1)"
            ).fetchall()
        )
    with server.connect() as conn:
        for relation in recorded:
            assert (
                recorded[relation] == conn.execute(f"select count(*) from {relation}").fetchone()[0]
            )
    with server.connect() as conn:
        built = {
            f'"dataops"."public_marts"."{t}"'
            for (t,) in conn.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'public_marts' and table_type = 'BASE TABLE'"
            ).fetchall()
        }
    assert set(recorded) == built and len(built) >= 7
    # The incremental run left the fact equal to DuckDB's.
    tables = duckdb_marts(repo / "warehouse" / "dataops.duckdb")
    fact = {"fct_daily_revenue": tables["fct_daily_revenue"]}
    assert (
        pg_fingerprints(server, "public_marts")['"public_marts"."fct_daily_revenue"']
        == (duckdb_fingerprints(repo / "warehouse" / "dataops.duckdb", fact)["fct_daily_revenue"])
    )

    # One raw table changes in DuckDB: exactly that one moves on the next build.
    warehouse = repo / "warehouse" / "dataops.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update raw_erp.stores set _loaded_at = _loaded_at - interval 1000 years "
            "where store_id = (select min(store_id) from raw_erp.stores)"
        )
    third = run_cli(
        "build", "--target", "postgres", "--no-monitor", "-q", "--skip-ingest",
        "--select", "stg_erp__stores", cwd=repo, env=server.env,
    )  # fmt: skip
    assert third.returncode == 0, third.stdout[-2000:] + third.stderr[-2000:]
    assert "1 moved, 7 unchanged" in " ".join(third.stdout.split())
    after = ledger(server)
    changed = {t for t in after if after[t] != before[t]}
    assert changed == {'"raw_erp"."stores"'}
    with server.connect() as conn:
        edited = conn.execute(
            "select count(*), min(store_id) from raw_erp.stores where _loaded_at < '1900-01-01'"
        ).fetchone()
        total = conn.execute("select count(*) from raw_erp.stores").fetchone()[0]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        first_store = con.execute("select min(store_id) from raw_erp.stores").fetchone()[0]
    assert edited == (1, first_store)
    assert total == duck_counts(warehouse)['"raw_erp"."stores"'] == before['"raw_erp"."stores"'][1]


def assert_one_line_exit_2(result, *needles: str, secret: str | None = None) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), output
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in output
    if secret:
        assert secret not in output


@pytest.mark.parametrize("case", ["unreachable", "wrong_password", "unknown_target"])
def test_bad_postgres_target_fails_in_one_line_writing_nothing(case, server, tmp_path):
    env = dict(server.env)
    args = ["--target", "postgres"]
    if case == "unreachable":
        env["DATAOPS_PG_PORT"] = str(free_port())
        needles = ("server unreachable", "127.0.0.1")
    elif case == "wrong_password":
        env["DATAOPS_PG_PASSWORD"] = "Not-The-Pw-4711"
        needles = ("wrong credentials", "postgres")
    else:
        args = ["--target", "nosuch"]
        needles = ("has no target 'nosuch'", "postgres")
    warehouse = tmp_path / "wh" / "dataops.duckdb"
    result = run_cli("build", *args, "--warehouse", str(warehouse), "--no-monitor", env=env)
    assert_one_line_exit_2(result, *needles, secret=env["DATAOPS_PG_PASSWORD"])
    assert not warehouse.parent.exists()  # nothing ingested, no monitoring store


def test_spark_preflight_java_missing_or_pyspark_mismatch(tmp_path):
    pytest.importorskip("pyspark")
    warehouse = tmp_path / "wh" / "dataops.duckdb"
    env = {"PATH": "/nonexistent", "JAVA_HOME": str(tmp_path / "nojava")}
    result = run_cli("build", "--target", "spark", "--warehouse", str(warehouse), env=env)
    assert_one_line_exit_2(result, "needs Java 17", "openjdk-17-jre-headless")

    fake = tmp_path / "spark-3.4.1" / "jars"
    fake.mkdir(parents=True)
    (fake / "spark-core_2.12-3.4.1.jar").write_bytes(b"")
    result = run_cli(
        "build", "--target", "spark", "--warehouse", str(warehouse),
        env={"SPARK_HOME": str(fake.parent)},
    )  # fmt: skip
    assert_one_line_exit_2(result, "does not match", "3.4.1")
    assert re.search(r"pyspark 3\.5\.\d+", result.stderr)
    assert not warehouse.parent.exists() and not os.path.exists(tmp_path / "wh" / "spark")


def pg_fingerprints(server: PgServer, schema_prefix: str) -> dict[str, tuple[int, str]]:
    """Fingerprint (tests/engine_fingerprint.py) of every relation in schemas LIKE prefix%."""
    with server.connect() as conn:
        conn.execute("set timezone = 'UTC'")
        rows = conn.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_schema like %s order by table_schema, table_name, ordinal_position",
            (schema_prefix + "%",),
        ).fetchall()
        tables: dict[str, list[tuple[str, str]]] = {}
        for schema, table, column, data_type in rows:
            tables.setdefault(f'"{schema}"."{table}"', []).append((column, data_type))
        out = {}
        for rel, columns in tables.items():
            n, digest = conn.execute(fingerprint_sql("postgres", rel, columns)).fetchone()
            out[rel] = (int(n), str(digest))
        return out


def test_slim_ci_on_postgres_builds_into_ci_schema_leaving_production(
    first_build, server, repo, tmp_path
):
    state = tmp_path / "state"
    published = run_cli(
        "state", "publish", str(state), "--target", "postgres", cwd=repo, env=server.env
    )
    assert published.returncode == 0, published.stdout + published.stderr
    assert "no warehouse copy" in published.stdout
    assert (state / "manifest.json").is_file() and not (state / "warehouse.duckdb").exists()

    production = pg_fingerprints(server, "public_")
    assert '"public_marts"."dim_stores"' in production and len(production) >= 17

    model = repo / "dbt_project" / "models" / "staging" / "erp" / "stg_erp__stores.sql"
    sql = model.read_text()
    model.write_text(
        sql.replace("trim(store_name) as store_name", "upper(trim(store_name)) as store_name")
    )
    try:
        ran = run_cli(
            "ci", "run", "--state", str(state), "--target", "postgres", cwd=repo, env=server.env
        )
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
        diffed = run_cli(
            "ci", "diff", "--state", str(state), "--target", "postgres", cwd=repo, env=server.env
        )
        assert diffed.returncode == 0, diffed.stdout[-3000:] + diffed.stderr[-3000:]
    finally:
        model.write_text(sql)

    built = json.loads((repo / "ci" / "out" / "run.json").read_text())["built"]
    assert "model.dataops.stg_erp__stores" in built and "model.dataops.dim_stores" in built
    assert "model.dataops.fct_order_items" not in built  # not downstream of stores
    ci = pg_fingerprints(server, "public_ci_")
    assert set(ci) >= {'"public_ci_staging"."stg_erp__stores"', '"public_ci_marts"."dim_stores"'}
    assert pg_fingerprints(server, "public_") == {**production, **ci}  # production unchanged

    with duckdb.connect(str(repo / "warehouse" / "dataops.duckdb"), read_only=True) as con:
        renamed = con.execute(
            "select count(*) from raw_erp.stores where trim(store_name) <> upper(trim(store_name))"
        ).fetchone()[0]
    diff = json.loads((repo / "ci" / "out" / "diff.json").read_text())
    stores = next(m for m in diff["models"] if m["unique_id"] == "model.dataops.stg_erp__stores")
    assert renamed > 0
    assert (stores["rows_changed"], stores["changed_by_column"]) == (
        renamed,
        {"store_name": renamed},
    )
    assert stores["prod_relation"] == '"dataops"."public_staging"."stg_erp__stores"'
