"""Coverage summaries over bins (``bigBedSummary`` semantics).

A bin's numbers describe the coverage *depth* of its covered bases: ``covered`` bases with depth
> 0, and the min / max / mean / std of the depth over those bases. Without ``exact`` the best zoom
level (largest reduction not above half a bin, as UCSC ``bbiBestZoom``) is used, each zoom record
contributing in proportion to its overlap with the bin; with ``exact`` (or when no zoom level fits)
the depth is computed from the records themselves.
"""

from __future__ import annotations

from typing import Any

import math

import numpy as np

from .header import ZoomLevel, std_from_sums


def bin_edges(start: int, end: int, bins: int) -> np.ndarray:
    """UCSC's bin boundaries: ``start + (end - start) * i // bins``."""
    i = np.arange(bins + 1, dtype=np.int64)
    return start + (end - start) * i // bins


def best_zoom(levels: list[ZoomLevel], start: int, end: int, bins: int) -> ZoomLevel | None:
    desired = ((end - start) // bins) // 2
    if desired <= 1:
        return None
    best = None
    for level in levels:
        diff = desired - level.reductionLevel
        if diff >= 0 and (best is None or diff < desired - best.reductionLevel):
            best = level
    return best


def _finish(valid: np.ndarray, mins: np.ndarray, maxs: np.ndarray, sums: np.ndarray,
            squares: np.ndarray, exact: bool) -> list[dict]:
    out: list[dict[str, Any]] = []
    for n, lo, hi, s, sq in zip(valid.tolist(), mins.tolist(), maxs.tolist(), sums.tolist(),
                                squares.tolist()):
        if n <= 0:
            out.append({"covered": 0, "min": None, "max": None, "mean": None, "std": None})
            continue
        out.append({"covered": int(n) if exact else int(math.floor(n)), "min": lo, "max": hi,
                    "mean": s / n, "std": std_from_sums(s, sq, n)})
    return out


def exact_summary(starts: np.ndarray, ends: np.ndarray, start: int, end: int,
                  bins: int) -> list[dict]:
    """Per-bin depth statistics from record intervals (vectorised sweep)."""
    edges = bin_edges(start, end, bins)
    s = np.clip(starts, start, end)
    e = np.clip(ends, start, end)
    keep = s < e
    s, e = s[keep], e[keep]
    points = np.unique(np.concatenate([s, e, edges]))
    delta = np.zeros(len(points), np.int64)
    np.add.at(delta, np.searchsorted(points, s), 1)
    np.add.at(delta, np.searchsorted(points, e), -1)
    depth = np.cumsum(delta)[:-1].astype(np.float64)
    lengths = np.diff(points).astype(np.float64)
    which = np.searchsorted(edges, points[:-1], side="right") - 1
    ok = (depth > 0) & (which >= 0) & (which < bins)
    which, depth, lengths = which[ok], depth[ok], lengths[ok]
    valid = np.bincount(which, lengths, bins)
    sums = np.bincount(which, lengths * depth, bins)
    squares = np.bincount(which, lengths * depth * depth, bins)
    mins = np.full(bins, np.inf)
    maxs = np.full(bins, -np.inf)
    np.minimum.at(mins, which, depth)
    np.maximum.at(maxs, which, depth)
    return _finish(valid, mins, maxs, sums, squares, True)


def zoom_summary(records: np.ndarray, start: int, end: int, bins: int) -> list[dict]:
    """Per-bin statistics from zoom records, each weighted by its overlap with the bin."""
    edges = bin_edges(start, end, bins)
    valid: np.ndarray = np.zeros(bins)
    sums: np.ndarray = np.zeros(bins)
    squares: np.ndarray = np.zeros(bins)
    mins = np.full(bins, np.inf)
    maxs = np.full(bins, -np.inf)
    if len(records):
        rs = records["start"].astype(np.int64)
        re_ = records["end"].astype(np.int64)
        first = np.clip(np.searchsorted(edges, rs, side="right") - 1, 0, bins - 1)
        last = np.clip(np.searchsorted(edges, re_, side="left") - 1, 0, bins - 1)
        span = np.maximum(last - first + 1, 1)
        rec = np.repeat(np.arange(len(records)), span)
        b = np.repeat(first, span) + (np.arange(len(rec)) - np.repeat(np.cumsum(span) - span, span))
        lo = np.maximum(rs[rec], edges[b])
        hi = np.minimum(re_[rec], edges[b + 1])
        overlap = hi - lo
        ok = overlap > 0
        rec, b, overlap = rec[ok], b[ok], overlap[ok].astype(np.float64)
        width = np.maximum(re_[rec] - rs[rec], 1).astype(np.float64)
        factor = overlap / width
        valid = np.bincount(b, records["valid"][rec] * factor, bins).astype(np.float64)
        sums = np.bincount(b, records["sum"][rec].astype(np.float64) * factor, bins)
        squares = np.bincount(b, records["sum_squares"][rec].astype(np.float64) * factor, bins)
        np.minimum.at(mins, b, records["min"][rec].astype(np.float64))
        np.maximum.at(maxs, b, records["max"][rec].astype(np.float64))
    return _finish(valid, mins, maxs, sums, squares, False)
