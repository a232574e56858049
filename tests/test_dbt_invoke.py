"""What `tooling.dbt_invoke` does around dbt's runner without running a project."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import pytest
from dbt.task import runnable

from tooling.dbt_invoke import one_state_load


class FakeState:
    """Stands in for dbt's PreviousState: records each load."""

    loads: ClassVar[list[Path]] = []

    def __init__(self, state_path: Path, target_path: Path, project_root: Path) -> None:
        FakeState.loads.append(state_path)


def test_one_state_load_hands_the_first_load_to_later_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runnable, "PreviousState", FakeState)
    FakeState.loads = []
    state, other = tmp_path / "state", tmp_path / "other"
    for folder in (state, other):
        folder.mkdir()
        (folder / "manifest.json").write_text("{}")
    target = tmp_path / "target"

    def load(folder: Path) -> object:
        # as GraphRunnableTask.__init__ calls it
        return runnable.PreviousState(state_path=folder, target_path=target, project_root=tmp_path)

    with one_state_load():
        first, again = load(state), load(state)
        assert again is first  # the selection and the build see one object
        assert load(other) is not first
        (state / "manifest.json").write_text('{"changed": true}')
        stat = (state / "manifest.json").stat()
        os.utime(state / "manifest.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        assert load(state) is not first  # a rewritten state is loaded again
    assert runnable.PreviousState is FakeState  # dbt's own class is back
    assert len(FakeState.loads) == 3
    load(state)
    assert len(FakeState.loads) == 4  # outside the block every command loads its own
