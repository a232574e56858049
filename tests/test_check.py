"""`dataops check`: each governance rule passes on a clean fixture manifest and fails,
naming the expected node, on a variant that breaks it. No dbt run."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from tooling.check import RULES, parse_config, pii_trace, run_checks
from tooling.errors import UsageError

FIXTURES = Path(__file__).parent / "fixtures" / "check"
P = "shop"


def M(name: str) -> str:
    return f"model.{P}.{name}"


def S(name: str) -> str:
    return f"source.{P}.crm.{name}"


@pytest.fixture(scope="module")
def clean() -> dict[str, Any]:
    return json.loads((FIXTURES / "clean" / "manifest.json").read_text())


def rule_nodes(manifest: dict, rule: str, catalog: dict | None = None, config=None) -> set[str]:
    report = run_checks(manifest, catalog, config)
    return {f.node for f in report.findings if f.rule == rule}


def add_model(m: dict, name: str, folder: str, parents: list[str], **extra: Any) -> str:
    """A fully documented, tested, owned model (so only the rule under test can fail)."""
    uid = M(name)
    m["nodes"][uid] = {
        "unique_id": uid,
        "name": name,
        "resource_type": "model",
        "package_name": P,
        "fqn": [P, *folder.split("/"), name],
        "original_file_path": f"models/{folder}/{name}.sql",
        "description": "Described.",
        "columns": {"thing_id": {"name": "thing_id", "description": "Key."}},
        "config": {"meta": {"owner": "x"}, "contract": {"enforced": True}},
        "depends_on": {"nodes": parents, "macros": []},
        "raw_code": "select 1 as thing_id",
        **extra,
    }
    for kind in ("unique", "not_null"):
        tid = f"test.{P}.{kind}_{name}_thing_id"
        m["nodes"][tid] = {
            "unique_id": tid,
            "resource_type": "test",
            "package_name": P,
            "test_metadata": {"name": kind},
            "column_name": "thing_id",
            "attached_node": uid,
            "depends_on": {"nodes": [uid]},
        }
    m.pop("child_map", None)  # recomputed from depends_on
    return uid


def _parents(m: dict, node: str, *extra: str) -> None:
    m["nodes"][node]["depends_on"]["nodes"].extend(extra)
    m.pop("child_map", None)


# (rule, how to break the clean manifest, the nodes the rule must name)
Case = tuple[str, Callable[[dict], None], set[str]]
CASES: list[Case] = [
    (
        "naming",
        lambda m: add_model(m, "orders_daily", "marts/sales", [M("fct_orders")]),
        {M("orders_daily")},
    ),
    (
        "naming",
        lambda m: add_model(m, "stg_erp__orders", "staging/crm", [S("orders")]),
        {M("stg_erp__orders")},
    ),
    (
        "naming",
        lambda m: add_model(m, "fct_loose", "misc", [M("fct_orders")]),
        {M("fct_loose")},
    ),
    (
        "source-outside-staging",
        lambda m: _parents(m, M("int_orders_joined_to_customers"), S("customers")),
        {M("int_orders_joined_to_customers")},
    ),
    (
        "layer-order",
        lambda m: _parents(m, M("stg_crm__orders"), M("int_orders_joined_to_customers")),
        {M("stg_crm__orders")},
    ),
    (
        "layer-order",
        lambda m: _parents(m, M("int_orders_joined_to_customers"), M("dim_customers")),
        {M("int_orders_joined_to_customers")},
    ),
    (
        "direct-join-to-source",
        lambda m: _parents(m, M("fct_orders"), S("orders")),
        {M("fct_orders")},
    ),
    (
        "model-description",
        lambda m: m["nodes"][M("dim_customers")].update(description="  "),
        {M("dim_customers")},
    ),
    (
        "column-docs",
        lambda m: m["nodes"][M("fct_orders")]["columns"]["amount_cents"].update(description=""),
        {M("fct_orders")},
    ),
    (
        "primary-key-test",
        lambda m: m["nodes"].pop(f"test.{P}.not_null_stg_crm__orders_order_id"),
        {M("stg_crm__orders")},
    ),
    (
        "mart-contract",
        lambda m: m["nodes"][M("fct_orders")]["config"].update(contract={"enforced": False}),
        {M("fct_orders")},
    ),
    (
        # on a target with roles, every mart must say who reads it
        "mart-grants",
        lambda m: (
            m["metadata"].update(adapter_type="postgres"),
            m["nodes"][M("dim_customers")]["config"].update(grants={"select": ["analyst"]}),
        ),
        {M("fct_orders")},
    ),
    (
        # on DuckDB too, once the project manages access with grants somewhere
        "mart-grants",
        lambda m: m["nodes"][M("fct_orders")]["config"].update(grants={"select": ["analyst"]}),
        {M("dim_customers")},
    ),
    (
        "source-freshness",
        lambda m: m["sources"][S("orders")].update(freshness=None),
        {S("orders")},
    ),
    (
        "model-owner",
        lambda m: (
            m["nodes"][M("dim_customers")].update(meta={}, group=None),
            m["nodes"][M("dim_customers")]["config"].update(meta={}, group=None),
        ),
        {M("dim_customers")},
    ),
    (
        "hardcoded-relation",
        lambda m: m["nodes"][M("stg_crm__orders")].update(
            raw_code="select *\nfrom raw_crm.orders\ninner join {{ ref('a') }} as b on true"
        ),
        {M("stg_crm__orders")},
    ),
    (
        "pii-to-mart",
        lambda m: [
            m["nodes"][M(n)]["columns"].update(email={"name": "email", "description": "Raw."})
            for n in ("stg_crm__customers", "dim_customers")
        ],
        {M("dim_customers")},
    ),
]


def test_every_rule_has_a_failing_case() -> None:
    assert {rule for rule, _, _ in CASES} == set(RULES)


def test_clean_fixture_passes_every_rule(clean: dict) -> None:
    report = run_checks(clean)
    assert report.findings == []
    assert report.score == 100.0
    assert report.column_coverage == 100.0


@pytest.mark.parametrize(("rule", "mutate", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule_fails_on_the_broken_node(
    clean: dict, rule: str, mutate: Callable[[dict], None], expected: set[str]
) -> None:
    assert rule_nodes(clean, rule) == set()
    broken = copy.deepcopy(clean)
    mutate(broken)
    assert rule_nodes(broken, rule) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select * from raw.orders", ["raw.orders"]),
        ('select * from "warehouse"."raw"."orders" as o', ['"warehouse"."raw"."orders"']),
        (
            "select a.x from {{ ref('a') }} as a\nleft join analytics.dim_x on true",
            ["analytics.dim_x"],
        ),
        ("select extract(year from orders.ordered_at) from {{ ref('orders') }}", []),
        ("select trim(both ' ' from customers.name) from {{ source('s', 'c') }}", []),
        ("-- from raw.orders\nselect * from {{ ref('x') }} where y = 'from a.b'", []),
        ("select * from read_parquet('s3://b/x.parquet')", []),
        ("{# select * from raw.orders #}select 1 as x", []),
    ],
)
def test_hardcoded_relation_detection(sql: str, expected: list[str]) -> None:
    from tooling.check.rules import hardcoded_relations

    assert hardcoded_relations(sql) == expected


def test_column_docs_uses_catalog_columns(clean: dict) -> None:
    catalog = {
        "nodes": {
            M("stg_crm__orders"): {
                "columns": {"order_id": {}, "customer_id": {}, "amount_cents": {}, "note": {}}
            }
        },
        "sources": {},
    }
    report = run_checks(clean, catalog)
    [finding] = [f for f in report.findings if f.rule == "column-docs"]
    assert finding.node == M("stg_crm__orders")
    assert "note" in finding.message
    # 16 model columns declared in the clean fixture (3+3+4+3+3), plus one undocumented.
    assert report.column_coverage == round(100 * 16 / 17, 1)


def test_pii_stops_where_the_column_is_renamed(clean: dict) -> None:
    # `email` exists in the mart but not in staging (masked to email_hash there):
    # by name, the trail from the source ends at staging.
    m = copy.deepcopy(clean)
    m["nodes"][M("dim_customers")]["columns"]["email"] = {"name": "email", "description": "x"}
    assert rule_nodes(m, "pii-to-mart") == set()
    # The catalog's actual columns count too: staging really passes `full_name` on.
    catalog = {
        "nodes": {
            M("stg_crm__customers"): {"columns": {"full_name": {}}},
            M("dim_customers"): {"columns": {"full_name": {}}},
        }
    }
    assert rule_nodes(m, "pii-to-mart", catalog) == {M("dim_customers")}


def test_pii_tracing_is_replaceable(clean: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lineage issue swaps one function; the rule follows whatever it returns."""

    def exact(manifest, catalog, node_id, column):
        if node_id == S("customers") and column == "email":
            return [(M("fct_orders"), "contact")]
        return []

    monkeypatch.setattr(pii_trace, "column_descendants", exact)
    assert rule_nodes(clean, "pii-to-mart") == {M("fct_orders")}


def test_score_counts_failed_checks(clean: dict) -> None:
    m = copy.deepcopy(clean)
    m["nodes"][M("dim_customers")]["description"] = ""
    # checks: 8 per-model rules x 5 models, mart-contract on 2 marts, freshness on
    # 2 sources, hard-coded names in 5 models, 2 PII source columns = 51.
    report = run_checks(m)
    assert report.errors == 1
    assert report.score == round(100 * 50 / 51, 1)
    warned = run_checks(m, config={"rules": {"model-description": {"severity": "warn"}}})
    assert (warned.errors, warned.warnings) == (0, 1)
    assert warned.score == round(100 * (1 - 0.5 / 51), 1)


def test_exceptions_need_a_reason_and_suppress(clean: dict) -> None:
    m = copy.deepcopy(clean)
    m["nodes"][M("dim_customers")]["description"] = ""
    config = {
        "rules": {
            "model-description": {
                "exceptions": [{"node": "dim_*", "reason": "legacy, documented in Q3"}]
            }
        }
    }
    report = run_checks(m, config=config)
    assert report.findings == []
    outcome = next(o for o in report.outcomes if o.rule == "model-description")
    assert outcome.excepted == 1
    with pytest.raises(UsageError, match="needs a node and a reason"):
        parse_config({"rules": {"model-description": {"exceptions": [{"node": "dim_*"}]}}})


def test_disabled_rule_does_not_run(clean: dict) -> None:
    m = copy.deepcopy(clean)
    m["nodes"][M("dim_customers")]["description"] = ""
    report = run_checks(m, config={"rules": {"model-description": {"enabled": False}}})
    assert report.findings == []


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"rules": {"no-such-rule": {}}}, "unknown rule 'no-such-rule'"),
        ({"rulez": {}}, "unknown key"),
        ({"rules": {"naming": {"severity": "fatal"}}}, "severity must be"),
        ({"rules": {"naming": {"min_coverage": 3}}}, "unknown option"),
    ],
)
def test_bad_config_is_a_usage_error(config: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_config(config)


# --- the command --------------------------------------------------------------------


def _project(tmp: Path, manifest: dict | None, pyproject: str = "") -> Path:
    """A foreign dbt project folder (with its own pyproject) holding a target/manifest.json."""
    project = tmp / "proj"
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (tmp / "pyproject.toml").write_text(
        '[tool.dataops]\nproject_dir = "proj"\n' + pyproject, encoding="utf-8"
    )
    if manifest is not None:
        (project / "target" / "manifest.json").write_text(json.dumps(manifest))
    return project


def test_cli_json_and_exit_code(tmp_path: Path, clean: dict) -> None:
    m = copy.deepcopy(clean)
    m["nodes"][M("fct_orders")]["config"]["contract"] = {"enforced": False}
    _project(tmp_path, m)
    result = run_cli("check", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"score", "convention", "errors", "warnings", "findings"}
    assert data["convention"] == "dataops"  # the project has [tool.dataops]
    assert data["errors"] == 1
    assert data["findings"] == [
        {
            "rule": "mart-contract",
            "severity": "error",
            "node": M("fct_orders"),
            "path": "models/marts/sales/fct_orders.sql",
            "message": "mart without an enforced contract (contract: enforced)",
        }
    ]
    github = run_cli("check", "--format", "github", cwd=tmp_path)
    assert github.stdout.startswith(
        "::error file=proj/models/marts/sales/fct_orders.sql,title=mart-contract::"
    )


def test_cli_config_severity_from_pyproject(tmp_path: Path, clean: dict) -> None:
    m = copy.deepcopy(clean)
    m["nodes"][M("fct_orders")]["config"]["contract"] = {"enforced": False}
    _project(tmp_path, m, '[tool.dataops.check.rules.mart-contract]\nseverity = "warn"\n')
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0 error(s), 1 warning(s)" in result.stdout


def test_cli_unknown_rule_in_config(tmp_path: Path, clean: dict) -> None:
    _project(tmp_path, clean, "[tool.dataops.check.rules.naming-typo]\nenabled = false\n")
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: unknown rule 'naming-typo' in [tool.dataops.check.rules]; known rules: "
        + ", ".join(RULES)
    ]


def test_cli_missing_manifest_says_how_to_make_one(tmp_path: Path) -> None:
    _project(tmp_path, None)
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: manifest.json not found at ")
    assert "dataops check --parse" in line and "dbt parse" in line
    assert "Traceback" not in result.stderr


def test_cli_project_dir_on_another_project(tmp_path: Path, clean: dict) -> None:
    project = tmp_path / "elsewhere"
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: shop\n")
    (project / "target" / "manifest.json").write_text(json.dumps(clean))
    result = run_cli("check", "--project-dir", str(project), "-f", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["score"] == 100.0


def _compiled(clean: dict, stg_email_sql: str) -> dict:
    """The clean fixture as after a build: relation names and compiled SQL."""
    m = copy.deepcopy(clean)
    for entry in {**m["nodes"], **m["sources"]}.values():
        if entry.get("resource_type") == "source":
            entry.update(database="wh", schema="crm", identifier=entry["name"])
        elif entry.get("resource_type") == "model":
            entry.update(database="wh", schema="main", alias=entry["name"])
    sql = {
        "stg_crm__customers": "select customer_id, city, md5(email) as email_hash, "
        f"{stg_email_sql} as contact from wh.crm.customers",
        "stg_crm__orders": "select order_id, customer_id, amount_cents from wh.crm.orders",
        "int_orders_joined_to_customers": "select orders.order_id, orders.customer_id, "
        "orders.amount_cents, customers.city from wh.main.stg_crm__orders as orders "
        "left join wh.main.stg_crm__customers as customers "
        "on orders.customer_id = customers.customer_id",
        "fct_orders": "select order_id, customer_id, amount_cents "
        "from wh.main.int_orders_joined_to_customers",
        "dim_customers": "with staged as (select * from wh.main.stg_crm__customers) "
        "select customer_id, city, email_hash, contact as reach_me_at from staged",
    }
    for name, code in sql.items():
        m["nodes"][M(name)]["compiled_code"] = code
    m["nodes"][M("stg_crm__customers")]["columns"]["contact"] = {"name": "contact"}
    m["nodes"][M("dim_customers")]["columns"]["reach_me_at"] = {"name": "reach_me_at"}
    return m


def test_pii_rule_follows_exact_lineage_after_a_build(clean: dict) -> None:
    """Renamed twice (email -> contact -> reach_me_at), a name-based trail loses the
    column; exact column lineage over the compiled SQL finds it."""
    leaked = _compiled(clean, "email")
    report = run_checks(leaked, None, None)
    findings = [f for f in report.findings if f.rule == "pii-to-mart"]
    assert [f.node for f in findings] == [M("dim_customers")]
    assert "reach_me_at" in findings[0].message and "email" in findings[0].message
    # the name-based fallback (what a `dbt parse` manifest gets) cannot see it
    name_only = {"rules": {"pii-to-mart": {"lineage": "name"}}}
    assert rule_nodes(leaked, "pii-to-mart", None, name_only) == set()
    # hashed on the way, it is masked: nothing to report
    assert rule_nodes(_compiled(clean, "md5(email)"), "pii-to-mart") == set()
