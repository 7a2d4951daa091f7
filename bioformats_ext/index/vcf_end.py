"""htslib 1.24's tabix end rule for VCF lines (``tbx_parse1``), for the index layer.

Tabix indexes a VCF record up to max(INFO/END if > beg, beg + max(len(REF), |SVLEN| of a
``<DEL>``/``<DUP>``/``<INV>``/``<CNV>`` allele, gVCF FORMAT/LEN)). It lives here, below every
reader and writer, because the tabix indexer and reader need it and may not import ``vcf``;
:mod:`bioformats_ext.vcf.end_rule` is the public home that re-exports it next to ``rlen``
(the BCF form of the same rule).
"""

from __future__ import annotations

import re
from typing import Sequence

__all__ = ["svlen_applies", "needs_rule", "tabix_end"]

_GVCF = (b"<*>", b"<NON_REF>")
_LEADING_INT = re.compile(rb"\s*[+-]?\d+")


def svlen_applies(alt: "str | bytes") -> bool:
    """Is SVLEN the reference length for this ALT (``<DEL>``, ``<DUP:TANDEM>``, ``<CNV>``...)?"""
    if isinstance(alt, bytes):
        alt = alt.decode(errors="replace")
    if len(alt) < 5 or alt[0] != "<" or alt[4] not in ">:" or alt[-1] != ">":
        return False
    return alt[1:4] in ("CNV", "DEL", "DUP", "INV")


def needs_rule(line: bytes) -> bool:
    """True when a line may end beyond ``len(REF)`` (a cheap substring test for batches)."""
    return b"END=" in line or b"SVLEN=" in line or b"<*>" in line or b"<NON_REF>" in line


def atoll(raw: bytes) -> int:
    """C's ``atoll``: the leading integer, 0 when there is none."""
    m = _LEADING_INT.match(raw)
    return int(m.group()) if m else 0


def _find_key(info: bytes, key: bytes) -> int:
    """Offset of the value of ``key=`` in an INFO column as tbx_parse1 finds it, or -1."""
    at = info.find(key + b"=")
    if at == 0:
        return len(key) + 1
    if at < 0:
        return -1
    at = info.find(b";" + key + b"=")
    return -1 if at < 0 else at + len(key) + 2


def format_lens(fields: Sequence[bytes]) -> list[int]:
    """FORMAT/LEN of every sample when an ALT is a gVCF ``<*>``/``<NON_REF>`` (else [])."""
    if len(fields) <= 9 or not any(a in _GVCF for a in fields[4].split(b",")):
        return []
    keys = fields[8].split(b":")
    if b"LEN" not in keys:
        return []
    k = keys.index(b"LEN")
    out = []
    for sample in fields[9:]:
        parts = sample.split(b":")
        if k < len(parts):
            out.append(atoll(parts[k]))
    return out


def tabix_end(fields: Sequence[bytes], beg: int, end: int) -> int:
    """The end tabix gives a split VCF line, from ``beg`` (POS-1) and ``end`` (max(POS, 1))."""
    reflen = len(fields[3])
    if reflen:
        end = beg + reflen
    info = fields[7] if len(fields) > 7 else b""
    if info:
        at = _find_key(info, b"END")
        if at >= 0 and info[at:at + 1] != b".":
            value = atoll(info[at:])
            if value > beg:
                end = value
    alts = [] if len(fields) < 5 or fields[4] in (b".", b"") else fields[4].split(b",")
    svlen = 0
    at = _find_key(info, b"SVLEN") if info else -1
    if at >= 0:
        sv = [svlen_applies(a) for a in alts]
        rest = info[at:]
        # tbx_parse1 walks commas from SVLEN= to the end of the INFO column (not just SVLEN's)
        for d in range(1, len(alts) + 1):
            value = abs(atoll(rest)) if any(sv) and sv[d - 1] else 1
            svlen = max(svlen, value)
            comma = rest.find(b",")
            if comma < 0:
                break
            rest = rest[comma + 1:]
    fmtlen = max(format_lens(fields), default=0)
    return max(end, beg + max(reflen, svlen, fmtlen))
