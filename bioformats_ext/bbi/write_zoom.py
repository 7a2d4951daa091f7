"""Coverage depth, total summary and zoom levels for the bigBed writer, as bedToBigBed makes them.

bedToBigBed reads its input three times; we read it once. While records stream past, each
chromosome's coverage depth is turned into disjoint ``(start, end, depth)`` ranges (a sweep over
start/end events, done with numpy a batch at a time) and spilled to a temporary file, so memory
does not grow with the number of records. When the input ends the average item size is known,
so the zoom levels are chosen and computed from the spilled ranges exactly as UCSC does:

* candidate reductions ``max(int(aveSize), 10) * 4**k`` (k < 10, stopping after one > 1e9);
* the first whose estimated summary count fits in half the data size (``count * 32``, halved
  again when compressing) is the initial reduction, else the smallest;
* level-0 summaries are anchored at coverage starts (a new summary starts at the first range at
  or past the current summary's end, clipped to the chromosome size); each next level merges
  consecutive summaries while ``end <= first.start + reduction``; levels stop when a level is
  no smaller than the previous one, or at 10.

Zero-length items (insertion points) are zero-size ranges, as in bedToBigBed's coverage range
tree (``rangeTreeAddToCoverageDepth``): they add no bases and no sum, but carry a depth (1, or 1 +
the depth of a range strictly around them) that enters min/max, and they can start a summary.
Biopython's writer instead counts them as one base; ``zero_length_bases=1`` reproduces that
(only at a chromosome's very end do they then stay zero-size). Sums are accumulated exactly (float64) and rounded to
float32 once when written; UCSC rounds after every addition, so for summaries whose sums exceed
2**24 the last bit may differ.
"""

from __future__ import annotations

from typing import BinaryIO

import math
import tempfile
from bisect import bisect_right

import numpy as np

from .format import MAX_ZOOM_LEVELS, ZOOM_RES_INCREMENT, layouts

_LAY = layouts("<")
RANGE_DTYPE = np.dtype([("start", "<u4"), ("end", "<u4"), ("val", "<u4")])
SUMMARY_DTYPE = np.dtype([("chrom", "<u4"), ("start", "<u4"), ("end", "<u4"), ("valid", "<u8"),
                          ("min", "<f8"), ("max", "<f8"), ("sum", "<f8"), ("sum_squares", "<f8")])
_EMPTY_I64 = np.empty(0, dtype=np.int64)


class CoverageSpill:
    """Per-chromosome coverage-depth ranges, computed while streaming and kept on disk.

    Call :meth:`start_chrom`, then :meth:`add` with sorted batches, then :meth:`end_chrom`.
    Ranges of a chromosome are final up to the last start seen (later records start there or
    after), so each flush emits those and carries the still-open intervals forward.
    """

    def __init__(self, flush_records: int = 1 << 18, spill_dir: str | None = None,
                 zero_length_bases: int = 0):
        self._flush_records = flush_records
        if zero_length_bases not in (0, 1):
            raise ValueError("zero_length_bases must be 0 (bedToBigBed) or 1 (Biopython)")
        self._zero_length_bases = zero_length_bases
        self._spill_dir = spill_dir
        self._file: "BinaryIO | None" = None
        self._mem: list[bytes] = []
        self._mem_size = 0
        self.chroms: list[tuple[int, int, int]] = []  # (chrom_id, first range index, count)
        self._total = 0
        self._chrom_first = 0
        self._starts: list[np.ndarray] = []
        self._ends: list[np.ndarray] = []
        self._buffered = 0
        self._carry_start: float = 0
        self._carry_ends = _EMPTY_I64
        self._prev_boundary_starts = False  # a record started at _carry_start in an earlier flush
        self._chrom_id = -1

    def start_chrom(self, chrom_id: int, size: int = 0xFFFFFFFF) -> None:
        self._chrom_id = chrom_id
        self._chrom_size = size
        self._chrom_first = self._total
        self._carry_ends = _EMPTY_I64
        self._prev_boundary_starts = False

    def add(self, starts: np.ndarray, ends: np.ndarray) -> None:
        # Zero-length items (insertion points) stay zero-size: bedToBigBed's coverage range
        # tree gives them no bases (see coverage_ranges for the depth they still carry).
        # Biopython's writer counts them as one base (zero_length_bases=1).
        if self._zero_length_bases:
            zero = ends == starts
            if zero.any():
                ends = np.where(zero, np.minimum(starts + 1, self._chrom_size), ends)
        self._starts.append(starts)
        self._ends.append(ends)
        self._buffered += len(starts)
        if self._buffered >= self._flush_records:
            self._flush(final=False)

    def end_chrom(self) -> None:
        self._flush(final=True)
        count = self._total - self._chrom_first
        self.chroms.append((self._chrom_id, self._chrom_first, count))

    def _flush(self, final: bool) -> None:
        if not self._starts and not len(self._carry_ends):
            return
        s = np.concatenate(self._starts) if self._starts else _EMPTY_I64
        e = np.concatenate(self._ends) if self._ends else _EMPTY_I64
        self._starts, self._ends, self._buffered = [], [], 0
        ncarry = len(self._carry_ends)
        if ncarry:
            s = np.concatenate([np.full(ncarry, self._carry_start, dtype=np.int64), s])
            e = np.concatenate([self._carry_ends, e])
        if not len(s):
            return
        boundary = math.inf if final else int(s[-1])
        ranges = coverage_ranges(s, e, ncarry, self._carry_start if ncarry else None,
                                 self._prev_boundary_starts, boundary)
        if not final:
            positive = e > s
            open_ends = e[positive & (e > boundary)]
            self._carry_ends = open_ends
            self._carry_start = boundary
            self._prev_boundary_starts = True
        else:
            self._carry_ends = _EMPTY_I64
        self._store(ranges)

    def _store(self, ranges: np.ndarray) -> None:
        if not len(ranges):
            return
        data = ranges.tobytes()
        self._total += len(ranges)
        if self._file is None and self._mem_size + len(data) <= (8 << 20):
            self._mem.append(data)
            self._mem_size += len(data)
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(dir=self._spill_dir)
            self._file.write(b"".join(self._mem))
            self._mem = []
        self._file.write(data)

    def ranges(self, first: int, count: int) -> np.ndarray:
        """The ``count`` ranges from index ``first`` (one chromosome's)."""
        if self._file is None:
            if len(self._mem) != 1:
                self._mem = [b"".join(self._mem)]
            buf = self._mem[0] if self._mem else b""
            return np.frombuffer(buf, dtype=RANGE_DTYPE, count=count,
                                 offset=first * RANGE_DTYPE.itemsize)
        self._file.seek(first * RANGE_DTYPE.itemsize)
        data = self._file.read(count * RANGE_DTYPE.itemsize)
        return np.frombuffer(data, dtype=RANGE_DTYPE)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._mem = []


def coverage_ranges(s: np.ndarray, e: np.ndarray, ncarry: int, carry_start: float | None,
                    carry_is_boundary: bool, boundary: float) -> np.ndarray:
    """Depth ranges from records ``s``/``e`` (sorted by start, file order), up to ``boundary``.

    Positive-length records give disjoint ranges of constant depth (adjacent equal depths may
    stay split; sums are unaffected). A zero-length record at ``p`` gives a zero-size range of
    depth 1, or 1 + the depth covering ``p`` when ``p`` lies strictly inside a range that no
    earlier record starts or ends at (UCSC's range tree splits that range there).
    """
    positive = e > s
    ps, pe = s[positive], e[positive]
    out = []
    if len(ps):
        pos = np.concatenate([ps, pe])
        delta = np.concatenate([np.ones(len(ps), np.int64), -np.ones(len(pe), np.int64)])
        u, inv = np.unique(pos, return_inverse=True)
        net = np.bincount(inv, weights=delta, minlength=len(u)).astype(np.int64)
        depth = np.cumsum(net)
        rs, re_, rv = u[:-1], u[1:], depth[:-1]
        keep = (rv > 0) & (rs < boundary)
        rs, re_, rv = rs[keep], re_[keep], rv[keep]
        if boundary != math.inf:
            re_ = np.minimum(re_, int(boundary))
        part = np.empty(len(rs), dtype=RANGE_DTYPE)
        part["start"], part["end"], part["val"] = rs, re_, rv
        out.append(part)
    else:
        u = depth = _EMPTY_I64
    zero = np.flatnonzero(~positive)
    if len(zero):
        p = s[zero]
        if len(u):
            j = np.searchsorted(u, p, side="left") - 1
            before = np.where(j >= 0, depth[np.maximum(j, 0)], 0)
        else:
            before = np.zeros(len(p), np.int64)
        # A range boundary already at p: an earlier record starting at p, or one ending at p.
        starts_before = np.searchsorted(s, p, side="left")  # records (any) with start < p
        earlier_same_start = zero > starts_before
        if carry_is_boundary and carry_start is not None:
            earlier_same_start |= p == carry_start
        ends_at = np.isin(p, pe) if len(pe) else np.zeros(len(p), bool)
        val = np.where(earlier_same_start | ends_at | (before <= 0), 1, before + 1)
        part = np.empty(len(p), dtype=RANGE_DTYPE)
        part["start"], part["end"], part["val"] = p, p, val
        out.append(part)
    if not out:
        return np.empty(0, dtype=RANGE_DTYPE)
    ranges = np.concatenate(out) if len(out) > 1 else out[0]
    if len(out) > 1:
        ranges = ranges[np.lexsort((ranges["end"], ranges["start"]))]
    return ranges


def total_summary(spill: CoverageSpill) -> tuple[int, float, float, float, float]:
    """(basesCovered, min, max, sumData, sumSquares) over every range, as bedToBigBed's."""
    valid = 0
    lo, hi = math.inf, -math.inf
    total = squares = 0.0
    for _, first, count in spill.chroms:
        r = spill.ranges(first, count)
        if not len(r):
            continue
        size = r["end"].astype(np.int64) - r["start"]
        val = r["val"].astype(np.int64)
        valid += int(size.sum())
        lo = min(lo, int(val.min()))
        hi = max(hi, int(val.max()))
        total += float((val * size).sum())
        squares += float((val * val * size).sum())
    if lo == math.inf:
        return 0, 0.0, 0.0, 0.0, 0.0
    return valid, float(lo), float(hi), total, squares


def res_scales(ave_size: float) -> list[int]:
    """Candidate initial reductions, as UCSC ``bbiCalcResScalesAndSizes``."""
    res = max(int(ave_size), 10)
    scales = []
    for _ in range(MAX_ZOOM_LEVELS):
        scales.append(res)
        if res > 1_000_000_000:
            break
        res *= ZOOM_RES_INCREMENT
    return scales


def _chains(starts, ends, scale: int, size: int | None):
    """Anchors and final ends of the summary chains over ranges (see module docstring).

    With ``size`` (clipping, as for real summaries) a summary never passes the chromosome end
    and no new one starts at it; without, this is UCSC's count estimate from ``writeBlocks``.
    """
    anchors: list[int] = []
    finals: list[int] = []
    end = -1
    a = 0
    limit = size if size is not None else -2
    for s, e in zip(starts, ends):
        if s >= end and end != limit:
            if end >= 0:
                finals.append(end)
            a = s
            anchors.append(a)
            end = a + scale
            if size is not None and end > size:
                end = size
        if e > end:
            end = a + -(-(e - a) // scale) * scale
            if size is not None and end > size:
                end = size
    if anchors:
        finals.append(end)
    return anchors, finals


def _merge_touching(r: np.ndarray) -> tuple[list[int], list[int]]:
    """Union blocks of positive ranges (touching ones merged) plus zero-size ranges that sit
    outside or at the end of a block: the only things that decide where summaries start."""
    s = r["start"].astype(np.int64)
    e = r["end"].astype(np.int64)
    if not len(s):
        return [], []
    # Running max of ends so far (ranges are disjoint so ends are non-decreasing).
    prev_end = np.concatenate([[-1], np.maximum.accumulate(e)[:-1]])
    positive = e > s
    # A new block starts where a range begins after everything before it ended.
    new_block = (s > prev_end) | (~positive) | np.concatenate([[True], ~positive[:-1]])
    idx = np.flatnonzero(new_block)
    bs = s[idx]
    be = np.maximum.reduceat(e, idx)
    # Zero-size ranges strictly inside the running coverage never start a summary: drop them.
    zero = ~positive[idx]
    inside = zero & (bs < prev_end[idx])
    keep = ~inside
    return bs[keep].tolist(), be[keep].tolist()


def count_summaries(spill: CoverageSpill, scale: int) -> int:
    """UCSC's estimate of the number of level-0 summaries at ``scale`` (no clipping)."""
    n = 0
    for _, first, count in spill.chroms:
        bs, be = _merge_touching(spill.ranges(first, count))
        anchors, finals = _chains(bs, be, scale, None)
        for a, f in zip(anchors, finals):
            n += max(1, -(-(f - a) // scale))
    return n


def level0_summaries(spill: CoverageSpill, scale: int, chrom_sizes: list[int]) -> np.ndarray:
    """Level-0 zoom summaries (``SUMMARY_DTYPE``) of every chromosome at ``scale``."""
    parts = []
    for chrom_id, first, count in spill.chroms:
        r = spill.ranges(first, count)
        if not len(r):
            continue
        size = chrom_sizes[chrom_id]
        bs, be = _merge_touching(r)
        anchors, finals = _chains(bs, be, scale, size)
        a = np.asarray(anchors, dtype=np.int64)
        f = np.asarray(finals, dtype=np.int64)
        nbins = np.maximum(1, -(-(f - a) // scale))
        chain = np.repeat(np.arange(len(a)), nbins)
        k = np.arange(len(chain)) - np.repeat(np.cumsum(nbins) - nbins, nbins)
        bin_start = a[chain] + k * scale
        bin_end = np.minimum(bin_start + scale, f[chain])
        rs = r["start"].astype(np.int64)
        re_ = r["end"].astype(np.int64)
        val = r["val"].astype(np.int64)
        first_bin = np.searchsorted(bin_start, rs, side="right") - 1
        last_bin = np.where(re_ > rs, np.searchsorted(bin_start, re_ - 1, side="right") - 1,
                            first_bin)
        npieces = last_bin - first_bin + 1
        piece_range = np.repeat(np.arange(len(rs)), npieces)
        piece_bin = np.repeat(first_bin, npieces) + (
            np.arange(len(piece_range)) - np.repeat(np.cumsum(npieces) - npieces, npieces))
        overlap = (np.minimum(re_[piece_range], bin_end[piece_bin])
                   - np.maximum(rs[piece_range], bin_start[piece_bin]))
        overlap = np.maximum(overlap, 0)
        pv = val[piece_range]
        if not np.all(piece_bin[1:] >= piece_bin[:-1]):
            # a zero-size range inside a range spanning several bins: group pieces by bin
            order = np.argsort(piece_bin, kind="stable")
            piece_bin, overlap, pv = piece_bin[order], overlap[order], pv[order]
        # Pieces are sorted by bin; every bin has at least one piece.
        firsts = np.flatnonzero(np.concatenate([[True], piece_bin[1:] != piece_bin[:-1]]))
        out = np.empty(len(bin_start), dtype=SUMMARY_DTYPE)
        out["chrom"] = chrom_id
        out["start"] = bin_start
        out["end"] = bin_end
        out["valid"] = np.add.reduceat(overlap, firsts)
        out["min"] = np.minimum.reduceat(pv, firsts)
        out["max"] = np.maximum.reduceat(pv, firsts)
        out["sum"] = np.add.reduceat((pv * overlap).astype(np.float64), firsts)
        out["sum_squares"] = np.add.reduceat((pv * pv * overlap).astype(np.float64), firsts)
        parts.append(out)
    if not parts:
        return np.empty(0, dtype=SUMMARY_DTYPE)
    return np.concatenate(parts)


def reduce_summaries(summ: np.ndarray, reduction: int) -> np.ndarray:
    """Merge consecutive summaries of a chromosome while ``end <= first.start + reduction``
    (UCSC's ``bbiSummarySimpleReduce``, and the twice-reduced list of level 0)."""
    if not len(summ):
        return summ
    chrom = summ["chrom"].astype(np.int64)
    starts = summ["start"].astype(np.int64)
    ends = summ["end"].astype(np.int64)
    # Sort key that also breaks groups at chromosome changes.
    key_end = (chrom << 33) + ends
    firsts = []
    g = 0
    n = len(summ)
    keys = key_end.tolist()
    limits = ((chrom << 33) + starts + reduction).tolist()
    while g < n:
        firsts.append(g)
        nxt = bisect_right(keys, limits[g], g + 1)
        g = nxt
    idx = np.asarray(firsts)
    out = np.empty(len(idx), dtype=SUMMARY_DTYPE)
    out["chrom"] = summ["chrom"][idx]
    out["start"] = summ["start"][idx]
    last = np.append(idx[1:], n) - 1
    out["end"] = summ["end"][last]
    out["valid"] = np.add.reduceat(summ["valid"], idx)
    out["min"] = np.minimum.reduceat(summ["min"], idx)
    out["max"] = np.maximum.reduceat(summ["max"], idx)
    out["sum"] = np.add.reduceat(summ["sum"], idx)
    out["sum_squares"] = np.add.reduceat(summ["sum_squares"], idx)
    return out


def first_level(spill: CoverageSpill, ave_size: float,
                chrom_sizes: list[int]) -> dict[int, tuple[int, np.ndarray]]:
    """``{scale: (count, level-0 summaries)}`` for the first candidate scale (the one
    usually chosen), for :func:`choose_levels`' ``early``. Needs only the coverage, so the
    writer computes it while the last data blocks are still being compressed."""
    if not spill.chroms:
        return {}
    scale = res_scales(ave_size)[0]
    return {scale: (count_summaries(spill, scale), level0_summaries(spill, scale, chrom_sizes))}


def choose_levels(spill: CoverageSpill, ave_size: float, data_size: int, compress: bool,
                  chrom_sizes: list[int], early: dict | None = None
                  ) -> list[tuple[int, np.ndarray]]:
    """The zoom levels bedToBigBed would write: ``[(reduction, summaries), ...]``.

    ``early``: counts and summaries already computed by :func:`first_level`.
    """
    early = early or {}
    if not spill.chroms:
        return []
    scales = res_scales(ave_size)
    max_reduced = data_size // 2
    chosen = None
    for scale in scales:
        count = early[scale][0] if scale in early else count_summaries(spill, scale)
        reduced = count * _LAY.zoom_record.size
        if compress:
            reduced //= 2
        if reduced <= max_reduced:
            chosen = (scale, count)
            break
    if chosen is None:
        chosen = (scales[0], early[scales[0]][0] if scales[0] in early
                  else count_summaries(spill, scales[0]))
    scale, zoom_count = chosen
    level0 = early[scale][1] if scale in early else level0_summaries(spill, scale, chrom_sizes)
    return further_levels(level0, scale, zoom_count)


def further_levels(level0: np.ndarray, scale: int, zoom_count: int,
                   max_levels: int = MAX_ZOOM_LEVELS) -> list[tuple[int, np.ndarray]]:
    """Level 0 and the levels UCSC's ``bbiWriteZoomLevels`` derives from it: each merges the
    previous one at 4x the reduction, until a level stops shrinking (``zoom_count`` is level
    0's estimated count) or ``max_levels`` (shared by the bigBed and bigWig writers)."""
    levels = [(scale, level0)]
    reduction = scale * ZOOM_RES_INCREMENT
    rezoomed = reduce_summaries(level0, reduction)
    while len(levels) < max_levels and reduction < 2**31:
        if len(rezoomed) >= zoom_count:
            break
        zoom_count = len(rezoomed)
        levels.append((reduction, rezoomed))
        reduction *= ZOOM_RES_INCREMENT
        rezoomed = reduce_summaries(rezoomed, reduction)
    return levels


def summaries_to_disk(summ: np.ndarray) -> np.ndarray:
    """The 32-byte on-disk records (floats rounded to float32)."""
    out = np.empty(len(summ), dtype=_LAY.zoom_record_dtype)
    out["chrom"] = summ["chrom"]
    out["start"] = summ["start"]
    out["end"] = summ["end"]
    out["valid"] = summ["valid"].astype(np.uint32)
    out["min"] = summ["min"]
    out["max"] = summ["max"]
    out["sum"] = summ["sum"]
    out["sum_squares"] = summ["sum_squares"]
    return out
