"""Where a VCF record ends: the one place that knows htslib 1.24's rule.

A record covers more than ``len(REF)`` when ``INFO/END`` says so, when a ``<DEL>``/``<DUP>``/
``<INV>``/``<CNV>`` allele (or a sub-type such as ``<DEL:ME>``) has an ``INFO/SVLEN``, or when a
gVCF ``<*>``/``<NON_REF>`` block has ``FORMAT/LEN``. htslib applies this rule in two places
that differ by one base for SVLEN:

* ``tbx_parse1`` (tabix on VCF text; what a ``.tbi``/VCF ``.csi`` records): end =
  max(END if > beg, beg + max(len(REF), |SVLEN|, LEN));
* ``get_rlen`` (``bcf1_t.rlen``: BCF's rlen field, a BCF index and pysam's ``record.stop``):
  the SVLEN span starts *after* the padding base, so it reaches ``pos + |SVLEN| + 1``.

:func:`tabix_interval` and :func:`rlen` implement both from one field extraction
(:func:`end_inputs`), so the VCF.gz index, the BCF writer and ``record.stop`` agree with the
tool that made or will read the file.
"""

from __future__ import annotations

import re
from typing import Sequence

__all__ = ["svlen_applies", "tabix_interval", "rlen", "rlen_from_values", "end_inputs",
           "needs_rule"]

_GVCF = ("<*>", "<NON_REF>")
_LEADING_INT = re.compile(rb"\s*[+-]?\d+")


def svlen_applies(alt: str) -> bool:
    """Is SVLEN the reference length for this ALT (``<DEL>``, ``<DUP:TANDEM>``, ``<CNV>``...)?"""
    if len(alt) < 5 or alt[0] != "<" or alt[4] not in ">:" or alt[-1] != ">":
        return False
    return alt[1:4] in ("CNV", "DEL", "DUP", "INV")


def needs_rule(line: bytes) -> bool:
    """True when a line may end beyond ``len(REF)`` (a cheap substring test for batches)."""
    return b"END=" in line or b"SVLEN=" in line or b"<*>" in line or b"<NON_REF>" in line


def _atoll(raw: bytes) -> int:
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


def end_inputs(fields: Sequence[bytes]) -> tuple[int, int, list[str], bytes, list[int]]:
    """``(pos, len(REF), ALT alleles, INFO text, FORMAT/LEN values)`` of a split VCF line."""
    pos = int(fields[1])
    alts = [] if fields[4] in (b".", b"") else fields[4].decode(errors="replace").split(",")
    info = fields[7] if len(fields) > 7 else b""
    lens: list[int] = []
    if len(fields) > 9 and any(a in _GVCF for a in alts):
        keys = fields[8].split(b":")
        if b"LEN" in keys:
            k = keys.index(b"LEN")
            for sample in fields[9:]:
                parts = sample.split(b":")
                if k < len(parts):
                    lens.append(_atoll(parts[k]))
    return pos, len(fields[3]), alts, info, lens


def tabix_interval(line: bytes, lineno: int | None = None) -> tuple[str, int, int]:
    """``(chrom, beg, end)`` of a VCF data line exactly as ``tabix -p vcf`` indexes it."""
    from ..errors import RecordError

    fields = line.rstrip(b"\r\n").split(b"\t")
    if len(fields) < 4:
        raise RecordError(f"line {lineno}: {len(fields)} columns, need 4", lineno)
    try:
        pos, reflen, alts, info, lens = end_inputs(fields + [b""] * max(0, 5 - len(fields)))
    except ValueError:
        raise RecordError(f"line {lineno}: POS {fields[1][:40]!r} is not an integer",
                          lineno) from None
    beg = max(pos - 1, 0)
    end = max(pos, 1)
    if reflen:
        end = beg + reflen
    if info:
        at = _find_key(info, b"END")
        if at >= 0 and info[at:at + 1] != b".":
            value = _atoll(info[at:])
            if value > beg:
                end = value
    svlen = 0
    sv = [svlen_applies(a) for a in alts]
    at = _find_key(info, b"SVLEN") if info else -1
    if at >= 0:
        # tbx_parse1 walks commas from SVLEN= to the end of the INFO column (not just SVLEN's value)
        rest = info[at:]
        for d in range(1, len(alts) + 1):
            value = abs(_atoll(rest)) if any(sv) and sv[d - 1] else 1
            svlen = max(svlen, value)
            comma = rest.find(b",")
            if comma < 0:
                break
            rest = rest[comma + 1:]
    fmtlen = max(lens, default=0)
    return fields[0].decode(errors="replace"), beg, max(end, beg + max(reflen, svlen, fmtlen))


def rlen_from_values(pos0: int, ref_len: int, alts: Sequence[str], end: int | None,
                     svlen: Sequence[int | None] | None, fmt_len: Sequence[int | None] | None) -> int:
    """htslib's ``get_rlen`` from typed values: ``end`` = INFO/END (None when absent/missing),
    ``svlen`` = INFO/SVLEN values (None if absent), ``fmt_len`` = every FORMAT/LEN value."""
    end_v = end or 0
    length = 0
    if svlen is not None:
        for i, value in enumerate(svlen):
            if i + 1 >= len(alts) + 1:
                break
            if svlen_applies(alts[i]) and value is not None:
                length = max(length, abs(value))
    if not length and end_v:
        length = end_v - pos0 - 1 if end_v > pos0 else 0
    end_svlen = pos0 + length + 1
    length = 0
    gvcf = any(a in _GVCF for a in alts)
    if gvcf and fmt_len is not None:
        length = max((v for v in fmt_len if v is not None), default=0)
        length = max(length, 0)
    if not length and end_v:
        length = end_v - pos0 if end_v > pos0 else 0
    end_fmtlen = pos0 + length
    hpos = max(end_v, end_svlen, end_fmtlen)
    return max(hpos - pos0, ref_len)


def rlen(fields: Sequence[bytes], info_types: "dict[str, str] | None" = None) -> int:
    """``bcf1_t.rlen`` of a split VCF line (``record.stop - record.start``).

    ``info_types`` maps INFO ids to their header Type; END and SVLEN count only as Integer
    (htslib ignores them otherwise).
    """
    pos, reflen, alts, info, lens = end_inputs(fields)
    pos0 = pos - 1
    end: int | None = None
    svlen: list[int | None] | None = None
    if info and info != b".":
        for item in info.split(b";"):
            key, eq, value = item.partition(b"=")
            if key == b"END" and eq:
                if info_types is None or info_types.get("END") == "Integer":
                    first = value.split(b",")[0]
                    end = _atoll(first) if _LEADING_INT.match(first) else None
            elif key == b"SVLEN" and eq:
                if info_types is None or info_types.get("SVLEN") == "Integer":
                    svlen = [(_atoll(v) if _LEADING_INT.match(v) else None)
                             for v in value.split(b",")]
    return rlen_from_values(pos0, reflen, alts, end, svlen, lens if lens else None)
