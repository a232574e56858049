"""Monitoring settings: ``[tool.dataops.monitor]``, environment variables, defaults.

Precedence, highest first: explicit arguments (command-line options), the
environment (``DATAOPS_MONITOR_STORE``, ``DATAOPS_ALERT_WEBHOOK``,
``DATAOPS_MONITOR``), the ``[tool.dataops.monitor]`` table, then defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from ingestion import redact
from tooling.errors import UsageError
from tooling.settings import Settings


@dataclass(frozen=True)
class MonitorConfig:
    store: Path
    enabled: bool = True
    webhook: str | None = None
    freshness: bool = False
    # volume anomalies: robust band median +/- k * 1.4826 * MAD over the last runs
    window: int = 10
    min_history: int = 3
    mad_k: float = 3.0
    min_relative_band: float = 0.3
    min_absolute_band: float = 10.0
    # tests failing this many runs in a row open an incident
    failing_test_runs: int = 1
    # models slower than their median over the window by this factor (and above a floor)
    slow_factor: float = 2.0
    slow_min_seconds: float = 1.0
    # materialisations whose row counts are tracked (the "marts")
    tracked_materializations: tuple[str, ...] = ("table", "incremental")
    # ML models (meta dataops_ml): a population stability index above this is drift,
    # computed only when both populations have at least drift_min_rows rows (below ~200
    # rows, sampling noise alone gives a PSI of about 9 * (1/n1 + 1/n2) over 10 bins)
    psi_threshold: float = 0.25
    drift_min_rows: int = 200
    # webhook delivery
    webhook_attempts: int = 3
    webhook_backoff_seconds: float = 0.5
    webhook_timeout_seconds: float = 5.0


_TUNABLE = {
    f.name: f.type
    for f in fields(MonitorConfig)
    if f.name not in {"store", "webhook", "tracked_materializations"}
}


def _truthy(value: str) -> bool:
    return value.strip().lower() not in {"0", "false", "no", "off", ""}


def load(
    settings: Settings,
    *,
    store: Path | None = None,
    webhook: str | None = None,
    freshness: bool | None = None,
    enabled: bool | None = None,
) -> MonitorConfig:
    raw: dict[str, Any] = settings.tool_config.get("monitor", {}) or {}
    if not isinstance(raw, dict):
        raise UsageError("[tool.dataops.monitor] must be a table")
    default_store = settings.warehouse.parent / "monitoring.duckdb"
    if store is not None:
        store_path = Path.cwd() / store
    elif os.environ.get("DATAOPS_MONITOR_STORE"):
        store_path = Path.cwd() / os.environ["DATAOPS_MONITOR_STORE"]
    elif raw.get("store"):
        store_path = settings.root / str(raw["store"])
    else:
        store_path = default_store
    config = MonitorConfig(store=store_path.resolve())
    overrides: dict[str, Any] = {}
    for key, value in raw.items():
        if key in {"store", "webhook"}:
            continue
        if key == "tracked_materializations":
            overrides[key] = tuple(str(v) for v in value)
            continue
        if key not in _TUNABLE:
            raise UsageError(f"[tool.dataops.monitor] has an unknown key {key!r}")
        current = getattr(config, key)
        if isinstance(current, bool) != isinstance(value, bool):
            raise UsageError(
                f"[tool.dataops.monitor] {key} must be a {type(current).__name__}, got {value!r}"
            )
        try:
            overrides[key] = type(current)(value)
        except (TypeError, ValueError):
            raise UsageError(
                f"[tool.dataops.monitor] {key} must be a {type(current).__name__}"
            ) from None
    config = replace(config, **overrides)
    hook = webhook or os.environ.get("DATAOPS_ALERT_WEBHOOK") or raw.get("webhook") or None
    redact.register(hook)  # Slack's webhook carries its token in the path
    env_enabled = os.environ.get("DATAOPS_MONITOR")
    return replace(
        config,
        webhook=hook,
        freshness=config.freshness if freshness is None else freshness,
        enabled=(
            enabled
            if enabled is not None
            else (_truthy(env_enabled) if env_enabled is not None else config.enabled)
        ),
    )
