"""The dbt target a command runs against: its name, adapter type and rendered
credentials, from the profile that :attr:`Settings.profile` resolves the way dbt
does. Credentials hold secrets: never print them (:meth:`Target.redact`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tooling.settings import Settings


@dataclass(frozen=True)
class Target:
    name: str
    type: str
    credentials: dict[str, Any] = field(default_factory=dict, repr=False)


def resolve_target(settings: Settings) -> Target:
    """The target ``settings.target`` (else the profile's default); exit 2 when unknown."""
    profile = settings.profile
    return Target(
        name=profile.target_name, type=profile.adapter_type, credentials=dict(profile.credentials)
    )
