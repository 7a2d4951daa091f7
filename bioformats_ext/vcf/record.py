"""Variant records with pysam's ``VariantRecord`` vocabulary, parsed only when touched.

Two backings share one interface: :class:`TextRecord` keeps the VCF line and splits it on the
first access; :class:`BcfRecord` keeps the decompressed BCF bytes and an offset, reads the
fixed 32-byte prefix with one ``unpack_from`` and decodes the shared (INFO) and individual
(FORMAT) blocks only when ``info`` / ``samples`` are used — FORMAT arrays come out of the
block as numpy views, and Python objects are built for the values a caller reads.

Typing follows the header and pysam: Integer/Float → number, or a tuple unless Number=1;
Flag → True; String/Character → str; missing → None; ``GT`` → allele-index tuple with
``sample.phased``. A field that contradicts the header raises :class:`RecordError` naming the
line/record in strict mode; lenient mode warns once per key and keeps what it can (htslib).
"""

from __future__ import annotations

import re
import struct
import warnings
from typing import Any, Iterator, Mapping

import numpy as np

from ..errors import FormatError, RecordError
from .bcf_batch import ABSENT, LAZY
from .end_rule import rlen as text_rlen
from .header import FieldDef, VcfHeader

__all__ = ["RecordContext", "VariantRecord", "TextRecord", "BcfRecord", "Sample"]

_F32 = struct.Struct("<f")
_PREFIX = struct.Struct("<IIiiifHHI")
_INT_RE = re.compile(r"[+-]?\d+$")
_FLOAT_MISSING = 0x7F800001
_FLOAT_END = 0x7F800002
_DTYPES: dict[int, Any] = {1: np.dtype("i1"), 2: np.dtype("<i2"), 3: np.dtype("<i4"),
                           5: np.dtype("<f4")}
_SIZES = {0: 0, 1: 1, 2: 2, 3: 4, 5: 4, 7: 1}
_MISSING = {1: -128, 2: -32768, 3: -(1 << 31)}


class RecordContext:
    """What records of one file share: the header and the strictness policy."""

    def __init__(self, header: VcfHeader, strict: bool = True, name: str = "input"):
        self.header = header
        self.strict = strict
        self.name = name
        self._warned: set[str] = set()
        self.info_types = {k: d.type or "String" for k, d in header.info.items()}
        self.sample_index = {name: i for i, name in enumerate(header.samples)}

    def problem(self, key: str, message: str, where: str) -> None:
        if self.strict:
            raise RecordError(f"{self.name}: {where}: {message}")
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(f"{self.name}: {where}: {message} (further cases not reported)",
                          stacklevel=4)

    def definition(self, table: dict, kind: str, key: str, where: str) -> FieldDef:
        d = table.get(key)
        if d is None:
            self.problem(f"undeclared:{kind}/{key}", f"{kind} {key!r} is not declared in the "
                         f"header", where)
            d = FieldDef(key, 1, "String", "Dummy", -1)
            table[key] = d  # like htslib's dummy header line: warn once
        return d


def _f32(x: float) -> float:
    return _F32.unpack(_F32.pack(x))[0]


def _fmt_float(v: float) -> str:
    text = f"{v:g}"
    return text


# --------------------------------------------------------------------------------------------
# text values


def _text_number(raw: str, d: FieldDef, ctx: RecordContext, where: str) -> Any:
    if raw == ".":
        return None
    try:
        if d.type == "Integer":
            if _INT_RE.match(raw):
                return int(raw)
            raise ValueError
        return _f32(float(raw))
    except (ValueError, OverflowError):
        ctx.problem(f"value:{d.id}", f"{d.id}={raw[:40]!r} is not {d.type}", where)
        return None


def _str_value(text: str, number: Any) -> Any:
    """pysam's rule: a string is a tuple of its comma-separated parts unless Number=1 and
    it has no comma."""
    if number == 1 and "," not in text:
        return text
    return tuple(text.split(","))


def _shape(values: list, d: FieldDef, ctx: RecordContext, where: str, n_alts: int) -> Any:
    number = d.number
    if number == 1:
        if len(values) != 1:
            ctx.problem(f"number:{d.id}", f"{d.id} has {len(values)} values, Number=1", where)
            return tuple(values)
        return values[0]
    expected = (n_alts if number == "A" else n_alts + 1 if number == "R"
                else number if isinstance(number, int) else None)
    if expected is not None and values != [None] and len(values) != expected:
        ctx.problem(f"number:{d.id}", f"{d.id} has {len(values)} values, Number={number} "
                    f"means {expected}", where)
    return tuple(values)


def _text_value(raw: str | None, d: FieldDef, ctx: RecordContext, where: str, n_alts: int,
                fmt: bool = False) -> Any:
    t = d.type
    if t == "Flag":
        if raw is not None and not fmt:
            ctx.problem(f"flag:{d.id}", f"Flag {d.id} has a value", where)
            return raw
        return True
    if raw is None:
        ctx.problem(f"noval:{d.id}", f"{d.id} has no value but is {t}", where)
        return None
    if t in ("String", "Character"):
        return _str_value(raw, d.number)
    return _shape([_text_number(v, d, ctx, where) for v in raw.split(",")], d, ctx, where, n_alts)


# --------------------------------------------------------------------------------------------
# BCF typed values


def _desc(buf: bytes, off: int) -> tuple[int, int, int]:
    """``(type, count, offset after the descriptor)`` of a typed value."""
    b = buf[off]
    t, n = b & 0xF, b >> 4
    off += 1
    if n == 15:
        lt = buf[off] & 0xF
        size = _SIZES.get(lt, 0)
        if lt not in (1, 2, 3) or buf[off] >> 4 != 1:
            raise FormatError("bad typed-value length descriptor", off)
        n = int.from_bytes(buf[off + 1:off + 1 + size], "little", signed=True)
        off += 1 + size
        if n < 0:
            raise FormatError("negative typed-value length", off)
    if t not in _SIZES:
        raise FormatError(f"bad BCF value type {t}", off)
    return t, n, off


def _int1(buf: bytes, off: int) -> tuple[int, int]:
    t, n, off = _desc(buf, off)
    if t not in (1, 2, 3) or n != 1:
        raise FormatError("expected a typed integer key", off)
    size = _SIZES[t]
    return int.from_bytes(buf[off:off + size], "little", signed=True), off + size


def _bcf_values(buf: bytes, t: int, n: int, off: int) -> list:
    """Python values of one typed vector (missing → None, vector end dropped)."""
    if t == 7:
        return [buf[off:off + n]]
    if t == 0 or n == 0:
        return []
    arr = np.frombuffer(buf, _DTYPES[t], n, off)
    if t == 5:
        bits = arr.view("<u4")
        out = []
        for v, b in zip(arr.tolist(), bits.tolist()):
            if b == _FLOAT_END:
                break
            out.append(None if b == _FLOAT_MISSING else v)
        return out
    miss = _MISSING[t]
    out = []
    for v in arr.tolist():
        if v == miss + 1:
            break
        out.append(None if v == miss else v)
    return out


# --------------------------------------------------------------------------------------------
# records


class Sample(Mapping):
    """One sample's FORMAT values (``sample["GT"]``), ``phased``, ``alleles``, ``name``."""

    __slots__ = ("_record", "_index", "name")

    def __init__(self, record: "VariantRecord", index: int, name: str):
        self._record = record
        self._index = index
        self.name = name

    def __getitem__(self, key: str) -> Any:
        rec = self._record
        if key == "GT" and rec.__class__ is BcfRecord:  # the column, decoded per batch
            v = rec._b.gt_column(self._index)[rec._i]  # type: ignore[attr-defined]
            if v is not ABSENT and v is not LAZY:
                return v
        return rec._sample_value(key, self._index)

    def __iter__(self) -> Iterator[str]:
        return iter(self._record.format)

    def __len__(self) -> int:
        return len(self._record.format)

    @property
    def phased(self) -> bool:
        return self._record._phased(self._index)

    @property
    def alleles(self) -> tuple:
        gt = self.get("GT") if "GT" in self._record.format else None
        if gt is None:
            return ()
        alleles = self._record.alleles
        return tuple(None if a is None or a >= len(alleles) else alleles[a] for a in gt)

    def __repr__(self) -> str:
        return f"Sample({self.name!r}, {dict(self)!r})"


class Samples(Mapping):
    __slots__ = ("_record",)

    def __init__(self, record: "VariantRecord"):
        self._record = record

    def __getitem__(self, key: "str | int") -> Sample:
        ctx = self._record._ctx
        if key.__class__ is int:
            return Sample(self._record, key, ctx.header.samples[key])  # type: ignore[index]
        try:
            return Sample(self._record, ctx.sample_index[key], key)  # type: ignore[index,arg-type]
        except KeyError:
            if isinstance(key, int):
                return Sample(self._record, key, ctx.header.samples[key])
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._record._ctx.header.samples)

    def __len__(self) -> int:
        return len(self._record._ctx.header.samples)


class VariantRecord:
    """Fields shared by both backings; subclasses provide the raw accessors."""

    __slots__ = ("_ctx", "_where", "_info", "_fmt")
    _ctx: RecordContext
    _info: "dict | None"

    def _sample_value(self, key: str, index: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _phased(self, index: int) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def format(self) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError

    # subclasses implement: chrom, pos, id, ref, alts, qual, filter, rlen, _info_dict,
    # format, _sample_value, _phased, __str__
    chrom: str
    pos: int

    @property
    def contig(self) -> str:
        return self.chrom

    @property
    def start(self) -> int:
        return self.pos - 1

    @property
    def stop(self) -> int:
        return self.pos - 1 + self.rlen

    @property
    def rlen(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def alleles(self) -> tuple:
        alts = self.alts
        return (self.ref,) + (alts or ())

    @property
    def alts(self) -> "tuple | None":  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def ref(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def info(self) -> dict:
        if self._info is None:
            self._info = self._info_dict()
        return self._info

    def _info_dict(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def samples(self) -> Samples:
        return Samples(self)

    @property
    def header(self) -> VcfHeader:
        return self._ctx.header

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.chrom}:{self.pos} {self.ref}>{self.alts}>"


class TextRecord(VariantRecord):
    """A record backed by its VCF line."""

    __slots__ = ("line", "_cols", "_pos")

    def __init__(self, line: str, ctx: RecordContext, lineno: int | None = None):
        self.line = line
        self._ctx = ctx
        self._where = f"line {lineno}" if lineno is not None else "record"
        self._cols: list[str] | None = None
        self._pos: int | None = None
        self._info = None
        self._fmt = None

    def _c(self) -> list[str]:
        cols = self._cols
        if cols is None:
            cols = self._cols = self.line.split("\t")
            if len(cols) < 8:
                raise RecordError(f"{self._ctx.name}: {self._where}: {len(cols)} columns, "
                                  f"a VCF record needs 8")
        return cols

    @property
    def chrom(self) -> str:  # type: ignore[override]
        return self.line[:self.line.index("\t")] if self._cols is None else self._cols[0]

    @property
    def pos(self) -> int:  # type: ignore[override]
        p = self._pos
        if p is None:
            raw = self._c()[1]
            if not raw.isdigit():
                raise RecordError(f"{self._ctx.name}: {self._where}: POS {raw[:40]!r} is not "
                                  f"a position")
            p = self._pos = int(raw)
        return p

    @property
    def id(self) -> str | None:
        v = self._c()[2]
        return None if v == "." else v

    @property
    def ref(self) -> str:
        return self._c()[3]

    @property
    def alts(self) -> "tuple | None":
        v = self._c()[4]
        return None if v == "." else tuple(v.split(","))

    @property
    def qual(self) -> float | None:
        v = self._c()[5]
        if v == ".":
            return None
        try:
            return _f32(float(v))
        except ValueError:
            self._ctx.problem("qual", f"QUAL {v[:40]!r} is not a number", self._where)
            return None

    @property
    def filter(self) -> tuple:
        v = self._c()[6]
        if v == ".":
            return ()
        names = tuple(x for x in v.split(";") if x)
        for x in names:
            if x not in self._ctx.header.filters:
                self._ctx.problem(f"undeclared:FILTER/{x}", f"FILTER {x!r} is not declared in "
                                  f"the header", self._where)
        return names

    @property
    def rlen(self) -> int:
        cols = self._c()
        self.pos  # validates POS
        return text_rlen([c.encode() for c in cols], self._ctx.info_types)

    def _info_dict(self) -> dict:
        raw = self._c()[7]
        out: dict = {}
        if raw == ".":
            return out
        table = self._ctx.header.info
        n_alts = len(self.alts or ())
        for item in raw.split(";"):
            if not item:
                continue
            key, eq, value = item.partition("=")
            d = self._ctx.definition(table, "INFO", key, self._where)
            out[key] = _text_value(value if eq else None, d, self._ctx, self._where, n_alts)
        return out

    @property
    def format(self) -> tuple:
        cols = self._c()
        if len(cols) < 9 or cols[8] == ".":
            return ()
        return tuple(cols[8].split(":"))

    def _sample_fields(self, index: int) -> list[str]:
        cols = self._c()
        n = len(self._ctx.header.samples)
        if len(cols) < 9 + n:
            raise RecordError(f"{self._ctx.name}: {self._where}: {len(cols) - 9} sample "
                              f"columns, the header has {n}")
        return cols[9 + index].split(":")

    def _sample_value(self, key: str, index: int) -> Any:
        fmt = self.format
        if key not in fmt:
            raise KeyError(key)
        j = fmt.index(key)
        fields = self._sample_fields(index)
        raw = fields[j] if j < len(fields) else None
        if key == "GT":
            if raw is None:
                return (None,)
            parts = [a for a in re.split(r"[/|]", raw.lstrip("/|")) if a != ""]
            if not all(a == "." or a.isdigit() for a in parts):
                self._ctx.problem("value:GT", f"GT {raw[:40]!r} is not a genotype", self._where)
                return (None,)
            return tuple(None if a == "." else int(a) for a in parts) or (None,)
        d = self._ctx.definition(self._ctx.header.formats, "FORMAT", key, self._where)
        if d.type in ("String", "Character"):
            if raw is None:
                n = len(self._ctx.header.samples)
                if not any(j < len(self._sample_fields(i)) for i in range(n)):
                    return None  # no sample has it: BCF stores an empty column
                raw = "."
            return _str_value(raw, d.number)
        if raw is None:
            return None if d.number == 1 else (None,)
        return _text_value(raw, d, self._ctx, self._where, len(self.alts or ()), fmt=True)

    def _phased(self, index: int) -> bool:
        if "GT" not in self.format:
            return False
        raw = self._sample_fields(index)[self.format.index("GT")]
        seps = [c for c in raw.lstrip("/|") if c in "/|"]
        return all(c == "|" for c in seps)

    def __str__(self) -> str:
        return self.line


class InfoView(Mapping):
    """``record.info`` of a BCF record: one key is a column lookup in the record's batch (decoded
    for all records of the batch at once); iterating decodes this record's INFO fully."""

    __slots__ = ("_rec",)

    def __init__(self, rec: "BcfRecord"):
        self._rec = rec

    def __getitem__(self, key: str) -> Any:
        rec = self._rec
        v = rec._b.info_column(key)[rec._i]
        if v is ABSENT:
            raise KeyError(key)
        if v is LAZY:
            return rec._info_full()[key]
        return v

    def __iter__(self) -> Iterator[str]:
        return iter(self._rec._info_full())

    def __len__(self) -> int:
        return len(self._rec._info_full())

    def __repr__(self) -> str:
        return repr(dict(self._rec._info_full()))


class BcfRecord(VariantRecord):
    """A record backed by BCF bytes ``buf[off:off + size]``."""

    __slots__ = ("_b", "_i", "_fixed_t", "_decoded", "_indiv", "_view")
    _fixed_t: tuple
    _decoded: tuple
    _indiv: dict
    _view: "InfoView"

    def __init__(self, batch: Any, i: int):
        self._b = batch
        self._i = i
        self._ctx = batch.ctx
        # _fixed_t, _decoded, _indiv, _info and _view are filled on first use (slots left unset
        # until then: creating a record is three assignments)

    # the raw layout, from the batch
    @property
    def _where(self) -> str:  # type: ignore[override]
        return f"record {self._b.first + self._i}"

    @property
    def _buf(self) -> bytes:
        return self._b.buf

    @property
    def _off(self) -> int:
        return self._b.off_list[self._i]

    @property
    def _shared_end(self) -> int:
        return int(self._b.shared_end[self._i])

    @property
    def _n(self) -> int:
        return int(self._b.end[self._i]) - self._off

    @property
    def _fixed(self) -> tuple:
        try:
            return self._fixed_t
        except AttributeError:
            (l_shared, l_indiv, tid, pos, rlen, qual, n_info, n_allele,
             nfs) = _PREFIX.unpack_from(self._b.buf, self._off)
            f = self._fixed_t = (tid, pos, rlen, qual, n_info, n_allele, nfs >> 24,
                                 nfs & 0xFFFFFF)
            return f

    def raw(self) -> bytes:
        """The record's BCF bytes (valid for any file with the same header dictionary)."""
        return self._b.buf[self._off:self._off + self._n]

    @property
    def tid(self) -> int:
        return self._b.tid[self._i]

    @property
    def chrom(self) -> str:  # type: ignore[override]
        names = self._ctx.header.contig_names
        tid = self._b.tid[self._i]
        if not 0 <= tid < len(names) or names[tid] is None:
            raise FormatError(f"{self._ctx.name}: {self._where}: contig index {tid} is not in "
                              f"the header")
        return names[tid]  # type: ignore[return-value]

    @property
    def pos(self) -> int:  # type: ignore[override]
        return self._b.pos[self._i] + 1

    @property
    def rlen(self) -> int:
        return self._b.rlen[self._i]

    @property
    def info(self) -> "InfoView":  # type: ignore[override]
        return InfoView(self)  # a view: cheaper to make than to cache in a lazy slot

    def _info_full(self) -> dict:
        try:
            return self._info  # type: ignore[return-value]
        except AttributeError:
            d = self._info = self._info_dict()
            return d

    @property
    def qual(self) -> float | None:
        if struct.unpack_from("<I", self._buf, self._off + 20)[0] == _FLOAT_MISSING:
            return None
        return self._fixed[3]

    def _shared(self) -> tuple:
        try:
            return self._decoded
        except AttributeError:
            d = self._decoded = self._decode_shared()
        return d

    def _decode_shared(self) -> tuple:
        buf, off = self._buf, self._off + 32
        end = self._shared_end
        try:
            t, n, off = _desc(buf, off)
            ident = buf[off:off + n].decode(errors="replace") if t == 7 else ""
            off += n * _SIZES[t]
            alleles = []
            for _ in range(self._fixed[5]):
                t, n, off = _desc(buf, off)
                alleles.append(buf[off:off + n].decode(errors="replace"))
                off += n * _SIZES[t]
            t, n, off = _desc(buf, off)
            if t not in (0, 1, 2, 3):
                raise FormatError(f"FILTER has value type {t}, not an integer type", off)
            filters = [] if t == 0 or n == 0 else _bcf_values(buf, t, n, off)
            off += n * _SIZES[t]
            info_at = off
            if off > end:
                raise IndexError
        except (IndexError, ValueError, KeyError) as exc:
            if isinstance(exc, FormatError):
                raise FormatError(f"{self._ctx.name}: {self._where}: {exc}") from None
            raise FormatError(f"{self._ctx.name}: {self._where}: shared block is corrupt") from None
        return ident, alleles, filters, info_at

    @property
    def id(self) -> str | None:
        v = self._shared()[0]
        return None if v in ("", ".") else v

    @property
    def ref(self) -> str:
        a = self._shared()[1]
        return a[0] if a else ""

    @property
    def alts(self) -> "tuple | None":
        a = self._shared()[1]
        return tuple(a[1:]) if len(a) > 1 else None

    @property
    def filter(self) -> tuple:
        ids = self._ctx.header.ids
        out = []
        for i in self._shared()[2]:
            if i is None or not 0 <= i < len(ids) or ids[i] is None:
                raise FormatError(f"{self._ctx.name}: {self._where}: FILTER index {i} is not "
                                  f"in the header")
            out.append(ids[i])
        return tuple(out)

    def _key(self, i: int, kind: str) -> str:
        ids = self._ctx.header.ids
        if not 0 <= i < len(ids) or ids[i] is None:
            raise FormatError(f"{self._ctx.name}: {self._where}: {kind} key index {i} is not in "
                              f"the header")
        return ids[i]  # type: ignore[return-value]

    def _info_dict(self) -> dict:
        buf = self._buf
        off = self._shared()[3]
        end = self._shared_end
        out: dict = {}
        table = self._ctx.header.info
        n_alts = self._fixed[5] - 1
        try:
            for _ in range(self._fixed[4]):
                k, off = _int1(buf, off)
                key = self._key(k, "INFO")
                t, n, off = _desc(buf, off)
                size = n * _SIZES[t]
                if off + size > end:
                    raise FormatError("INFO value runs past the shared block", off)
                d = self._ctx.definition(table, "INFO", key, self._where)
                if d.type == "Flag":
                    out[key] = True
                elif t == 7:
                    text = buf[off:off + size].rstrip(b"\0").decode(errors="replace")
                    out[key] = _str_value(text, d.number)
                else:
                    vals = _bcf_values(buf, t, n, off)
                    out[key] = _shape(vals if vals else [None], d, self._ctx, self._where, n_alts)
                off += size
        except (IndexError, struct.error) as exc:
            raise FormatError(f"{self._ctx.name}: {self._where}: INFO is corrupt ({exc})") from None
        except FormatError as exc:
            raise FormatError(f"{self._ctx.name}: {self._where}: {exc}") from None
        return out

    def _decode_indiv(self) -> dict:
        """key → (type, width, array of shape (n_sample, width)); numpy views, no Python values."""
        try:
            return self._indiv
        except AttributeError:
            pass
        buf = self._buf
        off = self._shared_end
        end = self._off + self._n
        ns = self._fixed[7]
        d = {}
        try:
            for _ in range(self._fixed[6]):
                k, off = _int1(buf, off)
                key = self._key(k, "FORMAT")
                t, n, off = _desc(buf, off)
                size = n * ns * _SIZES[t]
                if off + size > end:
                    raise FormatError("FORMAT values run past the record", off)
                if t == 7:
                    arr: Any = np.frombuffer(buf, "S1", n * ns, off).reshape(ns, n) if n else None
                elif t == 0:
                    arr = None
                else:
                    arr = np.frombuffer(buf, _DTYPES[t], n * ns, off).reshape(ns, n)
                d[key] = (t, n, arr)
                off += size
        except (IndexError, ValueError, struct.error) as exc:
            raise FormatError(f"{self._ctx.name}: {self._where}: FORMAT is corrupt ({exc})") from None
        except FormatError as exc:
            raise FormatError(f"{self._ctx.name}: {self._where}: {exc}") from None
        self._indiv = d
        return d

    @property
    def format(self) -> tuple:
        return tuple(self._decode_indiv())

    def format_array(self, key: str) -> np.ndarray:
        """The raw (n_sample, width) array of a FORMAT key (BCF sentinels included)."""
        return self._decode_indiv()[key][2]

    def _sample_value(self, key: str, index: int) -> Any:
        if key == "GT":
            v = self._b.gt_column(index)[self._i]
            if v is ABSENT:
                raise KeyError(key)
            if v is not LAZY:
                return v
        indiv = self._decode_indiv()
        if key not in indiv:
            raise KeyError(key)
        t, n, arr = indiv[key]
        if arr is None:
            return None
        row = arr[index]
        if key == "GT" and t in (1, 2, 3):
            miss = _MISSING[t]
            out = []
            for v in row.tolist():
                if v == miss + 1:
                    break
                out.append(None if v == miss or (v >> 1) == 0 else (v >> 1) - 1)
            return tuple(out) if out else (None,)
        d = self._ctx.definition(self._ctx.header.formats, "FORMAT", key, self._where)
        if t == 7:
            return _str_value(row.tobytes().rstrip(b"\0").decode(errors="replace"), d.number)
        vals = _bcf_values(row.tobytes(), t, n, 0)
        if d.number == 1:
            return vals[0] if vals else None
        return tuple(vals) if vals else (None,)

    def _phased(self, index: int) -> bool:
        indiv = self._decode_indiv()
        if "GT" not in indiv:
            return False
        t, n, arr = indiv["GT"]
        if arr is None or t not in (1, 2, 3):
            return False
        end = _MISSING[t] + 1
        for i, v in enumerate(arr[index].tolist()):
            if v == end:
                break
            if i and not v & 1:
                return False
        return True

    def __str__(self) -> str:
        from .bcf_format import format_record

        return format_record(self)
