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
    of ``lines[0]``. ``contigs``: declared CHROM names, or None to accept any.

    Vectorised: one tab scan of the batch, then small gathers (POS digits, CHROM bytes as a
    fixed-width matrix whose distinct rows are checked against ``contigs``); only suspicious
    lines get the per-line rules, which also word the error."""
    n = len(lines)
    if not n:
        return
    data = b"".join(lines)
    buf = np.frombuffer(data, np.uint8)
    sizes = np.fromiter(map(len, lines), np.int64, n)
    cum = np.zeros(n + 1, np.int64)
    np.cumsum(sizes, out=cum[1:])
    starts, stops = cum[:-1], cum[1:]
    last_byte = max(len(buf) - 1, 0)
    meta = buf[np.minimum(starts, last_byte)] == 35 if len(buf) else np.ones(n, bool)
    tabs = np.flatnonzero(buf == 9)
    k = np.searchsorted(tabs, starts)
    ntabs = np.searchsorted(tabs, stops) - k
    bad = ~meta & (ntabs < 7)
    candidates: set[int] = set()
    if len(tabs):
        top = len(tabs) - 1
        t0, t1, t2, t3 = (tabs[np.minimum(k + j, top)] for j in range(4))
        pos_len = t1 - t0 - 1
        width = int(np.clip(pos_len.max(), 1, MAX_POS_DIGITS))
        cols = np.arange(width, dtype=np.int32)
        first = np.minimum(t0 + 1, last_byte).astype(np.int32)
        chars = buf[np.minimum(first[:, None] + cols, last_byte)]  # (n, width) POS bytes
        nondigit = (cols < pos_len[:, None]) & ((chars < 48) | (chars > 57))
        pos_bad = (pos_len < 1) | (pos_len > MAX_POS_DIGITS) | nondigit.any(axis=1)
        bad |= ~meta & ~bad & (pos_bad | (t3 - t2 < 2) | (t0 == starts))
        ok = np.flatnonzero(~meta & ~bad)
        if contigs is not None and len(ok):
            candidates.update(_unknown_contig_rows(buf, data, starts[ok], t0[ok], ok, contigs))
    candidates.update(np.flatnonzero(bad)[:1].tolist())
    if b"END=" in data:
        at = data.find(b"END=")
        while at >= 0:
            candidates.add(int(np.searchsorted(starts, at, side="right")) - 1)
            at = data.find(b"END=", at + 4)
    for i in sorted(candidates):
        if not meta[i]:
            _check_line(lines[i], first_line + i, contigs)


def _unknown_contig_rows(buf: np.ndarray, data: bytes, begin: np.ndarray, stop: np.ndarray,
                         rows: np.ndarray, contigs: "Collection[bytes]") -> list[int]:
    """Rows whose CHROM is not in ``contigs`` (at most the first one per distinct name)."""
    length = stop - begin
    width = int(length.max())
    if width > 64:  # unusually long names: compare them one by one
        names = [data[a:b] for a, b in zip(begin.tolist(), stop.tolist())]
        return [int(r) for r, name in zip(rows.tolist(), names) if name not in contigs][:1]
    cols = np.arange(width)
    mat = buf[np.minimum(begin[:, None] + cols, len(buf) - 1)]
    mat = np.where(cols < length[:, None], mat, 0).astype(np.uint8)
    keys = np.ascontiguousarray(mat).view(f"S{width}").ravel()
    distinct, first = np.unique(keys, return_index=True)
    out = []
    for name, i in zip(distinct.tolist(), first.tolist()):
        if name not in contigs:  # (S dtype drops trailing NULs, as names have none)
            out.append(int(rows[i]))
    return out[:1]


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
