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
from .zoom_batch import prefetch
from .zoom_records import block_ranges, zoom_blocks

CHUNK = 32  # windows per search / bincount in windows_stats
FAST_KINDS = {"mean": 2, "coverage": 1, "std": 3}  # columns needed: valid, sum, sum_squares
Plan = tuple[np.ndarray, int, np.ndarray, np.ndarray]
_PLANS: dict[tuple[int, int], Plan] = {}


def _plan(width: int, nbins: int) -> "Plan | None":
    """What every window of ``width`` bases in ``nbins`` bins shares (remembered: a scan asks
    for the same shape many times): the uint32 bin offsets, the narrowest bin minus one, the
    bin widths, and the bincount positions added to a record's start bin, shape (3, 2, 1):
    per column a block of ``nbins + 2`` slots (slot ``j + 1`` is bin ``j``), tails one slot
    after heads. None when the bins have no fast path."""
    key = (width, nbins)
    found = _PLANS.get(key)
    if found is None:
        offsets = bin_offsets(width, nbins)
        if offsets is None:
            return None
        base = np.arange(3, dtype=np.int64) * (nbins + 2)
        positions = np.stack([base + 1, base], axis=1)[:, :, None]  # [tail, head] per column
        found = (offsets, width // nbins - 1,  # bin widths differ by at most one (rounding)
                 np.diff(offsets.astype(np.int64)), positions)
        if len(_PLANS) > 64:
            _PLANS.clear()
        _PLANS[key] = found
    return found


def _window_cols(reader: BigBedReader, level: ZoomLevel, cid: int, start: int, end: int,
                 narrowest: int) -> "np.ndarray | None":
    """The records of ``cid:start-end`` as (5, m) uint32 rows (m may be 0; see
    :attr:`~.zoom_records.ZoomBlock.cols`), or None when the fast rules do not hold for
    them."""
    pieces = []
    key_lo = np.uint32(start)  # (a Python int key would search an int64 copy of the rows)
    key_hi = np.uint32(end)
    for block in zoom_blocks(reader, level, cid, start, end, False):
        if not block.simple:
            return None
        if block.chrom != cid:
            continue
        lo = int(block.ends.searchsorted(key_lo, "right"))
        hi = int(block.starts.searchsorted(key_hi, "left"))
        if hi > lo:
            if not 0 < block.widest <= narrowest:
                return None
            pieces.append(block.cols[:, lo:hi])
    if len(pieces) == 1:
        return pieces[0]
    return np.concatenate(pieces, axis=1) if pieces else _NO_COLS


_NO_COLS = np.zeros((5, 0), np.uint32)


def _sums(cols: np.ndarray, next_edge: np.ndarray, slot: np.ndarray, rows: int,
          nbins: int, positions: np.ndarray, window: "np.ndarray | None" = None,
          nwin: int = 1) -> np.ndarray:
    """Flat sums (``nwin`` blocks of ``rows`` blocks of ``nbins + 2`` slots) of the records'
    valid / sum / sum-of-squares columns, each record split into head and tail by
    ``next_edge`` (the first bin edge after its start, in bin ``slot - 1``); ``window``:
    each record's window, when there are several."""
    vs = cols[0]
    frac = np.empty((2, len(vs)))  # [tail, head] fractions of each record
    head = frac[1]
    np.divide(next_edge - vs, cols[1] - vs, out=head)  # (next_edge > vs: no wrap)
    np.minimum(head, 1.0, out=head)
    np.subtract(1.0, head, out=frac[0])
    weights = np.empty((rows, 2, len(vs)))  # (column, [tail, head], record)
    np.multiply(cols[2], frac, out=weights[0])
    if rows > 1:  # sum (and sum of squares): the float32 rows 3 (and 4)
        np.multiply(cols[3:2 + rows, None].view(np.float32), frac, out=weights[1:])
    index = slot + positions[:rows]
    if window is not None:
        index += window * (rows * (nbins + 2))
    return np.bincount(index.ravel(), weights.ravel(), nwin * rows * (nbins + 2))


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
    plan = _plan(end - start, nbins)
    if rows is None or plan is None:
        return None
    offsets, narrowest, widths, positions = plan
    cols = _window_cols(reader, level, cid, start, end, narrowest)
    if cols is None:
        return None
    if not cols.shape[1]:
        return np.full(nbins, np.nan)
    edges = offsets + start  # uint32, as the starts: no conversion in the search
    slot = edges.searchsorted(cols[0], "right")  # bin of the start + 1 (0: before it)
    sums = _sums(cols, edges.take(slot), slot, rows, nbins, positions)
    if kind == "mean":  # the usual case, without _finish's generality
        cov = sums[1:nbins + 1]
        if cov.all():  # every bin covered (the usual case): one division, nothing to mask
            return sums[nbins + 3:2 * nbins + 3] / cov
        return np.divide(sums[nbins + 3:2 * nbins + 3], cov, out=np.full(nbins, np.nan),
                         where=cov != 0)
    return _finish(sums.reshape(rows, nbins + 2)[:, 1:nbins + 1], widths, kind)


def windows_stats(reader: BigBedReader, level: ZoomLevel, cids: np.ndarray, starts: np.ndarray,
                  width: int, nbins: int, kind: str) -> "tuple[np.ndarray, np.ndarray] | None":
    """:func:`window_stats` of many windows of one ``width`` (one zoom level, one set of bin
    offsets): the records of all windows go through one search and one ``bincount``. Returns
    ``(out, done)``: (k, nbins) results and which windows were done (the others need the
    general rule); None when the kind or bin count has no fast path."""
    rows = FAST_KINDS.get(kind)
    plan = _plan(width, nbins)
    if rows is None or plan is None:
        return None
    offsets, narrowest, widths, positions = plan
    k = len(starts)
    out = np.full((k, nbins), np.nan)
    done = np.zeros(k, bool)
    table = offsets.astype(np.int64)
    # in file order: neighbouring windows share blocks, and a chunk's blocks are read in runs
    order = np.lexsort((starts, cids))
    for first in range(0, k, CHUNK):  # small temporaries: their memory is reused
        chunk = order[first:first + CHUNK].tolist()
        prefetch(reader, level, [rng for i in chunk for rng in block_ranges(
            reader, level, int(cids[i]), int(starts[i]), int(starts[i]) + width)])
        parts: list[np.ndarray] = []
        owner: list[int] = []
        for j, i in enumerate(chunk):
            a = int(starts[i])
            got = _window_cols(reader, level, int(cids[i]), a, a + width, narrowest)
            if got is None:
                continue
            done[i] = True
            if got.shape[1]:
                parts.append(got)
                owner.append(j)
        if not parts:
            continue
        window = np.repeat(np.array(owner), [p.shape[1] for p in parts])
        cols = np.concatenate(parts, axis=1)
        base = starts[np.array(chunk)[window]]
        rel = cols[0].astype(np.int64) - base  # the start within its window (< 0: before)
        slot = table.searchsorted(rel, "right")
        sums = _sums(cols, base + table[slot], slot, rows, nbins, positions, window,
                     owner[-1] + 1).reshape(-1, rows, nbins + 2)[:, :, 1:nbins + 1]
        out[np.array(chunk)[owner]] = _finish(sums[owner], widths, kind)
    return out, done
