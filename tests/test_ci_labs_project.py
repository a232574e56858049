"""Slim CI on a project in dbt Labs' style (tests/fixtures/labs_shop), end to end.

main builds and publishes its state once; two branches change it and run the
real `dataops ci` commands:

- one changes a filter, a join and a grouping and adds a column: the change
  classes come from the compiled SQL of both builds (breaking: rows for the
  first three even with unchanged columns, non-breaking for the added column);
- one drops a column a downstream test uses: the test errors, dbt skips the
  mart and the exposure below it, and the report names each skipped node with
  that failed test and says the mart and the exposure would break.

Expectations come from dbt's own run_results.json of the CI build, not from
what the report printed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli

from tooling.artifacts import read_run_results
from tooling.ci.plan import TYPE_LABELS

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).parent / "fixtures" / "labs_shop"
P = "model.labs_shop."


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", message)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def edit(repo: Path, path: str, old: str, new: str) -> None:
    file = repo / path
    assert old in file.read_text(), f"{old!r} not in {path}"
    file.write_text(file.read_text().replace(old, new))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("labs-ci") / "labs_shop"
    shutil.copytree(FIXTURE, root)
    (root / ".gitignore").write_text("target/\nci/\nlogs/\nwarehouse/\n*.duckdb*\n")
    git(root, "init", "-q", "-b", "main")
    commit(root, "main")
    warehouse = str(root / "warehouse" / "prod.duckdb")
    (root / "warehouse").mkdir()
    env = {"LABS_SHOP_WAREHOUSE": warehouse}
    common = ("--project-dir", ".", "--warehouse", warehouse)
    built = ok(
        run_cli("build", "--skip-ingest", "--no-monitor", "--quiet", *common, cwd=root, env=env)
    )
    (root / "ci" / "build").mkdir(parents=True)
    (root / "ci" / "build" / "output.txt").write_text(built.stdout)
    shutil.copy(root / "target" / "run_results.json", root / "ci" / "build")
    ok(run_cli("state", "publish", "ci/state", *common, cwd=root, env=env))
    return root


def test_build_summary_counts_no_op_apart_from_skip(repo: Path) -> None:
    """dbt reports saved queries (and exposures) as NO-OP: not skipped, nothing failed."""
    data = json.loads((repo / "ci" / "build" / "run_results.json").read_text())
    no_op: dict[str, int] = {}
    for r in data["results"]:
        if r["status"] == "no-op":
            no_op[r["unique_id"].split(".", 1)[0]] = (
                no_op.get(r["unique_id"].split(".", 1)[0], 0) + 1
            )
    assert no_op.get("saved_query") == 1
    counts = read_run_results(repo / "ci" / "build").counts()
    for kind, n in no_op.items():
        assert counts[kind]["no-op"] == n and counts[kind]["skip"] == 0
    summary = (repo / "ci" / "build" / "output.txt").read_text()
    header = next(line for line in summary.splitlines() if "resource" in line and "pass" in line)
    assert "no-op" in header and "skip" in header
    row = next(line for line in summary.splitlines() if "saved_query" in line).split()
    # columns: resource pass warn error skip no-op
    assert [c for c in row if c.isdigit()] == ["0", "0", "0", "0", "1"]


def ci(repo: Path, out: Path, command: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("ci", command, "--project-dir", ".", "--ci-dir", str(out), *extra, cwd=repo)


def results(out: Path) -> dict[str, str]:
    data = json.loads((out / "target" / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in data["results"]}


def test_sql_scope_decides_the_change_class(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "-B", "scope")
    # a filter, a join and a grouping change with the same columns; one added column
    edit(
        repo,
        "models/marts/orders.sql",
        "from {{ ref('stg_orders') }}",
        ("from {{ ref('stg_orders') }}\nwhere status != 'placed'"),
    )
    edit(repo, "models/marts/customers.sql", "left join", "inner join")
    edit(
        repo,
        "models/intermediate/int_orders_per_customer.sql",
        "group by customer_id",
        "group by all",
    )
    edit(
        repo,
        "models/staging/stg_orders.sql",
        "    amount\n",
        "    amount,\n    amount / 100.0 as amount_units\n",
    )
    commit(repo, "scope changes")
    out = repo / "ci" / "out-scope"
    run = ci(repo, out, "run", "--state", "ci/state")
    assert run.returncode in (0, 1), run.stderr[-3000:]
    ok(ci(repo, out, "diff", "--state", "ci/state"))  # the diff refines columns, keeps rows
    report = json.loads(ok(ci(repo, out, "report", "--format", "json")).stdout)
    classes = {m["name"]: m["change_class"] for m in report["modified"]}
    assert classes == {
        "orders": "breaking: rows",
        "customers": "breaking: rows",
        "int_orders_per_customer": "breaking: rows",
        "stg_orders": "non-breaking",
    }
    rows = {m["name"]: " ".join(m["row_changes"]) for m in report["modified"]}
    assert "filter (where)" in rows["orders"]
    assert "join (joins)" in rows["customers"]
    assert "grouping (group)" in rows["int_orders_per_customer"]
    stg = next(m for m in report["modified"] if m["name"] == "stg_orders")
    assert stg["columns_added"] == ["amount_units"] and stg["columns_removed"] == []
    # the plan counts what dbt ran, per resource type (metrics and semantic models
    # are not executed by dbt, so they are not in run_results.json)
    ran: dict[str, int] = {}
    for uid in results(out):
        ran[uid.split(".", 1)[0]] = ran.get(uid.split(".", 1)[0], 0) + 1
    planned = report["impacted_by_type"]
    assert {k: v for k, v in planned.items() if k in ran} == ran
    assert planned["semantic_model"] == 1 and planned["metric"] == 2
    assert planned["saved_query"] == 1 and planned["exposure"] == 1
    markdown = ok(ci(repo, out, "report")).stdout
    assert "1 saved query" in markdown and "2 metrics" in markdown
    assert "breaking: rows" in markdown and TYPE_LABELS["test"][1] in markdown


def test_a_skipped_mart_and_exposure_are_named_with_the_failed_test(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "-B", "drop-first-name")
    edit(repo, "models/staging/stg_customers.sql", "    first_name,\n", "")
    commit(repo, "drop first_name from staging")
    out = repo / "ci" / "out-drop"
    run = ci(repo, out, "run", "--state", "ci/state")
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    statuses = results(out)
    failed = {u for u, s in statuses.items() if s in ("error", "fail")}
    skipped = {u for u, s in statuses.items() if s == "skipped"}
    failed_test = "test.labs_shop.not_null_stg_customers_first_name"
    assert {u.rsplit(".", 1)[0] for u in failed} == {failed_test}
    assert f"{P}customers" in skipped and "exposure.labs_shop.customer_dashboard" in skipped
    report = json.loads(ok(ci(repo, out, "report", "--format", "json")).stdout)
    # every node dbt skipped is listed, each with the failed test that caused it
    assert set(report["skipped"]) == skipped
    assert all(
        [c.rsplit(".", 1)[0] for c in causes] == [failed_test]
        for causes in report["skipped"].values()
    )
    broken = {b["unique_id"]: b for b in report["would_break"]}
    assert set(broken) >= {f"{P}customers", "exposure.labs_shop.customer_dashboard"}
    assert broken[f"{P}customers"]["resource_type"] == "mart"
    assert report["status"] == "failed"
    # no contract, no diff: the outer SELECT's column list of the compiled SQL says it
    [stg] = report["modified"]
    assert (stg["change_class"], stg["columns_removed"]) == ("breaking", ["first_name"])
    markdown = ok(ci(repo, out, "report")).stdout
    verdict = next(line for line in markdown.splitlines() if line.startswith("**Would break:**"))
    assert "`customers` (mart, skipped: `not_null_stg_customers_first_name" in verdict
    assert "`customer_dashboard` (exposure" in verdict
    run_line = next(line for line in markdown.splitlines() if line.startswith("Run: "))
    per_type: dict[str, int] = {}
    for uid in skipped:
        per_type[uid.split(".", 1)[0]] = per_type.get(uid.split(".", 1)[0], 0) + 1
    for kind, n in per_type.items():  # counted per type, not lumped into "tests"
        assert f"{n} {TYPE_LABELS[kind][0 if n == 1 else 1]}" in run_line.split("skipped")[1]
    assert "| `customers` | model | `not_null_stg_customers_first_name" in markdown
