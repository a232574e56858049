"""One reflow sequence per file for sqlfluff's layout rules, while linting without fixes.

sqlfluff's LT01, LT02, LT05 and LT14 each start with
``ReflowSequence.from_root(file_segment, config)``: a depth map and a sequence of
every raw segment of the file, rebuilt four times from the same tree. That is
about a quarter of the time sqlfluff spends on a file of the generated 500-model
project (cProfile: 5.6 s of 23.5 s for 60 files). When no fix is applied the tree
does not change between rules, and the sequence's operations (respace, reindent,
rebreak, break_long_lines) return new sequences and copy the results they are
given, so the first sequence built serves the other three rules. With ``--fix``
sqlfluff edits the tree between rules, and nothing is shared.
``tests/test_lint_dbt.py`` lints the fixture projects with and without it and
compares every violation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def shared_root_sequences() -> Iterator[None]:
    """For the duration of one file's rules: ``from_root`` built once per (tree, config)."""
    from sqlfluff.utils.reflow.sequence import ReflowSequence

    original = ReflowSequence.__dict__["from_root"]
    built: dict[tuple[int, int, int], tuple[Any, Any, Any]] = {}

    def from_root(cls: type, root_segment: Any, config: Any) -> Any:
        key = (id(cls), id(root_segment), id(config))
        hit = built.get(key)
        # the objects are held in the entry, so their ids cannot be reused meanwhile
        if hit is None or hit[0] is not root_segment or hit[1] is not config:
            hit = (root_segment, config, original.__func__(cls, root_segment, config))
            built[key] = hit
        return hit[2]

    ReflowSequence.from_root = classmethod(from_root)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        ReflowSequence.from_root = original  # type: ignore[method-assign]
