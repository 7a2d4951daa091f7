"""The tabix VCF interval rule over a whole batch of lines, with numpy (the writer's fast path).

Equal to tabix's rule for every line; lines that need more than POS and REF (INFO/END, SVLEN,
gVCF LEN) or look unusual go through :func:`~bioformats_ext.vcf.end_rule.tabix_interval`.
"""

from __future__ import annotations

import numpy as np

from ..index.tabix_conf import TabixConfig
from .end_rule import tabix_interval


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
    width = 12
    idx = (t[0] + 1)[:, None] + np.arange(width)
    inside = np.arange(width) < plen[:, None]
    digits = buf[np.minimum(idx, len(buf) - 1)].astype(np.int64) - 48
    ok &= ~(inside & ((digits < 0) | (digits > 9))).any(axis=1)
    power = np.where(inside, 10 ** np.clip(plen[:, None] - 1 - np.arange(width), 0, None), 0)
    pos = (np.where(inside, digits, 0) * power).sum(axis=1)
    reflen = t[3] - t[2] - 1
    beg = np.maximum(pos - 1, 0)
    end = np.where(reflen > 0, beg + reflen, np.maximum(pos, 1))
    special = set(np.flatnonzero(~ok).tolist())
    for marker in (b"END=", b"SVLEN=", b"<*>", b"<NON_REF>"):  # END, SVLEN, gVCF LEN: full rule
        at = data.find(marker)
        while at >= 0:
            special.add(int(np.searchsorted(starts, at, side="right")) - 1)
            at = data.find(marker, at + len(marker))
    t0 = np.where(ok, t[0], starts).tolist()
    names = [data[a:b] for a, b in zip(starts.tolist(), t0)]
    for i in sorted(special):
        name, b, e = tabix_interval(lines[i].rstrip(b"\r\n"), first_lineno + i)
        names[i] = name.encode()
        beg[i] = b
        end[i] = e
    return names, beg, end
