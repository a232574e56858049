"""The exact PII rule and the model-level graph helpers, on a fixture manifest."""

from __future__ import annotations

import pytest
from lineage_fixture import catalog, col, manifest, model, rel, source

from tooling.errors import UsageError
from tooling.lineage import (
    build_graph,
    impacted_subgraph_mermaid,
    neighbourhood,
    pii_exposures,
    resolve_node,
    to_mermaid,
)

SRC = "source.proj.crm.customers"
STG = "model.proj.stg_customers"
INT = "model.proj.int_emails"
DIM = "model.proj.dim_customers"
CONTACTS = "model.proj.fct_contacts"
FCT_EMAIL = "model.proj.fct_email"
EXPOSURE = "exposure.proj.crm_dashboard"


def build() -> tuple[dict, dict]:
    src = source(
        "crm",
        "customers",
        [
            col("id"),
            col("email", pii=True),
            col("phone", tags=["pii"]),
            col("full_name", pii=True),
            col("city"),
        ],
    )
    stg = model(
        "stg_customers",
        f"""
        select
            id as customer_id,
            md5(lower(email)) as email_hash,
            phone,
            full_name,
            city,
            email is null as missing_email
        from {rel("raw", "customers")}
        """,
        [SRC],
        # Declared masked by a reviewer: the trail stops here even though the SQL copies it.
        [col("full_name", pii="masked"), col("email_hash", pii="hashed")],
    )
    inter = model(
        "int_emails",
        f"select id, email from {rel('raw', 'customers')}",
        [SRC],
        [],
        folder="intermediate",
    )
    dim = model(
        "dim_customers",
        f"select customer_id, email_hash, phone, full_name, city, missing_email "
        f"from {rel('staging', 'stg_customers')}",
        [STG],
        [],
        folder="marts",
    )
    contacts = model(
        "fct_contacts",
        f"""
        with s as (select * from {rel("staging", "stg_customers")})
        select customer_id, phone as contact from s
        union all
        select customer_id, email_hash as contact from s
        """,
        [STG],
        [],
        folder="marts",
    )
    fct_email = model(
        "fct_email",
        f"select id, email from {rel('intermediate', 'int_emails')}",
        [INT],
        [],
        folder="marts",
    )
    exposure = {
        "unique_id": EXPOSURE,
        "resource_type": "exposure",
        "name": "crm_dashboard",
        "description": "",
        "depends_on": {"nodes": [DIM]},
        "owner": {"name": "CRM team", "email": "crm@example.com"},
        "fqn": ["proj", "crm_dashboard"],
    }
    man = manifest(src, stg, inter, dim, contacts, fct_email, exposures=[exposure])
    cat = catalog(
        man,
        {
            SRC: ["id", "email", "phone", "full_name", "city"],
            STG: ["customer_id", "email_hash", "phone", "full_name", "city", "missing_email"],
            INT: ["id", "email"],
            DIM: ["customer_id", "email_hash", "phone", "full_name", "city", "missing_email"],
            CONTACTS: ["customer_id", "contact"],
            FCT_EMAIL: ["id", "email"],
        },
    )
    return man, cat


@pytest.fixture(scope="module")
def artifacts() -> tuple[dict, dict]:
    return build()


def test_exposures_are_exactly_the_unmasked_paths(artifacts: tuple[dict, dict]) -> None:
    man, cat = artifacts
    found = {(e.mart, e.column, e.source, e.source_column, e.path) for e in pii_exposures(man, cat)}
    assert found == {
        (DIM, "phone", SRC, "phone", (f"{SRC}.phone", f"{STG}.phone", f"{DIM}.phone")),
        (
            CONTACTS,
            "contact",
            SRC,
            "phone",
            (f"{SRC}.phone", f"{STG}.phone", f"{CONTACTS}.contact"),
        ),
        (FCT_EMAIL, "email", SRC, "email", (f"{SRC}.email", f"{INT}.email", f"{FCT_EMAIL}.email")),
    }


def test_masking_by_declaration_and_by_sql(artifacts: tuple[dict, dict]) -> None:
    man, cat = artifacts
    exposed_columns = {(e.mart, e.column) for e in pii_exposures(man, cat)}
    assert (DIM, "email_hash") not in exposed_columns  # md5 in the SQL
    assert (DIM, "missing_email") not in exposed_columns  # only a boolean
    assert (DIM, "full_name") not in exposed_columns  # declared pii: masked upstream
    # Without the declaration the name would be reported.
    del man["nodes"][STG]["columns"]["full_name"]
    try:
        again = {(e.mart, e.column) for e in pii_exposures(man, cat)}
    finally:
        man["nodes"][STG]["columns"]["full_name"] = col("full_name", pii="masked")
    assert (DIM, "full_name") in again


def test_a_custom_mart_predicate(artifacts: tuple[dict, dict]) -> None:
    man, cat = artifacts
    only_int = pii_exposures(man, cat, is_mart=lambda e: e["name"] == "int_emails")
    assert [(e.mart, e.column, e.source_column) for e in only_int] == [(INT, "email", "email")]
    assert "unmasked" in only_int[0].message()


def test_graph_neighbourhood_and_resolution(artifacts: tuple[dict, dict]) -> None:
    man, _ = artifacts
    graph = build_graph(man)
    assert set(graph.nodes) == {SRC, STG, INT, DIM, CONTACTS, FCT_EMAIL, EXPOSURE}
    assert graph.parents[DIM] == [STG]
    assert sorted(graph.children[STG]) == sorted([CONTACTS, DIM])
    assert neighbourhood(graph, STG, 1, 1) == {SRC, STG, DIM, CONTACTS}
    assert neighbourhood(graph, STG, 0, None) == {STG, DIM, CONTACTS, EXPOSURE}
    assert resolve_node(man, "dim_customers") == DIM
    assert resolve_node(man, "crm.customers") == SRC
    assert resolve_node(man, EXPOSURE) == EXPOSURE
    with pytest.raises(UsageError, match="no model"):
        resolve_node(man, "nope")


def test_mermaid_and_the_impacted_subgraph(artifacts: tuple[dict, dict]) -> None:
    man, _ = artifacts
    chart = impacted_subgraph_mermaid(man, [STG, "test.proj.some_test"])
    lines = chart.splitlines()
    assert lines[0] == "flowchart LR"
    edges = {ln.strip() for ln in lines if "-->" in ln}
    assert edges == {
        "n_source_proj_crm_customers --> n_model_proj_stg_customers",
        "n_model_proj_stg_customers --> n_model_proj_dim_customers",
        "n_model_proj_stg_customers --> n_model_proj_fct_contacts",
        "n_model_proj_dim_customers --> n_exposure_proj_crm_dashboard",
    }
    assert "class n_model_proj_stg_customers changed" in chart
    assert "class n_source_proj_crm_customers context" in chart
    assert "int_emails" not in chart and "fct_email" not in chart
    assert "no models" in impacted_subgraph_mermaid(man, ["test.proj.x"])
    # Labels cannot break out of the node syntax.
    man["nodes"][DIM]["name"] = 'dim"]; click x'
    graph = build_graph(man)
    assert '"]; click' not in to_mermaid(graph, [DIM])


def test_impacted_subgraph_is_capped_nearest_first(artifacts: tuple[dict, dict]) -> None:
    man, _ = artifacts
    # stg_customers impacts itself, dim, fct_contacts (1 hop) and the exposure (2 hops).
    chart = impacted_subgraph_mermaid(man, [STG], parents=False, max_nodes=3)
    assert "n_exposure_proj_crm_dashboard" not in chart
    assert "n_model_proj_dim_customers" in chart and "n_model_proj_fct_contacts" in chart
    assert "... and 1 more downstream nodes" in chart
