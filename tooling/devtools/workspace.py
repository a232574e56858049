"""Helpers shared by the test suite and the benchmarks (not used by the CLI).

- ``copy_repo``: a working copy of a repository without environments, state or
  outputs, for end-to-end runs in a temporary folder.
- ``CHROMIUM`` / ``CHROMIUM_ARGS``: Debian's Chromium and the flags it needs on
  a machine with no network (Playwright cannot download its own browsers here,
  so it is launched by ``executable_path``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

COPY_IGNORE = (
    ".venv",
    ".tools",
    ".git",
    "warehouse",
    "target",
    "logs",
    "__pycache__",
    "*.duckdb",
    "*.duckdb.wal",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "site",
    "state",
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def copy_repo(source: Path, dest: Path) -> Path:
    """Copy ``source`` to ``dest`` leaving out environments, state and outputs."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(*COPY_IGNORE))
    return dest
