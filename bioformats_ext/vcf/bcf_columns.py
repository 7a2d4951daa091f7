"""Numpy column helpers for :mod:`~bioformats_ext.vcf.bcf_encode_batch`: value lookups with a
bounded cache, digit parsing, integer/float/string FORMAT columns with htslib's width and
sentinel rules, and the final assembly of a batch's records by computed positions.

Kept apart from the batch encoder so that each module stays one idea: the encoder decides what
goes where, these functions turn columns of text into BCF bytes.
"""

from __future__ import annotations

import re
from itertools import repeat
from typing import Any

import numpy as np

from .bcf_encode import I32_END, I32_MISSING, enc_size

_BAD: Any = object()              # "this value needs the per-record encoder"
_DESC_MAX = 4096
_DESCS = np.array([enc_size(i, 7) for i in range(_DESC_MAX)], dtype=object)  # string heads
_NONE = b"\x01"                   # a FORMAT field a sample cell leaves out (never valid text)
_INTS = re.compile(rb"(?:[+-]?\d{1,9}|\.)(?:,(?:[+-]?\d{1,9}|\.))*")
_NUM = rb"(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|\.)"
_FLOATS = re.compile(_NUM + rb"(?:," + _NUM + rb")*")
_QUAL = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_F_MISS, _F_END = 0x7F800001, 0x7F800002
_I8 = {I32_END: -127, I32_MISSING: -128}
_I16 = {I32_END: -32767, I32_MISSING: -32768}
_CACHE_MAX = 1 << 16
_BIG = 1 << 40
_GVCF = (b"<*>", b"<NON_REF>")


# -- column helpers ---------------------------------------------------------------------------
def _lookup(cache: dict, values: list[bytes], miss, constant: bool = False
            ) -> tuple[list, bool]:
    """``cache[v]`` for every value, computing each distinct miss once (cache bounded), and
    whether some value is :data:`_BAD` (those are never cached: checking for them would cost a
    comparison per value on every batch). ``constant``: every value is the same."""
    got = cache.get(values[0]) if constant else None
    if got is not None:
        return [got] * len(values), False
    try:
        return list(map(cache.__getitem__, values)), False
    except KeyError:
        pass
    if len(cache) > _CACHE_MAX:
        cache.clear()
    found_bad = False
    for v in dict.fromkeys(values):
        if v not in cache:
            got = miss(v)
            if got is _BAD:
                found_bad = True
            else:
                cache[v] = got
    if not found_bad:
        return list(map(cache.__getitem__, values)), False
    return list(map(cache.get, values, repeat(_BAD))), True


def _digits(arr: np.ndarray, ends: np.ndarray, lengths: np.ndarray, most: int = 10
            ) -> np.ndarray | None:
    """The unsigned decimal numbers of 1 to ``most`` digits ending before ``ends`` (None if
    any field is not one)."""
    if not len(lengths) or lengths.min() < 1 or lengths.max() > most:
        return None
    width = int(lengths.max())
    starts = ends - width
    early = starts < 0  # only the first record or two of a batch: their windows start at 0
    digits = _windows(arr, width)[np.maximum(starts, 0)] - np.uint8(48)  # non-digits wrap
    if early.any():
        digits[early] = arr[(ends[early, None] - width + np.arange(width)) % len(arr)] - 48
    digits[np.arange(width) < (width - lengths)[:, None]] = 0
    if digits.max() > 9:
        return None
    return digits @ (10 ** np.arange(width - 1, -1, -1, dtype=np.int64))


def _windows(arr: np.ndarray, width: int) -> np.ndarray:
    """Every ``width``-byte window of ``arr`` as a row (a view: gathering rows copies bytes only)."""
    return np.lib.stride_tricks.sliding_window_view(arr, width)


def _constant(arr: np.ndarray, ends: np.ndarray, flen: np.ndarray, j: int) -> bool:
    """Whether field ``j`` has the same (short) text in every record, compared in numpy."""
    lengths = flen[:, j]
    width = int(lengths[0])
    if width > 64 or (lengths != width).any():
        return False
    if width == 0:
        return True
    rows = _windows(arr, width)[ends[:, j] - width]
    return bool((rows == rows[0]).all())


def _flag(bad: np.ndarray, rows) -> None:
    bad[np.asarray(rows, np.int64)] = True


def _desc_len(size: np.ndarray) -> np.ndarray:
    return np.where(size < 15, 1, np.where(size < 128, 3, 4))


def _row_sums(lengths: np.ndarray, counts: np.ndarray) -> np.ndarray:
    ends = np.cumsum(counts)
    total = np.concatenate(([0], np.cumsum(lengths)))
    return total[ends] - total[ends - counts]


def _assemble(n: int, heads: list[bytes], columns, bad: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Every record's pieces in order as one object array (``b"".join`` gives the batch), and
    where each record's first piece (its head) is."""
    per_row = np.ones(n, np.int64)
    for pieces, rows, counts in columns:
        add = 1 if counts is None else counts
        if rows is None:
            per_row += add
        else:
            per_row[rows] += add
    start = np.cumsum(per_row) - per_row
    out = np.empty(int(per_row.sum()), object)
    out[start] = heads
    fill = start + 1
    for pieces, rows, counts in columns:
        base = fill if rows is None else fill[rows]
        if counts is None:
            out[base] = pieces
            step: Any = 1
        else:
            first = np.cumsum(counts) - counts
            dest = np.repeat(base - first, counts) + np.arange(len(pieces))
            arr = np.empty(len(pieces), object)
            arr[:] = pieces
            out[dest] = arr
            step = counts
        if rows is None:
            fill = fill + step
        else:
            fill = fill.copy()
            fill[rows] += step
    if not bad.any():
        return out, start
    # a bad row keeps one slot (filled later) and drops its other pieces
    keep = np.ones(len(out), bool)
    rows_bad = np.flatnonzero(bad)
    for r in rows_bad.tolist():
        keep[start[r] + 1:start[r] + per_row[r]] = False
    kept = np.where(bad, 1, per_row)
    return out[keep], np.cumsum(kept) - kept


def _int_rows(values: np.ndarray, width: np.ndarray, prefix: bytes) -> tuple[list[bytes], np.ndarray]:
    """Per record ``prefix + typed vector``: ``values`` (records, samples, w) int64 with the
    int32 sentinels; record r keeps ``width[r]`` values a sample and gets htslib's type."""
    m, ns, _ = values.shape
    pieces = np.empty(m, object)
    lens = np.zeros(m, np.int64)
    for w in np.unique(width).tolist():
        rows = np.flatnonzero(width == w)
        block = values[rows, :, :w].reshape(len(rows), ns * w)
        hi = block.max(axis=1)
        lo = np.where(block > I32_END, block, _BIG).min(axis=1)
        kind = np.where((hi <= 127) & (lo >= -120), 1, np.where((hi <= 32767) & (lo >= -32760),
                                                                 2, 3))
        for t in np.unique(kind).tolist():
            sel = rows[kind == t]
            sub = block[kind == t]
            if t == 1:
                typed = _sentinels(sub, _I8).astype(np.int8)
            elif t == 2:
                typed = _sentinels(sub, _I16).astype("<i2")
            else:
                typed = sub.astype("<i4")
            head = prefix + enc_size(w, t)
            body = typed.view(np.uint8).reshape(len(sel), -1)
            pieces[sel] = _rows_bytes(head, body)
            lens[sel] = len(head) + body.shape[1]
    return pieces.tolist(), lens


def _sentinels(block: np.ndarray, table: dict[int, int]) -> np.ndarray:
    out = block.copy()
    for src, dst in table.items():
        out[block == src] = dst
    return out


def _rows_bytes(head: bytes, body: np.ndarray) -> list[bytes]:
    """``head + row`` for every row of a uint8 matrix, as bytes objects."""
    m, width = body.shape
    full = np.empty((m, len(head) + width), np.uint8)
    full[:, :len(head)] = np.frombuffer(head, np.uint8)
    full[:, len(head):] = body
    if full.shape[1] == 0:
        return [b""] * m
    return full.view(f"V{full.shape[1]}").ravel().tolist()


def _parse_vectors(vals: list[bytes], pattern: re.Pattern[bytes], m: int, ns: int):
    """Flat comma-split values, per-cell counts and the widest count; None when a cell is not
    a plain list of numbers / '.' (the per-record encoder judges those)."""
    if _NONE in vals:
        vals = list(map({_NONE: b"."}.get, vals, vals))
    joined = b",".join(vals)
    if pattern.fullmatch(joined) is None:
        return None
    flat = joined.split(b",")
    if len(flat) == len(vals):
        counts = np.ones(len(vals), np.int64)
    else:
        counts = np.fromiter(map(bytes.count, vals, repeat(b",")), np.int64, len(vals)) + 1
    width = int(counts.max()) if len(counts) else 1
    return flat, counts, width


def _scatter(flat: np.ndarray, counts: np.ndarray, width: int, pad) -> np.ndarray:
    """Cells of ``counts[i]`` values from ``flat`` as a (cells, width) matrix padded with ``pad``."""
    out = np.full((len(counts), width), pad, flat.dtype)
    if width == 1:
        out[:, 0] = flat
        return out
    first = np.cumsum(counts) - counts
    cell = np.repeat(np.arange(len(counts)), counts)
    out[cell, np.arange(len(flat)) - first[cell]] = flat
    return out


def _float_column(vals: list[bytes], m: int, ns: int, kbytes: bytes):
    parsed = _parse_vectors(vals, _FLOATS, m, ns)
    if parsed is None:
        return None
    flat, counts, width = parsed
    missing = np.array([v == b"." for v in flat], bool) if b"." in flat else None
    nums = [0.0 if v == b"." else float(v) for v in flat] if missing is not None \
        else list(map(float, flat))
    with np.errstate(over="ignore"):
        bits = np.array(nums, np.float64).astype("<f4").view("<u4").astype(np.int64)
    if missing is not None:
        bits[missing] = _F_MISS
    cells = _scatter(bits, counts, width, _F_END).reshape(m, ns, width)
    w_row = counts.reshape(m, ns).max(axis=1)
    pieces = np.empty(m, object)
    lens = np.zeros(m, np.int64)
    for w in np.unique(w_row).tolist():
        rows = np.flatnonzero(w_row == w)
        body = cells[rows, :, :w].reshape(len(rows), ns * w).astype("<u4").view(np.uint8)
        head = kbytes + enc_size(w, 5)
        pieces[rows] = _rows_bytes(head, body.reshape(len(rows), -1))
        lens[rows] = len(head) + ns * w * 4
    return pieces.tolist(), None, lens


def _string_column(vals: list[bytes], m: int, ns: int, kbytes: bytes, j: int):
    """NUL-padded strings: width = longest value (+1 when not the first key, as htslib counts
    the ':' before it); a left-out value is '.' (or nothing when every value is left out)."""
    lens = np.fromiter(map(len, vals), np.int64, len(vals))
    absent = None
    if _NONE in vals:
        absent = np.array([v == _NONE for v in vals], bool)
        lens[absent] = -1
    extra = 1 if j else 0
    w_row = (lens.reshape(m, ns) + extra).max(axis=1)
    if absent is not None:
        w_row = np.maximum(w_row, 0)
        allabsent = absent.reshape(m, ns).all(axis=1)
        w_row[allabsent] = 0
        fill = np.repeat(w_row > 0, ns)[absent]
        idx = np.flatnonzero(absent)
        vals = list(vals)
        for i, f in zip(idx.tolist(), fill.tolist()):
            vals[i] = b"." if f else b""
    if (w_row >= _DESC_MAX).any():
        return None
    widths = np.repeat(w_row, ns).tolist()
    padded = list(map(bytes.ljust, vals, widths, repeat(b"\0")))
    heads = [kbytes + d for d in _DESCS[w_row].tolist()]
    if ns == 1:
        pieces = [x for pair in zip(heads, padded) for x in pair]
    else:
        pieces = [b""] * (m * (ns + 1))
        pieces[0::ns + 1] = heads
        for s in range(ns):
            pieces[s + 1::ns + 1] = padded[s::ns]
    lens_row = len(kbytes) + _desc_len(w_row) + ns * w_row
    return pieces, np.full(m, ns + 1, np.int64), lens_row
