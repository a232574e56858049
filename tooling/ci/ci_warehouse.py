"""The CI warehouse: a fresh DuckDB file with a view over each production source relation.

The production file is ATTACHED read-only under the catalog name production
relations carry in the production manifest, so dbt's deferred refs (rendered as
``"<prod catalog>"."<schema>"."<table>"``) read production data. Sources are not
deferred by dbt, so for every source relation production holds, the CI file gets
a view of the same name over the attached production table. Nothing writes to
the production file.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from tooling import production_state as state_mod
from tooling.ci.paths import CiPaths
from tooling.errors import DataOpsError


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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
        # One transaction, one script: a commit (and an fsync) per statement costs
        # more than the statements on a project with hundreds of sources.
        sources = sorted(existing - built_by_dbt)
        statements = [
            f"create schema if not exists {_quote(schema)}"
            for schema in sorted({s for s, _ in sources})
        ]
        for schema, table in sources:
            statements.append(
                f"create or replace view {_quote(schema)}.{_quote(table)} as "
                f"select * from {_quote(alias)}.{_quote(schema)}.{_quote(table)}"
            )
            created.append(f"{schema}.{table}")
        if statements:
            con.execute("begin transaction;\n" + ";\n".join(statements) + ";\ncommit;")
        con.execute(f"detach {_quote(alias)}")
    finally:
        con.close()
    return created


class CiFileSetup:
    """The CI file and the private production copy, made in a thread while dbt parses.

    Neither needs the parsed project, and both spend their time where the GIL
    is released (DuckDB's statements, the kernel's file copy), so they overlap
    the parse instead of following it. :meth:`wait` joins the thread and raises
    what it raised, as one :class:`DataOpsError` line; after a failure, or when
    the caller gives up (:meth:`abandon`, e.g. the parse failed), the files the
    thread wrote are removed, so no half-made CI file or copy is left behind.
    """

    def __init__(self, paths: CiPaths, prod: state_mod.ProductionState | None) -> None:
        import duckdb  # noqa: F401 - imported here, not in the thread (the import lock)

        self.paths, self.prod = paths, prod
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name="dataops-ci-setup", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        try:
            prepare_ci_warehouse(self.paths, self.prod)
            if self.prod is not None and self.prod.warehouse is not None:
                from tooling.ci import isolation

                source = self.prod.warehouse
                target = self.paths.production_copy(source)
                try:
                    isolation.private_copy(source, target)
                except OSError as exc:
                    raise DataOpsError(
                        f"cannot copy the production warehouse {source} to {target}: "
                        f"{exc.strerror or exc}"
                    ) from None
        except BaseException as exc:  # handed to the caller's thread by wait()
            self.error = exc

    def wait(self) -> None:
        """Join the thread; raise what it raised, after removing what it wrote."""
        self.thread.join()
        if self.error is not None:
            self._remove()
            raise self.error

    def abandon(self) -> None:
        """The run stops before the build: join the thread and remove what it wrote."""
        self.thread.join()
        self._remove()

    def _remove(self) -> None:
        files = [self.paths.warehouse]
        if self.prod is not None and self.prod.warehouse is not None:
            files.append(self.paths.production_copy(self.prod.warehouse))
        for path in files:
            for stale in (path, path.with_name(path.name + ".wal")):
                with contextlib.suppress(OSError):
                    stale.unlink(missing_ok=True)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
