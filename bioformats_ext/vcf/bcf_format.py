"""BCF record → VCF text line, formatted as htslib's ``vcf_format`` does (``%g``-like floats,
``.`` for missing values, vector ends dropped, GT separators from the phase bits)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .bcf_record import BcfRecord

__all__ = ["format_record", "format_float"]

_FLOAT_MISSING = 0x7F800001
_FLOAT_END = 0x7F800002
_MISS = {1: -128, 2: -32768, 3: -(1 << 31)}


def format_float(v: float) -> str:
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    return f"{v:g}"


def _vector(arr: np.ndarray, t: int) -> str:
    if t == 5:
        bits = arr.view("<u4").tolist()
        out = []
        for v, b in zip(arr.tolist(), bits):
            if b == _FLOAT_END:
                break
            out.append("." if b == _FLOAT_MISSING else format_float(v))
        return ",".join(out) if out else "."
    miss = _MISS[t]
    out = []
    for v in arr.tolist():
        if v == miss + 1:
            break
        out.append("." if v == miss else str(v))
    return ",".join(out) if out else "."


def _gt(row: np.ndarray, t: int, v44: bool = False) -> str:
    end = _MISS[t] + 1
    parts = []
    values = []
    for i, v in enumerate(row.tolist()):
        if v == end:
            break
        values.append(v)
        allele = "." if (v >> 1) == 0 else str((v >> 1) - 1)
        parts.append(allele if i == 0 else ("|" if v & 1 else "/") + allele)
    if not parts:
        return "."
    if v44:  # VCF >= 4.4: write the first allele's phase when it cannot be inferred
        val0, ploidy = values[0], len(values)
        anyunphased = any(not v & 1 for v in values[1:])
        if val0 & 1:
            if (ploidy > 1 and anyunphased) or (ploidy <= 1 and not val0 >> 1):
                parts[0] = "|" + parts[0]
        elif (ploidy <= 1 and val0 != 0) or (ploidy > 1 and not anyunphased):
            parts[0] = "/" + parts[0]
    return "".join(parts)


def _v44(fileformat: str | None) -> bool:
    import re

    m = re.match(r"VCFv(\d+)\.(\d+)", fileformat or "")
    return m is not None and (int(m.group(1)), int(m.group(2))) >= (4, 4)


def format_record(rec: "BcfRecord") -> str:
    from .record import _DTYPES, _SIZES, _desc, _int1

    cols = [rec.chrom, str(rec.pos), rec.id or ".", rec.ref, ",".join(rec.alts or ()) or "."]
    qual = rec.qual
    cols.append("." if qual is None else format_float(qual))
    cols.append(";".join(rec.filter) or ".")
    buf = rec._buf
    off = rec._shared()[3]
    items = []
    for _ in range(rec._fixed[4]):
        k, off = _int1(buf, off)
        key = rec._key(k, "INFO")
        t, n, off = _desc(buf, off)
        size = n * _SIZES[t]
        if t == 0 or n == 0:
            items.append(key)
        elif t == 7:
            text = buf[off:off + size].rstrip(b"\0").decode(errors="replace")
            items.append(f"{key}={text}")
        else:
            items.append(f"{key}={_vector(np.frombuffer(buf, _DTYPES[t], n, off), t)}")
        off += size
    cols.append(";".join(items) or ".")
    indiv = rec._decode_indiv()
    ns = rec._fixed[7]
    if rec._ctx.header.samples:
        if not indiv:
            cols.append(".")
            cols.extend(["."] * ns)
        else:
            cols.append(":".join(indiv))
            per_key = []
            for key, (t, n, arr) in indiv.items():
                if arr is None:
                    per_key.append(["."] * ns)
                elif key == "GT" and t in (1, 2, 3):
                    v44 = _v44(rec._ctx.header.fileformat)
                    per_key.append([_gt(arr[i], t, v44) for i in range(ns)])
                elif t == 7:
                    per_key.append([arr[i].tobytes().rstrip(b"\0").decode(errors="replace") or "."
                                    for i in range(ns)])
                else:
                    per_key.append([_vector(arr[i], t) for i in range(ns)])
            for i in range(ns):
                cols.append(":".join(values[i] for values in per_key))
    return "\t".join(cols)
