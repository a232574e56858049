"""Which SQL files a lint run reads: the project's SQL folders, or the files git says changed.

The folders are dbt's (``model-paths``, ``test-paths``, ``snapshot-paths``,
``analysis-paths`` from ``dbt_project.yml``); build output and installed
packages are skipped. Every file must open as UTF-8, as dbt reads models.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from tooling.errors import DataOpsError, UsageError

SQL_PATH_KEYS = ("model-paths", "test-paths", "snapshot-paths", "analysis-paths")
SQL_PATH_DEFAULTS = {
    "model-paths": ["models"],
    "test-paths": ["tests"],
    "snapshot-paths": ["snapshots"],
    "analysis-paths": ["analyses"],
    "macro-paths": ["macros"],
}


SKIP_DIRS = {"target", "dbt_packages", "logs", ".venv", "node_modules"}


def _project_paths(project_dir: Path) -> dict[str, list[str]]:
    try:
        data = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataOpsError(f"cannot read {project_dir / 'dbt_project.yml'}: {exc}") from None
    data = data if isinstance(data, dict) else {}
    out: dict[str, list[str]] = {}
    for key, default in SQL_PATH_DEFAULTS.items():
        value = data.get(key, default)
        out[key] = [str(v) for v in value] if isinstance(value, list) else default
    return out


def sql_roots(project_dir: Path) -> list[Path]:
    """Folders whose .sql files are linted: models, tests, snapshots, analyses."""
    paths = _project_paths(project_dir)
    return [project_dir / p for key in SQL_PATH_KEYS for p in paths[key]]


def macro_roots(project_dir: Path) -> list[Path]:
    return [project_dir / p for p in _project_paths(project_dir)["macro-paths"]]


def _walk_sql(folder: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".sql"):
                yield Path(dirpath) / name


def discover(project_dir: Path, paths: Sequence[Path] = ()) -> list[Path]:
    """The SQL files to lint: under ``paths`` if given, else the project's SQL folders.

    Macro folders are left out of a whole-project run (macros are linted where
    they are used); a macro file named explicitly is linted.
    """
    found: list[Path] = []
    if not paths:
        for root in sql_roots(project_dir):
            if root.is_dir():
                found.extend(_walk_sql(root))
    for path in paths:
        if path.is_dir():
            found.extend(_walk_sql(path))
        elif path.exists():
            if path.suffix == ".sql":
                found.append(path)
        else:
            raise UsageError(f"no such file or folder: {path}")
    return sorted({Path(os.path.abspath(p)) for p in found})


def _git(root: Path, *args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=60
        )
    except FileNotFoundError:
        raise DataOpsError("--changed needs git, which is not installed") from None
    except subprocess.CalledProcessError as exc:
        raise DataOpsError(f"git {' '.join(args)} failed: {exc.stderr.strip()}") from None
    return out.stdout


def default_branch(root: Path) -> str:
    """origin's HEAD branch if known, else the first of main/master that exists."""
    try:
        ref = _git(root, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD").strip()
        if ref:
            return ref.removeprefix("refs/remotes/")
    except DataOpsError:
        pass
    for candidate in ("main", "master", "origin/main", "origin/master"):
        try:
            _git(root, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
            return candidate
        except DataOpsError:
            continue
    raise DataOpsError("--changed: cannot find the default branch (main/master); pass --base")


def changed_files(root: Path, base: str | None = None) -> list[Path]:
    """Files changed against the merge-base with the default branch, plus untracked ones.

    Committed, staged and unstaged changes all count (``git diff <merge-base>``
    compares that commit with the working tree); deleted files do not.
    """
    try:
        top = Path(_git(root, "rev-parse", "--show-toplevel").strip())
    except DataOpsError:
        raise DataOpsError(f"--changed needs a git repository; {root} is not in one") from None
    branch = base or default_branch(top)
    merge_base = _git(top, "merge-base", "HEAD", branch).strip()
    changed = _git(top, "diff", "--name-only", "-z", "--diff-filter=ACMRT", merge_base)
    untracked = _git(top, "ls-files", "--others", "--exclude-standard", "-z")
    names = {n for n in (changed + untracked).split("\0") if n}
    return sorted((top / n).resolve() for n in names)


def select_changed(candidates: Sequence[Path], changed: Sequence[Path]) -> list[Path]:
    wanted = {p.resolve() for p in changed}
    return [p for p in candidates if p.resolve() in wanted]


def check_readable(files: Sequence[Path]) -> None:
    """Every file opens and is UTF-8 (what dbt reads models as), else one clear error."""
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DataOpsError(f"cannot read SQL file {path}: {exc.strerror}") from None
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataOpsError(
                f"cannot read SQL file {path}: not UTF-8 text (byte 0x{data[exc.start]:02x} "
                f"at offset {exc.start})"
            ) from None
