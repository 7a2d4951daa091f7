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

__all__ = ["RecordContext", "VariantRecord", "TextRecord", "Sample", "Samples"]

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
        self.n_samples = len(header.samples)

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


class Sample(Mapping):
    """One sample's FORMAT values (``sample["GT"]``), ``phased``, ``alleles``, ``name``."""

    __slots__ = ("_record", "_index")

    def __init__(self, record: "VariantRecord", index: int):
        self._record = record
        self._index = index

    @property
    def name(self) -> str:
        return self._record._ctx.header.samples[self._index]

    def __getitem__(self, key: str) -> Any:
        rec = self._record
        if key == "GT" and rec._columnar:  # BCF: the column, decoded per batch
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
    _sample = Sample  # BCF records use a subclass with a column fast path for GT

    def __init__(self, record: "VariantRecord"):
        self._record = record

    def __getitem__(self, key: "str | int") -> Sample:
        rec = self._record
        if key.__class__ is int and 0 <= key < rec._ctx.n_samples:  # type: ignore[operator]
            return self._sample(rec, key)  # type: ignore[arg-type]
        try:
            return self._sample(rec, rec._ctx.sample_index[key])  # type: ignore[index]
        except KeyError:
            if isinstance(key, int):
                n = rec._ctx.n_samples
                if -n <= key < n:
                    return self._sample(rec, key % n)
                raise IndexError(f"sample index {key} out of range") from None
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._record._ctx.header.samples)

    def __len__(self) -> int:
        return len(self._record._ctx.header.samples)


class VariantRecord:
    """Fields shared by both backings; subclasses provide the raw accessors."""

    __slots__ = ("_ctx", "_where", "_info", "_fmt")
    _columnar = False  # BcfRecord: values come from its batch's columns
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


# -- BCF typed values (shared by bcf_record and bcf_format) --------------------

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
