"""Read dbt's artifacts (run_results.json, manifest.json). Never prints."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooling.errors import DataOpsError


def read_json(path: Path, *, what: str, hint: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataOpsError(f"{what} not found at {path}; {hint}") from None
    except json.JSONDecodeError as exc:
        raise DataOpsError(
            f"{what} at {path} is not valid JSON ({exc.msg}, line {exc.lineno})"
        ) from None
    except OSError as exc:
        raise DataOpsError(f"cannot read {what} at {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise DataOpsError(
            f"{what} at {path} is not UTF-8 (byte 0x{exc.object[exc.start]:02x} "
            f"at offset {exc.start})"
        ) from None
    if not isinstance(data, dict):
        raise DataOpsError(f"{what} at {path} is not a JSON object")
    check_shape(data, what=what, path=path)
    return data


# The top-level members each artifact must have the type of, when present. A dbt
# artifact of another shape (hand-edited, truncated, another tool's file) is then
# one line naming the member instead of an exception deep inside a command.
SHAPES: dict[str, dict[str, type]] = {
    "manifest.json": {
        "nodes": dict,
        "sources": dict,
        "macros": dict,
        "exposures": dict,
        "metrics": dict,
        "semantic_models": dict,
        "parent_map": dict,
        "child_map": dict,
        "metadata": dict,
    },
    "catalog.json": {"nodes": dict, "sources": dict, "metadata": dict},
    "run_results.json": {"results": list, "metadata": dict},
    "sources.json": {"results": list},
    "CI plan": {"modified": list, "impacted": list, "deleted": list, "edges": list},
    "lint JSON": {"violations": list},
    "check JSON": {"findings": list},
}


def check_shape(data: dict[str, Any], *, what: str, path: Path) -> None:
    """Raise one line when a member of a known artifact has the wrong JSON type."""
    kind = what.removeprefix("production ").removeprefix("CI ")
    shape = SHAPES.get(what) or SHAPES.get(kind) or {}
    names = {dict: "an object", list: "an array"}
    for key, expected in shape.items():
        if key in data and not isinstance(data[key], expected):
            raise DataOpsError(
                f"{what} at {path}: '{key}' must be {names[expected]}, "
                f"got {type(data[key]).__name__}"
            )
    members = [m for m in ("nodes", "sources") if isinstance(data.get(m), dict)]
    for member in members:
        bad = next((k for k, v in data[member].items() if not isinstance(v, dict)), None)
        if bad is not None:
            raise DataOpsError(f"{what} at {path}: {member}[{bad!r}] is not an object")
    for member in ("results", "violations", "findings", "modified"):
        if isinstance(data.get(member), list) and any(
            not isinstance(r, dict) for r in data[member]
        ):
            raise DataOpsError(f"{what} at {path}: '{member}' must hold objects")


def load_optional(path: Path, what: str) -> dict[str, Any] | None:
    """An artifact that may be absent (catalog.json, run_results.json): None then."""
    if not path.is_file():
        return None
    return read_json(path, what=what, hint="")


def load_manifest(target_dir: Path) -> dict[str, Any]:
    return read_json(
        target_dir / "manifest.json",
        what="manifest.json",
        hint="run `dataops build` (or `dbt parse`) in the project to make one",
    )


@dataclass
class NodeResult:
    unique_id: str
    resource_type: str
    status: str
    execution_time: float
    rows_affected: int | None = None
    failures: int | None = None
    message: str | None = None

    @property
    def reason(self) -> str:
        """The last line of dbt's message (for a Python model, the exception it raised),
        leaving out dbt's "> in macro ..." / "> called by ..." trail."""
        lines = [
            line.strip()
            for line in (self.message or "").splitlines()
            if line.strip() and not line.strip().startswith(">")
        ]
        return lines[-1] if lines else self.status


@dataclass
class RunSummary:
    nodes: list[NodeResult] = field(default_factory=list)
    elapsed: float = 0.0

    def counts(self) -> dict[str, Counter[str]]:
        """Status counts per resource type (model, test, seed, snapshot, unit_test,
        saved_query ...)."""
        out: dict[str, Counter[str]] = {}
        for node in self.nodes:
            out.setdefault(node.resource_type, Counter())[bucket(node.status)] += 1
        return out

    @property
    def failed(self) -> list[NodeResult]:
        return [n for n in self.nodes if bucket(n.status) == "error"]


def bucket(status: str) -> str:
    """dbt's statuses folded into pass / warn / error / skip / no-op.

    NO-OP is what dbt reports for nodes it has nothing to execute for (saved
    queries without exports): not a skip, which means an upstream failed."""
    return {
        "success": "pass",
        "pass": "pass",
        "warn": "warn",
        "error": "error",
        "fail": "error",
        "runtime error": "error",
        "skipped": "skip",
        "skip": "skip",
        "no-op": "no-op",
    }.get(status, status)


def read_run_results(target_dir: Path) -> RunSummary:
    data = read_json(
        target_dir / "run_results.json",
        what="run_results.json",
        hint="run `dataops build` first",
    )
    nodes = []
    for item in data.get("results", []):
        uid = item.get("unique_id", "")
        response = item.get("adapter_response") or {}
        nodes.append(
            NodeResult(
                unique_id=uid,
                resource_type=uid.split(".", 1)[0],
                status=str(item.get("status")),
                execution_time=float(item.get("execution_time") or 0.0),
                rows_affected=response.get("rows_affected"),
                failures=item.get("failures"),
                message=item.get("message"),
            )
        )
    return RunSummary(nodes=nodes, elapsed=float(data.get("elapsed_time") or 0.0))


def disabled_models(target_dir: Path) -> list[str]:
    """Names of the models the manifest lists as disabled by config (e.g. per target)."""
    manifest = load_optional(target_dir / "manifest.json", "manifest.json") or {}
    names = {
        str(node.get("name"))
        for nodes in (manifest.get("disabled") or {}).values()
        for node in nodes
        if node.get("resource_type") == "model"
    }
    return sorted(names)
