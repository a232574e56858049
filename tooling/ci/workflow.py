"""`dataops ci plan`, `ci run`, `ci diff`, `ci report`: slim CI against deferred production data.

Each step reads what the one before saved in the CI folder (``paths.py``):
the plan (``state:modified`` against the production state), the deferred build
into the CI warehouse (``ci_warehouse.py``) with the generated CI profile
(``ci_profile.py``), the data diff, and the pull-request report. Never prints.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingestion.redact import redact_value
from tooling import production_state as state_mod
from tooling.artifacts import read_json, read_run_results
from tooling.ci import diff as diff_mod
from tooling.ci import pr_report
from tooling.ci.ci_profile import ci_settings
from tooling.ci.ci_warehouse import CiFileSetup, require_production_warehouse
from tooling.ci.deferred_state import dbt_state, load_state
from tooling.ci.diff import DiffResult
from tooling.ci.paths import CiPaths, save_json
from tooling.ci.plan import Plan, build_plan, classify_sql, update_classes
from tooling.dbt_invoke import (
    fewer_collections,
    invoke,
    list_unique_ids,
    one_state_load,
    parse_manifest,
    write_manifest,
)
from tooling.engines.publish import pg_connect, preflight, spark_session
from tooling.errors import DataOpsError
from tooling.manifest import ManifestGraph, layer, resource_type
from tooling.settings import Settings


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


def _target_args(paths: CiPaths) -> list[str]:
    return ["--target-path", str(paths.target_path)]


def modified_ids(
    ci: Settings, prod: state_mod.ProductionState, paths: CiPaths, dbt_manifest: Any
) -> list[str]:
    """dbt's own ``state:modified`` against production, on the manifest already parsed."""
    return list_unique_ids(
        ci,
        ["state:modified"],
        state=dbt_state(prod, paths),
        extra=_target_args(paths),
        manifest=dbt_manifest,
    )


def plan_from(
    new: dict[str, Any],
    prod: state_mod.ProductionState | None,
    *,
    state_dir: Path | None,
    full: bool,
    modified: list[str],
) -> Plan:
    """The plan from the branch manifest ``new`` and dbt's ``state:modified`` ids."""
    if prod is None or full:
        plan = build_plan(new=new, old=None, modified_ids=[])
        plan.state_dir = str(state_dir) if prod is not None else None
        return plan
    return build_plan(
        new=new,
        old=prod.manifest,
        modified_ids=modified,
        old_catalog=prod.catalog,
        state_dir=str(prod.directory),
    )


def make_plan(settings: Settings, *, state_dir: Path | None, full: bool, ci_dir: Path) -> Plan:
    """`dataops ci plan`: parse (writing manifest.json), select, compare."""
    paths = CiPaths(ci_dir)
    prod = load_state(settings, state_dir, full)
    ci = ci_settings(settings, paths, prod)
    dbt_manifest = parse_manifest(ci, extra=_target_args(paths))
    modified = [] if prod is None or full else modified_ids(ci, prod, paths, dbt_manifest)
    new = read_json(paths.target_path / "manifest.json", what="manifest.json", hint="")
    return plan_from(new, prod, state_dir=state_dir, full=full, modified=modified)


def plan(settings: Settings, *, state_dir: Path | None, full: bool, ci_dir: Path) -> Plan:
    result = make_plan(settings, state_dir=state_dir, full=full, ci_dir=ci_dir)
    save_json(CiPaths(ci_dir).plan, result.to_dict())
    return result


def _on_duckdb(settings: Settings) -> bool:
    try:
        return settings.adapter_type == "duckdb"
    except DataOpsError:  # no profile to ask: a DuckDB file was given
        return True


def run(
    settings: Settings,
    *,
    state_dir: Path | None,
    full: bool,
    ci_dir: Path,
    quiet: bool = False,
) -> RunOutcome:
    """Build ``state:modified+`` with ``--defer`` into the CI file (everything with --full).

    dbt parses the project once: the ``state:modified`` selection and the build
    reuse that Manifest object. The parse writes no ``manifest.json``: the build
    writes one (with the compiled SQL the change classes need), and the plan is
    made from it, so dbt serialises the project once instead of twice and this
    process reads it once. Should the run stop before dbt wrote it, the plan is
    still saved, from the parsed manifest. The collector runs less often
    meanwhile (:func:`fewer_collections`).
    """
    with fewer_collections():
        return _run(settings, state_dir=state_dir, full=full, ci_dir=ci_dir, quiet=quiet)


def _run(
    settings: Settings, *, state_dir: Path | None, full: bool, ci_dir: Path, quiet: bool
) -> RunOutcome:
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    paths = CiPaths(ci_dir)
    on_duckdb = _on_duckdb(settings)
    if not on_duckdb:
        # A server or Spark that cannot answer: one line, before anything is written
        # (also points the Spark profile at its warehouse folder).
        preflight(settings)
    for stale in (paths.plan, paths.run, paths.diff):
        stale.unlink(missing_ok=True)  # an earlier run's results must never be reported
    prod = load_state(settings, state_dir, full)
    ci = ci_settings(settings, paths, prod)
    everything = prod is None or full
    # On DuckDB a deferred build without production's file stops below, the plan saved,
    # before anything is set up (on a server engine deferred models read production in place).
    no_production_file = not everything and on_duckdb and prod.warehouse is None
    # The CI file and the production copy are made while dbt parses (ci_warehouse.py).
    setup = None if no_production_file else CiFileSetup(paths, prod)
    # The selection and the deferred build read one production state: dbt loads it once.
    with one_state_load():
        try:
            dbt_manifest = parse_manifest(ci, extra=[*_target_args(paths), "--no-write-json"])
            modified = [] if everything else modified_ids(ci, prod, paths, dbt_manifest)
        except BaseException:
            if setup is not None:
                setup.abandon()  # the run stops before its build: no CI file is left
            raise
        manifest_path = paths.target_path / "manifest.json"
        for stale in (manifest_path, paths.target_path / "run_results.json"):
            stale.unlink(missing_ok=True)  # the plan and the outcome come from this run only

        def branch_manifest() -> dict[str, Any]:
            if not manifest_path.is_file():  # nothing was built, or dbt stopped before writing it
                write_manifest(dbt_manifest, paths.target_path)
            return read_json(manifest_path, what="CI manifest.json", hint="")

        def the_plan(new: dict[str, Any]) -> Plan:
            return plan_from(new, prod, state_dir=state_dir, full=full, modified=modified)

        try:
            if setup is None:
                require_production_warehouse(prod, state_dir)  # raises: no production file
            else:
                setup.wait()  # the thread's error, if any, as one line
            if everything:
                if (prod is None or prod.warehouse is None) and settings.sources.is_file():
                    # No production data to read: land the project's own sources in the CI file.
                    from tooling.ingestion_runs import run_ingest

                    run_ingest(ci)
                invocation = invoke(
                    ci, ["build"], quiet=quiet, extra=_target_args(paths), manifest=dbt_manifest
                )
            elif not modified:
                outcome = RunOutcome(plan=the_plan(branch_manifest()), nothing_to_build=True)
                save_json(paths.plan, outcome.plan.to_dict())
                outcome.wall_seconds = time.perf_counter() - started
                save_json(paths.run, outcome.to_dict())
                return outcome
            else:
                invocation = invoke(
                    ci,
                    [
                        "build",
                        "--select",
                        "state:modified+",
                        "--defer",
                        "--state",
                        str(paths.dbt_state),
                    ],
                    quiet=quiet,
                    extra=_target_args(paths),
                    manifest=dbt_manifest,
                )
            summary = read_run_results(paths.target_path)
        except Exception:
            # The run stops here: the plan is still saved, as `dataops ci plan` would have.
            with contextlib.suppress(Exception):
                save_json(paths.plan, the_plan(branch_manifest()).to_dict())
            raise
    new = branch_manifest()
    outcome = RunOutcome(plan=the_plan(new))
    outcome.dbt_success = invocation.success
    for node in summary.nodes:
        outcome.statuses[node.unique_id] = node.status
    # Project hooks (operation.*) run too, but they are not nodes of the graph.
    outcome.built = [
        n.unique_id
        for n in summary.nodes
        if n.status not in {"skipped", "skip"} and n.resource_type != "operation"
    ]
    outcome.failed = [n.unique_id for n in summary.failed]
    explain_run(outcome, new, prod)
    outcome.wall_seconds = time.perf_counter() - started
    save_json(paths.plan, outcome.plan.to_dict())
    save_json(paths.run, outcome.to_dict())
    _record(ci, outcome, started_at, paths)
    return outcome


def explain_run(
    outcome: RunOutcome, new: dict[str, Any], prod: state_mod.ProductionState | None
) -> None:
    """After the build, from its manifest ``new``: every skipped node with the failed
    upstream that caused it, what would break (skipped or failed marts and exposures),
    and the modified models' change classes refined from their compiled SQL."""
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
    target = preflight(settings) if prod.warehouse is None else None
    if (target is None or target.type not in ("postgres", "spark")) and (
        prod.warehouse is None or prod.database is None
    ):
        raise DataOpsError(f"no production warehouse file in {state_dir}")
    new = read_json(
        paths.target_path / "manifest.json", what="CI manifest.json", hint="run `dataops ci run`"
    )
    ids = the_plan.impacted_buildable if downstream else the_plan.modified_ids
    if target is not None and target.type == "spark" and prod.warehouse is None:
        # Production and CI are databases of one metastore: one session sees both.
        result = diff_mod.diff_spark(
            ids, new_manifest=new, prod_manifest=prod.manifest, spark=spark_session(target)
        )
    elif target is not None and prod.warehouse is None:
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
