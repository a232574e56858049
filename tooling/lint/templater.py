"""sqlfluff templater ``dataops``: a dbt model rendered as dbt renders it, with no database.

sqlfluff's jinja templater does the slicing (which source line each rendered
character comes from); this class swaps in dbt's environment and the dbt
context of ``dbt_context`` (real macros from the project, ``dbt_packages/`` and
dbt itself). It renders one variant, as dbt does. A render that raises (a
macro calling ``exceptions.raise_compiler_error``, a missing var, an undefined
macro) becomes one templating violation at the model line that called it.

Settings: ``project_dir`` in section ``[sqlfluff:templater:dataops]`` (written by
``tooling.lint``); ``--vars`` and the target come from ``configure`` (set before
workers fork), else the project's vars and its profile's target.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlfluff.core.errors import SQLTemplaterError
from sqlfluff.core.plugin import hookimpl
from sqlfluff.core.templaters.base import TemplatedFile
from sqlfluff.core.templaters.jinja import JinjaTemplater

from tooling.lint import dbt_context, dbt_macros

MODEL_FILENAME = "<dataops-model>"
_WORLDS: dict[str, dbt_macros.World] = {}
_SETTINGS: dict[str, tuple[dict[str, Any], dbt_context.Target]] = {}
_RENDERERS: dict[str, dbt_context.Renderer] = {}


def configure(project_dir: str, cli_vars: Mapping[str, Any], target: dbt_context.Target) -> None:
    """The ``--vars`` and target the project's files render with, in this process."""
    key = str(Path(project_dir).resolve())
    _SETTINGS[key] = (dict(cli_vars), target)
    _RENDERERS.pop(key, None)


def world_for(
    project_dir: str, *, reload: bool = False, adapter: str | None = None
) -> dbt_macros.World:
    """The project's macros, loaded once per process (again with ``reload``), with the
    internal macros of ``adapter`` (the target's type; default: the loaded world's)."""
    key = str(Path(project_dir).resolve())
    world = _WORLDS.get(key)
    if reload or world is None or (adapter is not None and world.adapter != adapter):
        _WORLDS[key] = dbt_macros.load_world(Path(key), adapter or dbt_macros.ADAPTER)
    return _WORLDS[key]


class DataopsTemplater(JinjaTemplater):
    name = "dataops"

    def __init__(self, override_context: dict[str, Any] | None = None) -> None:
        super().__init__(override_context=override_context)
        # Macro files each rendered file used, by file name (read by tooling.lint.engine).
        self.used: dict[str, set[str]] = {}

    def _setting(self, config: Any, key: str) -> Any:
        return config.get_section((self.templater_selector, self.name, key)) if config else None

    def _renderer(self, config: Any) -> dbt_context.Renderer:
        key = str(Path(str(self._setting(config, "project_dir") or ".")).resolve())
        world = world_for(key)
        renderer = _RENDERERS.get(key)
        if renderer is None or renderer.world is not world:
            cli_vars, target = _SETTINGS.get(key, ({}, None))
            renderer = _RENDERERS[key] = dbt_context.Renderer(
                world, cli_vars=cli_vars, target=target
            )
        return renderer

    def _get_jinja_env(self, config: Any = None) -> Any:
        return dbt_context.environment()

    def construct_render_func(self, fname: str | None = None, config: Any = None) -> Any:
        env = self._get_jinja_env(config)
        renderer = self._renderer(config)
        live_context = renderer.context(fname or "model.sql")

        def render_func(in_str: str) -> str:
            code = env.compile(in_str, filename=MODEL_FILENAME)
            template = env.template_class.from_code(env, code, env.make_globals(live_context))
            return template.render({})  # dbt's template wants the context argument

        return env, live_context, render_func

    def process(
        self, *, in_str: str, fname: str, config: Any = None, formatter: Any = None
    ) -> tuple[TemplatedFile, list[SQLTemplaterError]]:
        renderer = self._renderer(config)
        renderer.used.clear()
        try:
            # A first render on its own: an error in it names the model line.
            _, _, render_func = self.construct_render_func(fname=fname, config=config)
            try:
                render_func(in_str)
            except SQLTemplaterError:
                raise
            except Exception as exc:  # whatever a macro raises
                raise SQLTemplaterError(
                    f"dbt rendering failed: {_message(exc)}", line_no=_model_line(exc), line_pos=1
                ) from None
            return super().process(in_str=in_str, fname=fname, config=config, formatter=formatter)
        finally:
            self.used.setdefault(fname, set()).update(renderer.used)

    def process_with_variants(
        self, *, in_str: str, fname: str, config: Any = None, formatter: Any = None
    ) -> Iterator[tuple[TemplatedFile, list[SQLTemplaterError]]]:
        # dbt renders a model once; so does this templater (no unreached-branch variants).
        yield self.process(in_str=in_str, fname=fname, config=config, formatter=formatter)


def _message(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:500]


def _model_line(exc: BaseException) -> int:
    """The model line being rendered when ``exc`` was raised (jinja rewrites tracebacks)."""
    line = 1
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == MODEL_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@hookimpl
def get_templaters() -> list[type[DataopsTemplater]]:
    return [DataopsTemplater]


def register() -> None:
    """Make ``templater = dataops`` known to sqlfluff in this process (and forked workers)."""
    from sqlfluff.core.plugin.host import get_plugin_manager

    manager = get_plugin_manager()
    module = sys.modules[__name__]
    if not manager.is_registered(module):
        manager.register(module, name="dataops")
