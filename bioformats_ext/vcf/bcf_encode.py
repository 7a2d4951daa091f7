"""VCF text line → BCF 2.2 record bytes, choosing every type exactly as htslib's ``vcf_parse``.

Byte identity with ``bcftools view -Ou`` is the goal, so the quirks are kept: integers take the
smallest of int8/int16/int32 whose range (reserving the 8 lowest values of each for sentinels)
holds the non-missing values; a single INFO integer is a scalar; INFO floats are never padded;
FORMAT vectors are padded with end-of-vector to the widest sample; FORMAT strings are NUL-padded
to the longest (counting the ':' before every field but the first, as htslib's scan does);
``GT`` alleles are ``(index + 1) << 1 | phased`` with the first allele's phase bit inferred from
the others (htslib >= 1.23). A value htslib would silently turn into "missing" raises
:class:`RecordError` in strict mode and warns once per key otherwise; what htslib refuses to
write (undeclared contig/INFO/FORMAT/FILTER, wrong sample count) always raises.
"""

from __future__ import annotations

import math
import re
import struct
import warnings
from typing import Mapping, Sequence, TypeVar

from ..errors import RecordError
from .end_rule import rlen_from_values
from .header import VcfHeader

__all__ = ["BcfEncoder", "enc_size", "enc_int1", "enc_vint", "INT8_MISSING"]

INT8_MISSING, INT8_END = 0x80, 0x81
I32_MISSING, I32_END = -(1 << 31), -(1 << 31) + 1
FLOAT_MISSING = struct.pack("<I", 0x7F800001)
FLOAT_END = struct.pack("<I", 0x7F800002)
_MIN8, _MIN16, _MIN32 = -120, -32760, -2147483640
_PREFIX = struct.Struct("<IIiII4sHHI")
_STR_HEAD = [bytes(((n << 4) | 7,)) for n in range(15)]
_CACHE_MAX = 1 << 16
_F32 = struct.Struct("<f")
_INT_RE = re.compile(rb"[+-]?\d+")
_FLOAT_RE = re.compile(rb"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|(?i:inf(?:inity)?|nan))")
_NULL = b"\x00"
_CHAR_EMPTY = b"\x07"
_GT_KEY = b"GT"
_V = TypeVar("_V")


def enc_size(size: int, type_: int) -> bytes:
    """A typed-value descriptor (``bcf_enc_size``)."""
    if size < 15:
        return bytes(((size << 4) | type_,))
    if size < 128:
        return bytes((0xF0 | type_, 0x11, size))
    if size < 32768:
        return bytes((0xF0 | type_, 0x12)) + struct.pack("<h", size)
    return bytes((0xF0 | type_, 0x13)) + struct.pack("<i", size)


def enc_int1(x: int) -> bytes:
    """One typed integer (``bcf_enc_int1``)."""
    if x == I32_END:
        return b"\x11\x81"
    if x == I32_MISSING:
        return b"\x11\x80"
    if _MIN8 <= x <= 127:
        return bytes((0x11, x & 0xFF))
    if _MIN16 <= x <= 32767:
        return b"\x12" + struct.pack("<h", x)
    return b"\x13" + struct.pack("<i", x)


def enc_vint(values: Sequence[int], wsize: int = -1) -> bytes:
    """A typed integer vector (``bcf_enc_vint``); ``values`` use the int32 sentinels."""
    n = len(values)
    if n == 0:
        return _NULL
    if n == 1:
        return enc_int1(values[0])
    if wsize <= 0:
        wsize = n
    hi = max(values)
    lo = min((v for v in values if v > I32_END), default=0x7FFFFFFF)
    if hi <= 127 and lo >= _MIN8:
        return enc_size(wsize, 1) + bytes(INT8_END if v == I32_END else INT8_MISSING
                                          if v == I32_MISSING else v & 0xFF for v in values)
    if hi <= 32767 and lo >= _MIN16:
        return enc_size(wsize, 2) + struct.pack(
            f"<{n}h", *(-32767 if v == I32_END else -32768 if v == I32_MISSING else v
                        for v in values))
    return enc_size(wsize, 3) + struct.pack(f"<{n}i", *values)


def _f32(value: float) -> bytes:
    try:
        return _F32.pack(value)
    except OverflowError:
        return _F32.pack(math.copysign(math.inf, value))


class BcfEncoder:
    """Encode VCF data lines for one header. ``strict``: see the module docstring."""

    def __init__(self, header: VcfHeader, strict: bool = True):
        self.header = header
        self.strict = strict
        #: set while the batch encoder tries a value: any problem raises (it then falls back)
        self.probing = False
        self.n_samples = len(header.samples)
        self._warned: set[str] = set()
        self._contigs = {n.encode(): i for i, n in enumerate(header.contig_names) if n is not None}
        self._info: dict[bytes, tuple[bytes, str, int]] = {}
        for ident, d in header.info.items():
            self._info[ident.encode()] = (enc_int1(d.idx), d.type or "String", d.idx)
        self._fmt: dict[bytes, tuple[bytes, str]] = {}
        for ident, d in header.formats.items():
            self._fmt[ident.encode()] = (enc_int1(d.idx), d.type or "String")
        self._flt = {ident.encode(): d.idx for ident, d in header.filters.items()}
        self._end_is_int = header.info.get("END") is not None and header.info["END"].type == "Integer"
        self._svlen_is_int = (header.info.get("SVLEN") is not None
                              and header.info["SVLEN"].type == "Integer")
        self._len_is_int = (header.formats.get("LEN") is not None
                            and header.formats["LEN"].type == "Integer")
        self._prefixed_phasing = _version_at_least_44(header.fileformat)
        # encodings of repeated pieces (INFO items, QUAL, FILTER, whole FORMAT+sample columns);
        # only pieces that encoded without a problem and do not feed the end rule are kept
        self._info_cache: dict[bytes, bytes] = {}
        self._qual_cache: dict[bytes, bytes] = {b".": FLOAT_MISSING}
        self._flt_cache: dict[bytes, bytes] = {b".": _NULL}
        self._fmt_cache: dict[tuple, tuple] = {}
        self._allele_cache: dict[tuple[bytes, bytes], tuple[bytes, list[bytes]]] = {}

    # -- problems -------------------------------------------------------------------------------
    def _lenient(self, key: str, message: str, lineno: int | None, depth: int = 0) -> None:
        if self.strict or self.probing:
            raise RecordError(f"line {lineno}: {message}", lineno)
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(f"line {lineno}: {message} (set to missing; further cases of "
                          f"{key.split(':')[-1]} not reported)", stacklevel=4 + depth)

    def _number(self, raw: bytes, pattern: re.Pattern[bytes], kind: str, noun: str, key: str,
                lineno: int | None, junk_ok: bool) -> bytes | None:
        """The number ``raw`` holds (None: missing), as hts_str2int / hts_str2dbl read it: a value
        that is not wholly a number is reported, and trailing junk is an error where htslib
        rejects it (else the leading number is kept)."""
        m = pattern.match(raw)
        if m is not None and m.end() == len(raw):
            return raw
        if m is not None and not junk_ok:
            raise RecordError(f"line {lineno}: invalid character in FORMAT/{key} value "
                              f"{raw[:40]!r}", lineno)
        self._lenient(f"{kind}:{key}", f"{key} value {raw[:40]!r} is not {noun}", lineno, depth=1)
        return None if m is None else m.group()

    # -- value parsing like hts_str2int / hts_str2dbl -------------------------------------------
    def _int(self, raw: bytes, key: str, lineno: int | None, junk_ok: bool) -> int:
        if raw.isdigit() and len(raw) < 10:
            return int(raw)
        if raw == b".":
            return I32_MISSING
        text = self._number(raw, _INT_RE, "int", "an integer", key, lineno, junk_ok)
        if text is None:
            return I32_MISSING
        value = int(text)
        if not _MIN32 <= value <= 0x7FFFFFFF:
            self._lenient(f"range:{key}", f"{key} value {value} does not fit BCF's int32", lineno)
            return I32_MISSING
        return value

    def _float(self, raw: bytes, key: str, lineno: int | None, junk_ok: bool) -> bytes:
        if raw == b".":
            return FLOAT_MISSING
        m = _FLOAT_RE.match(raw)
        if m is not None and m.end() == len(raw):  # the common case, without a call
            return _f32(float(raw))
        text = self._number(raw, _FLOAT_RE, "float", "a number", key, lineno, junk_ok)
        return FLOAT_MISSING if text is None else _f32(float(text))

    # -- the record -----------------------------------------------------------------------------
    def encode(self, line: "bytes | str", lineno: int | None = None) -> tuple[bytes, int, int, int]:
        """``(record bytes, tid, pos0, rlen)`` for one VCF data line."""
        if isinstance(line, str):
            line = line.encode()
        line = line.rstrip(b"\r\n")
        f = line.split(b"\t")
        if len(f) < 8:
            raise RecordError(f"line {lineno}: {len(f)} columns, a VCF record needs 8", lineno)
        tid = self._contigs.get(f[0])
        if tid is None:
            raise RecordError(f"line {lineno}: contig {f[0].decode(errors='replace')!r} is not "
                              f"defined in the header (a BCF needs every ##contig)", lineno)
        raw_pos = f[1]
        if not raw_pos.isdigit():
            raise RecordError(f"line {lineno}: POS {raw_pos[:40]!r} is not a position", lineno)
        pos0 = int(raw_pos) - 1
        if pos0 >= 0x7FFFFFFF:
            raise RecordError(f"line {lineno}: POS {raw_pos.decode()} is too large for BCF", lineno)
        parts = []
        heads = _STR_HEAD
        ident = f[2]
        if ident == b".":
            parts.append(_CHAR_EMPTY)
        else:
            parts.append(heads[len(ident)] if len(ident) < 15 else enc_size(len(ident), 7))
            parts.append(ident)
        ref = f[3]
        alt = f[4]
        al = self._allele_cache.get((ref, alt))  # SNVs: a dozen REF/ALT pairs cover most lines
        if al is None:
            pieces = [heads[len(ref)] if len(ref) < 15 else enc_size(len(ref), 7), ref]
            alts_ = [] if alt == b"." else alt.split(b",")
            for a in alts_:
                pieces.append(heads[len(a)] if len(a) < 15 else enc_size(len(a), 7))
                pieces.append(a)
            if len(alts_) + 1 > 0xFFFF:
                raise RecordError(f"line {lineno}: too many ALT alleles", lineno)
            al = (b"".join(pieces), alts_)
            if len(self._allele_cache) < _CACHE_MAX:
                self._allele_cache[(ref, alt)] = al
        parts.append(al[0])
        alts = al[1]
        n_allele = 1 + len(alts)
        q = f[5]
        qual = self._qual_cache.get(q)
        if qual is None:
            m = _FLOAT_RE.match(q)
            if m is None or m.end() != len(q):
                self._lenient("qual:QUAL", f"QUAL {q[:40]!r} is not a number", lineno)
            qual = _f32(float(m.group())) if m is not None else _f32(0.0)
            if len(self._qual_cache) < _CACHE_MAX:
                self._qual_cache[q] = qual
        flt = f[6]
        flt_enc = self._flt_cache.get(flt)
        if flt_enc is not None:
            parts.append(flt_enc)
        else:
            if flt.endswith(b";"):
                flt = flt[:-1]
            flt_enc = enc_vint(_declared(self._flt, flt.split(b";"), "FILTER", lineno))
            parts.append(flt_enc)
            if len(self._flt_cache) < _CACHE_MAX:
                self._flt_cache[f[6]] = flt_enc
        end_v: int | None = None
        svlen: list | None = None
        n_info = 0
        info = f[7]
        if info != b".":
            if info.endswith(b";"):
                info = info[:-1]
            cache = self._info_cache
            for item in info.split(b";"):
                enc = cache.get(item)
                if enc is not None:
                    parts.append(enc)
                    n_info += 1
                    continue
                key, eq, val = item.partition(b"=")
                if not key:
                    continue
                enc, ints = self.info_item(key, eq, val, lineno)
                parts.append(enc)
                n_info += 1
                if ints is None:
                    if len(cache) < _CACHE_MAX:
                        cache[item] = enc
                elif key == b"END":
                    end_v = 0 if ints[0] == I32_MISSING else ints[0]
                else:
                    svlen = [None if v == I32_MISSING else v for v in ints]
            if n_info > 0xFFFF:
                raise RecordError(f"line {lineno}: too many INFO fields", lineno)
        shared = b"".join(parts)
        ns = self.n_samples
        if 0 < ns <= 8 and len(f) >= 9 and b"<" not in alt:  # gVCF LEN depends on ALT
            fkey = tuple(f[8:])
            hit = self._fmt_cache.get(fkey)
            if hit is None:
                hit = self._format(f, lineno, alts)
                if hit[3] is None and len(self._fmt_cache) < _CACHE_MAX:
                    self._fmt_cache[fkey] = hit
            indiv, n_fmt, n_sample, fmt_len = hit
        else:
            indiv, n_fmt, n_sample, fmt_len = self._format(f, lineno, alts)
        if end_v is None and svlen is None and fmt_len is None:
            rlen = len(ref) if len(ref) > 1 else 1
        else:
            rlen = rlen_from_values(pos0, len(ref), [a.decode(errors="replace") for a in alts],
                                    end_v, svlen, fmt_len)
        head = _PREFIX.pack(len(shared) + 24, len(indiv), tid, pos0 & 0xFFFFFFFF,
                            rlen & 0xFFFFFFFF, qual, n_info, n_allele, (n_fmt << 24) | n_sample)
        return head + shared + indiv, tid, pos0, rlen

    def info_item(self, key: bytes, eq: bytes, val: bytes, lineno: int | None
                  ) -> tuple[bytes, list[int] | None]:
        """One INFO ``key[=val]`` as BCF bytes, and its integer values when they feed the end
        rule (an Integer ``END`` or ``SVLEN``; None otherwise)."""
        spec = self._info.get(key)
        if spec is None:
            raise _undeclared("INFO", key, lineno)
        kbytes, type_, _ = spec
        if not eq:
            if type_ != "Flag":
                self._lenient(f"noval:{key.decode()}", f"INFO/{key.decode()} has no value "
                              f"but is declared {type_}", lineno, depth=1)
            return kbytes + _NULL, None
        if type_ in ("Flag", "String", "Character"):
            return kbytes + enc_size(len(val), 7) + val, None
        name = "INFO/" + key.decode()
        if type_ == "Integer":
            vals = [self._int(v, name, lineno, True) for v in val.split(b",")]
            enc = kbytes + (enc_int1(vals[0]) if len(vals) == 1 else enc_vint(vals))
            special = ((key == b"END" and self._end_is_int)
                       or (key == b"SVLEN" and self._svlen_is_int))
            return enc, vals if special else None
        vals_f = [self._float(v, name, lineno, True) for v in val.split(b",")]
        return kbytes + enc_size(len(vals_f), 5) + b"".join(vals_f), None

    # -- FORMAT ---------------------------------------------------------------------------------
    def _format(self, f: list[bytes], lineno: int | None, alts: list[bytes]):
        ns = self.n_samples
        if not ns:
            return b"", 0, 0, None
        if len(f) < 9:
            raise RecordError(f"line {lineno}: no FORMAT column but the header has {ns} samples",
                              lineno)
        if len(f) < 9 + ns:
            raise RecordError(f"line {lineno}: {len(f) - 9} sample columns, the header has {ns}",
                              lineno)
        if f[8] == b".":
            return b"", 0, ns, None
        keys = f[8].split(b":")
        if len(keys) > 255:
            raise RecordError(f"line {lineno}: more than 255 FORMAT keys", lineno)
        if len(set(keys)) != len(keys):
            raise RecordError(f"line {lineno}: duplicate FORMAT key in {f[8][:80]!r}", lineno)
        specs = _declared(self._fmt, keys, "FORMAT", lineno)
        nk = len(keys)
        cells = [s.split(b":") for s in f[9:9 + ns]]
        for c in cells:
            if len(c) > nk:
                raise RecordError(f"line {lineno}: a sample has more fields than FORMAT "
                                  f"{f[8][:80]!r}", lineno)
        out = []
        fmt_len = None
        gvcf = any(a in (b"<*>", b"<NON_REF>") for a in alts)
        for j, key in enumerate(keys):
            kbytes, type_ = specs[j]
            name = key.decode()
            column = [c[j] if j < len(c) else None for c in cells]
            out.append(kbytes)
            if type_ in ("String", "Character") and key == _GT_KEY:
                out.append(self._gt(column, lineno))
            elif type_ in ("String", "Character", "Flag"):
                width = max((len(v) + (1 if j else 0) for v in column if v is not None), default=0)
                out.append(enc_size(width, 7))
                for v in column:
                    if v is None:
                        v = b"." if width else b""
                    out.append(v + b"\0" * (width - len(v)))
            elif type_ == "Integer":
                rows: list[list[int] | None] = [
                    [self._int(x, "FORMAT/" + name, lineno, False) for x in v.split(b",")]
                        if v is not None else None for v in column]
                width = max((len(r) for r in rows if r is not None), default=1)
                flat = _padded(rows, width)
                out.append(enc_vint(flat, width))
                if key == b"LEN" and gvcf and self._len_is_int:
                    fmt_len = [0 if v in (I32_MISSING, I32_END) else v for v in flat]
            else:
                rows_f = [[self._float(x, "FORMAT/" + name, lineno, False)
                           if not (x[:1] == b"." and not x[1:2].isdigit()) else FLOAT_MISSING
                           for x in v.split(b",")] if v is not None else None for v in column]
                width = max((len(r) for r in rows_f if r is not None), default=1)
                out.append(enc_size(width, 5))
                for rf in rows_f:
                    if rf is None:
                        rf = [FLOAT_MISSING]
                    out.append(b"".join(rf) + FLOAT_END * (width - len(rf)))
        return b"".join(out), nk, ns, fmt_len

    def _gt(self, column: list, lineno: int | None) -> bytes:
        rows: list[list[int] | None] = []
        width = 1
        for v in column:
            if v is None:
                rows.append(None)
                continue
            g = 1 + v.count(b"/") + v.count(b"|")
            if g > width:
                width = g
            rows.append(self._gt_one(v, lineno))
        return enc_vint(_padded(rows, width), width)

    def _gt_one(self, v: bytes, lineno: int | None) -> list[int]:
        if v == b"0/1":
            return [2, 4]
        if v == b"0|1":
            return [3, 5]
        prefixed = False
        phased = 0
        i = 0
        if self._prefixed_phasing and v[:1] in (b"|", b"/"):
            phased = 1 if v[:1] == b"|" else 0
            prefixed = True
            i = 1
        out: list[int] = []
        anyunphased = False
        unknown1 = False
        n = len(v)
        while True:
            if i < n and v[i] == 46:  # '.'
                out.append(phased)
                i += 1
                if len(out) == 1:
                    unknown1 = True
            else:
                j = i
                while j < n and 48 <= v[j] <= 57:
                    j += 1
                if j == i:
                    if i >= n and not out:  # empty field
                        break
                    raise RecordError(f"line {lineno}: GT {v[:40]!r} is not a genotype", lineno)
                value = int(v[i:j])
                if value > (0x7FFFFFFF >> 1) - 1:
                    raise RecordError(f"line {lineno}: GT allele {value} is too large", lineno)
                out.append((value + 1) << 1 | phased)
                i = j
            if len(out) != 1 and not phased:
                anyunphased = True
            if i < n and v[i] in (124, 47):  # '|' '/'
                phased = 1 if v[i] == 124 else 0
                i += 1
                continue
            break
        if i != n:
            raise RecordError(f"line {lineno}: invalid character in GT {v[:40]!r}", lineno)
        if not out:
            return [0]
        if not prefixed:
            if len(out) == 1:
                if not unknown1:
                    out[0] |= 1
            elif not anyunphased:
                out[0] |= 1
        return out


def _padded(rows: list[list[int] | None], width: int) -> list[int]:
    """Per-sample integer vectors as BCF stores them: ``width`` values each, a sample without
    the key is one missing value, and shorter vectors end with the vector-end marker."""
    flat: list[int] = []
    for r in rows:
        if r is None:
            r = [I32_MISSING]
        flat.extend(r)
        flat.extend([I32_END] * (width - len(r)))
    return flat


def _undeclared(kind: str, name: bytes, lineno: int | None) -> RecordError:
    """The error for a FILTER/INFO/FORMAT name a record uses but the header does not declare
    (BCF stores header indexes, so there is nothing to fall back on)."""
    return RecordError(f"line {lineno}: {kind} {name.decode(errors='replace')!r} is not defined "
                       f"in the header", lineno)


def _declared(table: Mapping[bytes, _V], names: list[bytes], kind: str, lineno: int | None) -> list[_V]:
    """``table[name]`` for each name, or :func:`_undeclared`'s error for the first missing one."""
    out = []
    for name in names:
        value = table.get(name)
        if value is None:
            raise _undeclared(kind, name, lineno)
        out.append(value)
    return out


def _version_at_least_44(fileformat: str | None) -> bool:
    m = re.match(r"VCFv(\d+)\.(\d+)", fileformat or "")
    if m is None:
        return False
    return (int(m.group(1)), int(m.group(2))) >= (4, 4)
