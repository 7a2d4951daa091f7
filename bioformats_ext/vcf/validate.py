"""What ``VcfWriter`` refuses before writing a batch: the lines htslib would not accept.

Checked per batch with numpy over the joined bytes (no per-line Python work unless a line
needs a closer look): at least 8 columns, a POS of digits only (``0`` is valid: telomeres;
negative or absurd values are not), a non-empty REF, an integer ``INFO/END``, and a CHROM
declared by a ``##contig`` header line. The first offending line is reported with its 1-based
line number in the output file.
"""

from __future__ import annotations

import re
from typing import Collection

import numpy as np

from ..errors import RecordError, UnknownReferenceError

#: POS has at most this many digits (below 2**63, so every later int64 step is safe).
MAX_POS_DIGITS = 18
_END_KEY = re.compile(rb"(?:^|;)END=([^;]*)")


def check_vcf_lines(lines: list[bytes], contigs: "Collection[bytes] | None",
                    first_line: int) -> None:
    """Raise a typed error naming the first bad data line of ``lines`` (each ends with
    ``\\n``; lines starting with ``#`` are skipped); ``first_line`` is the 1-based line number
    of ``lines[0]``. ``contigs``: declared CHROM names, or None to accept any."""
    n = len(lines)
    if not n:
        return
    data = b"".join(lines)
    buf = np.frombuffer(data, np.uint8)
    sizes = np.fromiter(map(len, lines), np.int64, n)
    cum = np.zeros(n + 1, np.int64)
    np.cumsum(sizes, out=cum[1:])
    starts, stops = cum[:-1], cum[1:]
    meta = buf[np.minimum(starts, max(len(buf) - 1, 0))] == 35 if len(buf) else np.ones(n, bool)
    tabs = np.flatnonzero(buf == 9)
    k = np.searchsorted(tabs, starts)
    ntabs = np.searchsorted(tabs, stops) - k
    bad = ~meta & (ntabs < 7)
    ok = ~meta & ~bad
    if len(tabs):
        last = len(tabs) - 1
        t0, t1, t2, t3 = (tabs[np.minimum(k + j, last)] for j in range(4))
        nondigit = np.zeros(len(buf) + 1, np.int64)
        np.cumsum((buf < 48) | (buf > 57), out=nondigit[1:])
        pos_len = t1 - t0 - 1
        pos_bad = ((pos_len < 1) | (pos_len > MAX_POS_DIGITS) |
                   (nondigit[np.maximum(t1, 0)] - nondigit[np.minimum(t0 + 1, len(buf))] != 0))
        ref_bad = t3 - t2 - 1 < 1
        chrom_empty = t0 == starts
        bad |= ok & (pos_bad | ref_bad | chrom_empty)
    rows = np.flatnonzero(bad)
    candidates = set(rows[:1].tolist())
    if b"END=" in data:
        at = data.find(b"END=")
        while at >= 0:
            candidates.add(int(np.searchsorted(starts, at, side="right")) - 1)
            at = data.find(b"END=", at + 4)
    if contigs is not None:
        ok_rows = np.flatnonzero(ok & ~bad).tolist()
        if ok_rows:
            t0l = t0[ok_rows].tolist()
            sl = starts[ok_rows].tolist()
            names = {data[a:b] for a, b in zip(sl, t0l)}
            unknown = names.difference(contigs)
            if unknown:
                for i, a, b in zip(ok_rows, sl, t0l):
                    if data[a:b] in unknown:
                        candidates.add(i)
                        break
    for i in sorted(candidates):
        if not meta[i]:
            _check_line(lines[i], first_line + i, contigs)


def _check_line(line: bytes, lineno: int, contigs: "Collection[bytes] | None") -> None:
    """The exact per-line rules, raising the typed error for a bad line."""
    text = line.rstrip(b"\r\n")
    shown = text[:100].decode(errors="replace")
    fields = text.split(b"\t", 8)
    if len(fields) < 8:
        raise RecordError(f"line {lineno}: {len(fields)} columns, a VCF record needs at least 8: "
                          f"{shown}", lineno)
    chrom, pos, _id, ref, _alt, _qual, _filter, info = fields[:8]
    if not chrom:
        raise RecordError(f"line {lineno}: empty CHROM: {shown}", lineno)
    if not pos.isdigit() or len(pos) > MAX_POS_DIGITS:
        why = "negative" if pos.startswith(b"-") else "not a valid position"
        raise RecordError(f"line {lineno}: POS {pos[:30].decode(errors='replace')!r} is {why}: "
                          f"{shown}", lineno)
    if not ref:
        raise RecordError(f"line {lineno}: empty REF: {shown}", lineno)
    m = _END_KEY.search(info)
    if m is not None:
        value = m.group(1)
        if value != b"." and (not value.isdigit() or len(value) > MAX_POS_DIGITS):
            raise RecordError(f"line {lineno}: INFO/END={value[:30].decode(errors='replace')} "
                              f"is not a position: {shown}", lineno)
    if contigs is not None and chrom not in contigs:
        raise UnknownReferenceError(f"line {lineno}: contig {chrom.decode(errors='replace')!r} "
                                    f"is not defined in the header (add a ##contig line)")
