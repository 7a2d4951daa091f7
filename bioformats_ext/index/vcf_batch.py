"""The tabix VCF interval rule over a whole batch of lines, with numpy.

Shared by the VCF writer's co-index (:mod:`bioformats_ext.vcf.intervals`) and the second-pass
``index_tabix``. Equal to tabix's rule for every line; lines that need more than POS and REF
(INFO/END, SVLEN, gVCF LEN) or look unusual go through the exact per-line rule
(:func:`~bioformats_ext.index.tabix_conf.parse_line`, which also raises the numbered error).
"""

from __future__ import annotations

import numpy as np

from ..errors import RecordError
from .tabix_conf import TabixConfig, get_config, parse_line

_VCF = get_config("vcf")
_MAX_POS = 1 << 62  # beyond int64 arithmetic; the index builder refuses far less anyway


def vcf_intervals(conf: TabixConfig, data: bytes, sizes: np.ndarray, lines: list[bytes],
                  first_lineno: int) -> tuple[list[bytes], np.ndarray, np.ndarray]:
    """VCF intervals of a batch, computed on the joined bytes with numpy.

    ``beg = POS-1`` and ``end = beg + len(REF)`` come from the positions of each line's first
    four tabs (one ``flatnonzero`` over the batch, one ``searchsorted``); POS digits are summed
    as a matrix. Lines that mention ``END=`` or look unusual (few columns, odd POS) go through
    the exact per-line rule, which also raises the typed, numbered error for bad lines.
    Names come back as bytes (the caller maps them to tids without decoding every line).
    """
    n = len(sizes)
    buf = np.frombuffer(data, np.uint8)
    cum = np.zeros(n + 1, np.int64)
    np.cumsum(sizes, out=cum[1:])
    starts, stops = cum[:-1], cum[1:]
    tabs = np.flatnonzero(buf == 9)
    k = np.searchsorted(tabs, starts)
    last = len(tabs) - 1
    t = [tabs[np.minimum(k + j, last)] if len(tabs) else np.full(n, -1) for j in range(4)]
    ok = (k + 3 <= last) & (t[3] < stops) if len(tabs) else np.zeros(n, bool)
    plen = t[1] - t[0] - 1
    ok &= (plen >= 1) & (plen <= 12)
    # POS digit by digit over the batch (12 vector steps; no n x 12 temporaries)
    pos = np.zeros(n, np.int64)
    last_byte = len(buf) - 1
    for j in range(int(plen[ok].max()) if ok.any() else 0):
        inside = j < plen
        digit = buf[np.minimum(t[0] + 1 + j, last_byte)].astype(np.int64) - 48
        ok &= ~inside | ((digit >= 0) & (digit <= 9))
        pos = np.where(inside, pos * 10 + digit, pos)
    reflen = t[3] - t[2] - 1
    beg = np.maximum(pos - 1, 0)
    end = np.where(reflen > 0, beg + reflen, np.maximum(pos, 1))
    special = set(np.flatnonzero(~ok).tolist())
    for marker in (b"END=", b"SVLEN=", b"<*>", b"<NON_REF>"):  # END, SVLEN, gVCF LEN: full rule
        at = data.find(marker)
        while at >= 0:
            special.add(int(np.searchsorted(starts, at, side="right")) - 1)
            at = data.find(marker, at + len(marker))
    names = _names(buf, data, starts, np.where(ok, t[0], starts))
    for i in sorted(special):
        name, b, e = parse_line(_VCF, lines[i], first_lineno + i)
        if not (0 <= b <= _MAX_POS and 0 <= e <= _MAX_POS):
            raise RecordError(f"line {first_lineno + i}: interval {b}..{e} is out of range "
                              f"(positions must be below 2**62)", first_lineno + i)
        names[i] = name.encode()
        beg[i] = b
        end[i] = e
    return names, beg, end


def _names(buf: np.ndarray, data: bytes, starts: np.ndarray, stops: np.ndarray) -> list[bytes]:
    """``data[starts[i]:stops[i]]`` for every line, one ``bytes`` per run of equal names (a
    sorted VCF changes CHROM rarely): the comparison is a small byte matrix, not a slice per line."""
    n = len(starts)
    lengths = stops - starts
    width = int(lengths.max()) if n else 0
    if n < 2 or width > 64:
        return [data[a:b] for a, b in zip(starts.tolist(), stops.tolist())]
    cols = np.arange(width)
    mat = buf[np.minimum(starts[:, None] + cols, len(buf) - 1)]
    mat[cols >= lengths[:, None]] = 0
    change = np.ones(n, bool)
    change[1:] = (lengths[1:] != lengths[:-1]) | (mat[1:] != mat[:-1]).any(axis=1)
    heads = np.flatnonzero(change)
    counts = np.diff(np.append(heads, n)).tolist()
    names: list[bytes] = []
    for h, c in zip(heads.tolist(), counts):
        names += [data[int(starts[h]):int(stops[h])]] * c
    return names
