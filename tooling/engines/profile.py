"""The dbt target a command runs against, read from the project's profile.

Only what the toolkit needs: the target's name, adapter type and rendered
credentials (``env_var`` resolved the way dbt does). dbt itself still reads the
profile for the build.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from tooling.errors import UsageError
from tooling.settings import Settings

SECRET_KEYS = ("password", "token", "pass")


@dataclass(frozen=True)
class Target:
    name: str
    type: str
    credentials: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def secrets(self) -> list[str]:
        """Credential values that must never reach output."""
        return [
            str(v)
            for k, v in self.credentials.items()
            if any(s in k.lower() for s in SECRET_KEYS) and v not in (None, "")
        ]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class _MissingEnv(Exception):
    pass


def _env_var(name: str, default: Any = None) -> str:
    if name in os.environ:
        return os.environ[name]
    if default is None:
        raise _MissingEnv(name)
    return default


def _render(value: Any, env: jinja2.Environment) -> Any:
    if isinstance(value, dict):
        return {k: _render(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, env) for v in value]
    if isinstance(value, str) and "{{" in value:
        rendered = env.from_string(value).render()
        return int(rendered) if rendered.isdigit() else rendered
    return value


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.globals["env_var"] = _env_var
    env.filters["as_number"] = lambda v: float(v) if "." in str(v) else int(v)
    env.filters["as_bool"] = lambda v: str(v).lower() in ("1", "true", "yes")
    env.filters["as_text"] = str
    return env


def profiles_file(settings: Settings) -> Path:
    folder = settings.profiles_dir or Path(os.environ.get("DBT_PROFILES_DIR", Path.home() / ".dbt"))
    return folder / "profiles.yml"


def profile_name(settings: Settings) -> str:
    project = yaml.safe_load((settings.project_dir / "dbt_project.yml").read_text()) or {}
    return str(project.get("profile", ""))


def resolve_target(settings: Settings) -> Target:
    """The target ``settings.target`` (else the profile's default) with its adapter type."""
    path = profiles_file(settings)
    name = profile_name(settings)
    try:
        profiles = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError:
        raise UsageError(f"no dbt profile file at {path}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    profile = profiles.get(name)
    if not isinstance(profile, dict) or not isinstance(profile.get("outputs"), dict):
        raise UsageError(f"{path}: no profile {name!r} with outputs")
    env = _environment()
    try:
        target_name = settings.target or str(_render(profile.get("target", "default"), env))
        outputs = profile["outputs"]
        if target_name not in outputs:
            known = ", ".join(sorted(outputs))
            raise UsageError(
                f"target {target_name!r} is not in profile {name!r} of {path} (targets: {known})"
            )
        credentials = _render(outputs[target_name], env)
    except _MissingEnv as exc:
        raise UsageError(f"{path}: environment variable {exc} is not set") from None
    except jinja2.TemplateError as exc:
        raise UsageError(f"{path}: cannot render target: {exc}") from None
    return Target(name=target_name, type=str(credentials.get("type", "")), credentials=credentials)
