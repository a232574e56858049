"""`dataops` on a dbt project in another style, with no --warehouse and no [tool.dataops].

tests/fixtures/labs_style: `stg_<entity>` staging, entity-named marts, macros of
a local package, semantic models, metrics, a saved query, an exposure, seeds
that only load with `--vars`, and a profile whose DuckDB `path` comes from
`env_var('LABS_SHOP_DB')` and lies outside the project. Every command runs from
an empty folder of its own; the warehouse must be the profile's file.

One module-scoped project goes through the slim-CI loop: build, state publish,
edit one staging model, ci plan / run / diff / report. Expectations come from
the seed files and from dbt itself (`dbt ls -s state:modified+ --state`).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import REPO, run_cli

from tooling.production_state import sha256

FIXTURE = REPO / "tests" / "fixtures" / "labs_style"
VARS = "{load_source_data: true}"
pytestmark = pytest.mark.e2e


def seed_rows(name: str) -> int:
    with (FIXTURE / "seeds" / f"{name}.csv").open(newline="") as fh:
        return sum(1 for _ in csv.DictReader(fh))


class Labs:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.project = root / "labs_project"
        shutil.copytree(FIXTURE, self.project)
        self.cwd = root / "somewhere"
        self.cwd.mkdir()
        self.warehouse = root / "warehouses" / "labs.duckdb"
        self.warehouse.parent.mkdir()
        self.state = root / "prod-state"
        self.ci_dir = root / "ci-out"
        self.env = {"LABS_SHOP_DB": str(self.warehouse)}

    def cli(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, "--project-dir", str(self.project), cwd=self.cwd, env=env or self.env)

    def dbt_ls(self, *args: str) -> set[str]:
        """`dbt ls` itself, as a user would run it in the project."""
        dbt = Path(sys.executable).parent / "dbt"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATAOPS_")}
        result = subprocess.run(
            [str(dbt), "--quiet", "ls", "--project-dir", str(self.project), "--profiles-dir",
             str(self.project), "--vars", VARS, "--output", "json", "--output-keys",
             "unique_id", "--target-path", str(self.root / "ls-target"), *args],
            cwd=self.cwd, env={**env, **self.env}, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return {json.loads(line)["unique_id"] for line in result.stdout.splitlines() if line}


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> Labs:
    return Labs(tmp_path_factory.mktemp("labs"))


@pytest.fixture(scope="module")
def built(labs: Labs) -> Labs:
    result = labs.cli("build", "--vars", VARS, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"warehouse: {labs.warehouse}" in result.stdout
    return labs


def test_build_writes_the_profiles_file(built: Labs) -> None:
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        counts = {
            table: con.execute(f"select count(*) from main.{table}").fetchone()[0]
            for table in ("stg_payments", "orders", "customers")
        }
        raw = con.execute("select count(*) from raw.raw_orders").fetchone()[0]
    assert counts == {
        "stg_payments": seed_rows("raw_payments"),
        "orders": seed_rows("raw_orders"),
        "customers": seed_rows("raw_customers"),
    }
    assert raw == seed_rows("raw_orders")
    # No toolkit default file appeared anywhere.
    assert not list(built.root.rglob("dataops.duckdb"))
    # Monitoring counted the marts in the profile's file (its store sits next to it).
    store = built.warehouse.parent / "monitoring.duckdb"
    with duckdb.connect(str(store), read_only=True) as con:
        rows = dict(con.execute("select unique_id, row_count from table_rows").fetchall())
    assert rows["model.labs_shop.orders"] == seed_rows("raw_orders")
    assert rows["model.labs_shop.customers"] == seed_rows("raw_customers")


@pytest.fixture(scope="module")
def published(built: Labs) -> str:
    result = built.cli("state", "publish", str(built.state), "--vars", VARS)
    assert result.returncode == 0, result.stdout + result.stderr
    with duckdb.connect(str(built.state / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from main.orders").fetchone()[0] == seed_rows(
            "raw_orders"
        )
    return sha256(built.warehouse)


def test_state_publish_refuses_a_warehouse_without_the_models(built: Labs, published: str) -> None:
    empty = built.root / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    result = built.cli("state", "publish", str(built.root / "bad-state"), "--warehouse", str(empty))
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot publish state: the warehouse {empty} lacks ")
    assert "main.orders" in line or "..." in line
    assert not (built.root / "bad-state").exists()


@pytest.fixture(scope="module")
def ci_loop(built: Labs, published: str) -> dict:
    stg = built.project / "models" / "staging" / "stg_payments.sql"
    stg.write_text(
        stg.read_text().replace("method as payment_method", "upper(method) as payment_method")
    )
    common = ["--state", str(built.state), "--ci-dir", str(built.ci_dir)]
    plan = built.cli("ci", "plan", *common, "--vars", VARS, "--format", "json")
    assert plan.returncode == 0, plan.stderr
    run = built.cli("ci", "run", *common, "--vars", VARS, "-q")
    assert run.returncode == 0, run.stdout + run.stderr
    diff = built.cli("ci", "diff", *common, "--format", "json")
    assert diff.returncode == 0, diff.stderr
    report = built.cli("ci", "report", "--ci-dir", str(built.ci_dir), "--format", "json")
    assert report.returncode == 0, report.stderr
    return {
        "plan": json.loads(plan.stdout),
        "run": json.loads((built.ci_dir / "run.json").read_text()),
        "diff": json.loads(diff.stdout),
        "report": json.loads(report.stdout),
        "expected": built.dbt_ls("--select", "state:modified+", "--state", str(built.state)),
    }


def test_ci_selects_what_dbt_selects(built: Labs, ci_loop: dict) -> None:
    plan = ci_loop["plan"]
    # The one file edited (dbt also counts that model's own tests as modified).
    assert [m["unique_id"] for m in plan["modified"]] == ["model.labs_shop.stg_payments"]
    assert set(plan["impacted"]) == ci_loop["expected"]
    assert len(plan["impacted"]) == len(ci_loop["expected"])
    # ci run built (or ran) exactly dbt's selection of buildable nodes and tests.
    ran = set(ci_loop["run"]["statuses"])
    runnable = {u for u in ci_loop["expected"] if u.split(".")[0] in {"model", "seed", "test"}}
    assert runnable <= ran <= ci_loop["expected"]
    assert not ci_loop["run"]["failed"]


def test_ci_never_touches_production(built: Labs, published: str, ci_loop: dict) -> None:
    assert sha256(built.warehouse) == published
    diffed = {m["unique_id"]: m for m in ci_loop["diff"]["models"]}
    stg = diffed["model.labs_shop.stg_payments"]
    assert stg["rows_prod"] == stg["rows_ci"] == seed_rows("raw_payments")
    assert stg["rows_changed"] == seed_rows("raw_payments")  # every method upper-cased
    with duckdb.connect(str(built.ci_dir / "ci.duckdb"), read_only=True) as con:
        # The CI view reads the deferred seed from production, attached as dbt does.
        con.execute(f"attach '{built.state / 'warehouse.duckdb'}' as labs (read_only)")
        methods = {
            r[0] for r in con.execute("select payment_method from main.stg_payments").fetchall()
        }
    assert methods == {"CARD", "GIFT_CARD", "BANK_TRANSFER"}
    report = ci_loop["report"]
    assert "model.labs_shop.stg_payments" in json.dumps(report)


def test_check_finds_a_model_added_after_the_build(built: Labs, ci_loop: dict) -> None:
    manifest = json.loads((built.project / "target" / "manifest.json").read_text())
    assert "model.labs_shop.Weekly_Revenue" not in manifest["nodes"]
    new = built.project / "models" / "marts" / "Weekly_Revenue.sql"
    new.write_text("select 1 as week_id\n")
    after = built.cli("check", "-f", "json", "--vars", VARS)
    assert after.returncode in (0, 1), after.stderr
    assert "re-parsed the project with dbt: " in after.stderr
    found = {f["node"] for f in json.loads(after.stdout)["findings"]}
    assert "model.labs_shop.Weekly_Revenue" in found
    # Without the var dbt cannot parse: check says so in one line and keeps the old manifest.
    new.write_text("select 2 as week_id\n")
    stale = built.cli("check", "-f", "json")
    warning = [ln for ln in stale.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warning) == 1 and "was not re-parsed: dbt parse failed" in warning[0]
    assert "raw_" in warning[0]  # dbt's reason: the staging models' seeds are disabled
    new.unlink()
    # lineage re-parses too: a model added downstream of orders shows up under it.
    weekly = built.project / "models" / "marts" / "weekly_orders.sql"
    weekly.write_text("select count(*) as order_count from {{ ref('orders') }}\n")
    lineage = built.cli("lineage", "orders", "--vars", VARS, "-f", "json", "-d", "1")
    weekly.unlink()
    assert lineage.returncode == 0, lineage.stderr
    assert "re-parsed the project with dbt: " in lineage.stderr
    assert "model.labs_shop.weekly_orders" in lineage.stdout


# --- bad input: one line naming the culprit, exit 2, before any dbt work ---------------


@pytest.mark.parametrize(
    ("args", "env", "culprit"),
    [
        (["--target", "nope"], None, "profile 'labs_shop' has no target 'nope' (targets: dev, pg)"),
        ([], {}, "Env var required but not provided: 'LABS_SHOP_DB'"),
        (["--vars", "{load_source_data: [true"], None, "--vars is not YAML"),
        (["--vars", "just-a-string"], None, "--vars must be a YAML mapping"),
        (["--profiles-dir", "no-such-dir"], None, "no profiles.yml in "),
        (["--target", "pg"], None, "target 'pg' of profile 'labs_shop'"),
    ],
)
def test_bad_profile_input_is_one_line(
    labs: Labs,
    args: list[str],
    env: dict | None,
    culprit: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In-process (the real CLI entry, without a new interpreter per case)."""
    from tooling.cli import main

    for key in [k for k in os.environ if k.startswith("DATAOPS_")]:
        monkeypatch.delenv(key)
    monkeypatch.delenv("LABS_SHOP_DB", raising=False)
    for key, value in (labs.env if env is None else env).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(labs.cwd)
    with pytest.raises(SystemExit) as exited:
        main(["build", "--skip-ingest", "--no-monitor", "--project-dir", str(labs.project), *args])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    [line] = err.strip().splitlines()
    assert line.startswith("error: ") and culprit in line
    assert not list(labs.cwd.iterdir())  # nothing written where the user stood
