"""Generate a layered dbt project of N models for benchmarks (lint, check, slim CI,
docs, monitoring).

The project is realistic in shape rather than in data: sources -> staging views
(1:1) -> intermediate views (joins of two upstream models, case expressions,
window functions) -> mart tables with enforced contracts; every model and column
documented, owners in meta, primary-key tests on staging and marts, source
freshness. Raw tables are created by an ``on-run-start`` hook, so `dbt build`
works on an empty DuckDB file with no ingestion step.

    uv run python benchmarks/synthetic_project.py /tmp/synth --models 500
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import yaml

COLUMNS = {
    "entity_id": ("bigint", "Primary key of the entity."),
    "customer_id": ("bigint", "Customer the entity belongs to."),
    "amount_usd": ("decimal(18,2)", "Amount in US dollars."),
    "status": ("varchar", "Lifecycle status, lower-cased."),
    "updated_at": ("timestamp", "Last change in the source system (UTC)."),
}
MART_EXTRA = {"customer_rank": ("bigint", "Position of the entity in its customer's history.")}


def _stg_sql(source_table: str) -> str:
    return f"""with

source as (

    select * from {{{{ source('synth', '{source_table}') }}}}

),

renamed as (

    select
        id as entity_id,
        customer_id,
        cast(amount_cents / 100.0 as decimal(18, 2)) as amount_usd,
        lower(status) as status,
        updated_at

    from source

)

select * from renamed
"""


def _int_sql(left: str, right: str) -> str:
    return f"""with

left_side as (

    select * from {{{{ ref('{left}') }}}}

),

right_side as (

    select * from {{{{ ref('{right}') }}}}

),

joined as (

    select
        left_side.entity_id,
        left_side.customer_id,
        cast(left_side.amount_usd + coalesce(right_side.amount_usd, 0) as decimal(18, 2))
            as amount_usd,
        case
            when left_side.status = 'returned' then 'returned'
            else coalesce(right_side.status, left_side.status)
        end as status,
        greatest(left_side.updated_at, coalesce(right_side.updated_at, left_side.updated_at))
            as updated_at

    from left_side
    left join right_side
        on left_side.entity_id = right_side.entity_id

)

select * from joined
"""


def _mart_sql(parent: str) -> str:
    return f"""with

base as (

    select * from {{{{ ref('{parent}') }}}}

),

ranked as (

    select
        entity_id,
        customer_id,
        amount_usd,
        status,
        updated_at,
        row_number() over (partition by customer_id order by updated_at, entity_id)
            as customer_rank

    from base

)

select * from ranked
"""


def _columns(spec: dict[str, tuple[str, str]], *, contract: bool, pk_tests: bool) -> list[dict]:
    out = []
    for name, (dtype, description) in spec.items():
        column: dict = {"name": name, "description": description}
        if contract:
            column["data_type"] = dtype
        if pk_tests and name == "entity_id":
            column["data_tests"] = ["unique", "not_null"]
        out.append(column)
    return out


def _write_yaml(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=100), encoding="utf-8")


def make_project(dest: Path, models: int, *, seed: int = 0, rows: int = 200) -> Path:
    """Write a dbt project with ``models`` models into ``dest``; return ``dest``."""
    if models < 3:
        raise ValueError("models must be at least 3 (one per layer)")
    rng = random.Random(seed)
    n_stg = max(1, round(models * 0.3))
    n_int = max(1, round(models * 0.4))
    n_mart = models - n_stg - n_int
    if n_mart < 1:
        n_int -= 1 - n_mart
        n_mart = 1
    dest.mkdir(parents=True, exist_ok=True)
    sources = [f"src_{i:04d}" for i in range(n_stg)]
    create = [
        "create schema if not exists raw",
        *(
            f"create table if not exists raw.{src} as select range as id, "
            f"range % 97 as customer_id, (range * 37) % 10000 as amount_cents, "
            f"case when range % 11 = 0 then 'RETURNED' else 'COMPLETED' end as status, "
            f"timestamp '2026-10-01' + to_minutes(range::bigint) as updated_at, "
            f"current_timestamp as _loaded_at from range({rows})"
            for src in sources
        ),
    ]
    _write_yaml(
        dest / "dbt_project.yml",
        {
            "name": "synth",
            "version": "1.0.0",
            "profile": "synth",
            "flags": {"send_anonymous_usage_stats": False, "partial_parse": True},
            "on-run-start": create,
            "models": {
                "synth": {
                    "staging": {"+materialized": "view", "+meta": {"owner": "platform"}},
                    "intermediate": {"+materialized": "view", "+meta": {"owner": "platform"}},
                    "marts": {
                        "+materialized": "table",
                        "+contract": {"enforced": True},
                        "+meta": {"owner": "analytics"},
                    },
                }
            },
        },
    )
    _write_yaml(
        dest / "profiles.yml",
        {
            "synth": {
                "target": "dev",
                "outputs": {
                    "dev": {
                        "type": "duckdb",
                        "path": "{{ env_var('DATAOPS_WAREHOUSE', 'synth.duckdb') }}",
                        "threads": 2,
                    }
                },
            }
        },
    )
    stg_dir = dest / "models" / "staging" / "synth"
    int_dir = dest / "models" / "intermediate" / "core"
    mart_dir = dest / "models" / "marts" / "core"
    for folder in (stg_dir, int_dir, mart_dir):
        folder.mkdir(parents=True, exist_ok=True)

    _write_yaml(
        stg_dir / "_synth__sources.yml",
        {
            "version": 2,
            "sources": [
                {
                    "name": "synth",
                    "schema": "raw",
                    "description": "Synthetic raw tables created by the on-run-start hook.",
                    "config": {
                        "loaded_at_field": "_loaded_at",
                        "freshness": {
                            "warn_after": {"count": 24, "period": "hour"},
                            "error_after": {"count": 48, "period": "hour"},
                        },
                    },
                    "tables": [
                        {"name": src, "description": f"Raw table {src}."} for src in sources
                    ],
                }
            ],
        },
    )
    upstream: list[str] = []
    stg_models = []
    for i, src in enumerate(sources):
        name = f"stg_synth__items_{i:04d}"
        (stg_dir / f"{name}.sql").write_text(_stg_sql(src), encoding="utf-8")
        stg_models.append(
            {
                "name": name,
                "description": f"Staged rows of raw table {src}: renamed and cast.",
                "columns": _columns(COLUMNS, contract=False, pk_tests=True),
            }
        )
        upstream.append(name)
    _write_yaml(stg_dir / "_synth__models.yml", {"version": 2, "models": stg_models})

    int_models = []
    for i in range(n_int):
        name = f"int_items_{i:04d}_joined"
        left, right = rng.sample(upstream, 2) if len(upstream) > 1 else (upstream[0],) * 2
        (int_dir / f"{name}.sql").write_text(_int_sql(left, right), encoding="utf-8")
        int_models.append(
            {
                "name": name,
                "description": f"{left} joined to {right} on the entity key.",
                "columns": _columns(COLUMNS, contract=False, pk_tests=False),
            }
        )
        upstream.append(name)
    _write_yaml(int_dir / "_core__models.yml", {"version": 2, "models": int_models})

    mart_models = []
    intermediates = upstream[n_stg:] or upstream
    for i in range(n_mart):
        prefix = "fct" if i % 2 == 0 else "dim"
        name = f"{prefix}_items_{i:04d}"
        parent = rng.choice(intermediates)
        (mart_dir / f"{name}.sql").write_text(_mart_sql(parent), encoding="utf-8")
        mart_models.append(
            {
                "name": name,
                "description": f"Mart over {parent}, ranked per customer.",
                "columns": _columns({**COLUMNS, **MART_EXTRA}, contract=True, pk_tests=True),
            }
        )
    _write_yaml(mart_dir / "_core__models.yml", {"version": 2, "models": mart_models})
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    make_project(args.dest, args.models, seed=args.seed)
    print(f"wrote a {args.models}-model dbt project to {args.dest}")


if __name__ == "__main__":
    main()
