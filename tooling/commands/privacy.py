"""`dataops privacy`: data-subject requests (find, export, erase) served from lineage."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tooling.console import console, new_table
from tooling.options import STATE, ProjectDir, SourcesFile, Target, Warehouse

app = typer.Typer(
    help="Data-subject requests (GDPR access and erasure): find, export, erase a subject "
    "everywhere lineage says it is."
)

SubjectOpt = Annotated[
    str,
    typer.Option(
        "--subject",
        help="The data subject as KEY=VALUE, with KEY a subject key of the sources YAML "
        "(e.g. customer_id=42).",
        show_default=False,
    ),
]
LandingRoot = Annotated[
    Path | None,
    typer.Option(
        "--landing-root",
        help="Folder of the landing files (to list those that still hold the subject).",
        envvar="DATAOPS_LANDING_ROOT",
    ),
]

if TYPE_CHECKING:
    from rich.table import Table


class Format(StrEnum):
    table = "table"
    json = "json"


def _context(project_dir, target, warehouse, sources, landing_root):
    from ingestion.config import load_config
    from tooling.artifacts import load_manifest, load_optional
    from tooling.ci.paths import default_ci_dir
    from tooling.monitor.config import load as monitor_config
    from tooling.privacy.requests import Context

    settings = STATE.settings(
        project_dir=project_dir,
        target=target,
        warehouse=warehouse,
        sources=sources,
        landing_root=landing_root,
    )
    config = load_config(settings.sources)
    manifest = load_manifest(settings.target_dir) if settings.manifest_path.is_file() else None
    catalog = load_optional(settings.target_dir / "catalog.json", "catalog.json")
    ci_dir = default_ci_dir(settings)
    others = {"monitoring": monitor_config(settings).store, "ci": ci_dir / "ci.duckdb"}
    ctx = Context(
        warehouse=settings.warehouse,
        config=config,
        manifest=manifest,
        catalog=catalog,
        landing_root=settings.landing_root,
        others=others,
        ci_dir=ci_dir,
    )
    return settings, ctx


def _hits_table(hits, title: str) -> Table:
    table = new_table(title)
    for column in ("where", "relation or file", "kind", "columns", "rows"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for hit in hits:
        table.add_row(
            hit.database,
            hit.relation,
            hit.kind,
            ", ".join(hit.columns),
            str(hit.rows),
        )
    return table


@app.command("find")
def find(
    subject: SubjectOpt,
    output: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list the relations searched that hold no row.")
    ] = False,
    sources: SourcesFile = None,
    landing_root: LandingRoot = None,
    project_dir: ProjectDir = None,
    target: Target = None,
    warehouse: Warehouse = None,
) -> None:
    """Every relation, column and file holding the subject, with row counts.

    Raw tables, quarantine and deleted-key tables, every dbt model, snapshot and
    seed whose columns carry the subject key (column lineage), other tables of the
    warehouse, the monitoring store, the CI warehouse and diff samples, and the
    landing files. Exit 0 also when nothing is found.
    """
    from ingestion.warehouse import connect
    from tooling.privacy.find import Subject

    who = Subject.parse(subject)
    _, ctx = _context(project_dir, target, warehouse, sources, landing_root)
    con = connect(ctx.warehouse, read_only=True)
    try:
        found = ctx.find(con, who)
    finally:
        con.close()
    hits = [h for h in found.hits if h.rows or show_all]
    if output == Format.json:
        print(
            json.dumps(
                {
                    "subject_key": who.key,
                    "hits": [h.as_dict() for h in hits],
                    "rows_total": found.total_rows,
                },
                indent=2,
            )
        )
        return
    if not any(h.rows for h in found.hits):
        console.print(f"nothing found for {who.key}")
        return
    console.print(_hits_table(hits, f"Where {who.key} {who.value} is held"), markup=False)
    console.print(f"{found.total_rows} rows in {len(found.relations())} relations searched")


@app.command("erase")
def erase(
    subject: SubjectOpt,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be erased; change nothing.")
    ] = False,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild/--no-rebuild",
            help="Rebuild with dbt the tables downstream of the erased rows that hold "
            "aggregates (default: rebuild).",
        ),
    ] = True,
    sources: SourcesFile = None,
    landing_root: LandingRoot = None,
    project_dir: ProjectDir = None,
    target: Target = None,
    warehouse: Warehouse = None,
) -> None:
    """Erase the subject (GDPR article 17) from every place `find` lists, and keep it out.

    Deletes (or anonymises, per `erasure:` in the sources YAML) the subject's raw
    rows one transaction per table, records a keyed-hash tombstone that ingestion
    applies to every later load (so re-ingesting old files cannot bring it back),
    purges models, snapshot history and seeds, rebuilds aggregates, verifies that
    zero rows remain and writes an audit record without PII. Needs the secret in
    DATAOPS_PRIVACY_KEY. Landing files are listed, not changed. Exit 1 when the
    verification finds rows left.
    """
    from tooling.dbt_invoke import invoke
    from tooling.errors import DataOpsError
    from tooling.privacy.find import Subject
    from tooling.privacy.requests import erase as erase_subject

    who = Subject.parse(subject)
    settings, ctx = _context(project_dir, target, warehouse, sources, landing_root)
    names = {
        uid: node.get("name") for uid, node in ((ctx.manifest or {}).get("nodes") or {}).items()
    }

    def run_dbt(unique_ids: list[str]) -> None:
        outcome = invoke(
            settings,
            ["run", "--select", *[str(names[u]) for u in unique_ids], "--full-refresh"],
            quiet=True,
        )
        if not outcome.success:
            raise DataOpsError(
                "privacy erase: rebuilding the aggregates failed (see target/run_results.json); "
                "the subject's rows are already erased: rerun `dataops build`"
            )

    result = erase_subject(ctx, who, dry_run=dry_run, rebuild=run_dbt if rebuild else None)
    held = [h for h in result.before.hits if h.rows and h.kind != "landing"]
    if not held:
        console.print(f"nothing found for {who.key}: nothing to erase")
        return
    title = "Would erase (dry run)" if dry_run else "Erased"
    console.print(_hits_table(held, title), markup=False)
    if dry_run:
        return
    if result.rebuilt:
        console.print(f"rebuilt {len(result.rebuilt)} aggregate models", markup=False)
    for path in result.landing_files:
        console.print(
            f"landing file still holds the subject (not ours to change): {path}", markup=False
        )
    left = result.after.total_rows if result.after else 0
    verdict = "verified: 0 rows left" if result.verified else f"NOT verified: {left} rows left"
    console.print(
        f"erase {result.request_id}: {verdict} in {result.seconds:.1f}s "
        f"(audit in dataops_meta.privacy_requests)",
        markup=False,
    )
    if not result.verified:
        raise typer.Exit(1)


@app.command("export")
def export(
    subject: SubjectOpt,
    out: Annotated[Path, typer.Option("--out", help="Folder to write the JSON files into.")],
    sources: SourcesFile = None,
    landing_root: LandingRoot = None,
    project_dir: ProjectDir = None,
    target: Target = None,
    warehouse: Warehouse = None,
) -> None:
    """Export the subject's rows (GDPR article 15 access): one JSON file per relation.

    Writes DIR/<database>.<schema>.<table>.json for every relation `find` lists
    and DIR/index.json (files, row counts, landing files still holding the
    subject); records the request in the audit table.
    """
    from tooling.privacy.find import Subject
    from tooling.privacy.requests import export as export_subject

    who = Subject.parse(subject)
    _, ctx = _context(project_dir, target, warehouse, sources, landing_root)
    result = export_subject(ctx, who, out)
    if not result.files:
        console.print(f"nothing found for {who.key}: wrote only {out / 'index.json'}")
        return
    for name, rows in sorted(result.files.items()):
        console.print(f"wrote {out / name} ({rows} rows)", markup=False)
    console.print(f"export {result.request_id}: {len(result.files)} files", markup=False)
