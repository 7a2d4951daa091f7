"""bigWig summary statistics with pyBigWig's (libBigWig's) exact semantics, vectorised over bins.

Users switching from pyBigWig must get the same numbers, so the rules are libBigWig's, odd
corners included (see ``docs/bigwig.md``):

* bins end at ``start + trunc((end - start) * (i + 1) / nBins)`` (computed in double);
* without ``exact`` the zoom level is the one with the largest reduction not above half of
  ``trunc((end - start) / nBins)``; with none, or ``exact``, statistics come from the data;
* from the data, an item counts for a bin when it overlaps it; ``mean``/``std``/``coverage``/``sum``
  use the overlapping bases, ``min``/``max`` the item values; a bin without items is NaN;
* from zoom records, each record is weighted by libBigWig's ``getScalar`` (the fraction of the
  record from the bin start on, capped at the bin end only when the record starts inside the
  bin), and ``sum`` adds ``sum * trunc(scalar) / validCount`` in float32: only records lying
  wholly inside a bin contribute, and with their mean. Odd, but it is what pyBigWig returns.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import RegionError
from .header import ZoomLevel

STAT_TYPES = {"mean": "mean", "std": "std", "dev": "std", "max": "max", "min": "min",
              "cov": "coverage", "coverage": "coverage", "sum": "sum"}


def stat_type(name: str) -> str:
    try:
        return STAT_TYPES[name]
    except KeyError:
        raise ValueError(f"invalid statistic {name!r}: use one of mean, min, max, std, "
                         "coverage, sum") from None


def bin_offsets(width: int, nbins: int) -> "np.ndarray | None":
    """``edges - start`` of :func:`bin_edges` as uint32, for any window of ``width`` bases
    (remembered: a scan asks for the same shape many times); None when ``nbins >= 2**18``.

    Then ``start + trunc(step) == trunc(start + step)`` in double: a step that is not a whole
    number is at least ``1 / nbins`` from one, far more than the rounding of the sum (below
    ``2**-19`` for uint32 coordinates)."""
    key = (width, nbins)
    found = _OFFSETS.get(key)
    if found is None:
        if nbins >= 1 << 18 or width >= 1 << 32:
            return None
        found = ((width * np.arange(nbins + 1, dtype=np.float64)) / nbins).astype(np.uint32)
        if len(_OFFSETS) > 64:
            _OFFSETS.clear()
        _OFFSETS[key] = found
    return found


def bin_edges(start: int, end: int, nbins: int) -> np.ndarray:
    """libBigWig's bin boundaries (``nbins + 1`` of them, int64): ``start + (uint32)((double)
    (end - start) * i / nbins)``."""
    offsets = bin_offsets(end - start, nbins)
    if offsets is not None:
        return start + offsets.astype(np.int64)
    steps = ((end - start) * np.arange(nbins + 1, dtype=np.float64)) / nbins
    edges = (start + steps).astype(np.int64)
    edges[0] = start
    return edges


_OFFSETS: dict[tuple[int, int], np.ndarray] = {}


def choose_zoom(levels: list[ZoomLevel], start: int, end: int, nbins: int) -> ZoomLevel | None:
    """The zoom level libBigWig's ``determineZoomLevel`` picks (None: use the data)."""
    per_bin = int((end - start) / nbins) // 2
    best = None
    best_diff = 0xFFFFFFFF
    for level in levels:
        diff = per_bin - level.reductionLevel
        if 0 <= diff < best_diff:
            best_diff = diff
            best = level
    return best


def _pieces(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """(item index, bin index) of every item/bin pair with ``s < bin_end and e > bin_start``,
    ordered by item then bin (so per-bin sums add items in file order, as libBigWig)."""
    first = np.searchsorted(edges[1:], starts, "right")
    stop = np.searchsorted(edges[:-1], ends, "left")
    count = np.maximum(stop - first, 0)
    item = np.repeat(np.arange(len(starts)), count)
    offsets = np.arange(len(item)) - np.repeat(np.cumsum(count) - count, count)
    return item, np.repeat(first, count) + offsets


def _zoom_pieces(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_pieces` for the usual zoom case, sorted records each reaching at most two bins,
    in fewer numpy calls: in bin ``j`` the records carried over from bin ``j - 1`` come first,
    then those starting in ``j``, which is the item order when the records are sorted."""
    first = edges[1:].searchsorted(starts, "right")
    count = edges[:-1].searchsorted(ends, "left") - first
    if len(count) < 2 or int(count.max()) > 2 or bool((starts[1:] < starts[:-1]).any()):
        return _pieces(starts, ends, edges)
    two = (count == 2).nonzero()[0]
    one = (count > 0).nonzero()[0]
    return np.concatenate([two, one]), np.concatenate([first[two] + 1, first[one]])


def exact_stats(starts: np.ndarray, ends: np.ndarray, values: np.ndarray, start: int, end: int,
                nbins: int, kind: str) -> np.ndarray:
    """Per-bin statistic from the items (libBigWig ``bwStatsFromFull``)."""
    edges = bin_edges(start, end, nbins)
    out = np.full(nbins, np.nan)
    if not len(starts):
        return out
    item, b = _pieces(starts, ends, edges)
    if not len(item):
        return out
    lo, hi = edges[b], edges[b + 1]
    length = (np.minimum(ends[item], hi) - np.maximum(starts[item], lo)).astype(np.float64)
    v32 = values[item]
    v = v32.astype(np.float64)
    present = np.bincount(b, minlength=nbins) > 0
    res: np.ndarray
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind in ("mean", "std"):
            n = np.bincount(b, length, nbins)
            mean = np.bincount(b, length * v, nbins) / n
            if kind == "mean":
                res = mean
            else:
                v1 = np.bincount(b, length * (v - mean[b]) ** 2, nbins)
                res = np.where(n >= 2, np.sqrt(v1 / (n - 1)), np.where(n == 1, np.sqrt(v1),
                                                                      np.nan))
        elif kind == "coverage":
            res = np.bincount(b, length, nbins) / (edges[1:] - edges[:-1])
        elif kind == "sum":
            # libBigWig multiplies the uint32 length by the float value in float32
            res = np.bincount(b, (length.astype(np.float32) * v32).astype(np.float64),
                              nbins).astype(np.float64)
        elif kind == "max":
            res = np.full(nbins, -np.inf)
            np.maximum.at(res, b, v)
        else:
            res = np.full(nbins, np.inf)
            np.minimum.at(res, b, v)
    out[present] = res[present]
    return out


def _scalar(lo: np.ndarray, hi: np.ndarray, vs: np.ndarray, ve: np.ndarray) -> np.ndarray:
    """libBigWig ``getScalar``: how much of a zoom record counts for the bin ``[lo, hi)``."""
    width = (ve - vs).astype(np.float64)
    if not width.all():  # a zero-width record never uses its ratio (0 or 1 below)
        width[width == 0] = 1.0
    left = np.where(ve > lo, (ve - lo) / width, 0.0)
    inside = np.where(ve < hi, 1.0, (hi - vs) / width)
    return np.where(vs <= lo, left, np.where(vs < hi, inside, 0.0))


def zoom_stats(records: np.ndarray, start: int, end: int, nbins: int, kind: str) -> np.ndarray:
    """Per-bin statistic from zoom records (libBigWig ``bwStatsFromZoom``)."""
    edges = bin_edges(start, end, nbins)
    out = np.full(nbins, np.nan)
    if not len(records):
        return out
    vs = records["start"].astype(np.int64)
    ve = records["end"].astype(np.int64)
    # candidates by standard overlap, widened by one base for zero-width records
    # (every candidate meets libBigWig's own test, ``lo <= s < hi or s <= lo < e``: a
    # candidate has s < hi and, unless s >= lo, e > lo)
    item, b = _zoom_pieces(vs, np.maximum(ve, vs + 1), edges)
    if not len(item):
        return out
    lo, hi = edges[b], edges[b + 1]
    scalar = _scalar(lo, hi, vs[item], ve[item])
    valid = records["valid"][item].astype(np.float64)
    if kind == "mean":  # the common case, without the errstate / present-bin overhead
        cov = np.bincount(b, valid * scalar, nbins)
        total = np.bincount(b, records["sum"][item].astype(np.float64) * scalar, nbins)
        return np.divide(total, cov, out=out, where=cov != 0)
    present = np.bincount(b, minlength=nbins) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind in ("mean", "std", "coverage"):
            cov = np.bincount(b, valid * scalar, nbins)
            if kind == "coverage":
                res = np.where(cov == 0, np.nan, cov / (edges[1:] - edges[:-1]))
            else:
                total = np.bincount(b, records["sum"][item].astype(np.float64) * scalar, nbins)
                if kind == "mean":
                    res = np.where(cov == 0, np.nan, total / cov)
                else:
                    ssq = np.bincount(b, records["sum_squares"][item].astype(np.float64)
                                      * scalar, nbins)
                    diff = (ssq - total * total / cov) / np.where(cov > 1, cov - 1, 1)
                    res = np.where(cov <= 1, np.nan,
                                   np.where(np.abs(diff) > 1e-8, np.sqrt(diff), 0.0))
        elif kind == "sum":
            use = np.minimum(np.trunc(scalar), valid).astype(np.float32)
            part = (records["sum"][item].astype(np.float32) * use) / \
                valid.astype(np.float32)
            res = np.bincount(b, part.astype(np.float64), nbins)
            res[res == 0] = np.nan
        elif kind == "max":
            res = np.full(nbins, -np.inf)
            np.maximum.at(res, b, records["max"][item].astype(np.float64))
        else:
            res = np.full(nbins, np.inf)
            np.minimum.at(res, b, records["min"][item].astype(np.float64))
    out[present] = res[present]
    return out


def check_region(chrom: str, start: int, end: int, size: int) -> None:
    """pyBigWig's "Invalid interval bounds!" as a typed error that says what is wrong."""
    if start < 0 or end <= start or end > size:
        raise RegionError(f"invalid interval {chrom}:{start}-{end} (chromosome size {size})")


def to_list(values: np.ndarray) -> list[float | None]:
    """pyBigWig's list form: NaN becomes None."""
    return [None if math.isnan(x) else x for x in values.tolist()]
