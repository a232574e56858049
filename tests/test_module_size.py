"""No module of the package over 500 lines (issue 18: a house a newcomer can live in).

Counted from the files git tracks, so the figure is the one a reader sees.
"""

from __future__ import annotations

import subprocess

from conftest import REPO

LIMIT = 500


def test_no_module_over_500_lines() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "ingestion/*.py", "tooling/*.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(tracked) > 50, tracked  # the package, not an empty listing
    sizes = {name: len((REPO / name).read_text().splitlines()) for name in tracked}
    assert {name: n for name, n in sizes.items() if n > LIMIT} == {}
