"""The files of one CI folder (``ci/out`` by default): warehouse, profile, plan, run, diff."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling.settings import Settings


@dataclass(frozen=True)
class CiPaths:
    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "ci.duckdb"

    @property
    def profiles_dir(self) -> Path:
        return self.root / "profiles"

    @property
    def target_path(self) -> Path:
        return self.root / "target"

    @property
    def plan(self) -> Path:
        return self.root / "plan.json"

    @property
    def run(self) -> Path:
        return self.root / "run.json"

    @property
    def diff(self) -> Path:
        return self.root / "diff.json"

    @property
    def dbt_state(self) -> Path:
        return self.root / "state"

    @property
    def production(self) -> Path:
        """The private copy of the production warehouse the CI connection attaches."""
        return self.root / "production"

    def production_copy(self, warehouse: Path) -> Path:
        return self.production / warehouse.name


def default_ci_dir(settings: Settings) -> Path:
    return settings.root / "ci" / "out"


def save_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
