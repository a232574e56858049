"""Slim-CI isolation: the CI connection can write the CI warehouse and nothing else.

Two mechanisms, both measured against hostile models (tests/test_ci_isolation.py):

1. **DuckDB's own guards, set after the attach.** A dbt-duckdb plugin
   (``Plugin`` below, named in the generated CI profile) runs on every cursor
   dbt opens, i.e. after dbt-duckdb attached the production catalog. On the
   first one it sets ``allowed_directories`` (the CI temp folder, the seed
   folders dbt's fast seed loader reads), ``allowed_paths`` (the CI file and
   its WAL), ``enable_external_access = false`` and ``lock_configuration =
   true``. From then on no statement can ``attach`` another file, ``copy ...
   to`` a path, read arbitrary files, ``install`` or ``load`` an extension, or
   change a setting back.
2. **A private copy of production.** When external access is disabled DuckDB
   keeps every *already attached* file accessible, so a model could ``detach``
   the production catalog and attach the same path again read-write, or
   ``copy ... to`` it. The file attached is therefore a copy made for this run
   (``<ci dir>/production/``; a reflink where the file system has them, else a
   kernel-side copy): whatever a model does to it, the state folder's file and
   the developer's warehouse are never opened by the CI connection.

Boundary: a Python model runs arbitrary Python in this process and can open any
file the user can; only SQL is contained. See the README (Slim CI isolation).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

MODULE = "tooling.ci.isolation"
FICLONE = 0x40049409  # linux/fs.h: share the extents (btrfs, xfs, overlayfs on those)


def private_copy(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target`` (reflink when possible); return ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target, target.with_name(target.name + ".wal")):
        stale.unlink(missing_ok=True)
    with source.open("rb") as src, target.open("wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
        except OSError:
            shutil.copyfileobj(src, dst, length=16 * 1024 * 1024)  # sendfile on Linux
    wal = source.with_name(source.name + ".wal")
    if wal.is_file():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    return target


def guard_settings(
    *, ci_warehouse: Path, read_dirs: list[Path], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The plugin config: the user's own settings first, then the guards, in order."""
    ci = ci_warehouse.resolve()
    return {
        "settings": dict(extra or {}),
        "allowed_directories": [
            str(ci.with_name(ci.name + ".tmp")) + os.sep,
            *(str(d.resolve()) + os.sep for d in read_dirs),
        ],
        "allowed_paths": [str(ci), str(ci.with_name(ci.name + ".wal"))],
    }


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _list(values: list[str]) -> str:
    return "[" + ", ".join(_literal(v) for v in values) + "]"


def apply_guards(cursor: Any, config: dict[str, Any]) -> None:
    """Lock the database instance ``cursor`` belongs to (idempotent per instance)."""
    locked = cursor.execute("select current_setting('lock_configuration')").fetchone()
    if locked and locked[0] in (True, "true"):
        return
    for key, value in (config.get("settings") or {}).items():
        cursor.execute(f"set {key} = {_literal(str(value))}")
    with contextlib.suppress(Exception):  # the temp folder may not exist yet: fine
        Path(config["allowed_directories"][0]).mkdir(parents=True, exist_ok=True)
    cursor.execute(f"set allowed_directories = {_list(config['allowed_directories'])}")
    cursor.execute(f"set allowed_paths = {_list(config['allowed_paths'])}")
    cursor.execute("set enable_external_access = false")
    cursor.execute("set lock_configuration = true")


class Plugin(BasePlugin):
    """dbt-duckdb plugin: applies :func:`apply_guards` on every cursor dbt opens."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.guards = plugin_config

    def configure_cursor(self, cursor: Any) -> None:
        apply_guards(cursor, self.guards)
