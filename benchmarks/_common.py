"""Helpers for the benchmark scripts: timing with alternation, and printing ratios."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(
    ours: Callable[[], object],
    baseline: Callable[[], object],
    *,
    repeats: int = 3,
    before_each: Callable[[], object] | None = None,
) -> tuple[list[float], list[float]]:
    """Run ours and the baseline alternately, so drift on the machine hits both."""
    ours_times: list[float] = []
    base_times: list[float] = []
    for _ in range(repeats):
        for fn, sink in ((baseline, base_times), (ours, ours_times)):
            if before_each:
                before_each()
            sink.append(timed(fn))
    return ours_times, base_times


def report(name: str, ours: list[float], base: list[float], *, higher_is_better: bool) -> float:
    """Print medians and the ratio; return the ratio.

    For throughput-style goals (ours should be at least X of the baseline) the
    ratio is baseline_time / our_time; for overhead goals it is our_time /
    baseline_time.
    """
    mo, mb = statistics.median(ours), statistics.median(base)
    ratio = mb / mo if higher_is_better else mo / mb
    kind = (
        "throughput ratio (baseline time / ours)"
        if higher_is_better
        else "time ratio (ours / baseline)"
    )
    # the same ratio per alternation (ours and the baseline ran back to back)
    pairs = [b / o if higher_is_better else o / b for o, b in zip(ours, base, strict=False)]
    spread = f" (per run {min(pairs):.3f}-{max(pairs):.3f})" if len(pairs) > 1 else ""
    print(
        f"{name}: ours median {mo:.2f}s {[round(t, 2) for t in ours]}, "
        f"baseline median {mb:.2f}s {[round(t, 2) for t in base]}, {kind} = {ratio:.3f}{spread}"
    )
    return ratio
