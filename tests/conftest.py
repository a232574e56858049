"""Shared fixtures: tiny landing folders and a sources YAML written per test."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tooling.devtools import workspace

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

CUSTOMER_HEADER = "customer_id,first_name,last_name,email,phone,city,signed_up_at,updated_at"

SOURCES_YAML = """
sources:
  - name: erp
    format: csv
    entities:
      - name: customers
        location: erp/customers/customers_*.csv
        primary_key: [customer_id]
        load: merge
        cursor: updated_at
        columns: {customer_id: BIGINT, first_name: VARCHAR, last_name: VARCHAR,
                  email: VARCHAR, phone: VARCHAR, city: VARCHAR,
                  signed_up_at: TIMESTAMP, updated_at: TIMESTAMP}
      - name: items
        location: erp/items/items_*.csv
        primary_key: [item_id]
        load: append
        columns: {item_id: BIGINT, amount_cents: BIGINT}
      - name: stores
        location: erp/stores/stores_*.csv
        primary_key: [store_id]
        load: replace
        columns: {store_id: INTEGER, store_name: VARCHAR}
  - name: payments
    format: json_pages
    record_path: data
    entities:
      - name: payments
        location: payments/payments_page_*.json
        primary_key: [payment_id]
        load: merge
        cursor: updated_at
        columns: {payment_id: VARCHAR, amount_cents: BIGINT, status: VARCHAR,
                  updated_at: TIMESTAMP}
  - name: events
    format: ndjson
    entities:
      - name: events
        location: events/*.ndjson
        primary_key: [event_id]
        load: append
        columns: {event_id: VARCHAR, occurred_at: TIMESTAMP, payload: JSON}
"""


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def write_page(path: Path, records: list[dict], page: int, next_page: int | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"data": records, "page": page, "next_page": next_page}))
    return path


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """A small landing root with every format and load mode."""
    root = tmp_path / "landing"
    write_csv(
        root / "erp/customers/customers_2026-10-01.csv",
        CUSTOMER_HEADER,
        [
            "1,Ada,Lovelace,Ada@Example.COM,,London,2026-10-01 10:00:00,2026-10-01 10:00:00",
            "2,Alan,Turing,,555-0100,Wilmslow,2026-10-01 11:00:00,2026-10-01 11:00:00",
        ],
    )
    write_csv(
        root / "erp/customers/customers_2026-10-02.csv",
        CUSTOMER_HEADER,
        ["1,Ada,Lovelace,ada@example.com,,Rome,2026-10-01 10:00:00,2026-10-02 09:00:00"],
    )
    write_csv(root / "erp/items/items_2026-10-01.csv", "item_id,amount_cents", ["1,100", "2,250"])
    write_csv(root / "erp/items/items_2026-10-02.csv", "item_id,amount_cents", ["2,250", "3,75"])
    write_csv(root / "erp/stores/stores_2026-10-01.csv", "store_id,store_name", ["1,Brooklyn"])
    write_page(
        root / "payments/payments_page_0001.json",
        [
            {
                "payment_id": "p1",
                "amount_cents": 100,
                "status": "failed",
                "updated_at": "2026-10-01 10:00:00",
            }
        ],
        1,
        2,
    )
    write_page(
        root / "payments/payments_page_0002.json",
        [
            {
                "payment_id": "p1",
                "amount_cents": 100,
                "status": "succeeded",
                "updated_at": "2026-10-01 10:05:00",
            },
            {
                "payment_id": "p2",
                "amount_cents": -250,
                "status": "succeeded",
                "updated_at": "2026-10-01 12:00:00",
            },
        ],
        2,
        None,
    )
    (root / "events").mkdir(parents=True)
    (root / "events/events_2026-10-01.ndjson").write_text(
        '{"event_id": "e1", "occurred_at": "2026-10-01 10:00:00", "payload": {"page": "/a"}}\n'
        '{"event_id": "e2", "occurred_at": "2026-10-01 10:01:00", "payload": {"page": "/b"}}\n'
    )
    (tmp_path / "sources.yml").write_text(SOURCES_YAML)
    return root


@pytest.fixture
def sources_file(landing: Path) -> Path:
    return landing.parent / "sources.yml"


TEST_PRIVACY_KEY = "test-suite-privacy-key-not-a-secret"


def run_cli(
    *args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real `dataops` console script in a subprocess."""
    # Settings a previous in-process call exported must not leak into this run.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("DATAOPS_")}
    # The secret privacy erasure and the PII-free state hash with (a CI secret in
    # the workflows); a test that needs it unset passes DATAOPS_PRIVACY_KEY="".
    full_env = {
        **inherited,
        "COLUMNS": "200",
        "DATAOPS_PRIVACY_KEY": TEST_PRIVACY_KEY,
        **(env or {}),
    }
    exe = shutil.which("dataops", path=str(Path(sys.executable).parent)) or "dataops"
    return subprocess.run(
        [exe, *args],
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def copy_repo(dest: Path) -> Path:
    """A working copy of the repository without environments, state or outputs."""
    return workspace.copy_repo(REPO, dest)


@contextlib.contextmanager
def hold_duckdb_lock(path: Path) -> Iterator[None]:
    """Another process holds ``path`` open (DuckDB's one-writer lock) while the block runs."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('ok', flush=True); "
            "time.sleep(300)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        yield
    finally:
        holder.kill()
        holder.wait()


def skip_unless(condition: bool, reason: str) -> None:
    """Skip on a developer machine without a system tool; fail in CI (CI=true),
    where ci/system-deps.sh installs it, so a missing tool never passes silently."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (ci/system-deps.sh should have installed it)")
    pytest.skip(reason)


def run_dbt(
    project: Path, env: dict[str, str], *args: str, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    """Run dbt (this environment's) on a generated or fixture project in its folder."""
    exe = Path(sys.executable).parent / "dbt"
    where = ["--project-dir", str(project), "--profiles-dir", str(project)]
    return subprocess.run(
        [str(exe), "--quiet", *args, *where],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
