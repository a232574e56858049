"""`dataops ci plan` / `dataops ci run`: slim CI against deferred production data.

The CI warehouse is its own DuckDB file (``<ci dir>/ci.duckdb``, recreated on
every run). The production file from the state directory is ATTACHED
read-only under the catalog name production relations carry in the
production manifest, so dbt's deferred refs (rendered as
``"<prod catalog>"."<schema>"."<table>"``) read production data. Sources are
not deferred by dbt, so for every source relation production holds, the CI
file gets a view of the same name over the attached production table. dbt runs
with a generated profile: the project's own target output with its path
pointed at the CI file and the ``attach:`` entry added. Nothing writes to the
production file. Never prints.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ingestion.redact import redact_value
from tooling import state as state_mod
from tooling.artifacts import read_json, read_run_results
from tooling.ci import diff as diff_mod
from tooling.ci import pr_report
from tooling.ci.diff import DiffResult
from tooling.ci.plan import Plan, build_plan, classify_sql, update_classes
from tooling.dbt_invoke import invoke, list_unique_ids, parse_manifest
from tooling.engines.profile import resolve_target
from tooling.engines.publish import pg_connect
from tooling.errors import DataOpsError
from tooling.ingestion_runs import run_ingest
from tooling.manifest import ManifestGraph, layer, resource_type
from tooling.settings import Settings

CI_TARGET = "ci"


@dataclass(frozen=True)
class CiPaths:
    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "ci.duckdb"

    @property
    def profiles_dir(self) -> Path:
        return self.root / "profiles"

    @property
    def target_path(self) -> Path:
        return self.root / "target"

    @property
    def plan(self) -> Path:
        return self.root / "plan.json"

    @property
    def run(self) -> Path:
        return self.root / "run.json"

    @property
    def diff(self) -> Path:
        return self.root / "diff.json"

    @property
    def dbt_state(self) -> Path:
        return self.root / "state"

    @property
    def production(self) -> Path:
        """The private copy of the production warehouse the CI connection attaches."""
        return self.root / "production"

    def production_copy(self, warehouse: Path) -> Path:
        return self.production / warehouse.name


def default_ci_dir(settings: Settings) -> Path:
    return settings.root / "ci" / "out"


@dataclass
class RunOutcome:
    plan: Plan
    built: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    dbt_success: bool = True
    wall_seconds: float = 0.0
    nothing_to_build: bool = False
    skipped: dict[str, list[str]] = field(default_factory=dict)  # node -> failed upstream
    would_break: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.dbt_success and not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "built": self.built,
            "failed": self.failed,
            "statuses": self.statuses,
            "dbt_success": self.dbt_success,
            "wall_seconds": round(self.wall_seconds, 3),
            "nothing_to_build": self.nothing_to_build,
            "skipped": self.skipped,
            "would_break": self.would_break,
        }


# --- the CI profile ----------------------------------------------------------------


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataOpsError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise DataOpsError(f"{path} is not a YAML mapping")
    return data


def ci_profile(
    settings: Settings, *, ci_warehouse: Path, attach: list[dict[str, Any]]
) -> tuple[str, dict[str, Any]]:
    """(profile name, profiles.yml content) for CI: the user's target on the CI file."""
    resolved = settings.profile  # dbt's own resolution: profile name, target, adapter
    profile_name, target = resolved.profile_name, resolved.target_name
    if resolved.adapter_type == "postgres":
        # The same server and database, another schema: CI builds into
        # `<schema>_ci_<layer>` and defers the rest to production's relations. The
        # unrendered output keeps env_var() calls, so no secret is written.
        output = _read_yaml(resolved.profiles_dir / "profiles.yml")[profile_name]["outputs"][target]
        schema = f"{resolved.credentials.get('schema') or 'public'}_ci"
        ci_output = {**output, "schema": schema}
        return profile_name, {
            profile_name: {"target": CI_TARGET, "outputs": {CI_TARGET: ci_output}}
        }
    if resolved.adapter_type != "duckdb":
        raise DataOpsError(
            f"slim CI needs a DuckDB or PostgreSQL target; {profile_name}.{target} is "
            f"{resolved.adapter_type!r}"
        )
    # The unrendered output: env_var() calls stay calls, so no secret is written.
    profiles = _read_yaml(resolved.profiles_dir / "profiles.yml")
    output = profiles[profile_name]["outputs"][target]
    skip = {"path", "database", "attach", "settings", "plugins"}
    ci_output = {k: v for k, v in output.items() if k not in skip}
    ci_output["path"] = str(ci_warehouse)
    ci_output["attach"] = [*(output.get("attach") or []), *attach]
    # Imported here: the plugin subclasses dbt-duckdb's, and importing dbt costs every
    # `dataops` start ~2 s (`dataops check` must stay under 2 s).
    from tooling.ci import isolation

    # The user's settings are applied by the isolation plugin, before it locks them.
    guards = isolation.guard_settings(
        ci_warehouse=ci_warehouse,
        read_dirs=_seed_dirs(settings.project_dir),
        extra=output.get("settings") or {},
    )
    ci_output["plugins"] = [
        *(output.get("plugins") or []),
        {"module": isolation.MODULE, "config": guards},
    ]
    return profile_name, {profile_name: {"target": CI_TARGET, "outputs": {CI_TARGET: ci_output}}}


def _seed_dirs(project_dir: Path) -> list[Path]:
    """The seed folders: dbt-duckdb's fast seed loader reads them with COPY FROM."""
    paths = _read_yaml(project_dir / "dbt_project.yml").get("seed-paths") or ["seeds"]
    return [project_dir / str(p) for p in paths if isinstance(p, str)]


def ci_settings(
    settings: Settings, paths: CiPaths, prod: state_mod.ProductionState | None
) -> Settings:
    """Settings whose dbt runs write the CI file, with production attached read-only."""
    attach: list[dict[str, Any]] = []
    if prod is not None and prod.warehouse is not None:
        alias = prod.database
        if alias is None:
            raise DataOpsError(f"production manifest in {prod.directory} has no built relations")
        if alias == paths.warehouse.stem:
            raise DataOpsError(
                f"the CI warehouse {paths.warehouse.name} has the production catalog's name "
                f"{alias!r}; choose another --ci-dir file name"
            )
        # A private copy: DuckDB keeps attached files writable by path even with
        # external access off, so the state folder's own file is never attached.
        # (`run` makes the copy before dbt connects; parsing never opens it.)
        copy = paths.production_copy(prod.warehouse)
        attach.append({"path": str(copy.resolve()), "alias": alias, "read_only": True})
    name, content = ci_profile(settings, ci_warehouse=paths.warehouse, attach=attach)
    paths.profiles_dir.mkdir(parents=True, exist_ok=True)
    (paths.profiles_dir / "profiles.yml").write_text(
        "# Generated by `dataops ci`: the project's target on the CI DuckDB file,\n"
        "# production attached read-only. Do not edit.\n" + yaml.safe_dump(content),
        encoding="utf-8",
    )
    del name
    return replace(
        settings, warehouse=paths.warehouse, profiles_dir=paths.profiles_dir, target=CI_TARGET
    )


def _target_args(paths: CiPaths) -> list[str]:
    return ["--target-path", str(paths.target_path)]


# --- plan ---------------------------------------------------------------------------


def load_state(settings: Settings, state_dir: Path | None, full: bool) -> Any:
    if state_dir is None or (full and not state_dir.is_dir()):
        if not full:
            raise DataOpsError("pass --state DIR (the production state) or --full")
        return None
    try:
        return state_mod.load(state_dir, settings.project_dir)
    except DataOpsError:
        if full:
            return None
        raise


def dbt_state(prod: state_mod.ProductionState, paths: CiPaths) -> Path:
    """The state folder dbt reads: production's, with source databases made comparable.

    A source without an explicit database renders with the target's catalog,
    which on DuckDB is the file name: production's differs from the CI file's.
    Projects with dbt's ``state_modified_compare_more_unrendered_values`` flag
    compare the unrendered value; without it, dbt would call every source (and
    so the whole project) modified. Rewriting those defaulted source databases
    to the CI catalog has the flag's effect. Models keep production's catalog,
    which is what their deferred refs render.
    """
    folder = paths.dbt_state
    folder.mkdir(parents=True, exist_ok=True)
    # Only the manifest: `state:modified` and `--defer` need nothing else, and dbt
    # would spend seconds loading a run_results.json it does not use here.
    # Without a production file (PostgreSQL) sources render the same in CI: keep them.
    ci_catalog = paths.warehouse.stem if prod.warehouse is not None else prod.database
    sources = {
        uid: {**source, "database": ci_catalog}
        if source.get("database") == prod.database and not source.get("unrendered_database")
        else source
        for uid, source in prod.manifest.get("sources", {}).items()
    }
    manifest = {**prod.manifest, "sources": sources}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def make_plan(
    settings: Settings, *, state_dir: Path | None, full: bool, ci_dir: Path
) -> tuple[Plan, Settings, state_mod.ProductionState | None, Any]:
    paths = CiPaths(ci_dir)
    prod = load_state(settings, state_dir, full)
    ci = ci_settings(settings, paths, prod)
    dbt_manifest = parse_manifest(ci, extra=_target_args(paths))
    if prod is None or full:
        new = read_json(paths.target_path / "manifest.json", what="manifest.json", hint="")
        plan = build_plan(new=new, old=None, modified_ids=[])
        plan.state_dir = str(state_dir) if prod is not None else None
        return plan, ci, prod, dbt_manifest
    modified = list_unique_ids(
        ci,
        ["state:modified"],
        state=dbt_state(prod, paths),
        extra=_target_args(paths),
        manifest=dbt_manifest,
    )
    new = read_json(paths.target_path / "manifest.json", what="manifest.json", hint="")
    plan = build_plan(
        new=new,
        old=prod.manifest,
        modified_ids=modified,
        old_catalog=prod.catalog,
        state_dir=str(prod.directory),
    )
    return plan, ci, prod, dbt_manifest


def save_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def plan(settings: Settings, *, state_dir: Path | None, full: bool, ci_dir: Path) -> Plan:
    result, _, _, _ = make_plan(settings, state_dir=state_dir, full=full, ci_dir=ci_dir)
    save_json(CiPaths(ci_dir).plan, result.to_dict())
    return result


# --- run ----------------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _on_duckdb(settings: Settings) -> bool:
    try:
        return settings.adapter_type == "duckdb"
    except DataOpsError:  # no profile to ask: a DuckDB file was given
        return True


def require_production_warehouse(
    prod: state_mod.ProductionState | None, state_dir: Path | None
) -> None:
    """A deferred build reads production data: a state without its warehouse is an error."""
    if prod is not None and prod.warehouse is None:
        raise DataOpsError(
            f"the production state {state_dir} has no {state_mod.STATE_WAREHOUSE}: deferred "
            "models would read nothing; publish it with `dataops state publish`, or pass --full"
        )


def prepare_ci_warehouse(paths: CiPaths, prod: state_mod.ProductionState | None) -> list[str]:
    """A fresh CI file with a view over each production relation that is source data."""
    import duckdb

    try:
        return _prepare_ci_warehouse(paths, prod)
    except duckdb.Error as exc:
        where = prod.warehouse if prod is not None else paths.warehouse
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataOpsError(f"cannot prepare the CI warehouse from {where}: {first}") from None


def _prepare_ci_warehouse(paths: CiPaths, prod: state_mod.ProductionState | None) -> list[str]:
    import duckdb

    for stale in (paths.warehouse, paths.warehouse.with_name(paths.warehouse.name + ".wal")):
        stale.unlink(missing_ok=True)
    paths.warehouse.parent.mkdir(parents=True, exist_ok=True)
    created: list[str] = []
    con = duckdb.connect(str(paths.warehouse))
    try:
        if prod is None or prod.warehouse is None or prod.database is None:
            return created
        alias = prod.database
        con.execute(
            f"attach {_literal(str(prod.warehouse.resolve()))} as {_quote(alias)} (read_only)"
        )
        existing = {
            (s, t)
            for s, t in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = ? "
                "union all select schema_name, view_name from duckdb_views() "
                "where database_name = ? and not internal",
                [alias, alias],
            ).fetchall()
        }
        # Every production relation dbt did not build is source data (declared in
        # production's manifest or only in the branch's): the CI file gets a view of it.
        built_by_dbt = {
            (n.get("schema"), n.get("alias") or n.get("name"))
            for n in prod.manifest.get("nodes", {}).values()
            if n.get("resource_type") in {"model", "seed", "snapshot"}
        }
        for schema, table in sorted(existing - built_by_dbt):
            con.execute(f"create schema if not exists {_quote(schema)}")
            con.execute(
                f"create or replace view {_quote(schema)}.{_quote(table)} as "
                f"select * from {_quote(alias)}.{_quote(schema)}.{_quote(table)}"
            )
            created.append(f"{schema}.{table}")
        con.execute(f"detach {_quote(alias)}")
    finally:
        con.close()
    return created


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def run(
    settings: Settings,
    *,
    state_dir: Path | None,
    full: bool,
    ci_dir: Path,
    quiet: bool = False,
) -> RunOutcome:
    """Build ``state:modified+`` with ``--defer`` into the CI file (everything with --full)."""
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    paths = CiPaths(ci_dir)
    for stale in (paths.plan, paths.run, paths.diff):
        stale.unlink(missing_ok=True)  # an earlier run's results must never be reported
    the_plan, ci, prod, dbt_manifest = make_plan(
        settings, state_dir=state_dir, full=full, ci_dir=ci_dir
    )
    save_json(paths.plan, the_plan.to_dict())
    outcome = RunOutcome(plan=the_plan)
    if not the_plan.full and _on_duckdb(settings):
        # on a server engine deferred models read production relations in place
        require_production_warehouse(prod, state_dir)
    prepare_ci_warehouse(paths, prod)
    if prod is not None and prod.warehouse is not None:
        from tooling.ci import isolation

        isolation.private_copy(prod.warehouse, paths.production_copy(prod.warehouse))
    (paths.target_path / "run_results.json").unlink(missing_ok=True)
    if the_plan.full:
        if (prod is None or prod.warehouse is None) and settings.sources.is_file():
            # No production data to read: land the project's own sources in the CI file.
            run_ingest(ci)
        invocation = invoke(
            ci, ["build"], quiet=quiet, extra=_target_args(paths), manifest=dbt_manifest
        )
    elif not the_plan.modified:
        outcome.nothing_to_build = True
        outcome.wall_seconds = time.perf_counter() - started
        save_json(paths.run, outcome.to_dict())
        return outcome
    else:
        assert prod is not None
        invocation = invoke(
            ci,
            ["build", "--select", "state:modified+", "--defer", "--state", str(paths.dbt_state)],
            quiet=quiet,
            extra=_target_args(paths),
            manifest=dbt_manifest,
        )
    outcome.dbt_success = invocation.success
    summary = read_run_results(paths.target_path)
    for node in summary.nodes:
        outcome.statuses[node.unique_id] = node.status
    # Project hooks (operation.*) run too, but they are not nodes of the graph.
    outcome.built = [
        n.unique_id
        for n in summary.nodes
        if n.status not in {"skipped", "skip"} and n.resource_type != "operation"
    ]
    outcome.failed = [n.unique_id for n in summary.failed]
    explain_run(outcome, paths, prod)
    outcome.wall_seconds = time.perf_counter() - started
    save_json(paths.plan, the_plan.to_dict())
    save_json(paths.run, outcome.to_dict())
    _record(ci, outcome, started_at, paths)
    return outcome


def explain_run(
    outcome: RunOutcome, paths: CiPaths, prod: state_mod.ProductionState | None
) -> None:
    """After the build: every skipped node with the failed upstream that caused it,
    what would break (skipped or failed marts and exposures), and the modified
    models' change classes refined from their compiled SQL."""
    built = paths.target_path / "manifest.json"
    if not built.is_file():
        return
    new = read_json(built, what="CI manifest.json", hint="")
    graph = ManifestGraph.of(new)
    skipped = [u for u, status in outcome.statuses.items() if status in {"skipped", "skip"}]
    outcome.skipped = {uid: graph.failed_upstream(uid, outcome.failed) for uid in skipped}
    outcome.would_break = would_break(graph, outcome.failed, outcome.skipped)
    if prod is not None and not outcome.plan.full:
        classify_sql(outcome.plan, new=new, old=prod.manifest)


def would_break(
    graph: ManifestGraph, failed: list[str], skipped: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """Marts (models in a marts folder, or with no model below them) and exposures
    that failed or were skipped, with the failed nodes that took them down."""
    out = []
    for uid in [*failed, *skipped]:
        kind = resource_type(uid)
        node = graph.node(uid) or {}
        if kind == "model":
            below = [c for c in graph.children.get(uid, []) if resource_type(c) == "model"]
            if layer(node) != "marts" and below:
                continue
        elif kind != "exposure":
            continue
        out.append(
            {
                "unique_id": uid,
                "resource_type": "mart" if kind == "model" else kind,
                "status": "failed" if uid in failed else "skipped",
                "because": skipped.get(uid, []),
            }
        )
    return out


def _record(ci: Settings, outcome: RunOutcome, started_at: datetime, paths: CiPaths) -> None:
    """Hand the CI run to monitoring; it never raises, and a locked store is skipped.

    The store sits next to the CI warehouse (ci/out/monitoring.duckdb), so a
    pull request's history never mixes with production's.
    """
    from tooling.monitor import record_run

    try:
        record_run(
            ci,
            command="ci run",
            started_at=started_at,
            finished_at=datetime.now(UTC),
            status="success" if outcome.ok else "error",
            target_dir=paths.target_path,
            ingested=None,
        )
    except Exception:  # monitoring must never fail a CI run
        return


def load_plan(ci_dir: Path) -> Plan:
    path = CiPaths(ci_dir).plan
    data = read_json(path, what="CI plan", hint="run `dataops ci run --state DIR` first")
    try:
        return Plan.from_dict(data)
    except (TypeError, ValueError, AttributeError) as exc:
        raise DataOpsError(f"CI plan at {path} has an unexpected shape ({exc})") from None


def load_run(ci_dir: Path) -> dict[str, Any] | None:
    path = CiPaths(ci_dir).run
    return read_json(path, what="CI run", hint="") if path.is_file() else None


# --- diff and report ---------------------------------------------------------------


def run_diff(
    settings: Settings, *, state_dir: Path, ci_dir: Path, downstream: bool = False
) -> DiffResult:
    """Diff the modified (and with ``downstream`` the impacted) models; save diff.json.

    The plan's change classes are then refined from the built relations' real
    schemas, and plan.json is saved again.
    """
    paths = CiPaths(ci_dir)
    the_plan = load_plan(ci_dir)
    if the_plan.full:
        raise DataOpsError("the last CI run was --full: there is no production state to diff")
    prod = state_mod.load(state_dir, settings.project_dir)
    target = resolve_target(settings) if prod.warehouse is None else None
    if (target is None or target.type != "postgres") and (
        prod.warehouse is None or prod.database is None
    ):
        raise DataOpsError(f"no production warehouse file in {state_dir}")
    new = read_json(
        paths.target_path / "manifest.json", what="CI manifest.json", hint="run `dataops ci run`"
    )
    ids = the_plan.impacted_buildable if downstream else the_plan.modified_ids
    if target is not None and prod.warehouse is None:
        with pg_connect(target) as conn:  # production and CI are schemas of one database
            result = diff_mod.diff_postgres(
                ids, new_manifest=new, prod_manifest=prod.manifest, conn=conn
            )
    else:
        assert prod.warehouse is not None and prod.database is not None
        result = diff_mod.diff(
            ids,
            new_manifest=new,
            prod_manifest=prod.manifest,
            ci_warehouse=paths.warehouse,
            prod_warehouse=prod.warehouse,
            prod_catalog=prod.database,
        )
    update_classes(the_plan, result.schema_diffs())
    save_json(paths.plan, the_plan.to_dict())
    save_json(paths.diff, result.to_dict())
    return result


def load_optional_json(path: Path | None, what: str) -> dict[str, Any] | None:
    if path is None:
        return None
    return read_json(path, what=what, hint="pass the file the command wrote")


def make_report(
    settings: Settings,
    *,
    ci_dir: Path,
    lint_json: Path | None = None,
    check_json: Path | None = None,
) -> dict[str, Any]:
    """The report data from what `ci run` / `ci diff` saved in ``ci_dir``."""
    paths = CiPaths(ci_dir)
    the_plan = load_plan(ci_dir)
    diff_result = (
        DiffResult.from_dict(read_json(paths.diff, what="CI diff", hint=""))
        if paths.diff.is_file()
        else None
    )
    report = pr_report.build_report(
        the_plan,
        run=load_run(ci_dir),
        diff=diff_result,
        lint=load_optional_json(lint_json, "lint JSON"),
        check=load_optional_json(check_json, "check JSON"),
        project_prefix=pr_report.project_prefix(settings.project_dir, settings.root),
    )
    # A pull-request comment is public: diff samples or error texts lose any secret.
    return redact_value(report)
