"""Binned mean / std / coverage of one window from zoom records, in a dozen numpy calls.

``stats(..., nBins=100)`` over many windows is dominated by per-window overhead, so the usual
case gets a path of its own. It holds when the window's records come from blocks of one
chromosome with sorted starts and ends (:class:`~.zoom_records.ZoomBlock` ``simple``) and no
record is empty or wider than the narrowest bin; then a record meets at most two bins, and
libBigWig's ``getScalar`` (see :mod:`.wig_stats`) reduces to:

* the *head*, into the bin holding the record's start: ``min(1, (next_edge - start) / width)``;
* the *tail*, into the next bin: ``1 - head`` (0 unless the record crosses that edge);
* a record starting before the window has only its tail (into bin 0), and a tail past the
  last edge is dropped.

So one ``searchsorted`` places every record and one ``bincount`` adds all heads and tails of
all the needed columns (valid, sum, sum of squares), the tail of the record reaching into a bin
first, as libBigWig adds them. Anything else returns None and takes :func:`.wig_stats.zoom_stats`.
"""

from __future__ import annotations

import numpy as np

from .header import ZoomLevel
from .reader import BigBedReader
from .wig_stats import bin_offsets
from .zoom_records import zoom_blocks

FAST_KINDS = {"mean": 2, "coverage": 1, "std": 3}  # columns needed: valid, sum, sum_squares
_OFFSETS: dict[tuple[int, int], np.ndarray] = {}


def _offsets(rows: int, nbins: int) -> np.ndarray:
    """bincount positions added to a record's start bin, shape (rows, 2, 1): per column a
    block of ``nbins + 2`` slots (slot ``j + 1`` is bin ``j``), tails one slot after heads."""
    key = (rows, nbins)
    found = _OFFSETS.get(key)
    if found is None:
        base = np.arange(rows, dtype=np.int64) * (nbins + 2)
        found = np.stack([base + 1, base], axis=1)[:, :, None]  # [tail, head] per column
        if len(_OFFSETS) > 64:
            _OFFSETS.clear()
        _OFFSETS[key] = found
    return found


def window_stats(reader: BigBedReader, level: ZoomLevel, cid: int, start: int, end: int,
                 nbins: int, kind: str) -> "np.ndarray | None":
    """Per-bin ``kind`` (mean, std or coverage) of ``cid:start-end`` from ``level``, equal to
    :func:`~.wig_stats.zoom_stats` on the same records; None when the fast rules do not hold."""
    rows = FAST_KINDS.get(kind)
    offsets = bin_offsets(end - start, nbins)
    if rows is None or offsets is None:
        return None
    narrowest = (end - start) // nbins - 1  # bin widths differ by at most one (and rounding)
    pieces = []
    key_lo = np.uint32(start)  # (a uint32 key searches the uint32 rows ~2x faster)
    key_hi = np.uint32(end)
    for block in zoom_blocks(reader, level, cid, start, end):
        if not block.simple:
            return None
        if block.chrom != cid:
            continue
        lo = int(block.ends.searchsorted(key_lo, "right"))
        hi = int(block.starts.searchsorted(key_hi, "left"))
        if hi > lo:
            if not 0 < block.widest <= narrowest:
                return None
            pieces.append((block, lo, hi))
    out = np.full(nbins, np.nan)
    if not pieces:
        return out
    if len(pieces) == 1:
        block, lo, hi = pieces[0]
        recs = block.rows[:, lo:hi]
    else:
        recs = np.concatenate([b.rows[:, lo:hi] for b, lo, hi in pieces], axis=1)
    vs = recs[1]
    edges = start + offsets  # uint32, as the starts: no conversion in the search
    slot = edges.searchsorted(vs, "right")  # bin of the start, + 1 (0: starts before the window)
    frac = np.empty((2, len(vs)))  # [tail, head] fractions of each record
    np.divide(edges[slot] - vs, recs[2] - vs, out=frac[1])  # (edges[slot] > vs: no wrap)
    np.minimum(frac[1], 1.0, out=frac[1])
    np.subtract(1.0, frac[1], out=frac[0])
    weights = np.empty((rows, 2, len(vs)))  # (column, [tail, head], record)
    np.multiply(recs[3], frac, out=weights[0])
    floats = recs[6:8].view(np.float32)  # sum, sum of squares
    for row in range(1, rows):
        np.multiply(floats[row - 1], frac, out=weights[row])
    sums = np.bincount((slot + _offsets(rows, nbins)).ravel(), weights.ravel(),
                       rows * (nbins + 2)).reshape(rows, nbins + 2)[:, 1:nbins + 1]
    cov = sums[0]
    if kind == "mean":
        return np.divide(sums[1], cov, out=out, where=cov != 0)
    if kind == "coverage":
        return np.divide(cov, np.diff(edges.astype(np.int64)), out=out, where=cov != 0)
    total, ssq = sums[1], sums[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = (ssq - total * total / cov) / np.where(cov > 1, cov - 1, 1)
        res = np.where(np.abs(diff) > 1e-8, np.sqrt(diff), 0.0)
    np.copyto(out, res, where=cov > 1)
    return out
