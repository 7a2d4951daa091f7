"""numpy primitives over a batch of text joined into one byte array (SAM, and any format whose
fields sit between separators): integer fields read eight digits at a time, the 8 bytes before
any offsets as words, and many byte ranges copied at once.

Why one module: the SAM record encoder (:mod:`~bioformats_ext.bam.sam_batch`) and its optional
field columns (:mod:`~bioformats_ext.bam.sam_tags`) both build on these.
"""

from __future__ import annotations

import numpy as np

__all__ = ["parse_ints", "words_ending", "copy_ranges"]

_MINUS = 45

_U = np.uint64
_ZEROS8 = _U(0x3030303030303030)
_LOW = np.array([(1 << (8 * (8 - k))) - 1 if k < 8 else 0 for k in range(9)], np.uint64)


def _eight_digits(words: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values of the last ``count`` (0..8) ASCII digits of little-endian 8-byte ``words`` (the
    bytes before them ignored), with SWAR arithmetic: pairs, then quads, then the octet."""
    low = _LOW[count]
    w = (words & ~low) | (_ZEROS8 & low)       # bytes before the number read as '0'
    ok = ((w & _U(0xF0F0F0F0F0F0F0F0))
          | (((w + _U(0x0606060606060606)) & _U(0xF0F0F0F0F0F0F0F0)) >> _U(4))) \
        == _U(0x3333333333333333)
    v = w - _ZEROS8
    v = (v * _U(10) + (v >> _U(8))) & _U(0x00FF00FF00FF00FF)
    v = (v * _U(100) + (v >> _U(16))) & _U(0x0000FFFF0000FFFF)
    v = (v * _U(10000) + (v >> _U(32))) & _U(0xFFFFFFFF)
    return v.astype(np.int64), ok


def words_ending(a: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The 8 bytes before each ``end`` as little-endian uint64 (bytes before 0 read as 0): one
    gather from an overlapping (stride 1) uint64 view of ``a``."""
    if len(a) < 8 or (len(end) and int(end.min()) < 8):
        a = np.concatenate((np.zeros(8, np.uint8), a))
        end = end + 8
    words = np.ndarray((len(a) - 7,), "<u8", a, 0, (1,))
    return words[end - 8]


def parse_ints(a: np.ndarray, start: np.ndarray, length: np.ndarray,
               max_digits: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """``(values, ok)`` of the decimal fields ``a[start:start+length]`` (optional leading '-');
    ``ok`` is false where a field is empty, longer than ``max_digits`` (<= 16) or not
    ``-?[0-9]+``. Eight digits at a time in one uint64 each."""
    n = len(start)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    neg = (a[start] == _MINUS) & (length > 0)
    dl = length - neg
    ok = (dl >= 1) & (dl <= min(max_digits, 16))
    end = start + length
    values, good = _eight_digits(words_ending(a, end), np.minimum(dl, 8))
    ok &= good
    long_ = np.flatnonzero(ok & (dl > 8))
    if len(long_):
        high, good = _eight_digits(words_ending(a, end[long_] - 8), np.minimum(dl[long_] - 8, 8))
        ok[long_] &= good
        values[long_] += high * 100_000_000
    return np.where(neg, -values, values), ok


def copy_ranges(out: np.ndarray, src: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                dst: np.ndarray) -> None:
    """``out[dst[i]:dst[i] + lengths[i]] = src[starts[i]:starts[i] + lengths[i]]`` for all i.

    Ranges of one length are copied together as rows of overlapping (stride 1) 2-D views of
    ``src`` and ``out``: numpy copies each row as a block, ~20x cheaper than an index per byte.
    Mixed lengths are grouped with a mask per length when they are few and short (tags), else a
    stable radix sort of their 16-bit values; ranges of 64 KiB and more (long reads) are copied
    one slice each.
    """
    if not len(lengths):
        return
    lo_len, hi_len = int(lengths.min()), int(lengths.max())
    if lo_len == hi_len:  # one length (the usual case for a field of a batch)
        if lo_len:
            _copy_rows(out, src, starts, dst, lo_len)
        return
    if hi_len < 64:  # short ranges (tags, names) of a few lengths: one mask per length, no sort
        counts = np.bincount(lengths, minlength=hi_len + 1)
        present = np.flatnonzero(counts[1:]) + 1
        if len(present) <= 8:
            for n in present.tolist():
                sel = np.flatnonzero(lengths == n)
                _copy_rows(out, src, starts[sel], dst[sel], n)
            return
    huge = np.flatnonzero(lengths > 0xFFFF)
    for k in huge.tolist():
        a, n, d = int(starts[k]), int(lengths[k]), int(dst[k])
        out[d:d + n] = src[a:a + n]
    key = np.minimum(lengths, 0xFFFF).astype(np.uint16)
    order = np.argsort(key, kind="stable")  # radix sort for 16-bit keys
    sorted_key = key[order]
    cuts = np.flatnonzero(sorted_key[1:] != sorted_key[:-1]) + 1
    groups = np.concatenate(([0], cuts, [len(order)])).tolist()
    for lo, hi in zip(groups, groups[1:]):
        n = int(sorted_key[lo])
        sel = order[lo:hi]
        if n == 0xFFFF:  # the key of longer ranges too, copied above
            sel = sel[lengths[sel] == n]
        if n and len(sel):
            _copy_rows(out, src, starts[sel], dst[sel], n)


def _copy_rows(out: np.ndarray, src: np.ndarray, starts: np.ndarray, dst: np.ndarray,
               n: int) -> None:
    if n > 0xFFFF:
        for a, d in zip(starts.tolist(), dst.tolist()):
            out[d:d + n] = src[a:a + n]
        return
    # each row one ``n``-byte void item of an overlapping view: numpy copies an item with one
    # memcpy, 3-4x faster than row-gathering an ``N x n`` byte view element by element
    item = np.dtype((np.void, n))
    rows_out = np.ndarray((len(out) - n + 1,), item, buffer=out, strides=(1,))
    k = len(starts)
    first = int(starts[0])
    if int(starts[-1]) - first == n * (k - 1) and (np.diff(starts) == n).all():
        # the ranges lie back to back in ``src`` (a packed field): a plain view, no gather
        rows_out[dst] = np.ndarray((k,), item, buffer=src, offset=first)
        return
    rows_in = np.ndarray((len(src) - n + 1,), item, buffer=src, strides=(1,))
    rows_out[dst] = rows_in[starts]
