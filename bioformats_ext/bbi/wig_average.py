"""``bigWigAverageOverBed`` in one call: sum, coverage and means over every interval of a BED.

The intervals are grouped by chromosome; for each chromosome the R-tree is asked for every
interval's blocks, the union is read in one batched request and decoded once, and then every
interval's numbers come from prefix sums over the (sorted, non-overlapping) items: no per-interval
reads and no per-base arrays.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterable

import numpy as np

from ..errors import RecordError, UnknownReferenceError

if TYPE_CHECKING:
    from ..bigwig import BigWigFile

RESULT_FIELDS = ("name", "size", "covered", "sum", "mean0", "mean")


def read_bed_intervals(path: "str | os.PathLike[str]") -> list[tuple[str, int, int, str]]:
    """(chrom, start, end, name) of a BED file; name defaults to ``chrom:start-end``
    (1-based), as there is nothing better to call an unnamed interval."""
    out = []
    with open(path, "rb") as handle:
        for lineno, line in enumerate(handle, 1):
            words = line.split()
            if not words or words[0].startswith(b"#") or words[0] in (b"track", b"browser"):
                continue
            if len(words) < 3:
                raise RecordError(f"{os.fspath(path)} line {lineno}: expected at least 3 "
                                  "columns", lineno)
            try:
                start, end = int(words[1]), int(words[2])
            except ValueError:
                raise RecordError(f"{os.fspath(path)} line {lineno}: start/end are not "
                                  "integers", lineno) from None
            if start < 0 or end < start:
                raise RecordError(f"{os.fspath(path)} line {lineno}: bad interval "
                                  f"{start}-{end}", lineno)
            chrom = words[0].decode()
            name = words[3].decode() if len(words) > 3 else f"{chrom}:{start + 1}-{end}"
            out.append((chrom, start, end, name))
    return out


def average_over_bed(bw: "BigWigFile", bed: "str | os.PathLike[str] | Iterable[tuple]",
                     min_max: bool = False, skip_unknown: bool = True) -> list[tuple]:
    """``(name, size, covered, sum, mean0, mean)`` per interval, in input order
    (``mean0`` = sum / size, ``mean`` = sum / covered bases, 0 when nothing is covered), plus
    ``min`` and ``max`` of the covered values with ``min_max`` (NaN when none).

    ``bed``: a BED path or ``(chrom, start, end[, name])`` tuples. Chromosomes missing from the
    bigWig count as uncovered (as UCSC does), or raise with ``skip_unknown=False``.
    """
    if isinstance(bed, (str, os.PathLike)):
        intervals = read_bed_intervals(bed)
    else:
        intervals = []
        for i, rec in enumerate(bed):
            chrom, start, end = rec[0], int(rec[1]), int(rec[2])
            name = rec[3] if len(rec) > 3 else f"{chrom}:{start + 1}-{end}"
            if start < 0 or end < start:
                raise RecordError(f"interval {i + 1}: bad interval {chrom}:{start}-{end}", i + 1)
            intervals.append((chrom, start, end, name))
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
        cid = reader.chrom_ids[chrom]
        a = np.array([intervals[i][1] for i in idx], np.int64)
        b = np.array([intervals[i][2] for i in idx], np.int64)
        ranges: dict[tuple[int, int], None] = {}
        for lo, hi in zip(a.tolist(), b.tolist()):
            if hi > lo:
                ranges.update(dict.fromkeys(reader.rtree.ranges(cid, lo, hi)))
        secs = [sec for sec in reader.load_sections(sorted(ranges)) if sec.chrom == cid]
        if not secs:
            continue
        s = np.concatenate([x.starts for x in secs])
        e = np.concatenate([x.ends for x in secs])
        v = np.concatenate([x.values for x in secs]).astype(np.float64)
        if len(s) > 1 and bool((s[1:] < s[:-1]).any()):
            order = np.argsort(s, kind="stable")
            s, e, v = s[order], e[order], v[order]
        length = (e - s).astype(np.float64)
        cum_len = np.concatenate([[0.0], np.cumsum(length)])
        cum_sum = np.concatenate([[0.0], np.cumsum(length * v)])
        lo = np.searchsorted(e, a, "right")
        hi = np.maximum(np.searchsorted(s, b, "left"), lo)
        cov = cum_len[hi] - cum_len[lo]
        tot = cum_sum[hi] - cum_sum[lo]
        some = hi > lo
        first = np.where(some, lo, 0)
        last = np.where(some, hi - 1, 0)
        cut_l = np.where(some, np.maximum(a - s[first], 0), 0)
        cut_r = np.where(some, np.maximum(e[last] - b, 0), 0)
        cov -= cut_l + cut_r
        tot -= cut_l * v[first] + cut_r * v[last]
        idx_arr = np.asarray(idx)
        covered[idx_arr] = np.rint(cov).astype(np.int64)
        sums[idx_arr] = tot
        if min_max and bool(some.any()):
            k = np.flatnonzero(some)
            for j, (x, y) in zip(k.tolist(), zip(lo[k].tolist(), hi[k].tolist())):
                seen = v[x:y][length[x:y] > 0]  # zero-length items cover no base
                if len(seen):
                    mins[idx_arr[j]] = seen.min()
                    maxs[idx_arr[j]] = seen.max()
    out = []
    for i, (chrom, start, end, name) in enumerate(intervals):
        size = end - start
        c = int(covered[i])
        t = float(sums[i])
        row = (name, size, c, t, t / size if size else 0.0, t / c if c else 0.0)
        out.append(row + (float(mins[i]), float(maxs[i])) if min_max else row)
    return out
