"""Is ``target/manifest.json`` older than the project it describes? Re-parse if so.

A command that reads the manifest (``check``, ``lineage``, ``docs build
--skip-dbt``) must not judge a project from an old parse: a model added since,
or an edited model, YAML or macro file, would silently be missed. The test is
cheap (a walk of the project's dbt paths, one ``stat`` per file, and a set
difference against the manifest's file paths; no dbt import), so it runs on
every call; only a stale manifest pays for ``dbt parse``, which dbt does
partially (only the changed files) when it can.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling.errors import DataOpsError
from tooling.manifest import read_project_file

# The project keys naming folders of files dbt parses, with dbt's defaults.
PATH_KEYS = {
    "model-paths": ["models"],
    "macro-paths": ["macros"],
    "seed-paths": ["seeds"],
    "snapshot-paths": ["snapshots"],
    "test-paths": ["tests"],
    "analysis-paths": ["analyses"],
}
PARSED_SUFFIXES = {".sql", ".py", ".yml", ".yaml", ".csv", ".md"}
MODEL_SUFFIXES = {".sql", ".py"}


@dataclass
class Refresh:
    """What :func:`refresh_if_stale` found and did; ``note`` is one line for stderr."""

    stale: str | None = None  # why the manifest was stale, None when current
    reparsed: bool = False
    note: str | None = None


def _scan(folder: str, suffixes: set[str], out: list[tuple[str, int]]) -> None:
    """Append (path, mtime_ns) of the files under ``folder`` with one of ``suffixes``.

    Strings and ``os.scandir`` rather than ``Path`` objects: this runs on every
    ``dataops check`` and must stay in milliseconds on a 1,000-model project.
    """
    try:
        entries = os.scandir(folder)
    except OSError:
        return
    with entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                _scan(entry.path, suffixes, out)
            elif entry.name[entry.name.rfind(".") :] in suffixes:
                try:
                    out.append((entry.path, entry.stat().st_mtime_ns))
                except OSError:
                    continue


def project_paths(project_dir: Path) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(dbt_project.yml as a dict, its parsed folders per key, dbt's defaults filled in)."""
    data = read_project_file(project_dir)
    folders = {}
    for key, default in PATH_KEYS.items():
        value = data.get(key, default)
        folders[key] = [str(v) for v in value] if isinstance(value, list) else list(default)
    return data, folders


def _manifest_files(manifest: Mapping[str, Any], project: str) -> set[str]:
    """The root project's file paths the manifest knows, enabled or disabled."""
    nodes = list(manifest.get("nodes", {}).values())
    for versions in manifest.get("disabled", {}).values():
        nodes.extend(versions)
    return {
        str(n.get("original_file_path"))
        for n in nodes
        if n.get("package_name") == project and n.get("original_file_path")
    }


def _dbtignore(root: str):
    """A matcher of the project's ``.dbtignore`` (gitignore syntax, as dbt reads it
    with pathspec), or None without one."""
    try:
        with open(os.path.join(root, ".dbtignore"), encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    import pathspec  # dbt's dependency: only paid for by projects with a .dbtignore

    spec = pathspec.PathSpec.from_lines("gitwildmatch", lines)
    return lambda rel: spec.match_file(rel.replace(os.sep, "/"))


def stale_reason(
    project_dir: Path,
    manifest_path: Path,
    manifest: Mapping[str, Any] | None = None,
    *,
    adapter_type: str | None = None,
) -> str | None:
    """Why ``manifest_path`` does not describe ``project_dir`` as it is on disk, or None.

    Stale when ``dbt_project.yml``, a model, YAML, macro, seed, snapshot, test or
    analysis file (or a file of an installed package) is newer than the
    manifest, or a model file on disk is missing from it, or (``adapter_type``
    given: the target asked for) it was parsed for another engine, whose
    enabled models differ (the Python models run on DuckDB only). ``manifest``
    (the parsed file) saves reading it again.
    """
    try:
        built = manifest_path.stat().st_mtime_ns
    except OSError:
        return f"no {manifest_path.name} at {manifest_path.parent}"
    data, folders = project_paths(project_dir)
    root = str(project_dir)
    files: list[tuple[str, int]] = []
    for rel in (r for paths in folders.values() for r in paths):
        _scan(os.path.join(root, rel), PARSED_SUFFIXES, files)
    _scan(
        os.path.join(root, str(data.get("packages-install-path") or "dbt_packages")),
        PARSED_SUFFIXES,
        files,
    )
    ignored = _dbtignore(root)
    if ignored is not None:
        # dbt skips what .dbtignore names: so does this test (dbt's own matcher).
        files = [f for f in files if not ignored(os.path.relpath(f[0], root))]
    project_file = os.path.join(root, "dbt_project.yml")
    with contextlib.suppress(OSError):
        files.append((project_file, os.stat(project_file).st_mtime_ns))
    newest = max(files, key=lambda f: f[1], default=None)
    if newest is not None and newest[1] > built:
        rel = os.path.relpath(newest[0], root).replace(os.sep, "/")
        return f"{rel} is newer than {manifest_path.name}"
    if manifest is None:
        import json

        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return f"{manifest_path.name} cannot be read"
    assert manifest is not None
    parsed_for = (manifest.get("metadata") or {}).get("adapter_type")
    if adapter_type and parsed_for and parsed_for != adapter_type:
        return f"{manifest_path.name} was parsed for {parsed_for}, the target is {adapter_type}"
    known = _manifest_files(manifest, str(data.get("name") or ""))
    model_roots = tuple(os.path.join(root, rel) + os.sep for rel in folders["model-paths"])
    for path, _ in sorted(files):
        if path.startswith(model_roots) and path[path.rfind(".") :] in MODEL_SUFFIXES:
            rel = path[len(root) + 1 :].replace(os.sep, "/")
            if rel not in known:
                return f"{rel} is not in {manifest_path.name}"
    return None


def refresh_if_stale(
    settings: Any,
    target_dir: Path,
    manifest: Mapping[str, Any] | None = None,
    *,
    reparse: bool = True,
) -> Refresh:
    """Re-parse with dbt (partial parse) when ``target_dir``'s manifest is stale.

    Never raises for a failed parse: the caller goes on with the old manifest
    and prints ``note``, which says it was not re-parsed and why. With
    ``reparse=False`` (a manifest folder the user named, which dbt must not
    overwrite) it only says so.
    """
    # Only a target named on the command line is compared: the default target must not
    # re-parse (and overwrite) the manifest of a build on another engine.
    adapter_type = None
    if getattr(settings, "target", None):
        with contextlib.suppress(DataOpsError):
            adapter_type = settings.adapter_type
    reason = stale_reason(
        settings.project_dir, target_dir / "manifest.json", manifest, adapter_type=adapter_type
    )
    if reason is None:
        return Refresh()
    if not reparse:
        return Refresh(
            stale=reason,
            note=f"warning: the manifest in {target_dir} is stale ({reason}); not re-parsed "
            "because --target-dir was given (run `dataops check --parse` to refresh it)",
        )
    from tooling.dbt_invoke import parse_manifest

    extra = [] if target_dir == settings.target_dir else ["--target-path", str(target_dir)]
    try:
        parse_manifest(settings, extra=extra)
    except DataOpsError as exc:
        if not (target_dir / "manifest.json").is_file():
            # nothing to be stale: the caller's "manifest.json not found" says it all
            return Refresh(stale=reason)
        return Refresh(
            stale=reason,
            note=f"warning: the manifest is stale ({reason}) and was not re-parsed: {exc}",
        )
    return Refresh(stale=reason, reparsed=True, note=f"re-parsed the project with dbt: {reason}")
