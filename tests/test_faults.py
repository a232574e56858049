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
        kept = con.execute("select _reason, _record from raw_events._quarantine_events").fetchall()
    assert loaded == [("g1",), ("g2",)]
    assert [(r.split(":")[0], rec) for r, rec in kept] == [("line 2", lines[1])]


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
