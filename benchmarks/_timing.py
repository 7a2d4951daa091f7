"""Timing helper shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import time
from typing import Any, Callable


def best(func: Callable[[], Any], repeat: int = 2,
         clock: Callable[[], float] = time.perf_counter) -> float:
    """Fastest of ``repeat`` runs by ``clock``: on a shared machine the minimum is the run the
    other jobs disturbed least."""
    times = []
    for _ in range(repeat):
        start = clock()
        func()
        times.append(clock() - start)
    return min(times)
