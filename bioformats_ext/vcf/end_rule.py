"""Where a VCF record ends: the one place that knows htslib 1.24's rule.

A record covers more than ``len(REF)`` when ``INFO/END`` says so, when a ``<DEL>``/``<DUP>``/
``<INV>``/``<CNV>`` allele (or a sub-type such as ``<DEL:ME>``) has an ``INFO/SVLEN``, or when a
gVCF ``<*>``/``<NON_REF>`` block has ``FORMAT/LEN``. htslib applies this rule in two places
that differ by one base for SVLEN:

* ``tbx_parse1`` (tabix on VCF text; what a ``.tbi``/VCF ``.csi`` records): end =
  max(END if > beg, beg + max(len(REF), |SVLEN|, LEN)) — :func:`tabix_interval`;
* ``get_rlen`` (``bcf1_t.rlen``: BCF's rlen field, a BCF index and pysam's ``record.stop``):
  the SVLEN span starts *after* the padding base, so it reaches ``pos + |SVLEN| + 1`` —
  :func:`rlen` / :func:`rlen_from_values`.

The tabix form is implemented in :mod:`bioformats_ext.index.vcf_end` (the tabix indexer and
reader sit below ``vcf`` and use it from there); this module is its public home. So the VCF.gz
index (``VcfWriter``, ``index_tabix``, ``TabixReader.fetch``), the BCF writer and
``record.stop`` all follow the tool that made or will read the file.
"""

from __future__ import annotations

import re
from typing import Sequence

from ..index.tabix_conf import get_config, parse_line
from ..index.vcf_end import atoll, format_lens, needs_rule, svlen_applies

__all__ = ["svlen_applies", "tabix_interval", "rlen", "rlen_from_values", "end_inputs",
           "needs_rule"]

_GVCF = ("<*>", "<NON_REF>")
_LEADING_INT = re.compile(rb"\s*[+-]?\d+")
_VCF = get_config("vcf")


def end_inputs(fields: Sequence[bytes]) -> tuple[int, int, list[str], bytes, list[int]]:
    """``(pos, len(REF), ALT alleles, INFO text, FORMAT/LEN values)`` of a split VCF line."""
    pos = int(fields[1])
    alts = [] if fields[4] in (b".", b"") else fields[4].decode(errors="replace").split(",")
    info = fields[7] if len(fields) > 7 else b""
    return pos, len(fields[3]), alts, info, format_lens(fields)


def tabix_interval(line: bytes, lineno: int | None = None) -> tuple[str, int, int]:
    """``(chrom, beg, end)`` of a VCF data line exactly as ``tabix -p vcf`` indexes it."""
    return parse_line(_VCF, line, lineno)


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
                    end = atoll(first) if _LEADING_INT.match(first) else None
            elif key == b"SVLEN" and eq:
                if info_types is None or info_types.get("SVLEN") == "Integer":
                    svlen = [(atoll(v) if _LEADING_INT.match(v) else None)
                             for v in value.split(b",")]
    return rlen_from_values(pos0, reflen, alts, end, svlen, lens if lens else None)
