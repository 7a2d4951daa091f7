"""What ``VcfWriter`` refuses before writing a batch: the lines htslib would not accept.

Checked per batch with numpy over the joined bytes (the scan the co-index reuses; no
per-line Python work unless a line needs a closer look): at least 8 columns, a POS of digits only (``0`` is valid: telomeres;
negative or absurd values are not), a non-empty REF, an integer ``INFO/END``, and a CHROM
declared by a ``##contig`` header line. The first offending line is reported with its 1-based
line number in the output file.
"""

from __future__ import annotations

import re
from typing import Collection

import numpy as np

from ..errors import RecordError, UnknownReferenceError
from ..index.vcf_batch import MAX_POS_DIGITS, VcfScan

_END_KEY = re.compile(rb"(?:^|;)END=([^;]*)")


def check_vcf_lines(lines: list[bytes], contigs: "Collection[bytes] | None",
                    first_line: int, scan: "VcfScan | None" = None) -> VcfScan:
    """Raise a typed error naming the first bad data line of ``lines`` (each ends with
    ``\\n``; lines starting with ``#`` are skipped); ``first_line`` is the 1-based line number
    of ``lines[0]``. ``contigs``: declared CHROM names, or None to accept any.

    Vectorised: the batch's :class:`~bioformats_ext.index.vcf_batch.VcfScan` (given, or made
    here and returned, so the writer's co-index reuses it) gives every line's columns and POS;
    CHROM is checked once per run of equal names; only suspicious lines get the per-line rules,
    which also word the error."""
    if scan is None:
        scan = VcfScan.of_lines(lines)
    n = scan.n
    if not n:
        return scan
    buf = scan.buf
    starts = scan.starts
    meta = buf[np.minimum(starts, max(len(buf) - 1, 0))] == 35 if len(buf) else np.ones(n, bool)
    columns_ok = scan.ntabs_ok & scan.pos_ok & (scan.reflen >= 1) & (scan.t0 > starts)
    bad = ~meta & ~columns_ok
    candidates: set[int] = set(np.flatnonzero(bad)[:1].tolist())
    if contigs is not None:
        rows = np.flatnonzero(~meta & ~bad)
        if len(rows):
            names, counts = scan.name_runs(None if len(rows) == n else rows)  # kept for the index
            heads = np.cumsum(counts) - counts
            for name, head in zip(names, heads.tolist()):
                if name not in contigs:
                    candidates.add(int(rows[head]))
                    break
    candidates.update(scan.end_rows.tolist())
    for i in sorted(candidates):
        if not meta[i]:
            _check_line(lines[i], first_line + i, contigs)
    # every line passed the column tests: the co-index's interval rule need not repeat them
    scan.well_formed = bool(columns_ok.all())
    return scan


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
