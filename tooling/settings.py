"""Where things are: the one place every command takes its paths from.

Precedence, highest first: command-line options, environment variables
(``DATAOPS_PROJECT_DIR``, ``DATAOPS_TARGET``, ``DATAOPS_WAREHOUSE``,
``DATAOPS_SOURCES``, ``DATAOPS_LANDING_ROOT``), the ``[tool.dataops]`` table of
the nearest ``pyproject.toml`` (paths relative to it), then defaults relative
to the current folder. Works for any dbt project given ``--project-dir``.

The warehouse is the dbt profile's DuckDB ``path``: the profile is resolved as
dbt resolves it (``--profiles-dir``, ``DBT_PROFILES_DIR``, the current folder,
the project folder, ``~/.dbt``; ``profile:`` of ``dbt_project.yml``;
``--target``; ``env_var()`` and ``var()`` rendered by dbt's own renderer).
``--warehouse`` / ``DATAOPS_WAREHOUSE`` / ``[tool.dataops] warehouse`` only
override it. The profile is read lazily, on the first use of
:attr:`Settings.profile` or :attr:`Settings.warehouse`: commands that only read
artifacts never import dbt.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tooling.errors import DataOpsError, UsageError

DEFAULTS = {
    "project_dir": "dbt_project",
    "warehouse": "warehouse/dataops.duckdb",
    "sources": "ingestion/sources.yml",
    "landing_root": "data/sample",
}

# What reads or writes the DuckDB file itself (the rest works on any adapter).
NEEDS_DUCKDB = "build (ingestion, summary, monitoring), ingest, state publish, ci run/diff, monitor"


@dataclass(frozen=True)
class Profile:
    """The dbt profile output a project runs on, rendered by dbt's renderer.

    ``credentials`` is the rendered output (passwords included): never print it.
    """

    profile_name: str
    target_name: str
    adapter_type: str
    profiles_dir: Path
    credentials: dict[str, Any] = field(repr=False)

    @property
    def describe(self) -> str:
        return f"target {self.target_name!r} of profile {self.profile_name!r}"

    def duckdb_path(self, cwd: Path) -> Path:
        """The DuckDB file of a duckdb output (relative paths: from ``cwd``, as dbt opens it)."""
        if self.adapter_type != "duckdb":
            raise UsageError(
                f"{self.describe} ({self.profiles_dir / 'profiles.yml'}) is "
                f"{self.adapter_type}, not duckdb; these commands need a DuckDB file: "
                f"{NEEDS_DUCKDB} (or pass --warehouse)"
            )
        path = str(self.credentials.get("path") or ":memory:")
        if path == ":memory:" or path.startswith("md:") or "://" in path:
            raise UsageError(
                f"{self.describe} has path {path!r}, not a DuckDB file; pass --warehouse FILE"
            )
        return (cwd / Path(path).expanduser()).resolve()


class _Warehouse:
    """``Settings.warehouse``: the override if one was given, else the profile's path.

    A data descriptor, so ``Settings(warehouse=...)`` keeps working and the
    profile is only read when someone asks for the file. ``dataclasses.replace``
    reads every field: pass ``warehouse=`` to it (``settings.warehouse_override``
    keeps "no override").
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Settings | None, owner: type) -> Any:
        if instance is None:
            return None  # the dataclass default: no override
        override = instance.__dict__.get(self.name)
        if override is not None:
            return override
        return instance.profile.duckdb_path(instance.cwd or Path.cwd())

    def __set__(self, instance: Settings, value: Path | None) -> None:
        if isinstance(value, _Warehouse):  # the field's default: no override
            value = None
        instance.__dict__[self.name] = Path(value) if value is not None else None


@dataclass(frozen=True)
class Settings:
    root: Path
    project_dir: Path
    sources: Path
    landing_root: Path
    # Not in repr/eq: both would read the profile (and may raise for a non-DuckDB target).
    warehouse: _Warehouse = field(default=_Warehouse(), repr=False, compare=False)  # type: ignore[assignment]
    target: str | None = None
    profiles_dir: Path | None = None
    tool_config: dict[str, Any] = field(default_factory=dict)
    # --vars for every dbt invocation: a JSON mapping ([tool.dataops] vars + --vars).
    vars: str | None = None
    cwd: Path | None = None

    @property
    def target_dir(self) -> Path:
        return self.project_dir / "target"

    @property
    def manifest_path(self) -> Path:
        return self.target_dir / "manifest.json"

    @property
    def warehouse_override(self) -> Path | None:
        """The warehouse given by option, environment or [tool.dataops], if any."""
        return self.__dict__.get("warehouse")

    @property
    def vars_dict(self) -> dict[str, Any]:
        return json.loads(self.vars) if self.vars else {}

    @property
    def profile(self) -> Profile:
        """The resolved dbt profile output (reads profiles.yml; imports dbt's renderer)."""
        return resolve_profile(
            self.project_dir,
            profiles_dir=self.profiles_dir,
            target=self.target,
            cli_vars=self.vars_dict,
        )

    @property
    def adapter_type(self) -> str:
        return self.profile.adapter_type


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.dataops] table, walking up."""
    for folder in [start, *start.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise DataOpsError(f"cannot read {candidate}: {exc}") from None
            if "dataops" in data.get("tool", {}):
                return candidate
    return None


def load_tool_config(pyproject: Path | None) -> dict[str, Any]:
    if pyproject is None:
        return {}
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    config = data.get("tool", {}).get("dataops", {})
    if not isinstance(config, dict):
        raise DataOpsError(f"{pyproject}: [tool.dataops] must be a table")
    return config


def parse_vars(text: str | dict[str, Any] | None, *, what: str = "--vars") -> dict[str, Any]:
    """dbt's ``--vars``: a YAML (or JSON) mapping. Anything else is a usage error."""
    if text is None:
        return {}
    if isinstance(text, dict):
        return text
    if not isinstance(text, str):
        raise UsageError(f"{what} must be a YAML mapping, got {type(text).__name__}")
    if not text.strip():
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0]
        raise UsageError(f"{what} is not YAML ({first}): {text!r}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{what} must be a YAML mapping like '{{key: value}}', got {text!r}")
    return data


def merged_vars(config: dict[str, Any], cli: str | None) -> str | None:
    """[tool.dataops] vars as defaults, --vars on top; JSON for dbt, or None."""
    merged = {
        **parse_vars(config.get("vars"), what="[tool.dataops] vars"),
        **parse_vars(cli),
    }
    return json.dumps(merged, sort_keys=True, default=str) if merged else None


def profiles_dir_for(project_dir: Path, option: Path | None, cwd: Path) -> Path:
    """The folder holding profiles.yml, searched as dbt does, then the project folder."""
    if option is not None:
        return (cwd / option).resolve()
    if os.environ.get("DBT_PROFILES_DIR"):
        return (cwd / os.environ["DBT_PROFILES_DIR"]).expanduser().resolve()
    for folder in (cwd, project_dir):
        if (folder / "profiles.yml").is_file():
            return folder
    return Path.home() / ".dbt"


def first_line(exc: BaseException) -> str:
    """The line of a dbt error that names the problem (not 'Compilation Error')."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    lines = [
        ln for ln in lines if ln not in {"Runtime Error", "Compilation Error", "Parsing Error"}
    ]
    return lines[0] if lines else type(exc).__name__


def resolve_profile(
    project_dir: Path,
    *,
    profiles_dir: Path | None,
    target: str | None,
    cli_vars: dict[str, Any] | None = None,
) -> Profile:
    """The profile output dbt would use for ``project_dir``, via dbt's own loader.

    Errors (no profiles.yml, an unknown profile or target, an unset
    ``env_var()`` without default) are one line naming the culprit, exit 2.
    """
    folder = profiles_dir or profiles_dir_for(project_dir, None, Path.cwd())
    profiles_file = folder / "profiles.yml"
    if not profiles_file.is_file():
        raise UsageError(
            f"no profiles.yml in {folder} (looked in --profiles-dir, DBT_PROFILES_DIR, "
            "the current folder, the project folder and ~/.dbt)"
        )
    from tooling.manifest import read_project_file

    raw_name = read_project_file(project_dir).get("profile")
    if not raw_name:
        raise UsageError(f"{project_dir / 'dbt_project.yml'} has no `profile:`")
    # dbt's renderer (env_var, var, as_number ...), imported late: dbt.config is slow to load.
    from dbt.config.profile import Profile as DbtProfile
    from dbt.config.profile import read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context
    from dbt_common.exceptions import DbtBaseException

    set_invocation_context(os.environ)
    renderer = ProfileRenderer(cli_vars or {})
    try:
        profile_name = str(renderer.render_value(raw_name))
        raw = read_profile(str(folder))
    except DbtBaseException as exc:
        raise UsageError(f"{profiles_file}: {first_line(exc)}") from None
    raw_profile = raw.get(profile_name)
    if not isinstance(raw_profile, dict):
        raise UsageError(f"profile {profile_name!r} (dbt_project.yml) not found in {profiles_file}")
    try:
        target_name, data = DbtProfile.render_profile(raw_profile, profile_name, target, renderer)
    except DbtBaseException as exc:
        message = first_line(exc)
        if "does not have a target named" in message:
            outputs = sorted((raw_profile.get("outputs") or {}).keys())
            message = (
                f"profile {profile_name!r} has no target {target or raw_profile.get('target')!r} "
                f"(targets: {', '.join(outputs)})"
            )
        raise UsageError(f"{profiles_file}: {message}") from None
    adapter = str(data.get("type") or "")
    if not adapter:
        raise UsageError(f"{profiles_file}: {profile_name}.{target_name} has no `type:`")
    _register_secrets(data)
    return Profile(
        profile_name=profile_name,
        target_name=str(target_name),
        adapter_type=adapter,
        profiles_dir=folder,
        credentials=data,
    )


_SECRET_KEY = re.compile(r"pass|secret|token|private_key|credential|api_key", re.IGNORECASE)


def _register_secrets(credentials: dict[str, Any]) -> None:
    """Every rendered credential that looks secret (password, token, ...) is redacted
    from any output from now on: dbt's own error text may echo it."""
    from ingestion import redact

    for key, value in credentials.items():
        if isinstance(value, str) and value and _SECRET_KEY.search(str(key)):
            redact.register(value)


def resolve(
    *,
    project_dir: Path | None = None,
    target: str | None = None,
    warehouse: Path | None = None,
    sources: Path | None = None,
    landing_root: Path | None = None,
    profiles_dir: Path | None = None,
    vars: str | None = None,
    cwd: Path | None = None,
    require_project: bool = True,
) -> Settings:
    cwd = (cwd or Path.cwd()).resolve()
    pyproject = find_pyproject(cwd)
    config = load_tool_config(pyproject)
    root = pyproject.parent if pyproject else cwd

    def pick(option: Path | None, env: str, key: str) -> Path:
        if option is not None:
            return (cwd / option).resolve()
        if os.environ.get(env):
            return (cwd / os.environ[env]).resolve()
        return (root / str(config.get(key, DEFAULTS[key]))).resolve()

    project = pick(project_dir, "DATAOPS_PROJECT_DIR", "project_dir")
    has_project = (project / "dbt_project.yml").is_file()
    if require_project and not has_project:
        raise DataOpsError(
            f"no dbt project at {project} (dbt_project.yml not found); pass --project-dir"
        )
    wh = warehouse or (
        Path(os.environ["DATAOPS_WAREHOUSE"]) if os.environ.get("DATAOPS_WAREHOUSE") else None
    )
    if wh is not None:
        override: Path | None = (cwd / wh).resolve()
    elif config.get("warehouse"):
        override = (root / str(config["warehouse"])).resolve()
    elif not has_project:
        # No dbt project (ingestion alone): the toolkit's default file.
        override = (root / DEFAULTS["warehouse"]).resolve()
    else:
        override = None  # the dbt profile's path, read when first needed
    return Settings(
        root=root,
        project_dir=project,
        warehouse=override,  # type: ignore[arg-type]
        sources=pick(sources, "DATAOPS_SOURCES", "sources"),
        landing_root=pick(landing_root, "DATAOPS_LANDING_ROOT", "landing_root"),
        target=target or os.environ.get("DATAOPS_TARGET") or None,
        profiles_dir=profiles_dir_for(project, profiles_dir, cwd),
        tool_config=config,
        vars=merged_vars(config, vars),
        cwd=cwd,
    )
