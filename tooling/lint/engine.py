"""Linting with the ``dataops`` templater: a result cache and a forked worker pool.

A file's cached result is reused when its content, its config (every sqlfluff
config file on its path, the settings ``tooling.lint`` adds, the sqlfluff and
dbt versions, the templater's own code, vars and target, and the set of macro
names and dispatch orders of the project) and the content of every macro file
its rendering called are all unchanged. So a second run of an unchanged project
lints nothing, and editing a macro re-lints exactly the files whose rendering
used it. The cache is one JSON file under the project's ``target/``.

Workers are forked from a process that has already built the linter (rules,
dialect, macros), so a worker costs a fork, not a start-up; below
``CROSSOVER`` files one process is faster (see ``benchmarks/bench_lint.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooling.dbt_invoke import fewer_collections
from tooling.lint import dbt_macros, reflow_memo

CACHE_VERSION = 1
CACHE_NAME = ".dataops-lint-cache.json"
# Files to lint below which one process beats two: on the shared 2-core machine two
# processes lost at 16 files and won at 32 (bench_lint.py --crossover; README).
CROSSOVER = 24
RENDER_FAILED = "dbt rendering failed"
LINT_FAILED = "sqlfluff failed on this file"
CONFIG_NAMES = (".sqlfluff", "setup.cfg", "tox.ini", "pyproject.toml")

_STATE: dict[str, Any] = {}


@dataclass
class FileResult:
    path: str
    violations: list[tuple[int, int, str, str]]
    used: dict[str, str] = field(default_factory=dict)
    fixed: bool = False


@dataclass
class EngineResult:
    results: list[FileResult]
    linted: list[str]  # files linted in this run (the rest came from the cache)


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def _code_hash() -> str:
    here = Path(__file__).resolve().parent
    files = (
        "engine.py",
        "templater.py",
        "dbt_context.py",
        "dbt_macros.py",
        "dbt_stand_ins.py",
        "reflow_memo.py",
    )
    return _sha(b"".join((here / n).read_bytes() for n in files))


class Cache:
    def __init__(self, path: Path, global_key: str) -> None:
        self.path = path
        self.global_key = global_key
        self.entries: dict[str, Any] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(data, dict) and data.get("key") == global_key:
            self.entries = data.get("files") or {}

    def get(self, path: str, key: str, hashes: Mapping[str, str]) -> list | None:
        entry = self.entries.get(path)
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        if any(hashes.get(p) != h for p, h in (entry.get("used") or {}).items()):
            return None
        return entry.get("violations")

    def put(self, path: str, key: str, result: FileResult) -> None:
        self.entries[path] = {"key": key, "used": result.used, "violations": result.violations}

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(
                json.dumps({"key": self.global_key, "files": self.entries}), encoding="utf-8"
            )
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache that cannot be written only costs speed


class _ConfigFiles:
    """Hash of the sqlfluff config files on a file's path, memoised per folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.memo: dict[Path, str] = {}

    def folder_hash(self, folder: Path) -> str:
        if folder not in self.memo:
            parts = []
            for name in CONFIG_NAMES:
                candidate = folder / name
                if candidate.is_file():
                    parts.append(f"{name}:{_sha(candidate.read_bytes())}")
            parent = folder.parent
            up = self.folder_hash(parent) if parent != folder else ""
            self.memo[folder] = _sha(up + "|".join(parts))
        return self.memo[folder]


def _lint_one(path: str) -> FileResult:
    try:
        return _lint_file(path)
    except Exception as exc:  # one file's failure must not stop the others
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        return FileResult(path, [(1, 1, "LNT", f"{LINT_FAILED}: {detail}")])


def _lint_file(path: str) -> FileResult:
    linter, fix = _STATE["linter"], _STATE["fix"]
    raw, config, encoding = _file_config(linter, path)
    rule_pack = _STATE["rulepacks"].get(id(config))
    if rule_pack is None:
        rule_pack = _STATE["rulepacks"][id(config)] = linter.get_rulepack(config=config)
    parsed = linter.parse_rendered(linter.render_string(raw, path, config, encoding))
    with contextlib.nullcontext() if fix else reflow_memo.shared_root_sequences():
        linted = linter.lint_parsed(parsed, rule_pack, fix=fix, formatter=None, encoding=encoding)
    fixed = False
    if fix:
        text, _ = linted.fix_string()
        if text != raw:
            Path(path).write_text(text, encoding=encoding)
            fixed = True
            linted = linter.lint_parsed(
                linter.parse_rendered(linter.render_string(text, path, config, encoding)),
                rule_pack,
                formatter=None,
                encoding=encoding,
            )
    violations = [
        (int(v.line_no), int(v.line_pos), str(v.rule_code()), str(v.desc()))
        for v in linted.get_violations()
    ]
    used = sorted(linter.templater.used.pop(path, set()))
    hashes = _STATE["hashes"]
    return FileResult(path, violations, {p: hashes.get(p, "") for p in used}, fixed)


def _file_config(linter: Any, path: str) -> tuple[str, Any, str]:
    """The file's text, config and encoding, as sqlfluff's ``load_raw_file_and_config``.

    The config of a folder is built once (sqlfluff builds one per file); a file
    with inline ``-- sqlfluff:`` settings, a size limit to check or a non-UTF-8
    encoding setting takes sqlfluff's own path. Files were checked to be UTF-8.
    """
    if not _STATE["nested"]:  # the project's config file is unreadable: the defaults
        return Path(path).read_text(encoding="utf-8"), linter.config, "utf-8"
    folder = str(Path(path).parent)
    config = _STATE["folders"].get(folder)
    if config is None:
        config = _STATE["folders"][folder] = linter.config.make_child_from_path(path)
    raw = Path(path).read_text(encoding="utf-8")
    simple = (
        "sqlfluff:" not in raw
        and not config.get("large_file_skip_byte_limit")
        and str(config.get("encoding", default="autodetect")).lower()
        in ("autodetect", "utf-8", "utf8")
    )
    if not simple:
        return linter.load_raw_file_and_config(path, linter.config)
    return raw, config, "utf-8"


def _prepare(config: Any, world: dbt_macros.World, *, fix: bool, nested: bool) -> None:
    from sqlfluff.core import Linter

    _STATE.update(
        linter=Linter(config=config),
        fix=fix,
        nested=nested,
        hashes=world.file_hashes,
        folders={},
        rulepacks={},
    )


def run(
    files: Sequence[Path],
    *,
    project_dir: Path,
    root: Path,
    config: Any,
    config_text: str,
    world: dbt_macros.World,
    settings_key: str,
    fix: bool = False,
    processes: int | None = None,
    nested: bool = True,
    use_cache: bool = True,
) -> EngineResult:
    """Lint ``files`` (cache first); ``config`` is the root FluffConfig (templater dataops)."""
    from importlib.metadata import version

    global_key = _sha(
        "\n".join(
            [
                str(CACHE_VERSION),
                version("sqlfluff"),
                version("dbt-core"),
                _code_hash(),
                config_text,
                settings_key,
                world.signature(),
            ]
        )
    )
    cache = Cache(project_dir / "target" / CACHE_NAME, global_key)
    configs = _ConfigFiles(root)
    keys: dict[str, str] = {}
    results: dict[str, FileResult] = {}
    todo: list[str] = []
    for path in files:
        name = str(path)
        keys[name] = _sha(path.read_bytes()) + configs.folder_hash(path.parent)
        hit = None if (fix or not use_cache) else cache.get(name, keys[name], world.file_hashes)
        if hit is None:
            todo.append(name)
        else:
            results[name] = FileResult(name, [tuple(v) for v in hit])
    if todo:
        _prepare(config, world, fix=fix, nested=nested)
        workers = processes or (1 if len(todo) < CROSSOVER else min(2, os.cpu_count() or 1))
        workers = max(1, min(workers, len(todo)))
        # sqlfluff's parse trees leave cyclic garbage at a high rate (60 files in one
        # process: 6.9 s -> 6.3 s CPU, peak memory 62 -> 75 MiB).
        with fewer_collections(20_000, freeze=True):
            if workers == 1:
                fresh = [_lint_one(p) for p in todo]
            else:
                context = multiprocessing.get_context("fork")
                with context.Pool(workers) as pool:
                    chunk = max(1, len(todo) // (workers * 8))
                    fresh = list(pool.imap_unordered(_lint_one, todo, chunksize=chunk))
        for result in fresh:
            results[result.path] = result
            if not result.fixed:  # a rewritten file has new content, so a new key
                cache.put(result.path, keys[result.path], result)
        cache.save()
    return EngineResult([results[str(p)] for p in files], todo)


def is_problem(code: str, description: str) -> bool:
    """A violation that is bad input (the file cannot be rendered or linted), not style."""
    return (code == "TMP" and description.startswith(RENDER_FAILED)) or code == "LNT"
