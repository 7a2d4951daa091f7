"""BCF-backed records: :class:`BcfRecord` (a view of one record in a :class:`~.bcf_batch.BcfBatch`)
and its ``info`` mapping. Values a batch column can serve (INFO scalars, GT) come from there;
everything else is decoded from the record's bytes on first use, with typed errors naming the
record.
"""

from __future__ import annotations

import struct
from typing import Any, Iterator, Mapping

import numpy as np

from ..errors import FormatError
from .bcf_batch import ABSENT, LAZY
from .record import (
    _DTYPES,
    _FLOAT_END,
    _FLOAT_MISSING,
    _MISSING,
    _PREFIX,
    _SIZES,
    Sample,
    Samples,
    VariantRecord,
    _desc,
    _int1,
    _shape,
    _str_value,
)

__all__ = ["BcfRecord", "InfoView", "_desc", "_int1", "_bcf_values"]


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



class InfoView(Mapping):
    """``record.info`` of a BCF record: one key is a column lookup in the record's batch (decoded
    for all records of the batch at once); iterating decodes this record's INFO fully."""

    __slots__ = ("_rec",)

    def __init__(self, rec: "BcfRecord"):
        self._rec = rec

    def __getitem__(self, key: str) -> Any:
        rec = self._rec
        b = rec._b
        col = b._info_cols.get(key)  # inlined cache hit: this is the per-record hot path
        if col is None:
            col = b.info_column(key)
        v = col[rec._i]
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


class BcfSample(Sample):
    """A sample of a BCF record: ``GT`` is a lookup in the batch's column (decoded per batch)."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        if key == "GT":
            rec = self._record
            b = rec._b  # type: ignore[attr-defined]
            col = b._gt_cols.get(self._index)
            if col is None:
                col = b.gt_column(self._index)
            v = col[rec._i]  # type: ignore[attr-defined]
            if v is not ABSENT and v is not LAZY:
                return v
        return self._record._sample_value(key, self._index)


class BcfSamples(Samples):
    __slots__ = ()
    _sample = BcfSample

    def __getitem__(self, key: "str | int") -> Sample:
        rec = self._record
        if key.__class__ is int and 0 <= key < rec._ctx.n_samples:  # type: ignore[operator]
            return BcfSample(rec, key)  # type: ignore[arg-type]
        return Samples.__getitem__(self, key)


class BcfRecord(VariantRecord):
    """A record backed by BCF bytes ``buf[off:off + size]``."""

    __slots__ = ("_b", "_i", "_fixed_t", "_decoded", "_indiv", "_view")
    _columnar = True
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
    def samples(self) -> BcfSamples:
        return BcfSamples(self)

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
        if self._fixed[6] and ns != self._ctx.n_samples:  # sample i would read another's values
            raise FormatError(f"{self._ctx.name}: {self._where}: record has {ns} samples, the "
                              f"header {self._ctx.n_samples}")
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
