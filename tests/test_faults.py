"""Bad input and faults: one error line naming the culprit, the right exit
code, no traceback, and every table's fingerprint unchanged where a load failed.

The CLI runs in-process through :func:`tooling.cli.main` (the console script's own
entry, the same code path; a subprocess costs seconds per case on this machine); a
few cases run the real console script to cover ``entry`` and exit 70. Fingerprints
are computed here from the warehouse: per table the row count and an
order-independent hash of all rows.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
import yaml
from conftest import write_csv, write_page
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.config import load_config
from ingestion.pipeline import ingest
from tooling.cli import main


def fingerprints(db: Path) -> dict[str, tuple[int, int]]:
    """Every table: (rows, order-independent hash of the rows)."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where schema_name like 'raw_%' or schema_name = 'dataops_meta' order by 1, 2"
        ).fetchall()
        out = {}
        for schema, table in tables:
            rel = f'"{schema}"."{table}"'
            count, digest = con.execute(
                f"select count(*), coalesce(bit_xor(hash(t)), 0) from {rel} as t"
            ).fetchone()
            out[f"{schema}.{table}"] = (count, digest)
        return out


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`dataops ARGV` in-process: (exit code, stdout, stderr)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(("DATAOPS_", "DBT_"))}
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        for key in [k for k in os.environ if k.startswith(("DATAOPS_", "DBT_"))]:
            if key not in saved:
                del os.environ[key]
        os.environ.update(saved)
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str, out: str = "") -> str:
    assert "Traceback" not in out + err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def project(landing: Path, sources_file: Path, tmp_path: Path) -> dict:
    db = tmp_path / "w.duckdb"
    args = ["--sources", str(sources_file), "--landing-root", str(landing), "--warehouse", str(db)]
    ingest(load_config(sources_file), db, landing)  # the library: seconds cheaper than a process
    return {"args": args, "db": db, "landing": landing, "sources": sources_file, "tmp": tmp_path}


def _entity_edit(name: str, key: str, value: object) -> Callable[[dict], None]:
    def edit(data: dict) -> None:
        for source in data["sources"]:
            for entity in source["entities"]:
                if entity["name"] == name:
                    if key.startswith("-"):
                        value_ = entity.pop(key[1:])
                        entity[str(value)] = value_
                    else:
                        entity[key] = value

    return edit


# (id, edit of the parsed sources YAML, expected exit code, needles of the error line)
YAML_CASES = [
    ("laod", _entity_edit("customers", "-load", "laod"), 1, ["customers", "'laod'", "'load'"]),
    (
        "primay_key",
        _entity_edit("customers", "-primary_key", "primay_key"),
        1,
        ["customers", "'primay_key'", "did you mean 'primary_key'"],
    ),
    ("cursr", _entity_edit("customers", "-cursor", "cursr"), 1, ["'cursr'", "'cursor'"]),
    ("max_bad_row", _entity_edit("items", "max_bad_row", 3), 1, ["'max_bad_row'", "max_bad_rows"]),
    ("top_level", lambda d: d.update(sourcse_extra=1), 1, ["unknown key 'sourcse_extra'"]),
    ("primary_key_int", _entity_edit("items", "primary_key", 5), 1, ["items", "primary_key"]),
    ("pagination_int", _entity_edit("payments", "pagination", 5), 1, ["payments", "pagination"]),
    ("auth_string", _entity_edit("payments", "auth", "bearer"), 1, ["payments", "auth"]),
    ("columns_list", _entity_edit("stores", "columns", ["a"]), 1, ["stores", "columns"]),
]


@pytest.mark.parametrize(
    ("edit", "code", "needles"), [c[1:] for c in YAML_CASES], ids=[c[0] for c in YAML_CASES]
)
def test_sources_yaml_mistakes(
    project: dict, capsys: pytest.CaptureFixture[str], edit: Callable, code: int, needles: list
) -> None:
    before = fingerprints(project["db"])
    data = yaml.safe_load(project["sources"].read_text())
    edit(data)
    project["sources"].write_text(yaml.safe_dump(data, sort_keys=False))
    rc, out, err = run(["ingest", *project["args"]], capsys)
    assert rc == code
    line = one_error_line(err, out)
    for needle in needles:
        assert needle in line, line
    assert str(project["sources"]) in line
    assert fingerprints(project["db"]) == before


def test_non_utf8_sources_yaml(project: dict, capsys: pytest.CaptureFixture[str]) -> None:
    before = fingerprints(project["db"])
    project["sources"].write_bytes(project["sources"].read_bytes() + b"\n# caf\xe9\n")
    rc, out, err = run(["ingest", *project["args"]], capsys)
    line = one_error_line(err, out)
    assert rc == 1 and "not UTF-8" in line and "0xe9" in line and str(project["sources"]) in line
    assert fingerprints(project["db"]) == before


def test_sources_yaml_with_a_bom_is_fine(project: dict, capsys: pytest.CaptureFixture[str]) -> None:
    project["sources"].write_bytes(b"\xef\xbb\xbf" + project["sources"].read_bytes())
    rc, _, err = run(["ingest", *project["args"]], capsys)
    assert rc == 0, err


def test_the_published_schema_is_current_and_validates_the_shipped_files() -> None:
    from ingestion import schema

    assert schema.SCHEMA_FILE.read_text() == schema.render_schema(), (
        "run `python -m ingestion.schema`"
    )
    repo = Path(schema.__file__).parent
    for name in ("sources.yml", "sources.production.yml"):
        text = (repo / name).read_text()
        assert text.startswith("# yaml-language-server: $schema=./sources.schema.json")
        assert schema.validate(yaml.safe_load(text)) is None
    # the schema itself rejects the typo too (what an editor shows)
    import jsonschema

    data = yaml.safe_load((repo / "sources.yml").read_text())
    data["sources"][0]["entities"][0]["laod"] = "merge"
    errors = list(jsonschema.Draft202012Validator(schema.json_schema()).iter_errors(data))
    assert any("laod" in e.message for e in errors)


# --- no silent loss -----------------------------------------------------------------


def test_json_pages_without_the_record_array_fail_and_reload_after_the_fix(
    project: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    landing, db = project["landing"], project["db"]
    before = fingerprints(db)
    page = landing / "payments" / "payments_page_0003.json"
    page.write_text(json.dumps({"items": [{"payment_id": "p9", "amount_cents": 9}]}))
    rc, out, err = run(["ingest", *project["args"]], capsys)
    line = one_error_line(err, out)
    assert rc == 1 and "payments_page_0003.json" in line and "record_path 'data'" in line
    changed = {k for k, v in fingerprints(db).items() if before.get(k) != v}
    assert changed == {"dataops_meta.load_batches"}  # only the failed batch is recorded
    # fix the config (record_path: items would break the other pages: fix the page)
    page.write_text(json.dumps({"data": [{"payment_id": "p9", "amount_cents": 9}]}))
    rc, out, err = run(["ingest", *project["args"]], capsys)
    assert rc == 0, err
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "select count(*) from raw_payments.payments where payment_id = 'p9'"
        ).fetchone() == (1,)


@pytest.mark.parametrize("content", ["", "\n  \n"], ids=["empty", "blank-lines"])
def test_an_ndjson_file_without_records_fails_and_is_not_loaded(
    project: dict, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    # DuckDB reads such a file as one column named "json": it used to reach the drift
    # rules and add a `json` column to raw_events.events.
    landing, db = project["landing"], project["db"]
    before = fingerprints(db)
    (landing / "events" / "events_2099-01-01.ndjson").write_text(content)
    rc, out, err = run(["ingest", *project["args"]], capsys)
    line = one_error_line(err, out)
    assert rc == 1 and "events_2099-01-01.ndjson is empty (no record)" in line
    changed = {k for k, v in fingerprints(db).items() if before.get(k) != v}
    assert changed <= {"dataops_meta.load_batches"}
    with duckdb.connect(str(db), read_only=True) as con:
        columns = {
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'raw_events' and table_name = 'events'"
            ).fetchall()
        }
        loaded = con.execute(
            "select count(*) from dataops_meta.loaded_files where path like '%2099%'"
        ).fetchone()
    assert "json" not in columns and loaded == (0,)


@pytest.mark.parametrize("content", ["", " \n\n"], ids=["empty", "blank-lines"])
def test_an_empty_json_page_fails_and_is_not_loaded(
    project: dict, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    # DuckDB reads it as no page: it loaded nothing and was recorded as loaded
    landing, db = project["landing"], project["db"]
    before = fingerprints(db)
    (landing / "payments" / "payments_page_0099.json").write_text(content)
    rc, out, err = run(["ingest", *project["args"]], capsys)
    line = one_error_line(err, out)
    assert rc == 1 and "payments/payments_page_0099.json is empty (no page)" in line
    changed = {k for k, v in fingerprints(db).items() if before.get(k) != v}
    assert changed <= {"dataops_meta.load_batches"}


def test_a_config_fix_reloads_the_files_it_affects(
    project: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    landing, db, sources = project["landing"], project["db"], project["sources"]
    (landing / "events/events_2026-10-01.ndjson").write_text(
        '{"event_id": "e1", "occurred_at": "2026-10-01 10:00:00", "payload": {}, "kind": "a"}\n'
    )
    # the events entity declares no `kind`: detected as drift, and the file's
    # old rows are replaced when its config changes (append: no duplicates)
    rc, _, err = run(["ingest", *project["args"]], capsys)
    assert rc == 0, err
    data = yaml.safe_load(sources.read_text())
    ev = data["sources"][-1]["entities"][0]
    ev["columns"]["kind"] = "VARCHAR"
    sources.write_text(yaml.safe_dump(data, sort_keys=False))
    rc, _, err = run(["ingest", *project["args"]], capsys)
    assert rc == 0, err
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("select event_id, kind from raw_events.events order by all").fetchall()
        files = con.execute(
            "select path, count(*) from dataops_meta.loaded_files where entity = 'events' "
            "group by path order by path"
        ).fetchall()
    assert rows == [("e1", "a")]
    assert files == [("events/events_2026-10-01.ndjson", 1)]


def test_replace_mirrors_deleted_files(project: dict, capsys: pytest.CaptureFixture[str]) -> None:
    landing, db, sources = project["landing"], project["db"], project["sources"]
    data = yaml.safe_load(sources.read_text())
    for entity in data["sources"][0]["entities"]:
        if entity["name"] == "items":
            entity["load"] = "replace"
    sources.write_text(yaml.safe_dump(data, sort_keys=False))
    rc, _, err = run(["ingest", *project["args"], "--full-refresh"], capsys)
    assert rc == 0, err
    (landing / "erp/items/items_2026-10-01.csv").unlink()
    rc, _, err = run(["ingest", *project["args"]], capsys)
    assert rc == 0, err
    expected = [(2, 250), (3, 75)]  # the remaining file, recomputed from it by hand
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select item_id, amount_cents from raw_erp.items order by all"
        ).fetchall()
        removed = con.execute(
            "select removed_files from dataops_meta.load_batches where entity = 'items' "
            "order by started_at desc limit 1"
        ).fetchone()
    assert rows == expected
    assert removed == (["erp/items/items_2026-10-01.csv"],)
    # no file matches any more: an error naming the glob, the table keeps its rows
    (landing / "erp/items/items_2026-10-02.csv").unlink()
    before = fingerprints(db)
    rc, out, err = run(["ingest", *project["args"], "--entity", "items"], capsys)
    assert rc == 1 and "erp/items/items_*.csv" in one_error_line(err, out)
    assert fingerprints(db) == before


def test_ndjson_key_after_duckdbs_sample_is_detected(
    project: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    landing, db = project["landing"], project["db"]
    lines = [
        json.dumps({"event_id": f"x{i}", "occurred_at": "2026-10-02 10:00:00", "payload": {}})
        for i in range(25_000)
    ]
    lines.append(
        json.dumps(
            {
                "event_id": "late",
                "occurred_at": "2026-10-02 11:00:00",
                "payload": {},
                "late_key": "here",
            }
        )
    )
    (landing / "events/events_2026-10-02.ndjson").write_text("\n".join(lines) + "\n")
    rc, _, err = run(["ingest", *project["args"]], capsys)
    assert rc == 0, err
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.execute(
            "select late_key from raw_events.events where event_id = 'late'"
        ).fetchone()
        events = con.execute(
            "select column_name, kind from dataops_meta.drift_events where entity = 'events'"
        ).fetchall()
    assert got == ("here",)
    assert ("late_key", "added") in events


# --- artifacts and outputs -------------------------------------------------------------


@pytest.fixture
def fake_project(tmp_path: Path) -> Path:
    project = tmp_path / "p"
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: p\nprofile: p\n")
    return project


ARTIFACT_CASES = [
    ("manifest_not_utf8", "manifest.json", b"\xff\xfe{", ["check"], ["manifest.json", "not UTF-8"]),
    ("manifest_nodes_int", "manifest.json", b'{"nodes": 5}', ["check"], ["'nodes'", "an object"]),
    (
        "manifest_node_str",
        "manifest.json",
        b'{"nodes": {"a": 1}}',
        ["lineage", "a"],
        ["nodes['a']"],
    ),
    (
        "manifest_for_docs",
        "manifest.json",
        b'{"sources": []}',
        ["docs", "build", "--skip-dbt"],
        ["'sources'"],
    ),
    ("catalog_shape", "catalog.json", b'{"nodes": []}', ["check"], ["catalog.json", "'nodes'"]),
]


@pytest.mark.parametrize(
    ("name", "content", "argv", "needles"),
    [c[1:] for c in ARTIFACT_CASES],
    ids=[c[0] for c in ARTIFACT_CASES],
)
def test_bad_artifacts(
    fake_project: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes,
    argv: list[str],
    needles: list[str],
) -> None:
    target = fake_project / "target"
    (target / "manifest.json").write_text('{"nodes": {}, "sources": {}, "metadata": {}}')
    (target / name).write_bytes(content)
    extra = ["--out", str(fake_project / "site")] if argv[0] == "docs" else []
    rc, out, err = run(["--project-dir", str(fake_project), *argv, *extra], capsys)
    line = one_error_line(err, out)
    assert rc == 1, err
    for needle in needles:
        assert needle in line, line


def test_bad_plan_and_lint_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ci_dir = tmp_path / "ci"
    ci_dir.mkdir()
    (ci_dir / "plan.json").write_text('{"modified": [{"nope": 1}]}')
    rc, out, err = run(["ci", "report", "--ci-dir", str(ci_dir)], capsys)
    assert rc == 1 and "CI plan" in one_error_line(err, out)
    (ci_dir / "plan.json").write_text('{"modified": []}')
    lint = tmp_path / "lint.json"
    lint.write_text('{"violations": 3}')
    rc, out, err = run(["ci", "report", "--ci-dir", str(ci_dir), "--lint-json", str(lint)], capsys)
    line = one_error_line(err, out)
    assert rc == 1 and "lint JSON" in line and "'violations'" in line


def test_unwritable_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    rc, out, err = run(["generate", "--scale", "0.001", "--out", str(blocker / "sub")], capsys)
    line = one_error_line(err, out)
    assert rc == 1 and str(blocker) in line


def test_console_script_last_guard_exits_70_with_a_named_log(tmp_path: Path) -> None:
    """A bug of ours (here: a command that divides by zero) never prints a
    traceback: one line, exit 70, the traceback in the file it names."""
    crash_dir = tmp_path / "crashes"
    script = (
        "import sys; from tooling import cli; "
        "cli.app.command('boom')(lambda: 1 / 0); sys.argv = ['dataops', 'boom']; cli.entry()"
    )
    result = subprocess.run(
        [os.sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "DATAOPS_CRASH_DIR": str(crash_dir)},
        timeout=120,
    )
    assert result.returncode == 70
    line = one_error_line(result.stderr, result.stdout)
    assert "ZeroDivisionError" in line
    (log,) = crash_dir.iterdir()
    assert str(log) in line
    assert "Traceback" in log.read_text() and "ZeroDivisionError" in log.read_text()


# --- hypothesis: malformed inputs never crash --------------------------------------


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=200))
def test_any_sources_yaml_text_is_accepted_or_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = tmp_path / "sources.yml"
    path.write_text(text, encoding="utf-8")
    rc, out, err = run(
        [
            "ingest",
            "--sources",
            str(path),
            "--landing-root",
            str(tmp_path),
            "--warehouse",
            str(tmp_path / "h.duckdb"),
            "--dry-run",
        ],
        capsys,
    )
    if rc != 0:
        assert rc in (1, 2)
        one_error_line(err, out)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kind=st.sampled_from(["csv", "ndjson"]), body=st.binary(max_size=300))
def test_malformed_csv_and_ndjson_quarantine_or_fail_in_one_line(
    project: dict, capsys: pytest.CaptureFixture[str], kind: str, body: bytes
) -> None:
    landing, db = project["landing"], project["db"]
    if kind == "csv":
        path, entity = landing / "erp/items/items_fuzz.csv", "items"
        path.write_bytes(b"item_id,amount_cents\n" + body)
    else:
        path, entity = landing / "events/events_fuzz.ndjson", "events"
        path.write_bytes(body)
    before = fingerprints(db)
    rc, out, err = run(["ingest", *project["args"], "--entity", entity], capsys)
    path.unlink()
    if rc != 0:
        assert rc == 1
        assert path.name in one_error_line(err, out)
        after = fingerprints(db)
        # data tables untouched; only the failed batch (and its quarantine) recorded
        assert {
            k: v for k, v in after.items() if k.startswith("raw_") and "_quarantine_" not in k
        } == {k: v for k, v in before.items() if k.startswith("raw_") and "_quarantine_" not in k}


# keep the helpers importable for the secrets test
__all__ = ["fingerprints", "one_error_line", "run", "write_csv", "write_page"]


# --- consistent quarantine ------------------------------------------------------------


def test_a_malformed_ndjson_record_is_quarantined_not_fatal(
    project: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    landing, db = project["landing"], project["db"]
    lines = [
        '{"event_id": "g1", "occurred_at": "2026-10-03 10:00:00", "payload": {}}',
        '{"event_id": "bad", "occurred_at": ',
        '{"event_id": "g2", "occurred_at": "2026-10-03 10:02:00", "payload": {}}',
    ]
    (landing / "events/events_2026-10-03.ndjson").write_text("\n".join(lines) + "\n")
    rc, _, err = run(["ingest", *project["args"]], capsys)
    assert rc == 0, err
    with duckdb.connect(str(db), read_only=True) as con:
        loaded = con.execute(
            "select event_id from raw_events.events where _loaded_at in (select loaded_at "
            "from dataops_meta.loaded_files where path like '%10-03%') order by 1"
        ).fetchall()
        kept = con.execute(
            "select _source_file, _line, _reason, _record from raw_events._quarantine_events"
        ).fetchall()
    assert loaded == [("g1",), ("g2",)]
    # DuckDB's parser message: the line ends (0-based byte offset) where a value is due
    message = f"Malformed JSON at byte {len(lines[1])} of input: unexpected end of data."
    assert kept == [("events/events_2026-10-03.ndjson", 2, message, lines[1])]


def test_csv_bom_and_a_late_bad_byte(project: dict, capsys: pytest.CaptureFixture[str]) -> None:
    landing, db = project["landing"], project["db"]
    (landing / "erp/items/items_2026-10-03.csv").write_bytes(
        b"\xef\xbb\xbfitem_id,amount_cents\n4,40\n"
    )
    # a non-UTF-8 byte on a data row in the first 8 KiB: that row is quarantined
    (landing / "erp/items/items_2026-10-04.csv").write_bytes(
        b"item_id,amount_cents\n5,5\xe9\n6,60\n"
    )
    rc, _, err = run(["ingest", *project["args"]], capsys)
    assert rc == 0, err
    with duckdb.connect(str(db), read_only=True) as con:
        ids = con.execute(
            "select item_id from raw_erp.items where item_id >= 4 order by 1"
        ).fetchall()
        kept = con.execute("select _source_file, _line from raw_erp._quarantine_items").fetchall()
    assert ids == [(4,), (6,)]
    assert kept == [("erp/items/items_2026-10-04.csv", 2)]


def test_rich_markup_in_a_column_name_is_text(
    fake_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    column = "[/dim]x"
    node = {
        "unique_id": "model.p.m",
        "resource_type": "model",
        "name": "m",
        "package_name": "p",
        "original_file_path": "models/m.sql",
        "path": "m.sql",
        "fqn": ["p", "m"],
        "schema": "main",
        "database": "w",
        "alias": "m",
        "columns": {column: {"name": column, "description": ""}},
        "depends_on": {"nodes": [], "macros": []},
        "compiled_code": f'select 1 as "{column}"',
        "config": {"materialized": "table"},
        "tags": [],
    }
    manifest = {
        "metadata": {"project_name": "p"},
        "nodes": {"model.p.m": node},
        "sources": {},
        "exposures": {},
        "parent_map": {"model.p.m": []},
        "child_map": {"model.p.m": []},
    }
    (fake_project / "target" / "manifest.json").write_text(json.dumps(manifest))
    rc, out, err = run(
        ["--project-dir", str(fake_project), "lineage", "m", "--column", column], capsys
    )
    assert rc == 0, err
    assert f"m.{column}" in out


# --- NDJSON and JSON pages: a record that does not fit is quarantined, not fatal ----------

QUARANTINE_YAML = """
sources:
  - name: shop
    format: ndjson
    entities:
      - name: sales
        location: sales/*.ndjson
        primary_key: [sale_id]
        load: append
        columns: {sale_id: VARCHAR, amount: DOUBLE, qty: BIGINT, sold_at: TIMESTAMP,
                  note: VARCHAR}
  - name: feed
    format: json_pages
    record_path: data
    entities:
      - name: orders
        location: orders/page_*.json
        primary_key: [order_id]
        load: append
        columns: {order_id: VARCHAR, total: DOUBLE, placed_at: TIMESTAMP}
"""
SALES = {
    "sale_id": "VARCHAR",
    "amount": "DOUBLE",
    "qty": "BIGINT",
    "sold_at": "TIMESTAMP",
    "note": "VARCHAR",
}
ORDERS = {"order_id": "VARCHAR", "total": "DOUBLE", "placed_at": "TIMESTAMP"}


@pytest.fixture
def shop(tmp_path: Path) -> dict:
    landing = tmp_path / "landing"
    (landing / "sales").mkdir(parents=True)
    (landing / "orders").mkdir()
    sources = tmp_path / "shop.yml"
    sources.write_text(QUARANTINE_YAML)
    db = tmp_path / "shop.duckdb"
    args = ["--sources", str(sources), "--landing-root", str(landing), "--warehouse", str(db)]
    return {"landing": landing, "sources": sources, "db": db, "args": args, "tmp": tmp_path}


def reader_verdict(
    tmp: Path, text: str, columns: dict[str, str], pages: bool = False
) -> str | None:
    """DuckDB's own typed reader on this one line (or page) alone: None, or its message.

    The expectation of every test below: what the loader must find bad is what
    DuckDB's reader rejects, with the message it gives (after its approximate
    "in line N:" location, which it gets wrong: it is why lines are counted here).
    """
    path = tmp / ("one.json" if pages else "one.ndjson")
    path.write_text(text + "\n")
    if pages:
        struct = ", ".join(f"{c} {t}" for c, t in columns.items())
        sql = (
            f"select * from read_json('{path}', format = 'auto', "
            f"columns = {{'data': 'STRUCT({struct})[]'}})"
        )
    else:
        cols = ", ".join(f"'{c}': '{t}'" for c, t in columns.items())
        sql = (
            f"select * from read_json('{path}', format = 'newline_delimited', columns = {{{cols}}})"
        )
    try:
        duckdb.sql(sql).fetchall()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        return first.split(", in line 1: ", 1)[1] if ", in line 1: " in first else first
    finally:
        path.unlink()
    return None


def table_rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


SALE_LINES = [
    '{"sale_id": "s1", "amount": 1.5, "qty": 2, "sold_at": "2026-10-01 10:00:00"}',
    '{"sale_id": "s2", "amount": "abc", "qty": 1}',  # not a DOUBLE
    "",  # blank: skipped, as DuckDB's reader does, but counted
    '{"sale_id": "s3", "amount": 2, "qty": "many"}',  # not a BIGINT
    '{"sale_id": "s4", "sold_at": "yesterday"}',  # not a TIMESTAMP
    '{"sale_id": "s5", "amount": 3,',  # not JSON
    "[1, 2]",  # not an object
    '{"sale_id": "s6", "amount": null, "qty": 7, "note": {"a": 1}}',  # null and an object: fine
    '{"sale_id": "s7", "amount": "4.25"}',  # a numeric string converts to DOUBLE
]


def test_ndjson_values_that_do_not_convert_are_quarantined_by_line(
    shop: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    db, tmp = shop["db"], shop["tmp"]
    (shop["landing"] / "sales/sales_1.ndjson").write_text("\n".join(SALE_LINES) + "\n")
    # the expectation, line by line, from DuckDB's reader on each line alone
    verdicts = {n: reader_verdict(tmp, line, SALES) for n, line in enumerate(SALE_LINES, 1) if line}
    bad = {n for n, v in verdicts.items() if v is not None}
    good = [json.loads(SALE_LINES[n - 1])["sale_id"] for n in sorted(set(verdicts) - bad)]
    assert bad == {2, 4, 5, 6, 7} and good == ["s1", "s6", "s7"]  # the fixture is what it says
    rc, out, err = run(["ingest", *shop["args"], "--entity", "sales"], capsys)
    assert rc == 0, err
    assert "Traceback" not in out + err
    assert table_rows(db, "select sale_id, amount, qty, note from raw_shop.sales order by 1") == [
        ("s1", 1.5, 2, None),
        ("s6", None, 7, '{"a":1}'),
        ("s7", 4.25, None, None),
    ]
    kept = table_rows(
        db,
        "select _source_file, _line, _reason, _record from raw_shop._quarantine_sales "
        "order by _line",
    )
    assert [k[1] for k in kept] == sorted(bad)
    assert {k[0] for k in kept} == {"sales/sales_1.ndjson"}
    assert [k[3] for k in kept] == [SALE_LINES[n - 1] for n in sorted(bad)]
    reasons = {k[1]: k[2] for k in kept}
    assert reasons[2] == f"column amount: {verdicts[2]}"
    assert reasons[4] == f"column qty: {verdicts[4]}"
    assert reasons[5] == f"column sold_at: {verdicts[5]}"
    assert 'Failed to cast value to numerical: "abc"' in reasons[2]
    assert reasons[6].startswith("Malformed JSON at byte ") and "unexpected end" in reasons[6]
    assert reasons[7] == "a record must be a JSON object, not an array"
    assert table_rows(
        db, "select path, rows_loaded from dataops_meta.loaded_files where entity = 'sales'"
    ) == [("sales/sales_1.ndjson", 3)]
    assert table_rows(
        db, "select status, rows_loaded, rows_quarantined from dataops_meta.load_batches"
    ) == [("loaded", 3, 5)]
    # a second ingest changes nothing (the file is loaded; its bad lines are not added again)
    before = fingerprints(db)
    rc, _, err = run(["ingest", *shop["args"], "--entity", "sales"], capsys)
    assert rc == 0, err
    after = fingerprints(db)
    assert {k for k in after if after[k] != before.get(k)} == {"dataops_meta.load_batches"}
    assert table_rows(db, "select status from dataops_meta.load_batches order by started_at") == [
        ("loaded",),
        ("skipped",),
    ]


def test_over_max_bad_rows_an_ndjson_batch_commits_nothing_until_allowed_or_fixed(
    shop: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    db, landing, args = shop["db"], shop["landing"], shop["args"]
    (landing / "sales/sales_1.ndjson").write_text(SALE_LINES[0] + "\n")
    assert run(["ingest", *args, "--entity", "sales"], capsys)[0] == 0
    lines = [
        '{"sale_id": "t1", "amount": 1}',
        '{"sale_id": "t2", "amount": "abc"}',
        '{"sale_id": "t3", "qty": 1.5e300}',
        '{"sale_id": "t4", "amount": 4}',
    ]
    new = landing / "sales/sales_2.ndjson"
    new.write_text("\n".join(lines) + "\n")
    before = fingerprints(db)
    rc, out, err = run(["ingest", *args, "--entity", "sales", "--max-bad-rows", "1"], capsys)
    line = one_error_line(err, out)
    assert rc == 1
    message = reader_verdict(shop["tmp"], lines[1], SALES)
    assert message is not None and reader_verdict(shop["tmp"], lines[2], SALES) is not None
    assert line == (
        "error: raw_shop.sales: 2 bad row(s) exceed max_bad_rows=1; first: "
        f"sales/sales_2.ndjson line 2: column amount: {message} "
        "(bad rows kept in raw_shop._quarantine_sales)"
    )
    after = fingerprints(db)
    # nothing of the batch committed: the data and loaded_files are as they were
    assert {k for k in after if after[k] != before.get(k)} == {
        "dataops_meta.load_batches",
        "raw_shop._quarantine_sales",
    }
    assert table_rows(db, "select _line from raw_shop._quarantine_sales order by 1") == [(2,), (3,)]
    # allowed now (the file was not recorded as loaded, so it is read again)
    rc, _, err = run(["ingest", *args, "--entity", "sales", "--max-bad-rows", "2"], capsys)
    assert rc == 0, err
    assert table_rows(db, "select sale_id from raw_shop.sales order by 1") == [
        ("s1",),
        ("t1",),
        ("t4",),
    ]
    # the failed attempt's quarantine rows are superseded, not counted twice
    assert table_rows(
        db,
        "select _line, _batch_id in (select batch_id from dataops_meta.load_batches "
        "where status = 'loaded') from raw_shop._quarantine_sales order by 1",
    ) == [(2, True), (3, True)]
    # the fixed file is new content: its rows arrive (append keeps what the old one loaded)
    new.write_text("\n".join([lines[0], '{"sale_id": "t2", "amount": 2}', lines[3]]) + "\n")
    rc, _, err = run(["ingest", *args, "--entity", "sales", "--max-bad-rows", "0"], capsys)
    assert rc == 0, err
    assert table_rows(db, "select sale_id, count(*) from raw_shop.sales group by 1 order by 1") == [
        ("s1", 1),
        ("t1", 2),
        ("t2", 1),
        ("t4", 2),
    ]


def write_orders_page(landing: Path, number: int, body: str) -> Path:
    path = landing / f"orders/page_{number}.json"
    path.write_text(body)
    return path


def test_json_pages_quarantine_a_malformed_page_and_records_that_do_not_convert(
    shop: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    db, landing, tmp = shop["db"], shop["landing"], shop["tmp"]
    write_orders_page(
        landing,
        1,
        json.dumps(
            {
                "data": [
                    {"order_id": "o1", "total": 10.5, "placed_at": "2026-10-01 10:00:00"},
                    {"order_id": "o2", "total": 3},
                ]
            }
        ),
    )
    malformed = '{"data": [{"order_id": "o3", "total": 1},'
    write_orders_page(landing, 2, malformed)
    records = [
        {"order_id": "o4", "total": 4},
        {"order_id": "o5", "total": "abc"},
        7,
        {"order_id": "o6", "placed_at": "soon"},
        {"order_id": "o7"},
    ]
    write_orders_page(landing, 3, json.dumps({"data": records, "page": 3}))
    verdicts = [reader_verdict(tmp, json.dumps({"data": [r]}), ORDERS, pages=True) for r in records]
    assert [v is None for v in verdicts] == [True, False, False, False, True]
    assert reader_verdict(tmp, malformed, ORDERS, pages=True) is not None
    rc, out, err = run(["ingest", *shop["args"], "--entity", "orders"], capsys)
    assert rc == 0, err
    assert "Traceback" not in out + err
    assert table_rows(db, "select order_id, total from raw_feed.orders order by 1") == [
        ("o1", 10.5),
        ("o2", 3.0),
        ("o4", 4.0),
        ("o7", None),
    ]
    kept = table_rows(
        db,
        "select _source_file, _line, _reason, _record from raw_feed._quarantine_orders "
        "order by _source_file, _reason",
    )
    assert [(k[0], k[1]) for k in kept] == [
        ("orders/page_2.json", None),
        ("orders/page_3.json", None),
        ("orders/page_3.json", None),
        ("orders/page_3.json", None),
    ]
    page, *recs = kept
    assert page[2].startswith('Malformed JSON in file "orders/page_2.json"')  # DuckDB's, relative
    assert str(landing) not in page[2] and page[3] == malformed
    assert [r[2] for r in recs] == [
        f"$.data[1]: column total: {verdicts[1]}",
        "$.data[2]: a record must be a JSON object, not a number",
        f"$.data[3]: column placed_at: {verdicts[3]}",
    ]
    assert [json.loads(r[3]) for r in recs] == records[1:4]
    assert table_rows(db, "select path, rows_loaded from dataops_meta.loaded_files order by 1") == [
        ("orders/page_1.json", 2),
        ("orders/page_2.json", 0),
        ("orders/page_3.json", 2),
    ]
    before = fingerprints(db)
    assert run(["ingest", *shop["args"], "--entity", "orders"], capsys)[0] == 0
    after = fingerprints(db)
    assert {k for k in after if after[k] != before.get(k)} == {"dataops_meta.load_batches"}
    # the page fixed: its records arrive, and only that page is read again
    write_orders_page(landing, 2, malformed.rstrip(",") + "]}")
    rc, _, err = run(["ingest", *shop["args"], "--entity", "orders"], capsys)
    assert rc == 0, err
    assert table_rows(db, "select order_id from raw_feed.orders where order_id = 'o3'") == [("o3",)]
    assert table_rows(
        db, "select files from dataops_meta.load_batches order by started_at desc limit 1"
    ) == [(["orders/page_2.json"],)]


def test_json_pages_over_max_bad_rows_commit_nothing(
    shop: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    db, landing = shop["db"], shop["landing"]
    write_orders_page(landing, 1, json.dumps({"data": [{"order_id": "o1", "total": 1}]}))
    assert run(["ingest", *shop["args"], "--entity", "orders"], capsys)[0] == 0
    before = fingerprints(db)
    bad = {"order_id": "o9", "total": "n/a"}
    write_orders_page(landing, 2, json.dumps({"data": [{"order_id": "o8", "total": 8}, bad]}))
    rc, out, err = run(
        ["ingest", *shop["args"], "--entity", "orders", "--max-bad-rows", "0"], capsys
    )
    line = one_error_line(err, out)
    verdict = reader_verdict(shop["tmp"], json.dumps({"data": [bad]}), ORDERS, pages=True)
    assert rc == 1 and line == (
        "error: raw_feed.orders: 1 bad row(s) exceed max_bad_rows=0; first: "
        f"orders/page_2.json: $.data[1]: column total: {verdict} "
        "(bad rows kept in raw_feed._quarantine_orders)"
    )
    after = fingerprints(db)
    assert {k for k in after if after[k] != before.get(k)} == {
        "dataops_meta.load_batches",
        "raw_feed._quarantine_orders",
    }
    write_orders_page(landing, 2, json.dumps({"data": [{"order_id": "o8", "total": 8}]}))
    rc, _, err = run(["ingest", *shop["args"], "--entity", "orders", "--max-bad-rows", "0"], capsys)
    assert rc == 0, err
    assert table_rows(db, "select order_id from raw_feed.orders order by 1") == [("o1",), ("o8",)]
    assert table_rows(db, "select count(*) from raw_feed._quarantine_orders") == [(0,)]


def test_an_ndjson_file_with_no_good_line_loads_no_row_and_no_column(
    shop: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    db, landing = shop["db"], shop["landing"]
    (landing / "sales/sales_1.ndjson").write_text(SALE_LINES[0] + "\n")
    assert run(["ingest", *shop["args"], "--entity", "sales"], capsys)[0] == 0
    lines = ["not json", '{"sale_id": "x", "amount": "abc"}', "[]"]
    (landing / "sales/sales_2.ndjson").write_text("\n".join(lines) + "\n")
    rc, _, err = run(["ingest", *shop["args"], "--entity", "sales"], capsys)
    assert rc == 0, err
    columns = table_rows(
        db, "select column_name from information_schema.columns where table_name = 'sales'"
    )
    # a cleaned copy without records used to be read as one column named "json"
    assert [c for (c,) in columns if not c.startswith("_")] == list(SALES)
    assert table_rows(db, "select sale_id from raw_shop.sales") == [("s1",)]
    assert table_rows(db, "select _line from raw_shop._quarantine_sales order by 1") == [
        (1,),
        (2,),
        (3,),
    ]
    assert table_rows(db, "select path, rows_loaded from dataops_meta.loaded_files order by 1") == [
        ("sales/sales_1.ndjson", 1),
        ("sales/sales_2.ndjson", 0),
    ]
    assert table_rows(db, "select count(*) from dataops_meta.drift_events") == [(0,)]


def test_an_ndjson_file_with_a_bom_loads_every_line(
    shop: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    # DuckDB rejects the BOM as malformed JSON on line 1; the cleaned copy drops it
    lines = ['{"sale_id": "b1", "amount": 1}', '{"sale_id": "b2", "amount": 2}']
    (shop["landing"] / "sales/sales_1.ndjson").write_bytes(
        b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n"
    )
    rc, _, err = run(["ingest", *shop["args"], "--entity", "sales"], capsys)
    assert rc == 0, err
    db = shop["db"]
    assert table_rows(db, "select sale_id, amount from raw_shop.sales order by 1") == [
        ("b1", 1.0),
        ("b2", 2.0),
    ]
    assert table_rows(db, "select count(*) from raw_shop._quarantine_sales") == [(0,)]


def test_clean_ndjson_and_pages_are_not_read_line_by_line(
    project: dict, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the fast path: a clean file costs no record-by-record check (nor a second read)
    from ingestion.sources import ndjson, pages

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a clean file was checked record by record")

    monkeypatch.setattr(ndjson, "_clean", refuse)
    monkeypatch.setattr(pages, "_bad_records", refuse)
    landing = project["landing"]
    (landing / "events/events_2026-10-05.ndjson").write_text(
        '{"event_id": "c1", "occurred_at": "2026-10-05 10:00:00", "payload": {}}\n'
    )
    write_page(
        landing / "payments/payments_page_0009.json",
        [{"payment_id": "p9", "amount_cents": 9, "status": "ok", "updated_at": "2026-10-05"}],
        9,
        None,
    )
    rc, _, err = run(["ingest", *project["args"]], capsys)
    assert rc == 0, err


# every type sources.yml allows, against values of every JSON kind
ALLOWED_TYPES = [
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "HUGEINT",
    "UBIGINT",
    "UINTEGER",
    "DOUBLE",
    "FLOAT",
    "BOOLEAN",
    "VARCHAR",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "JSON",
    "UUID",
    "BLOB",
    "DECIMAL(6,2)",
]
JSON_VALUES = [
    "1",
    '"1"',
    "1.5",
    '"1.5"',
    '"abc"',
    "true",
    '"true"',
    "null",
    "{}",
    "[]",
    "[1]",
    '{"a": 1}',
    "99999999999",
    "-1",
    "1e400",
    '"2026-01-01"',
    '"2026-01-01 10:00:00"',
    '"2026-01-01T10:00:00Z"',
    '"10:00:00"',
    "1767225600",
    '""',
    '"  2 "',
    "NaN",
    "123456.789",
    '"t"',
    "0",
    "256",
    "-129",
    '"550e8400-e29b-41d4-a716-446655440000"',
    "9999.999",
]


def test_the_record_check_agrees_with_duckdbs_reader_for_every_allowed_type(
    tmp_path: Path,
) -> None:
    import pyarrow as pa

    from ingestion.sources import records

    con = duckdb.connect()
    disagree = []
    for type_ in ALLOWED_TYPES:
        (tmp_path / "s.yml").write_text(
            "sources:\n  - name: s\n    format: ndjson\n    entities:\n      - name: e\n"
            f"        location: x.ndjson\n        load: append\n"
            f"        columns: {{c: '{type_}', d: BIGINT}}\n"
        )
        entity = load_config(tmp_path / "s.yml").sources[0].entities[0]
        lines = [f'{{"c": {v}}}' for v in JSON_VALUES]
        lines += [f'{{"c": {v}, "d": 1}}' for v in JSON_VALUES]  # every key: the fast check
        lines += [f'{{"d": 1, "c": {v}, "c": {v}}}' for v in JSON_VALUES[:3]]  # repeated key
        lines += ['{"x": 1, "x": 2}', '{"d": "2"}', "[1]", '"s"', '{"c"']
        con.register("__t", pa.table({"n": range(1, len(lines) + 1), "line": lines}))
        found = {
            r[0] for r in con.execute(records.problems_sql(entity, "__t", "line", "n")).fetchall()
        }
        for n, line in enumerate(lines, 1):
            rejected = reader_verdict(tmp_path, line, {"c": type_, "d": "BIGINT"}) is not None
            if rejected != (n in found):
                disagree.append((type_, line, rejected))
    assert disagree == []
