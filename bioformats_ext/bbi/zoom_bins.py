"""Binned mean / std / coverage from zoom records, for one window or many of one width.

``stats(..., nBins=100)`` over many windows is dominated by per-window overhead, so the usual
case gets a path of its own (and ``stats_many`` a batched one). It holds when the window's records come from blocks of one
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

CHUNK = 32  # windows per search / bincount in windows_stats
FAST_KINDS = {"mean": 2, "coverage": 1, "std": 3}  # columns needed: valid, sum, sum_squares
_POSITIONS: dict[tuple[int, int], np.ndarray] = {}


def _offsets(rows: int, nbins: int) -> np.ndarray:
    """bincount positions added to a record's start bin, shape (rows, 2, 1): per column a
    block of ``nbins + 2`` slots (slot ``j + 1`` is bin ``j``), tails one slot after heads."""
    key = (rows, nbins)
    found = _POSITIONS.get(key)
    if found is None:
        base = np.arange(rows, dtype=np.int64) * (nbins + 2)
        found = np.stack([base + 1, base], axis=1)[:, :, None]  # [tail, head] per column
        if len(_POSITIONS) > 64:
            _POSITIONS.clear()
        _POSITIONS[key] = found
    return found


def _window_rows(reader: BigBedReader, level: ZoomLevel, cid: int, start: int, end: int,
                 nbins: int) -> "np.ndarray | None":
    """The (8, m) uint32 rows of the records of ``cid:start-end`` (m may be 0), or None when
    the fast rules do not hold for them."""
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
            pieces.append(block.rows[:, lo:hi])
    if len(pieces) == 1:
        return pieces[0]
    return np.concatenate(pieces, axis=1) if pieces else _NO_ROWS


_NO_ROWS = np.zeros((8, 0), np.uint32)


def _sums(recs: np.ndarray, next_edge: np.ndarray, slot: np.ndarray, rows: int, nbins: int,
          window: "np.ndarray | None" = None, nwin: int = 1) -> np.ndarray:
    """(nwin, rows, nbins) sums of the records' valid / sum / sum-of-squares columns, each
    record split into head and tail by ``next_edge`` (the first bin edge after its start,
    in bin ``slot - 1``); ``window``: each record's window, when there are several."""
    vs = recs[1]
    frac = np.empty((2, len(vs)))  # [tail, head] fractions of each record
    np.divide(next_edge - vs, recs[2] - vs, out=frac[1])  # (next_edge > vs: no wrap)
    np.minimum(frac[1], 1.0, out=frac[1])
    np.subtract(1.0, frac[1], out=frac[0])
    weights = np.empty((rows, 2, len(vs)))  # (column, [tail, head], record)
    np.multiply(recs[3], frac, out=weights[0])
    floats = recs[6:8].view(np.float32)  # sum, sum of squares
    for row in range(1, rows):
        np.multiply(floats[row - 1], frac, out=weights[row])
    index = slot + _offsets(rows, nbins)
    span = rows * (nbins + 2)
    if window is not None:
        index += window * span
    sums = np.bincount(index.ravel(), weights.ravel(), nwin * span)
    return sums.reshape(nwin, rows, nbins + 2)[:, :, 1:nbins + 1]


def _finish(sums: np.ndarray, widths: np.ndarray, kind: str) -> np.ndarray:
    """The statistic from (..., rows, nbins) sums, NaN where libBigWig has no value."""
    cov = sums[..., 0, :]
    out = np.full(cov.shape, np.nan)
    if kind == "mean":
        return np.divide(sums[..., 1, :], cov, out=out, where=cov != 0)
    if kind == "coverage":
        return np.divide(cov, widths, out=out, where=cov != 0)
    total, ssq = sums[..., 1, :], sums[..., 2, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = (ssq - total * total / cov) / np.where(cov > 1, cov - 1, 1)
        res = np.where(np.abs(diff) > 1e-8, np.sqrt(diff), 0.0)
    np.copyto(out, res, where=cov > 1)
    return out


def window_stats(reader: BigBedReader, level: ZoomLevel, cid: int, start: int, end: int,
                 nbins: int, kind: str) -> "np.ndarray | None":
    """Per-bin ``kind`` (mean, std or coverage) of ``cid:start-end`` from ``level``, equal to
    :func:`~.wig_stats.zoom_stats` on the same records; None when the fast rules do not hold."""
    rows = FAST_KINDS.get(kind)
    offsets = bin_offsets(end - start, nbins)
    if rows is None or offsets is None:
        return None
    recs = _window_rows(reader, level, cid, start, end, nbins)
    if recs is None:
        return None
    if not recs.shape[1]:
        return np.full(nbins, np.nan)
    edges = start + offsets  # uint32, as the starts: no conversion in the search
    slot = edges.searchsorted(recs[1], "right")  # bin of the start + 1 (0: before the window)
    sums = _sums(recs, edges[slot], slot, rows, nbins)[0]
    if kind == "mean":  # the usual case, without _finish's generality
        cov = sums[0]
        return np.divide(sums[1], cov, out=np.full(nbins, np.nan), where=cov != 0)
    return _finish(sums, np.diff(offsets.astype(np.int64)), kind)


def windows_stats(reader: BigBedReader, level: ZoomLevel, cids: np.ndarray, starts: np.ndarray,
                  width: int, nbins: int, kind: str) -> "tuple[np.ndarray, np.ndarray] | None":
    """:func:`window_stats` of many windows of one ``width`` (one zoom level, one set of bin
    offsets): the records of all windows go through one search and one ``bincount``. Returns
    ``(out, done)``: (k, nbins) results and which windows were done (the others need the
    general rule); None when the kind or bin count has no fast path."""
    rows = FAST_KINDS.get(kind)
    offsets = bin_offsets(width, nbins)
    if rows is None or offsets is None:
        return None
    k = len(starts)
    out = np.full((k, nbins), np.nan)
    done = np.zeros(k, bool)
    widths = np.diff(offsets.astype(np.int64))
    table = offsets.astype(np.int64)
    for first in range(0, k, CHUNK):  # small temporaries: their memory is reused
        parts: list[np.ndarray] = []
        owner: list[int] = []
        for i in range(first, min(k, first + CHUNK)):
            recs = _window_rows(reader, level, int(cids[i]), int(starts[i]),
                                int(starts[i]) + width, nbins)
            if recs is None:
                continue
            done[i] = True
            if recs.shape[1]:
                parts.append(recs)
                owner.append(i - first)
        if not parts:
            continue
        window = np.repeat(np.array(owner), [p.shape[1] for p in parts])
        recs = np.concatenate(parts, axis=1)
        base = starts[first + window]
        rel = recs[1].astype(np.int64) - base  # the start within its window (< 0: before it)
        slot = table.searchsorted(rel, "right")
        sums = _sums(recs, base + table[slot], slot, rows, nbins, window, owner[-1] + 1)
        out[first + np.array(owner)] = _finish(sums[owner], widths, kind)
    return out, done
