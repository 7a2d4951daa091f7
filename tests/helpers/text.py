"""Random sorted intervals for the tab-separated text formats (BED, GFF, SAM, VCF lines)."""

from __future__ import annotations

import random
from collections.abc import Callable


def random_intervals(seed: int | random.Random, contigs, span: Callable[[random.Random], int], *,
                     first: int = 0, margin: int | float = 0) -> list[tuple[str, int, int, int]]:
    """Coordinate-sorted ``(name, start, end, k)``, contigs in the given order.

    ``contigs`` holds ``(name, length, count)``: ``count`` starts uniform in
    ``[first, length - margin)`` (a float ``margin`` is a fraction of the length), sorted, so
    starts repeat; ``end = min(length, start + span(rng))``. ``k`` numbers the records. Pass a
    ``random.Random`` to keep drawing from it afterwards (e.g. for per-line payloads).
    """
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    out = []
    for name, length, count in contigs:
        stop = length - (int(margin * length) if isinstance(margin, float) else margin)
        for start in sorted(rng.randrange(first, stop) for _ in range(count)):
            out.append((name, start, min(length, start + span(rng)), len(out)))
    return out


def mixture(*parts: tuple[float, int, int]) -> Callable[[random.Random], int]:
    """A span drawn from ``(cumulative probability, lo, hi)`` parts: ``randrange(lo, hi)``
    (``lo`` itself when ``hi <= lo``) from the first part whose probability exceeds a uniform
    draw, e.g. ``mixture((0.02, 0, 0), (0.1, 1, 80_000), (1.0, 1, 2000))`` for a few
    zero-length and long intervals among short ones."""
    def draw(rng: random.Random) -> int:
        r = rng.random()
        for p, lo, hi in parts:
            if r < p:
                return rng.randrange(lo, hi) if hi > lo else lo
        return parts[-1][1]
    return draw
