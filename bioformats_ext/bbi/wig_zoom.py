"""Zoom levels and total summary of a bigWig, as UCSC ``bedGraphToBigWig`` computes them.

bedGraphToBigWig's first zoom level walks the items of a chromosome keeping one open summary
``[anchor + k * R, anchor + (k + 1) * R)`` (clipped to the chromosome): an item starting at or
past the open summary's end closes it and anchors a new one at the item's start; an item running
past it is split across consecutive summaries of the same grid. So the summaries of a run of
items (a *chain*) sit on the grid of the chain's anchor, and a new chain starts only where an
item starts at or after the previous chain's reach. We find the chains with numpy: contiguous
items never move the grid, gaps of ``R`` or more always start a chain, and only the items after
a gap shorter than ``R`` need a (Python, but short) scan. Summary statistics are then one
``reduceat`` per field. Higher levels merge summaries as for bigBed (``reduce_summaries``).

Everything works a chunk of items at a time (:func:`chain_chunks`): the items still open at a
chunk's end are carried into the next, so memory does not grow with a chromosome.
:mod:`.wig_zoom_stream` chooses the initial reduction as UCSC does and spills the levels. Sums are exact (float64) until written as float32, where UCSC adds in
float32; the total summary multiplies value by size in float32 and adds in double, as UCSC does.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from .write_zoom import SUMMARY_DTYPE


def chain_starts(s: np.ndarray, e: np.ndarray, scale: int, size: int | None,
                 anchor: int | None = None) -> np.ndarray:
    """Indices of the items that anchor a new summary chain (always includes 0; ``anchor``:
    the first item continues a chain anchored there, from an earlier chunk)."""
    n = len(s)
    if not n:
        return np.zeros(0, np.int64)
    eff = np.where(e > s, e, s + 1)  # a zero-length item holds its summary open like one base
    gap = s[1:] - e[:-1]
    definite = np.flatnonzero(gap >= scale) + 1
    unsure = np.flatnonzero((gap > 0) & (gap < scale))
    if not len(unsure):
        return np.concatenate([[0], definite]).astype(np.int64)
    # anchors of the segments between definite breaks; then scan the unsure gaps in order
    seg_first = np.concatenate([[0], definite])
    seg_of = np.searchsorted(seg_first, unsure, "right") - 1
    breaks = [0, *definite.tolist()]
    seg_anchor = s[seg_first].tolist()
    if anchor is not None:
        seg_anchor[0] = anchor
    cur = -1
    a = 0
    limit = size if size is not None else 1 << 62
    # only the items around the unsure gaps are needed, as Python ints
    for i, seg, eff_i, nxt in zip(unsure.tolist(), seg_of.tolist(), eff[unsure].tolist(),
                                  s[unsure + 1].tolist()):
        if seg != cur:
            cur = seg
            a = seg_anchor[seg]
        reach = a + -(-(eff_i - a) // scale) * scale
        if reach > limit:
            reach = limit
        if nxt >= reach:
            a = nxt
            breaks.append(i + 1)
    out = np.array(breaks, np.int64)
    out.sort()
    return out


def _chain_bins(s: np.ndarray, e: np.ndarray, starts: np.ndarray, scale: int,
                anchor: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(anchor, number of summaries) of each chain."""
    eff = np.where(e > s, e, s + 1)
    anchors = s[starts]
    if anchor is not None and len(anchors):
        anchors[0] = anchor
    reach = np.maximum.reduceat(eff, starts) if len(starts) else eff[:0]
    nbins = np.maximum(1, -(-(reach - anchors) // scale))
    return anchors, nbins


def level0(chrom_id: int, s: np.ndarray, e: np.ndarray, v: np.ndarray, scale: int,
           size: int, starts: np.ndarray | None = None, anchor: int | None = None,
           lo: int | None = None, hi: int | None = None) -> np.ndarray:
    """Level-0 summaries (``SUMMARY_DTYPE``) of items of one chromosome (``starts``: their
    chain starts, when already known). A chunk of a longer run (:func:`chain_chunks`) passes
    the anchor of the chain its first item continues and keeps the summaries starting in
    ``[lo, hi)``: every summary is then computed from all its items, in one chunk."""
    if not len(s):
        return np.zeros(0, SUMMARY_DTYPE)
    if starts is None or (s[-1] == e[-1] == size):
        starts = chain_starts(s, e, scale, size, anchor)
    anchors, nbins = _chain_bins(s, e, starts, scale, anchor)
    if lo is not None:  # the carried chain's summaries before ``lo`` are already out
        skip = (lo - int(anchors[0])) // scale
        anchors[0] = lo
        nbins[0] -= skip
    chain = np.repeat(np.arange(len(anchors)), nbins)
    k = np.arange(len(chain)) - np.repeat(np.cumsum(nbins) - nbins, nbins)
    bin_start = anchors[chain] + k * scale
    bin_end = np.minimum(bin_start + scale, size)
    first = np.searchsorted(bin_start, s, "right") - 1
    last = np.where(e > s, np.searchsorted(bin_start, e - 1, "right") - 1, first)
    if lo is not None:  # items carried over start before ``lo``
        np.maximum(first, 0, out=first)
    count = last - first + 1
    item = np.repeat(np.arange(len(s)), count)
    b = np.repeat(first, count) + (np.arange(len(item)) - np.repeat(np.cumsum(count) - count,
                                                                     count))
    overlap = np.maximum(np.minimum(e[item], bin_end[b]) - np.maximum(s[item], bin_start[b]), 0)
    val = v[item].astype(np.float64)
    firsts = np.flatnonzero(np.concatenate([[True], b[1:] != b[:-1]]))
    out = np.zeros(len(firsts), SUMMARY_DTYPE)
    used = b[firsts]
    out["chrom"] = chrom_id
    out["start"] = bin_start[used]
    out["end"] = bin_end[used]
    out["valid"] = np.add.reduceat(overlap, firsts)
    out["min"] = np.minimum.reduceat(val, firsts)
    out["max"] = np.maximum.reduceat(val, firsts)
    out["sum"] = np.add.reduceat(val * overlap, firsts)
    out["sum_squares"] = np.add.reduceat(val * val * overlap, firsts)
    if hi is not None:
        out = out[out["start"] < hi]
    return out


Chunk = tuple[np.ndarray, np.ndarray, np.ndarray]


def chain_chunks(chunks: Iterable[Chunk], scale: int, size: int | None):
    """``(s, e, v, starts, anchor, lo, hi)`` per chunk of one chromosome's items: the chunk
    with the items still open from the chunk before (those reaching its last summary, always
    at least its last item, which decides whether the next item starts a chain), their chain
    starts, the carried chain's anchor, and the summaries this chunk completes, ``[lo, hi)``
    (None: unbounded). Only a chunk and its carried items are in memory."""
    it = iter(chunks)
    cur = next(it, None)
    pend: Chunk | None = None
    anchor: int | None = None
    lo: int | None = None
    while cur is not None:
        nxt = next(it, None)
        s, e, v = cur
        if pend is not None:
            s, e, v = (np.concatenate([p, c]) for p, c in zip(pend, cur))
        starts = chain_starts(s, e, scale, size, anchor)
        if nxt is None:
            yield s, e, v, starts, anchor, lo, None
            return
        eff = np.where(e > s, e, s + 1)  # nondecreasing for sorted, non-overlapping items
        last = anchor if len(starts) == 1 and anchor is not None else int(s[starts[-1]])
        top = int(eff[-1])
        hi = last + (top - 1 - last) // scale * scale  # the last summary's start
        yield s, e, v, starts, anchor, lo, hi
        k = int(eff.searchsorted(hi, "right"))
        pend = (s[k:], e[k:], v[k:])
        anchor, lo = last, hi
        cur = nxt


def count_chunked(chunks: Iterable[Chunk], scale: int) -> int:
    """Summaries of one chromosome at ``scale`` without clipping (UCSC's size estimate)."""
    total = 0
    for s, e, _v, starts, anchor, lo, hi in chain_chunks(chunks, scale, None):
        anchors, nbins = _chain_bins(s, e, starts, scale, anchor)
        n = int(nbins.sum())
        if lo is not None:
            n -= (lo - int(anchors[0])) // scale
        if hi is not None:
            n -= int(nbins[-1]) - (hi - int(anchors[-1])) // scale
        total += n
    return total


def level0_chunked(chrom_id: int, chunks: Iterable[Chunk], scale: int, size: int
                   ) -> Iterator[np.ndarray]:
    """Level-0 summaries of one chromosome, a chunk at a time."""
    for s, e, v, starts, anchor, lo, hi in chain_chunks(chunks, scale, size):
        yield level0(chrom_id, s, e, v, scale, size, starts, anchor, lo, hi)


def total_summary(items: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]
                  ) -> tuple[int, float, float, float, float]:
    """(basesCovered, min, max, sumData, sumSquares) over all items, as bedGraphToBigWig."""
    covered = 0
    lo, hi = np.inf, -np.inf
    total = squares = 0.0
    for s, e, v in items:
        if not len(s):
            continue
        size = (e - s)
        f = size.astype(np.float32)
        covered += int(size.sum())
        lo = min(lo, float(v.min()))
        hi = max(hi, float(v.max()))
        total += float((v * f).astype(np.float64).sum())
        squares += float((v * v * f).astype(np.float64).sum())
    if lo == np.inf:
        return 0, 0.0, 0.0, 0.0, 0.0
    return covered, lo, hi, total, squares
