"""Governance rules evaluated on dbt's manifest.json (and catalog.json): no warehouse.

``run_checks`` takes the artifacts as dicts plus the ``[tool.dataops.check]``
table and returns a ``CheckReport``; it never prints. Rules are plain functions
in ``tooling.check.rules`` registered in ``RULES``.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooling.artifacts import load_manifest, read_json
from tooling.check import conventions
from tooling.check.context import Context, Finding
from tooling.check.conventions import PRESETS, Convention
from tooling.check.rules import RULES, Rule
from tooling.errors import DataOpsError, UsageError

SEVERITIES = ("error", "warn")
# Rules a project opts into by having [tool.dataops]: without it they only warn.
OPT_IN_RULES = ("model-owner", "mart-contract", "mart-grants")

__all__ = [
    "PRESETS",
    "RULES",
    "CheckConfig",
    "CheckReport",
    "Convention",
    "Finding",
    "RuleConfig",
    "load_artifacts",
    "parse_config",
    "run_checks",
    "suggest_config",
]


@dataclass(frozen=True)
class Exception_:
    node: str
    reason: str

    def matches(self, unique_id: str, name: str) -> bool:
        return fnmatch.fnmatchcase(unique_id, self.node) or fnmatch.fnmatchcase(name, self.node)


@dataclass
class RuleConfig:
    enabled: bool = True
    severity: str = "error"
    exceptions: list[Exception_] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class RuleOutcome:
    rule: str
    severity: str
    enabled: bool
    checked: int
    failed: int
    excepted: int


@dataclass
class CheckConfig:
    rules: dict[str, RuleConfig]
    convention: Convention
    include_packages: bool | list[str] = False


@dataclass
class CheckReport:
    findings: list[Finding]
    outcomes: list[RuleOutcome]
    column_coverage: float | None  # percent of columns documented, None without columns
    models: int
    convention: str = "dataops"

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warn" for f in self.findings)

    @property
    def score(self) -> float:
        """Percent of (rule, node) checks that pass; a warning costs half a check."""
        checked = sum(o.checked for o in self.outcomes if o.enabled)
        if checked == 0:
            return 100.0
        lost = self.errors + 0.5 * self.warnings
        return round(max(0.0, 100.0 * (1 - lost / checked)), 1)

    def as_dict(self) -> dict[str, Any]:
        """The shared check JSON shape (read by the CI report)."""
        return {
            "score": self.score,
            "convention": self.convention,
            "errors": self.errors,
            "warnings": self.warnings,
            "findings": [f.as_dict() for f in self.findings],
        }


def parse_config(table: Mapping[str, Any] | None) -> dict[str, RuleConfig]:
    """``[tool.dataops.check]`` -> per-rule config (see ``parse_check_config``)."""
    return parse_check_config(table).rules


def parse_check_config(table: Mapping[str, Any] | None, *, configured: bool = True) -> CheckConfig:
    """``[tool.dataops.check]`` -> rules, convention and packages; unknown keys are errors.

    Shape::

        [tool.dataops.check]
        convention = "dbt-labs"        # dataops | dbt-labs | none (see conventions.py)
        naming = { marts = ["fct_*", "dim_*", "*_summary"] }   # overrides the preset
        include_packages = ["my_package"]                     # or true: all packages
        [tool.dataops.check.rules.column-docs]
        severity = "warn"              # error | warn
        enabled = true
        exceptions = [{ node = "model.pkg.legacy_*", reason = "migrating in Q3" }]

    ``configured`` False (a project without ``[tool.dataops]``): the rules of
    ``OPT_IN_RULES`` default to warnings and the convention to ``dbt-labs``.
    """
    configs = {
        rule_id: RuleConfig(
            severity="warn" if not configured and rule_id in OPT_IN_RULES else rule.default_severity
        )
        for rule_id, rule in RULES.items()
    }
    table = dict(table or {})
    rules_table = table.pop("rules", {})
    convention = conventions.resolve(
        {k: table.pop(k) for k in conventions.KEYS if k in table}, configured=configured
    )
    include = table.pop("include_packages", False)
    if not isinstance(include, bool) and not (
        isinstance(include, list) and all(isinstance(p, str) for p in include)
    ):
        raise UsageError(
            "[tool.dataops.check] include_packages must be true, false or a list of package names"
        )
    if table:
        raise UsageError(
            f"unknown key(s) in [tool.dataops.check]: {', '.join(sorted(table))} "
            f"(known: {', '.join([*conventions.KEYS, 'include_packages', 'rules'])}; "
            "rules go under [tool.dataops.check.rules.<rule>])"
        )
    if not isinstance(rules_table, Mapping):
        raise UsageError("[tool.dataops.check.rules] must be a table")
    for rule_id, raw in rules_table.items():
        if rule_id not in RULES:
            raise UsageError(
                f"unknown rule {rule_id!r} in [tool.dataops.check.rules]; "
                f"known rules: {', '.join(RULES)}"
            )
        if not isinstance(raw, Mapping):
            raise UsageError(f"[tool.dataops.check.rules.{rule_id}] must be a table")
        config = configs[rule_id]
        raw = dict(raw)
        config.enabled = bool(raw.pop("enabled", True))
        severity = raw.pop("severity", config.severity)
        if severity not in SEVERITIES:
            raise UsageError(
                f"[tool.dataops.check.rules.{rule_id}] severity must be 'error' or 'warn', "
                f"not {severity!r}"
            )
        config.severity = severity
        for item in raw.pop("exceptions", []):
            if not isinstance(item, Mapping) or not item.get("node") or not item.get("reason"):
                raise UsageError(
                    f"[tool.dataops.check.rules.{rule_id}] each exception needs a node "
                    'and a reason, e.g. { node = "model.pkg.x", reason = "why" }'
                )
            config.exceptions.append(Exception_(str(item["node"]), str(item["reason"])))
        rule = RULES[rule_id]
        unknown = set(raw) - set(rule.options)
        if unknown:
            raise UsageError(
                f"[tool.dataops.check.rules.{rule_id}] unknown option(s): "
                f"{', '.join(sorted(unknown))}"
                + (f" (options: {', '.join(rule.options)})" if rule.options else "")
            )
        config.options = raw
    return CheckConfig(rules=configs, convention=convention, include_packages=include)


def load_artifacts(target_dir: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """manifest.json (required) and catalog.json (optional) from a target folder."""
    if not (target_dir / "manifest.json").is_file():
        raise DataOpsError(
            f"manifest.json not found at {target_dir / 'manifest.json'}; make one with "
            "`dataops check --parse` (runs dbt parse), `dataops build` or `dbt parse`"
        )
    manifest = load_manifest(target_dir)
    catalog_path = target_dir / "catalog.json"
    catalog = (
        read_json(catalog_path, what="catalog.json", hint="run `dbt docs generate`")
        if catalog_path.is_file()
        else None
    )
    return manifest, catalog


def run_checks(
    manifest: Mapping[str, Any],
    catalog: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    *,
    only: list[str] | None = None,
    configured: bool = True,
    include_packages: bool | list[str] | None = None,
) -> CheckReport:
    """Every enabled rule over the project's models (and with ``include_packages``
    the models of all packages, or of the named ones; default from the config)."""
    parsed = parse_check_config(config, configured=configured)
    configs = parsed.rules
    for rule_id in only or []:
        if rule_id not in RULES:
            raise UsageError(f"unknown rule {rule_id!r}; known rules: {', '.join(RULES)}")
    packages = parsed.include_packages if include_packages is None else include_packages
    ctx = Context.build(manifest, catalog, convention=parsed.convention, packages=packages)
    findings: list[Finding] = []
    outcomes: list[RuleOutcome] = []
    for rule_id, rule in RULES.items():
        cfg = configs[rule_id]
        enabled = cfg.enabled and (not only or rule_id in only)
        if not enabled:
            outcomes.append(RuleOutcome(rule_id, cfg.severity, False, 0, 0, 0))
            continue
        checked, raw_findings = _evaluate(rule, ctx, cfg)
        kept, excepted = [], 0
        for finding in raw_findings:
            node = ctx.all_nodes.get(finding.node, {})
            if any(e.matches(finding.node, str(node.get("name", ""))) for e in cfg.exceptions):
                excepted += 1
                continue
            finding.severity = cfg.severity
            kept.append(finding)
        findings.extend(kept)
        outcomes.append(RuleOutcome(rule_id, cfg.severity, True, checked, len(kept), excepted))
    findings.sort(key=lambda f: (f.severity != "error", f.rule, f.node))
    return CheckReport(
        findings=findings,
        outcomes=outcomes,
        column_coverage=ctx.column_coverage(),
        models=len(ctx.models),
        convention=parsed.convention.name,
    )


def suggest_config(manifest: Mapping[str, Any], catalog: Mapping[str, Any] | None = None) -> str:
    """The ``[tool.dataops.check]`` block matching the project's observed conventions.

    Pasted into ``pyproject.toml`` it gives no naming finding; the opt-in rules
    (owners, contracts) the project does not follow yet are kept as warnings,
    which is what they are without ``[tool.dataops]``.
    """
    ctx = Context.build(manifest, catalog)
    suggestion = conventions.suggest(ctx.models.values())
    text = suggestion.text
    report = run_checks(manifest, catalog, tomllib.loads(text)["tool"]["dataops"]["check"])
    for rule_id in OPT_IN_RULES:
        failing = sum(f.rule == rule_id for f in report.findings)
        if failing:
            text += (
                f"\n[tool.dataops.check.rules.{rule_id}]\n"
                f'severity = "warn"  # {failing} node(s) do not follow it yet\n'
            )
    return text


def _evaluate(rule: Rule, ctx: Context, cfg: RuleConfig) -> tuple[int, list[Finding]]:
    return rule.func(ctx, cfg.options)
