"""The UCSC/SAM hierarchical binning scheme, parameterised by ``min_shift`` and ``depth``.

Level 0 is one bin covering ``[0, 2**(min_shift + 3*depth))``; each level splits its bins in
eight; the deepest level has bins of ``2**min_shift`` bases. BAI/TBI use ``min_shift=14``,
``depth=5`` (bins 0..37448, pseudo-bin 37450, positions below 2**29). CSI chooses both.
Scalar functions for the writers' hot path; ``*_array`` variants for vectorised indexing.
"""

from __future__ import annotations

import numpy as np


def bin_first(level: int) -> int:
    """Id of the first bin on ``level`` (0 for the root)."""
    return ((1 << (3 * level)) - 1) // 7


def n_bins(depth: int = 5) -> int:
    """Number of real bins for ``depth`` levels below the root."""
    return ((1 << (3 * (depth + 1))) - 1) // 7


def pseudo_bin(depth: int = 5) -> int:
    """Id of the metadata pseudo-bin (37450 for depth 5)."""
    return n_bins(depth) + 1


def bin_limit(min_shift: int = 14, depth: int = 5) -> int:
    """First position the scheme cannot address (2**29 for BAI/TBI)."""
    return 1 << (min_shift + 3 * depth)


def bin_parent(b: int) -> int:
    return (b - 1) >> 3


def bin_level(b: int) -> int:
    level = 0
    while b:
        b = (b - 1) >> 3
        level += 1
    return level


def bin_bot(b: int, depth: int = 5) -> int:
    """First linear-index window (``2**min_shift`` slot) covered by bin ``b``."""
    level = bin_level(b)
    return (b - bin_first(level)) << (3 * (depth - level))


def reg2bin(beg: int, end: int, min_shift: int = 14, depth: int = 5) -> int:
    """Smallest bin containing ``[beg, end)`` (computed on ``end - 1``, as htslib does)."""
    end -= 1
    s = min_shift
    t = bin_first(depth)
    for level in range(depth, 0, -1):
        if beg >> s == end >> s:
            return t + (beg >> s)
        s += 3
        t -= 1 << (3 * (level - 1))
    return 0


def reg2bins(beg: int, end: int, min_shift: int = 14, depth: int = 5) -> list[int]:
    """Every bin that may hold a record overlapping ``[beg, end)``, root first."""
    if beg < 0:
        beg = 0
    if beg >= end:
        return []
    s = min_shift + 3 * depth
    if end >= 1 << s:
        end = 1 << s
    end -= 1
    bins: list[int] = []
    t = 0
    for level in range(depth + 1):
        bins.extend(range(t + (beg >> s), t + (end >> s) + 1))
        s -= 3
        t += 1 << (3 * level)
    return bins


def reg2bin_array(beg: np.ndarray, end: np.ndarray, min_shift: int = 14,
                  depth: int = 5) -> np.ndarray:
    """Vectorised :func:`reg2bin` over int64 arrays.

    The level is read off the highest bit where ``beg`` and ``end - 1`` differ (``frexp`` gives
    the bit length exactly for values below 2**53), instead of testing level by level.
    """
    beg = np.asarray(beg, dtype=np.int64)
    last = np.asarray(end, dtype=np.int64) - 1
    # (zero-length intervals have end - 1 < beg; the xor handles them like htslib's shifts)
    bitlen = np.frexp(np.bitwise_xor(beg, last).astype(np.float64))[1].astype(np.int64)
    up = np.maximum(bitlen - min_shift, 0)
    up = (up + 2) // 3
    level = depth - up
    firsts = np.array([((1 << (3 * lv)) - 1) // 7 for lv in range(depth + 1)], dtype=np.int64)
    root = level <= 0
    level = np.maximum(level, 0)
    shift = min_shift + 3 * (depth - level)
    out = firsts[level] + (beg >> shift)
    out[root] = 0
    return out


def csi_depth_for(max_ref_len: int, min_shift: int = 14) -> int:
    """samtools' CSI depth: smallest n with ``max_ref_len + 256 <= 2**(min_shift + 3n)``."""
    limit = max_ref_len + 256
    depth, s = 0, 1 << min_shift
    while limit > s:
        depth += 1
        s <<= 3
    return depth


def tabix_csi_depth(min_shift: int = 14, max_ref_len: int | None = None) -> int:
    """tabix/bcftools' CSI depth: start at ``(31 - min_shift + 2) // 3`` and grow to fit
    ``max_ref_len`` (from ``##contig`` / ``@SQ`` lengths; 100 Gbp when unknown)."""
    depth = (31 - min_shift + 2) // 3
    limit = (max_ref_len or 100 * 1024 ** 3) + 256
    s = bin_limit(min_shift, depth)
    while limit > s:
        depth += 1
        s <<= 3
    return depth
