"""`dataops docs build` as a function: dbt docs generate, then the lineage site."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tooling.artifacts import load_manifest, load_optional
from tooling.dbt_invoke import invoke
from tooling.docs import harden
from tooling.docs.site import SiteOutcome, build_site
from tooling.errors import DataOpsError
from tooling.lineage.graph import check_manifest_schema
from tooling.settings import Settings

DBT_FILES = ("index.html", "static_index.html", "manifest.json", "catalog.json", "run_results.json")


@dataclass
class DocsOutcome:
    out_dir: Path
    dbt_dir: Path | None
    site: SiteOutcome
    catalog_found: bool
    run_results_found: bool


def default_out(settings: Settings) -> Path:
    return settings.root / "site"


def generate_dbt_docs(settings: Settings, *, quiet: bool = True) -> None:
    """`dbt docs generate --static`: manifest, catalog, index.html and static_index.html."""
    result = invoke(settings, ["docs", "generate", "--static"], quiet=quiet)
    if not result.success:
        raise DataOpsError("dbt docs generate failed; run it with --verbose to see why")


def copy_dbt_docs(target_dir: Path, dest: Path) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for name in DBT_FILES:
        if (target_dir / name).is_file():
            shutil.copy2(target_dir / name, dest / name)
    return dest


def build_docs(
    settings: Settings,
    *,
    out_dir: Path | None = None,
    skip_dbt: bool = False,
    levels: int = 2,
    quiet: bool = True,
) -> DocsOutcome:
    """Run dbt's docs generation (unless ``skip_dbt``), copy its site to ``<out>/dbt``,
    and write the lineage site to ``<out>``, from the project's ``target/``."""
    out = (out_dir or default_out(settings)).resolve()
    if out.exists() and not out.is_dir():
        raise DataOpsError(f"--out {out} exists and is not a folder")
    target = settings.target_dir
    if not skip_dbt:
        from tooling.engines import require_engine

        # PostgreSQL/Spark: the catalog comes from the engine; say so in one line if it
        # cannot answer (no DuckDB file is needed there).
        require_engine(
            settings,
            "`dbt docs generate` reads the catalog from it (--skip-dbt builds the site "
            "from the artifacts in target/ without it)",
        )
        # `dbt docs generate` overwrites run_results.json with its compile results;
        # keep the last build's (test statuses) for the site and for other tools.
        results_path = target / "run_results.json"
        previous = results_path.read_bytes() if results_path.is_file() else None
        stat = results_path.stat() if previous is not None else None
        generate_dbt_docs(settings, quiet=quiet)
        if previous is not None and stat is not None:
            results_path.write_bytes(previous)
            # Its build's time too: `state publish` then sees this catalog as newer.
            os.utime(results_path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    manifest = load_manifest(target)
    check_manifest_schema(manifest)
    catalog = load_optional(target / "catalog.json", "catalog.json")
    run_results = load_optional(target / "run_results.json", "run_results.json")
    out.mkdir(parents=True, exist_ok=True)
    dbt_dir = None
    if (target / "index.html").is_file():
        dbt_dir = copy_dbt_docs(target, out / "dbt")
    site = build_site(manifest, catalog, run_results, out, levels=levels)
    # No injected script runs: escaped inline JSON, a CSP on every page.
    if dbt_dir is not None:
        harden.harden_dbt_site(dbt_dir, manifest, catalog)
    harden.harden_tree(out, skip=out / "dbt")
    return DocsOutcome(
        out_dir=out,
        dbt_dir=dbt_dir,
        site=site,
        catalog_found=catalog is not None,
        run_results_found=run_results is not None,
    )
