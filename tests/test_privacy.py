"""Data-subject requests on the real sample: find, export, erase, and a PII-free state.

One module fixture builds a tmp copy of the repository twice (the second build
after a customer changed and sent a bad row, so the subject has a snapshot
history and a quarantined record). Every expectation is computed here from the
warehouse with the test's own SQL (a subject's rows are those with its
``customer_id`` or one of its orders' ``order_id``), or from the landing files.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
from pathlib import Path

import duckdb
import pytest
from conftest import TEST_PRIVACY_KEY, copy_repo, hold_duckdb_lock, run_cli

pytestmark = pytest.mark.e2e


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line (a progress bar drawn before the failure may precede it)."""
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def relations(path: Path) -> dict[str, list[str]]:
    """Every table and view (schema.name) -> its columns, from DuckDB's catalog."""
    rows = query(
        path,
        "select table_schema, table_name, list(column_name order by ordinal_position) "
        "from information_schema.columns where table_catalog = current_database() "
        "group by all",
    )
    return {f"{s}.{t}": [c.lower() for c in cols] for s, t, cols in rows}


def subject_where(columns: list[str], customer: int, orders: list[int]) -> str | None:
    """The test's own rule for a subject's rows in a relation."""
    parts = []
    if "customer_id" in columns:
        parts.append(f"customer_id = {customer}")
    if "order_id" in columns and orders:
        parts.append(f"order_id in ({', '.join(map(str, orders))})")
    return " or ".join(parts) or None


def own_counts(path: Path, customer: int, orders: list[int]) -> dict[str, int]:
    out = {}
    for rel, cols in relations(path).items():
        if rel.startswith("dataops_meta."):
            continue
        where = subject_where(cols, customer, orders)
        if where:
            schema, table = rel.split(".")
            out[rel] = query(path, f'select count(*) from "{schema}"."{table}" where {where}')[0][0]
    return out


def others_fingerprint(path: Path, customer: int, orders: list[int]) -> dict[str, tuple]:
    """Row count and order-independent hash of every other subject's mart rows."""
    out = {}
    for rel, cols in relations(path).items():
        if not rel.startswith("marts."):
            continue
        where = subject_where(cols, customer, orders)
        if where:
            schema, table = rel.split(".")
            out[rel] = query(
                path,
                f'select count(*), sum(hash(t)) from "{schema}"."{table}" as t '
                f"where not ({where}) or ({where}) is null",
            )[0]
    return out


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = copy_repo(tmp_path_factory.mktemp("privacy") / "repo")
    ok(run_cli("build", cwd=root))
    wh = root / "warehouse" / "dataops.duckdb"
    # the customer with the most paid orders who also has events
    customer = query(
        wh,
        "select o.customer_id from raw_erp.orders as o join raw_payments.payments as p "
        "using (order_id) where o.customer_id in (select customer_id from raw_events.events) "
        "group by 1 order by count(*) desc, 1 limit 1",
    )[0][0]
    second = query(
        wh,
        "select customer_id from raw_erp.orders where customer_id is not null "
        "and customer_id <> ? group by 1 order by count(*) desc, 1 limit 1",
        [customer],
    )[0][0]
    # the customer moves (a second snapshot version) and sends a broken record
    folder = root / "data" / "sample" / "erp" / "customers"
    header = next(csv.reader((sorted(folder.glob("*.csv"))[0]).open()))
    latest = query(
        wh,
        f"select {', '.join(header)} from raw_erp.customers where customer_id = ?",
        [customer],
    )[0]
    moved = dict(zip(header, latest, strict=True))
    moved["city"] = "Elsewhere"
    moved["updated_at"] = "2030-01-01 00:00:00"
    broken = {**moved, "signed_up_at": "not-a-timestamp", "updated_at": "2030-01-02 00:00:00"}
    with (folder / "customers_2030-01-01.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerow(moved)
        writer.writerow(broken)
    ok(run_cli("build", cwd=root))
    orders = [
        r[0]
        for r in query(wh, "select order_id from raw_erp.orders where customer_id = ?", [customer])
    ]
    return {"root": root, "wh": wh, "customer": customer, "orders": orders, "second": second}


def quarantined(wh: Path, customer: int) -> int:
    """Quarantined customer records of the subject, parsed here with Python's csv."""
    records = query(wh, "select _record from raw_erp._quarantine_customers")
    rows = [next(csv.reader([r[0].strip()])) for r in records if r[0] and r[0].strip()]
    return sum(1 for row in rows if row and row[0] == str(customer))


def find_json(root: Path, customer: int) -> dict:
    result = ok(
        run_cli(
            "privacy", "find", "--subject", f"customer_id={customer}", "--format", "json", cwd=root
        )
    )
    return json.loads(result.stdout)


def test_find_lists_every_relation_with_the_test_s_own_counts(shop: dict) -> None:
    wh, customer, orders = shop["wh"], shop["customer"], shop["orders"]
    found = find_json(shop["root"], customer)
    by_relation = {h["relation"]: h for h in found["hits"] if h["database"] == "warehouse"}
    expected = {rel: n for rel, n in own_counts(wh, customer, orders).items() if n}
    # every relation the test's rule finds rows in is listed with the same count
    assert {rel: by_relation[rel]["rows"] for rel in expected} == expected
    # the subject's history and its quarantined record are found too
    assert by_relation["snapshots.snapshot_erp__customers"]["rows"] == 2
    held = quarantined(wh, customer)
    assert held >= 1
    assert by_relation["raw_erp._quarantine_customers"]["rows"] == held
    landing = [h for h in found["hits"] if h["kind"] == "landing"]
    assert any(h["relation"].endswith("customers_2030-01-01.csv") for h in landing)


def test_export_equals_the_rows_selected_independently(shop: dict, tmp_path: Path) -> None:
    wh, customer = shop["wh"], shop["second"]
    orders = [
        r[0]
        for r in query(wh, "select order_id from raw_erp.orders where customer_id = ?", [customer])
    ]
    out = tmp_path / "export"
    ok(
        run_cli(
            "privacy",
            "export",
            "--subject",
            f"customer_id={customer}",
            "--out",
            str(out),
            cwd=shop["root"],
        )
    )
    files = {p.name: json.loads(p.read_text()) for p in out.glob("warehouse.*.json")}
    expected = {}
    for rel, cols in relations(wh).items():
        where = subject_where(cols, customer, orders)
        if not where or rel.startswith("dataops_meta."):
            continue
        schema, table = rel.split(".")
        with duckdb.connect(str(wh), read_only=True) as con:
            cur = con.execute(f'select * from "{schema}"."{table}" where {where}')
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        if rows:
            expected[f"warehouse.{rel}.json"] = rows

    def canon(rows: list[dict]) -> list[str]:
        return sorted(
            json.dumps(
                r,
                sort_keys=True,
                default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v),
            )
            for r in rows
        )

    assert set(files) == set(expected)
    for name, rows in expected.items():
        assert canon(files[name]) == canon(rows), name
    index = json.loads((out / "index.json").read_text())
    assert index["files"] == {name: len(rows) for name, rows in expected.items()}


def test_bad_requests_are_one_line(shop: dict) -> None:
    root, wh = shop["root"], shop["wh"]
    unknown = run_cli("privacy", "find", "--subject", "email=x@example.com", cwd=root)
    assert unknown.returncode == 2
    assert "unknown subject key 'email'" in one_error_line(unknown)
    malformed = run_cli("privacy", "erase", "--subject", "customer_id", cwd=root)
    assert malformed.returncode == 2
    assert "KEY=VALUE" in one_error_line(malformed)
    nobody = ok(run_cli("privacy", "find", "--subject", "customer_id=987654321", cwd=root))
    assert "nothing found" in nobody.stdout
    before = own_counts(wh, shop["customer"], shop["orders"])
    no_key = run_cli(
        "privacy",
        "erase",
        "--subject",
        f"customer_id={shop['customer']}",
        cwd=root,
        env={"DATAOPS_PRIVACY_KEY": ""},
    )
    assert no_key.returncode != 0
    assert "DATAOPS_PRIVACY_KEY is not set" in one_error_line(no_key)
    with hold_duckdb_lock(wh):
        locked = run_cli(
            "privacy", "erase", "--subject", f"customer_id={shop['customer']}", cwd=root
        )
    assert locked.returncode != 0
    assert "locked" in one_error_line(locked)
    assert own_counts(wh, shop["customer"], shop["orders"]) == before


def test_erase_leaves_no_row_and_survives_a_full_reingest(shop: dict) -> None:
    root, wh, customer, orders = shop["root"], shop["wh"], shop["customer"], shop["orders"]
    pii = query(
        wh,
        "select email, first_name, last_name, phone from raw_erp.customers where customer_id = ?",
        [customer],
    )[0]
    others = others_fingerprint(wh, customer, orders)
    assert sum(own_counts(wh, customer, orders).values()) > 0
    dry = ok(
        run_cli("privacy", "erase", "--subject", f"customer_id={customer}", "--dry-run", cwd=root)
    )
    assert "Would erase" in dry.stdout
    assert sum(own_counts(wh, customer, orders).values()) > 0  # the dry run changed nothing

    result = ok(run_cli("privacy", "erase", "--subject", f"customer_id={customer}", cwd=root))
    assert "verified: 0 rows left" in result.stdout
    assert all(n == 0 for n in own_counts(wh, customer, orders).values())
    assert quarantined(wh, customer) == 0
    assert others_fingerprint(wh, customer, orders) == others
    assert find_json(root, customer)["rows_total"] == 0

    audit = query(wh, "select * from dataops_meta.privacy_requests where kind = 'erase'")
    assert len(audit) == 1
    digest = hashlib.sha256(f"{TEST_PRIVACY_KEY}|customer_id={customer}".encode()).hexdigest()
    text = json.dumps([str(v) for v in audit[0]])
    assert digest in text
    assert f"customer_id={customer}" not in text
    for value in pii:
        if value:
            assert str(value) not in text
    assert query(wh, "select verified from dataops_meta.privacy_requests where kind = 'erase'") == [
        (True,)
    ]

    # old landing files loaded again from scratch do not bring the subject back
    ok(run_cli("ingest", "--full-refresh", cwd=root))
    assert all(
        n == 0 for rel, n in own_counts(wh, customer, orders).items() if rel.startswith("raw_")
    )
    assert quarantined(wh, customer) == 0
    # ingestion without the key refuses rather than resurrect
    no_key = run_cli("ingest", "--full-refresh", cwd=root, env={"DATAOPS_PRIVACY_KEY": ""})
    assert no_key.returncode != 0
    assert "DATAOPS_PRIVACY_KEY is not set" in one_error_line(no_key)


def test_published_state_holds_no_pii_and_slim_ci_runs_on_it(shop: dict) -> None:
    root = shop["root"]
    ok(run_cli("build", cwd=root))
    state = root / "ci" / "state"
    ok(run_cli("state", "publish", str(state), cwd=root))
    values: set[str] = set()
    distinct: set[str] = set()  # emails and phones: no other value contains them
    for path in (root / "data" / "sample" / "erp" / "customers").glob("*.csv"):
        for row in csv.DictReader(path.open()):
            for column in ("first_name", "last_name", "email", "phone"):
                if (row[column] or "").strip():
                    values.add(row[column].strip())
                    if column in ("email", "phone"):
                        distinct.add(row[column].strip())
    assert len(values) > 50 and len(distinct) > 50
    # raw bytes of every file (a first name like "Adele" may be part of a product's
    # name, so names are checked as whole values below, not as substrings)
    for path in state.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not [v for v in distinct if v.encode() in data], path
    copy = state / "warehouse.duckdb"
    with duckdb.connect(str(copy), read_only=True) as con:
        texts = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "join information_schema.tables using (table_catalog, table_schema, table_name) "
            "where table_type = 'BASE TABLE' and data_type = 'VARCHAR'"
        ).fetchall()
        for schema, table, column in texts:
            found = con.execute(
                f'select count(*) from "{schema}"."{table}" where trim("{column}") in '
                "(select unnest(?))",
                [sorted(values)],
            ).fetchone()[0]
            assert found == 0, f"{schema}.{table}.{column}"
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert not [t for t in tables if t.startswith("_quarantine_")]
    # slim CI on that state: a change to a mart builds and diffs against it
    mart = root / "dbt_project" / "models" / "marts" / "core" / "fct_orders.sql"
    mart.write_text(mart.read_text() + "\n-- touched on a branch\n")
    out = root / "ci" / "out-privacy"
    ok(run_cli("ci", "run", "--state", str(state), "--ci-dir", str(out), cwd=root))
    diff = ok(run_cli("ci", "diff", "--state", str(state), "--ci-dir", str(out), cwd=root))
    assert "fct_orders" in diff.stdout
