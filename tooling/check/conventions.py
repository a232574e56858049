"""Project conventions for `dataops check`: layer folders and per-layer name patterns.

A convention says which folders (directly under a model path) are which layer,
which names each layer's models may have (``fnmatch`` patterns; ``{folder}`` is
the sub-folder under the layer folder, ``*`` when there is none), and whether a
model outside every layer folder is a finding. Presets:

- ``dataops``: this repository's strict rules: ``stg_<source>__<entity>``,
  ``int_*``, ``fct_*``/``dim_*``, every model in a layer folder.
- ``dbt-labs``: dbt Labs' structure guide as their example projects follow it:
  ``stg_`` staging models with or without ``<source>__``, ``int_``
  intermediates, marts named after the entity; models may sit outside the
  layer folders (their small demo keeps marts directly under ``models/``).
- ``none``: no naming convention.

``[tool.dataops.check]`` keys ``layers``, ``naming`` and ``require_layer``
override the chosen preset. ``suggest`` reads a manifest and writes the block
that matches what the project does. Never prints.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tooling.errors import UsageError
from tooling.manifest import DEFAULT_LAYERS, LAYER_ORDER

DEFAULT_FOLDERS = {lay: [lay] for lay in LAYER_ORDER}


@dataclass(frozen=True)
class Convention:
    name: str
    folders: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_FOLDERS))
    naming: dict[str, list[str]] = field(default_factory=dict)  # layer -> patterns
    require_layer: bool = True

    @property
    def layers(self) -> dict[str, str]:
        """folder -> layer."""
        return {folder: lay for lay, folders in self.folders.items() for folder in folders}

    def patterns(self, layer: str, folder: str | None) -> list[str]:
        return [p.replace("{folder}", folder or "*") for p in self.naming.get(layer, [])]

    def claims(self, name: str) -> list[str]:
        """Layers whose (non-wildcard) patterns ``name`` matches."""
        return [
            lay
            for lay in LAYER_ORDER
            if any(p != "*" and fnmatch.fnmatchcase(name, p) for p in self.patterns(lay, None))
        ]


PRESETS: dict[str, Convention] = {
    "dataops": Convention(
        "dataops",
        naming={
            "staging": ["stg_{folder}__*"],
            "intermediate": ["int_*"],
            "marts": ["fct_*", "dim_*"],
        },
    ),
    "dbt-labs": Convention(
        "dbt-labs",
        naming={"staging": ["stg_*"], "intermediate": ["int_*"], "marts": ["*"]},
        require_layer=False,
    ),
    "none": Convention("none", require_layer=False),
}
KEYS = ("convention", "layers", "naming", "require_layer")


def _pattern_table(table: Any, key: str) -> dict[str, list[str]]:
    if not isinstance(table, Mapping):
        raise UsageError(f"[tool.dataops.check] {key} must be a table of layer = [patterns]")
    out: dict[str, list[str]] = {}
    for lay, values in table.items():
        if lay not in LAYER_ORDER:
            raise UsageError(
                f"[tool.dataops.check] {key}: unknown layer {lay!r}; layers: "
                f"{', '.join(LAYER_ORDER)}"
            )
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise UsageError(f"[tool.dataops.check] {key}.{lay} must be a list of strings")
        out[lay] = list(values)
    return out


def resolve(table: Mapping[str, Any], *, configured: bool = True) -> Convention:
    """The convention of ``[tool.dataops.check]``: a preset plus explicit overrides.

    Without ``convention =``, a project that has ``[tool.dataops]`` gets
    ``dataops``; one without it (``configured`` False) gets ``dbt-labs``.
    """
    name = table.get("convention", "dataops" if configured else "dbt-labs")
    if name not in PRESETS:
        raise UsageError(
            f"unknown convention {name!r} in [tool.dataops.check]; presets: {', '.join(PRESETS)}"
        )
    base = PRESETS[name]
    folders = dict(base.folders)
    if "layers" in table:
        folders = {lay: [] for lay in LAYER_ORDER} | _pattern_table(table["layers"], "layers")
    naming = dict(base.naming)
    if "naming" in table:
        naming |= _pattern_table(table["naming"], "naming")
    require = table.get("require_layer", base.require_layer)
    if not isinstance(require, bool):
        raise UsageError("[tool.dataops.check] require_layer must be true or false")
    return Convention(name, folders=folders, naming=naming, require_layer=require)


# --- suggesting a convention from what a project does ----------------------------

SYNONYMS = {
    "staging": ("staging", "stg", "base"),
    "intermediate": ("intermediate", "int", "transform"),
    "marts": ("marts", "mart"),
}


def _prefix(name: str) -> str | None:
    head, sep, _ = name.partition("_")
    return f"{head}_" if sep and head else None


def _patterns_for(names: list[tuple[str, str | None]]) -> list[str]:
    """The strictest pattern set from a fixed ladder that every (name, folder) matches."""
    prefixes = sorted({_prefix(n) or "" for n, _ in names})
    ladder: list[list[str]] = []
    if "" not in prefixes and len(prefixes) <= 3:
        ladder.append([f"{p}{{folder}}__*" for p in prefixes])
        ladder.append([f"{p}*__*" for p in prefixes])
        ladder.append([f"{p}*" for p in prefixes])
    ladder.append(["*"])
    for candidate in ladder:
        if all(
            any(fnmatch.fnmatchcase(n, p.replace("{folder}", f or "*")) for p in candidate)
            for n, f in names
        ):
            return candidate
    return ["*"]  # pragma: no cover - "*" matches every name


@dataclass
class Suggestion:
    convention: Convention
    text: str


def suggest(models: Iterable[Mapping[str, Any]]) -> Suggestion:
    """The ``[tool.dataops.check]`` block matching the project's own models."""
    models = list(models)
    folder_counts = Counter(str(m["fqn"][1]) for m in models if len(m.get("fqn") or []) > 2)
    folders: dict[str, list[str]] = {}
    for lay, names in SYNONYMS.items():
        found = [f for f in folder_counts if f.lower() in names]
        folders[lay] = sorted(found) or list(DEFAULT_FOLDERS[lay])
    layer_of = {f: lay for lay, fs in folders.items() for f in fs}
    by_layer: dict[str, list[tuple[str, str | None]]] = {}
    outside = 0
    for m in models:
        fqn = m.get("fqn") or []
        lay = layer_of.get(fqn[1]) if len(fqn) > 2 else None
        if lay is None:
            outside += 1
            continue
        by_layer.setdefault(lay, []).append(
            (str(m.get("name")), str(fqn[2]) if len(fqn) > 3 else None)
        )
    naming = {lay: _patterns_for(names) for lay, names in by_layer.items()}
    require = outside == 0
    closest = min(
        PRESETS.values(),
        key=lambda p: (
            sum(
                1
                for lay, names in by_layer.items()
                for n, f in names
                if p.naming.get(lay)
                and not any(fnmatch.fnmatchcase(n, q) for q in p.patterns(lay, f))
            )
            + (outside if p.require_layer else 0),
            list(PRESETS).index(p.name),  # on a tie, the strictest preset
        ),
    )
    convention = Convention(closest.name, folders=folders, naming=naming, require_layer=require)

    def toml_table(table: Mapping[str, list[str]]) -> str:
        items = ", ".join(
            f"{lay} = [{', '.join(_quote(v) for v in values)}]"
            for lay, values in table.items()
            if values
        )
        return "{ " + items + " }"

    lines = [
        "[tool.dataops.check]",
        f'convention = "{closest.name}"',
        f"layers = {toml_table({lay: folders[lay] for lay in LAYER_ORDER})}",
        f"naming = {toml_table({lay: naming[lay] for lay in LAYER_ORDER if lay in naming})}",
        f"require_layer = {'true' if require else 'false'}"
        + (f"  # {outside} model(s) outside the layer folders" if outside else ""),
    ]
    return Suggestion(convention, "\n".join(lines) + "\n")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = ["DEFAULT_LAYERS", "PRESETS", "Convention", "resolve", "suggest"]
