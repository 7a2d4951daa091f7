"""``bigWigAverageOverBed`` in one call: sum, coverage and means over every interval of a BED.

The intervals are grouped by chromosome; for each chromosome the R-tree is asked for every
interval's blocks, and the union is read in file order in bounded batches (``BATCH_BYTES`` of
compressed blocks, each read as one batched request and decoded once, shared by every interval
it reaches): every interval's numbers are the sum of its parts from each batch, taken from prefix
sums over the batch's (sorted, non-overlapping) items. No per-interval reads, no per-base arrays,
and memory bounded by one batch however large a chromosome or an interval.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterable

import numpy as np

from ..errors import RecordError, UnknownReferenceError
from .reader import _windows

if TYPE_CHECKING:
    from ..bigwig import BigWigFile

RESULT_FIELDS = ("name", "size", "covered", "sum", "mean0", "mean")
BATCH_BYTES = 2 << 20  # compressed block bytes read and decoded at a time


Interval = tuple[str, int, int, str, "list[tuple[int, int]] | None"]


def _blocks(words: list[bytes], start: int, end: int, where: str, lineno: int
            ) -> list[tuple[int, int]] | None:
    """The exons of a BED12 line as absolute ``(start, end)``, checked as bedToBigBed
    checks them (counts agree, blocks sorted, inside the line, the last ending at its end)."""
    if len(words) < 12:
        return None
    try:
        count = int(words[9])
        sizes = [int(x) for x in words[10].rstrip(b",").split(b",")] if count else []
        starts = [int(x) for x in words[11].rstrip(b",").split(b",")] if count else []
    except ValueError:
        raise RecordError(f"{where} line {lineno}: blockCount/blockSizes/blockStarts are not "
                          "integers", lineno) from None
    if count < 1 or len(sizes) != count or len(starts) != count:
        raise RecordError(f"{where} line {lineno}: blockCount {count} does not match "
                          f"{len(sizes)} blockSizes and {len(starts)} blockStarts", lineno)
    blocks = [(start + a, start + a + b) for a, b in zip(starts, sizes)]
    prev = start
    for a, b in blocks:
        if a < prev or b < a:
            raise RecordError(f"{where} line {lineno}: blocks overlap, are unsorted or "
                              "have negative sizes", lineno)
        prev = b
    if starts[0] != 0 or blocks[-1][1] != end:
        raise RecordError(f"{where} line {lineno}: blocks must start at chromStart and end "
                          "at chromEnd", lineno)
    return blocks


def read_bed_intervals(path: "str | os.PathLike[str]") -> list[Interval]:
    """(chrom, start, end, name, exons) of a BED file; name defaults to ``chrom:start-end``
    (1-based), as there is nothing better to call an unnamed interval; ``exons`` are the
    BED12 blocks (absolute), None for lines with fewer columns."""
    out: list[Interval] = []
    where = os.fspath(path)
    with open(path, "rb") as handle:
        for lineno, line in enumerate(handle, 1):
            words = line.split()
            if not words or words[0].startswith(b"#") or words[0] in (b"track", b"browser"):
                continue
            if len(words) < 3:
                raise RecordError(f"{where} line {lineno}: expected at least 3 columns", lineno)
            try:
                start, end = int(words[1]), int(words[2])
            except ValueError:
                raise RecordError(f"{where} line {lineno}: start/end are not integers",
                                  lineno) from None
            if start < 0 or end < start:
                raise RecordError(f"{where} line {lineno}: bad interval {start}-{end}", lineno)
            chrom = words[0].decode()
            name = words[3].decode() if len(words) > 3 else f"{chrom}:{start + 1}-{end}"
            out.append((chrom, start, end, name, _blocks(words, start, end, where, lineno)))
    return out


def average_over_bed(bw: "BigWigFile", bed: "str | os.PathLike[str] | Iterable[tuple]",
                     min_max: bool = False, skip_unknown: bool = True) -> list[tuple]:
    """``(name, size, covered, sum, mean0, mean)`` per interval, in input order
    (``mean0`` = sum / size, ``mean`` = sum / covered bases, 0 when nothing is covered), plus
    ``min`` and ``max`` of the covered values with ``min_max`` (NaN when none).

    ``bed``: a BED path or ``(chrom, start, end[, name])`` tuples. As in UCSC
    bigWigAverageOverBed, a BED12 line counts only the bases of its blocks (exons): its size
    is their total. Chromosomes missing from the bigWig count as uncovered (as UCSC does), or
    raise with ``skip_unknown=False``.
    """
    if isinstance(bed, (str, os.PathLike)):
        rows = read_bed_intervals(bed)
    else:
        rows = []
        for i, rec in enumerate(bed):
            chrom, start, end = rec[0], int(rec[1]), int(rec[2])
            name = rec[3] if len(rec) > 3 else f"{chrom}:{start + 1}-{end}"
            if start < 0 or end < start:
                raise RecordError(f"interval {i + 1}: bad interval {chrom}:{start}-{end}", i + 1)
            rows.append((chrom, start, end, name, None))
    # every exon (or whole line) is an interval; the rows add their intervals up at the end
    intervals: list[tuple[str, int, int, str]] = []
    owner: list[int] = []
    for r, (chrom, start, end, name, exons) in enumerate(rows):
        for x0, x1 in exons or [(start, end)]:
            intervals.append((chrom, x0, x1, name))
            owner.append(r)
    n = len(intervals)
    covered = np.zeros(n, np.int64)
    sums = np.zeros(n)
    mins = np.full(n, np.nan)
    maxs = np.full(n, np.nan)
    reader = bw._reader
    by_chrom: dict[str, list[int]] = {}
    for i, (chrom, _, _, _) in enumerate(intervals):
        by_chrom.setdefault(chrom, []).append(i)
    for chrom, idx in by_chrom.items():
        if chrom not in reader.chrom_ids:
            if not skip_unknown:
                raise UnknownReferenceError(f"chromosome {chrom!r} is not in this bigWig")
            continue
        idx_arr = np.asarray(idx)
        cov, tot, lo_v, hi_v = _chromosome(reader, reader.chrom_ids[chrom],
                                           np.array([intervals[i][1] for i in idx], np.int64),
                                           np.array([intervals[i][2] for i in idx], np.int64),
                                           min_max)
        covered[idx_arr] = np.rint(cov).astype(np.int64)
        sums[idx_arr] = tot
        mins[idx_arr] = lo_v
        maxs[idx_arr] = hi_v
    lengths = np.array([x1 - x0 for _, x0, x1, _ in intervals], np.int64)
    if len(rows) != n:  # BED12 lines: add up their exons (counts stay exact in float64)
        own = np.asarray(owner, np.int64)
        m = len(rows)
        lengths = np.bincount(own, lengths, m).astype(np.int64)
        covered = np.rint(np.bincount(own, covered, m))  # type: ignore[assignment]
        sums = np.bincount(own, sums, m).astype(np.float64)
        row_min = np.full(m, np.nan)
        row_max = np.full(m, np.nan)
        np.fmin.at(row_min, own, mins)  # fmin / fmax skip exons without coverage (NaN)
        np.fmax.at(row_max, own, maxs)
        mins, maxs = row_min, row_max
    out = []
    for i, (_chrom, _start, _end, name, _exons) in enumerate(rows):
        size = int(lengths[i])
        c = int(covered[i])
        t = float(sums[i])
        row = (name, size, c, t, t / size if size else 0.0, t / c if c else 0.0)
        out.append(row + (float(mins[i]), float(maxs[i])) if min_max else row)
    return out


def _chromosome(reader, cid: int, a: np.ndarray, b: np.ndarray, min_max: bool
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Covered bases, sums, min and max (NaN when uncovered) of the intervals ``[a, b)`` of
    one chromosome. The blocks any interval needs are read in file order, in batches of at
    most BATCH_BYTES (compressed; a bigger block alone): each batch's items give each
    interval they reach its part of the numbers, from prefix sums over the batch. An item
    lies in one block, so the parts add up to the whole, and memory holds one batch however
    large the chromosome or the intervals."""
    n = len(a)
    cov_acc = np.zeros(n)
    tot_acc = np.zeros(n)
    mins = np.full(n, np.nan)
    maxs = np.full(n, np.nan)
    wanted: dict[tuple[int, int], None] = {}
    for lo, hi in zip(a.tolist(), b.tolist()):
        if hi > lo:
            wanted.update(dict.fromkeys(reader.rtree.ranges(cid, lo, hi)))
    if not wanted:
        return cov_acc, tot_acc, mins, maxs
    # intervals by start, with the running maximum of their ends: the intervals that may reach
    # a batch's items are one slice of them (then filtered by end)
    order = np.argsort(a, kind="stable")
    sorted_a = a[order]
    reach = np.maximum.accumulate(b[order])
    carry = (0.0, 0.0)
    for batch, _ in _windows(sorted(wanted), BATCH_BYTES, BATCH_BYTES):
        secs = [sec for sec in reader.load_sections(batch, use_cache=False)
                if sec.chrom == cid and len(sec)]
        if not secs:
            continue
        s = np.concatenate([x.starts for x in secs])
        e = np.concatenate([x.ends for x in secs])
        v = np.concatenate([x.values for x in secs]).astype(np.float64)
        if len(s) > 1 and bool((s[1:] < s[:-1]).any()):
            sort = np.argsort(s, kind="stable")
            s, e, v = s[sort], e[sort], v[sort]
        cand = order[int(reach.searchsorted(s[0], "left")):
                     int(sorted_a.searchsorted(e.max(), "right"))]
        cand = cand[b[cand] >= s[0]]
        length = (e - s).astype(np.float64)
        # the prefix sums carry on from the batch before: the same float64 values as over the
        # whole chromosome at once (an interval inside one batch gets the very same numbers)
        cum_len = np.cumsum(np.concatenate([[carry[0]], length]))
        cum_sum = np.cumsum(np.concatenate([[carry[1]], length * v]))
        carry = (float(cum_len[-1]), float(cum_sum[-1]))
        if not len(cand):
            continue
        ca, cb = a[cand], b[cand]
        lo = np.searchsorted(e, ca, "right")
        hi = np.maximum(np.searchsorted(s, cb, "left"), lo)
        cov = cum_len[hi] - cum_len[lo]
        tot = cum_sum[hi] - cum_sum[lo]
        some = hi > lo
        first = np.where(some, lo, 0)
        last = np.where(some, hi - 1, 0)
        cut_l = np.where(some, np.maximum(ca - s[first], 0), 0)
        cut_r = np.where(some, np.maximum(e[last] - cb, 0), 0)
        cov_acc[cand] += cov - (cut_l + cut_r)
        tot_acc[cand] += tot - (cut_l * v[first] + cut_r * v[last])
        if min_max and bool(some.any()):
            k = np.flatnonzero(some)
            for j, x, y in zip(cand[k].tolist(), lo[k].tolist(), hi[k].tolist()):
                seen = v[x:y][length[x:y] > 0]  # zero-length items cover no base
                if len(seen):
                    mins[j] = np.fmin(mins[j], seen.min())
                    maxs[j] = np.fmax(maxs[j], seen.max())
    return cov_acc, tot_acc, mins, maxs
