"""Read BAI / TBI / CSI files and answer "which chunks may hold records in (ref, beg, end)?".

:func:`read_index` validates every count against the bytes that remain before allocating, and
raises typed errors for wrong magic, truncation and absurd values. :meth:`IndexFile.query` follows
htslib's ``hts_itr_query``: candidate bins from ``reg2bins``, a minimum offset from the linear index
(BAI/TBI) or the bins' loffsets (CSI), a maximum offset from the next bin to the right, then
sorting and merging of the chunks.
"""

from __future__ import annotations

import os
import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from ..bgzf.blocks import is_gzip
from ..bgzf.reader import BgzfReader
from ..errors import FormatError, TruncatedFileError, UnknownReferenceError
from ..io.source import ByteSource, open_source
from .binning import bin_first, n_bins, pseudo_bin
from .builder import RefIndex
from .tabix_conf import TabixConfig

_U64_MAX = (1 << 64) - 1
#: Bin numbers are uint32 on disk, and depth 10 is the deepest scheme whose bins (and pseudo-bin)
#: fit; positions must fit a signed 64-bit integer (htslib's hts_pos_t), hence min_shift + 3*depth
#: <= 63. Depth 0 would make the bin walk of a query run below bin 0 forever.
MAX_CSI_DEPTH = 10
#: Largest (decompressed) index we load: real BAI/TBI/CSI files are a few MiB even for
#: terabyte BAMs, and the parsed chunk lists cost ~8x the bytes in Python objects.
MAX_INDEX_BYTES = 128 << 20


class _Cursor:
    """Bounds-checked little-endian reads over the decompressed index bytes."""

    def __init__(self, data: bytes, what: str):
        self.data = memoryview(data)
        self.pos = 0
        self.what = what

    def need(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.data):
            raise TruncatedFileError(f"{self.what}: truncated (needs {n} bytes, "
                                     f"{len(self.data) - self.pos} left)", self.pos)

    def unpack(self, fmt: struct.Struct) -> tuple:
        self.need(fmt.size)
        out = fmt.unpack_from(self.data, self.pos)
        self.pos += fmt.size
        return out

    def count(self, fmt: struct.Struct, item_size: int, label: str) -> int:
        (n,) = self.unpack(fmt)
        if n < 0 or n * item_size > len(self.data) - self.pos:
            raise FormatError(f"{self.what}: absurd {label} {n}", self.pos - fmt.size)
        return n

    def array_u64(self, n: int) -> np.ndarray:
        self.need(8 * n)
        out = np.frombuffer(self.data, dtype="<u8", count=n, offset=self.pos)
        self.pos += 8 * n
        return out

    def take(self, n: int) -> bytes:
        self.need(n)
        out = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return out


_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_BIN = struct.Struct("<Ii")
_CSI_BIN = struct.Struct("<IQi")


@dataclass
class IndexFile:
    """A loaded BAI, TBI or CSI."""

    format: str
    min_shift: int
    depth: int
    refs: list[RefIndex]
    n_no_coor: int = 0
    names: list[str] = field(default_factory=list)
    tabix: TabixConfig | None = None
    aux: bytes = b""

    @property
    def n_refs(self) -> int:
        return len(self.refs)

    @property
    def pseudo_bin(self) -> int:
        return pseudo_bin(self.depth)

    def tid(self, ref: "int | str") -> int:
        if isinstance(ref, str):
            try:
                return self.names.index(ref)
            except ValueError:
                raise UnknownReferenceError(f"reference {ref!r} is not in the index") from None
        return int(ref)

    def _meta(self, tid: int):
        if not 0 <= tid < len(self.refs):
            return None
        return self.refs[tid].bins.get(self.pseudo_bin)

    def mapped(self, ref: "int | str") -> int:
        meta = self._meta(self.tid(ref))
        return meta[1][0] if meta and len(meta) > 1 else 0

    def unmapped(self, ref: "int | str") -> int:
        meta = self._meta(self.tid(ref))
        return meta[1][1] if meta and len(meta) > 1 else 0

    def query(self, ref: "int | str", beg: int = 0, end: int = 1 << 62) -> list[tuple[int, int]]:
        """Merged ``(start_voffset, end_voffset)`` chunks that may hold records overlapping
        ``[beg, end)`` on ``ref`` (tid or, for tabix indexes, name) — as htslib's iterator.
        Works on the reference's arrays (:class:`_ParsedRef`): no per-bin Python objects."""
        tid = self.tid(ref)
        if tid < 0 or tid >= len(self.refs):
            return []
        ref_ix = self.refs[tid]
        arrays = ref_ix if isinstance(ref_ix, _ParsedRef) else _ParsedRef.of(ref_ix)
        where = arrays.where
        if not where:
            return []
        beg = max(beg, 0)
        if end < beg:
            return []
        nb = n_bins(self.depth)
        counts, chunks, loffs, firsts = arrays._counts, arrays._chunks, arrays._loffs, arrays.firsts
        meta = where.get(pseudo_bin(self.depth))
        unmapped = (int(chunks[firsts[meta] + 1, 1]) if meta is not None and counts[meta] > 1
                    else 1)

        def loff(b: int) -> int:
            i = where.get(b)
            return 0 if i is None else int(loffs[i])

        s = self.min_shift
        rel_off = beg >> s
        b = bin_first(self.depth) + rel_off
        while b > 0:  # strictly decreasing: at most 8 steps per level
            if b in where:
                break
            first = (((b - 1) >> 3) << 3) + 1
            b = b - 1 if b > first else (b - 1) >> 3
        found = b in where
        min_off = loff(b) if found else 0
        lin = arrays.linear
        if lin and rel_off < len(lin):
            if min_off < lin[rel_off]:
                min_off = lin[rel_off]
            if unmapped:
                tmp = rel_off - 1
                while tmp >= 0:
                    if lin[tmp] < min_off:
                        min_off = lin[tmp]
                        break
                    tmp -= 1
                if found and (min_off < loff(b) or tmp < 0):
                    min_off = loff(b)
        elif unmapped and found:
            min_off = loff(b)
        b = bin_first(self.depth) + ((end - 1) >> s) + 1
        if b >= nb:
            b = 0
        while True:
            while b % 8 == 1:
                b = (b - 1) >> 3
            if b == 0:
                max_off = _U64_MAX
                break
            i = where.get(b)
            if i is not None and counts[i]:
                max_off = int(chunks[firsts[i], 0])
                break
            b += 1
        hits = [where[qb] for qb in _candidate_bins(beg, end, s, self.depth, where)
                if qb in where]
        if not hits:
            return []
        hit = np.asarray(hits, np.int64)
        n = counts[hit]
        j = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)  # chunk number in its bin
        rows = np.repeat(firsts[hit], n) + j
        u, v = chunks[rows, 0], chunks[rows, 1]
        keep = (v > np.uint64(min_off)) & (u < np.uint64(max_off))
        if not keep.any():
            return []
        u = np.maximum(u[keep], np.uint64(min_off))
        v = np.minimum(v[keep], np.uint64(max_off))
        order = np.lexsort((j[keep], u))  # stable: ties keep the candidate-bin order
        pairs = list(zip(u[order].tolist(), v[order].tolist()))
        out = [list(pairs[0])]
        for cu, cv in pairs[1:]:            # drop chunks contained in the previous one
            if out[-1][1] < cv:
                out.append([cu, cv])
        for k in range(1, len(out)):       # resolve overlaps
            if out[k - 1][1] >= out[k][0]:
                out[k - 1][1] = out[k][0]
        merged = [out[0]]
        for cu, cv in out[1:]:             # merge chunks meeting in one block
            if merged[-1][1] >> 16 == cu >> 16:
                merged[-1][1] = cv
            else:
                merged.append([cu, cv])
        return [(cu, cv) for cu, cv in merged]

    def start_offset(self) -> int | None:
        """Smallest off_beg over references (where placed records start)."""
        offs = [m[0][0] for t in range(len(self.refs)) if (m := self._meta(t))]
        return min(offs) if offs else None


def _candidate_bins(beg: int, end: int, min_shift: int, depth: int, present: dict) -> list[int]:
    """:func:`reg2bins`, but never longer than the bins the reference has: a level whose range
    holds more bins than are present is answered from the present bins (a deep CSI queried over
    a long region would otherwise enumerate up to 8**depth numbers)."""
    if beg >= end:
        return []
    s = min_shift + 3 * depth
    end = min(end, 1 << s) - 1
    out: list[int] = []
    t = 0
    keys = None
    for level in range(depth + 1):
        lo, hi = t + (beg >> s), t + (end >> s)
        if hi - lo + 1 <= len(present):
            out.extend(range(lo, hi + 1))
        else:
            if keys is None:
                keys = sorted(present)
            out.extend(k for k in keys if lo <= k <= hi)
        s -= 3
        t += 1 << (3 * level)
    return out


class _ParsedRef(RefIndex):
    """A reference as read from disk: numpy arrays at once, the ``bins`` / ``loffsets`` dicts
    and ``linear`` list (what :meth:`IndexFile.query` and callers use) built on first access,
    so opening an index for one query never builds Python objects for the other references."""

    arrays = None  # a builder's serialisation arrays (samperf's RefIndex): none when read

    def __init__(self, ids: np.ndarray, counts: np.ndarray, chunks: np.ndarray,
                 loffs: np.ndarray, linear: np.ndarray | None):
        self._ids, self._counts, self._chunks = ids, counts, chunks
        self._loffs, self._lin = loffs, linear
        self._bins: dict[int, list[tuple[int, int]]] | None = None
        self._loff_dict: dict[int, int] | None = None
        self._linear: list[int] | None = None
        self._where: dict[int, int] | None = None
        # row of each bin's first chunk
        self.firsts = np.cumsum(counts) - counts if len(counts) else counts

    @classmethod
    def of(cls, ref: RefIndex) -> "_ParsedRef":
        """The arrays of a reference given as dicts (e.g. a builder's)."""
        items = list(ref.bins.items())
        ids = np.array([b for b, _ in items], np.int64)
        counts = np.array([len(c) for _, c in items], np.int64)
        flat = [x for _, c in items for pair in c for x in pair]
        chunks = np.array(flat, np.uint64).reshape(-1, 2)
        loffs = np.array([ref.loffsets.get(b, 0) for b, _ in items], np.uint64)
        out = cls(ids, counts, chunks, loffs, np.array(ref.linear, np.uint64))
        out._linear = list(ref.linear)
        return out

    @property
    def where(self) -> dict[int, int]:
        """Bin id -> its position in the arrays."""
        if self._where is None:
            self._where = dict(zip(self._ids.tolist(), range(len(self._ids))))
        return self._where

    @property  # type: ignore[override]
    def bins(self) -> dict[int, list[tuple[int, int]]]:
        if self._bins is None:
            pairs = list(zip(self._chunks[:, 0].tolist(), self._chunks[:, 1].tolist()))
            ids = self._ids.tolist()
            if bool((self._counts == 1).all()):  # one chunk per bin (sparse data): no slicing
                self._bins = dict(zip(ids, [[p] for p in pairs]))
            else:
                ends = np.cumsum(self._counts).tolist()
                self._bins = {b: pairs[e - n:e] for b, n, e in
                              zip(ids, self._counts.tolist(), ends)}
        return self._bins

    @bins.setter
    def bins(self, value: dict[int, list[tuple[int, int]]]) -> None:
        self._bins = value

    @property  # type: ignore[override]
    def loffsets(self) -> dict[int, int]:
        if self._loff_dict is None:
            self._loff_dict = dict(zip(self._ids.tolist(), self._loffs.tolist()))
        return self._loff_dict

    @loffsets.setter
    def loffsets(self, value: dict[int, int]) -> None:
        self._loff_dict = value

    @property  # type: ignore[override]
    def linear(self) -> list[int]:
        if self._linear is None:
            self._linear = [] if self._lin is None else self._lin.tolist()
        return self._linear

    @linear.setter
    def linear(self, value: list[int]) -> None:
        self._linear = value

    def __eq__(self, other: object) -> bool:  # also against a builder's RefIndex
        if not isinstance(other, RefIndex):
            return NotImplemented
        return (self.bins, self.linear, self.loffsets) == (other.bins, other.linear,
                                                           other.loffsets)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RefIndex(bins={self.bins!r}, linear={self.linear!r}, loffsets={self.loffsets!r})"


def _gather(u8: np.ndarray, at: np.ndarray, dtype: str) -> np.ndarray:
    """Little-endian numbers of ``dtype`` at byte offsets ``at`` (any alignment)."""
    width = np.dtype(dtype).itemsize
    return u8[at[:, None] + np.arange(width)].view(dtype).ravel()


def _bin_headers(cur: _Cursor, u8: np.ndarray, n_bin: int, hsize: int) -> np.ndarray:
    """Byte offsets of a reference's ``n_bin`` bin headers, starting at ``cur.pos``; leaves
    ``cur.pos`` after the last bin's chunks.

    Each bin's size depends on its chunk count, so the offsets form a chain. The chain is
    guessed with numpy assuming one chunk per bin (a sparse tabix index has little else) and
    checked in one pass: every offset up to the first disagreement is proven (each follows
    from the count read at the one before). A few rounds settle typical files; what remains
    (dense indexes) is walked one bin at a time. Errors name the first bad bin, in order."""
    size = len(u8)
    count_at = hsize - 4  # n_chunk is the last field of a bin header
    out: list[np.ndarray] = []
    pos = cur.pos
    done = 0
    for _ in range(8):
        m = n_bin - done
        if not m:
            break
        guess = pos + np.arange(m, dtype=np.int64) * (hsize + 16)
        counts = _gather(u8, np.minimum(guess + count_at, max(size - 4, 0)), "<i4").astype(np.int64)
        after = guess + hsize + 16 * counts
        wrong = np.flatnonzero(after[:-1] != guess[1:])
        proven = m if not len(wrong) else int(wrong[0]) + 1
        heads = guess[:proven]
        _check_bins(cur, heads, counts[:proven], hsize, size)
        out.append(heads)
        pos = int(after[proven - 1])
        done += proven
    if done < n_bin:  # many multi-chunk bins: one small read per bin
        rest = np.empty(n_bin - done, np.int64)
        unpack = _I32.unpack_from
        data = cur.data
        for i in range(n_bin - done):
            if pos + hsize > size:
                cur.pos = pos
                cur.need(hsize)
            (n_chunk,) = unpack(data, pos + count_at)
            if n_chunk < 0 or n_chunk * 16 > size - pos - hsize:
                raise FormatError(f"{cur.what}: absurd chunk count {n_chunk}", pos + count_at)
            rest[i] = pos
            pos += hsize + 16 * n_chunk
        out.append(rest)
    cur.pos = pos
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def _check_bins(cur: _Cursor, heads: np.ndarray, counts: np.ndarray, hsize: int,
                size: int) -> None:
    """The first bin (in file order) whose header or chunks run past the data: typed error."""
    bad = np.flatnonzero((heads + hsize > size) | (counts < 0) |
                         (counts * 16 > size - heads - hsize))
    if not len(bad):
        return
    i = int(bad[0])
    pos = int(heads[i])
    if pos + hsize > size:
        cur.pos = pos
        cur.need(hsize)
    raise FormatError(f"{cur.what}: absurd chunk count {int(counts[i])}", pos + hsize - 4)


def _filled_linear(lin: np.ndarray) -> np.ndarray:
    """htslib's repair of old linear indexes: zero entries after the first non-zero one take
    the next non-zero entry to their right."""
    n = len(lin)
    nz = np.flatnonzero(lin)
    if len(nz) and (lin[nz[0]:] == 0).any():
        idx = np.where(lin != 0, np.arange(n), n - 1)
        idx[nz[0]:] = np.minimum.accumulate(idx[nz[0]:][::-1])[::-1]
        lin = np.where(np.arange(n) < nz[0], lin, lin[idx])
    return lin


_EMPTY_I64 = np.zeros(0, np.int64)
_EMPTY_U64 = np.zeros(0, np.uint64)
_NO_CHUNKS = np.zeros((0, 2), np.uint64)


def _read_refs(cur: _Cursor, n_ref: int, csi: bool, depth: int) -> list[RefIndex]:
    """Every reference's bins (offsets found by :func:`_bin_headers`); ids, counts, chunks,
    loffsets and the linear index come out as numpy arrays (one gather each)."""
    nb = n_bins(depth)
    refs: list[RefIndex] = []
    u8 = np.frombuffer(cur.data, np.uint8)
    hsize = (_CSI_BIN if csi else _BIN).size
    for _ in range(n_ref):
        n_bin = cur.count(_I32, hsize, "bin count")
        if not n_bin:  # empty references (most of a BAM header's alts/decoys): no numpy
            n_intv = 0 if csi else cur.count(_I32, 8, "linear index size")
            lin = _filled_linear(cur.array_u64(n_intv).astype(np.uint64)) if n_intv else _EMPTY_U64
            refs.append(_ParsedRef(_EMPTY_I64, _EMPTY_I64, _NO_CHUNKS, _EMPTY_U64,
                                   None if csi else lin))
            continue
        heads = _bin_headers(cur, u8, n_bin, hsize)
        pos = cur.pos
        id_arr = _gather(u8, heads, "<u4").astype(np.int64)
        count_arr = _gather(u8, heads + hsize - 4, "<i4").astype(np.int64)
        firsts = heads + hsize
        if len(np.unique(id_arr)) != n_bin:
            ids = id_arr.tolist()
            dup = next(b for b, c in Counter(ids).items() if c > 1)
            raise FormatError(f"{cur.what}: duplicate bin {dup}", pos)
        total = int(count_arr.sum())
        at = np.repeat(firsts, count_arr)
        at += 16 * (np.arange(total) - np.repeat(np.cumsum(count_arr) - count_arr, count_arr))
        chunks = u8[at[:, None] + np.arange(16)].view("<u8").reshape(total, 2)
        if csi:
            refs.append(_ParsedRef(id_arr, count_arr, chunks, _gather(u8, heads + 4, "<u8"), None))
            continue
        n_intv = cur.count(_I32, 8, "linear index size")
        lin = _filled_linear(cur.array_u64(n_intv).astype(np.uint64))
        # a TBI/BAI bin's loffset is the linear-index entry of its first window
        level = np.zeros(n_bin, np.int64)
        rest = id_arr.copy()
        while (rest > 0).any():
            level += rest > 0
            rest = np.where(rest > 0, (rest - 1) >> 3, 0)
        first = ((1 << (3 * level)) - 1) // 7
        bot = (id_arr - first) << (3 * (depth - level)).clip(0)
        real = (id_arr < nb) & (bot < n_intv)
        loff_arr = np.zeros(n_bin, np.uint64)
        loff_arr[real] = lin[bot[real]]
        refs.append(_ParsedRef(id_arr, count_arr, chunks, loff_arr, lin))
    return refs


def _names(blob: bytes) -> list[str]:
    parts = blob.split(b"\0")
    if parts and parts[-1] == b"":
        parts.pop()
    return [p.decode("utf-8", "replace") for p in parts]


def parse_index(data: bytes, name: str = "index") -> IndexFile:
    """Parse index bytes (BAI raw, or TBI/CSI already BGZF-decompressed)."""
    cur = _Cursor(data, name)
    magic = cur.take(4) if len(data) >= 4 else b""
    if magic == b"BAI\1":
        n_ref = cur.count(_I32, 8, "reference count")
        refs = _read_refs(cur, n_ref, False, 5)
        return IndexFile("bai", 14, 5, refs, _tail(cur))
    if magic == b"TBI\1":
        n_ref = cur.count(_I32, 8, "reference count")
        conf: TabixConfig | None
        conf, l_nm = TabixConfig.unpack(cur.take(28))
        if l_nm < 0:
            raise FormatError(f"{name}: negative name length", cur.pos)
        names = _names(cur.take(l_nm))
        refs = _read_refs(cur, n_ref, False, 5)
        return IndexFile("tbi", 14, 5, refs, _tail(cur), names, conf)
    if magic == b"CSI\1":
        min_shift, depth, l_aux = cur.unpack(struct.Struct("<iiI"))
        if not (1 <= depth <= MAX_CSI_DEPTH) or not (1 <= min_shift <= 63 - 3 * depth):
            raise FormatError(f"{name}: invalid CSI parameters min_shift={min_shift} "
                              f"depth={depth} (need 1 <= depth <= {MAX_CSI_DEPTH} and "
                              f"1 <= min_shift <= 63 - 3*depth)", 4)
        aux = cur.take(l_aux)
        names = []
        conf = None
        if l_aux >= 28:
            conf, l_nm = TabixConfig.unpack(aux)
            if 0 <= l_nm <= l_aux - 28:
                names = _names(aux[28:28 + l_nm])
            else:
                conf = None
        n_ref = cur.count(_I32, 4, "reference count")
        refs = _read_refs(cur, n_ref, True, depth)
        return IndexFile("csi", min_shift, depth, refs, _tail(cur), names, conf, aux)
    raise FormatError(f"{name}: not a BAI/TBI/CSI index (magic {magic!r})", 0)


def _tail(cur: _Cursor) -> int:
    if len(cur.data) - cur.pos >= 8:
        return cur.unpack(_U64)[0]
    return 0  # optional in old files, like htslib


def read_index(source: "str | os.PathLike[str] | BinaryIO | bytes | ByteSource") -> IndexFile:
    """Load a BAI, TBI or CSI from a path, URL, file object, bytes or byte source."""
    src = open_source(source)
    name = getattr(src, "name", "index")
    try:
        head = src.read_upto(0, 4)
        if head == b"BAI\1":
            if src.size > MAX_INDEX_BYTES:
                raise FormatError(f"{name}: {src.size}-byte index is larger than the "
                                  f"{MAX_INDEX_BYTES >> 20} MiB limit", 0)
            data = src.read(0, src.size)
        elif is_gzip(src.read_upto(0, 18)):
            parts = []
            total = 0
            for _, block in BgzfReader(src).iter_blocks():  # each block <= 64 KiB (BGZF)
                total += len(block)
                if total > MAX_INDEX_BYTES:
                    raise FormatError(f"{name}: index inflates beyond the "
                                      f"{MAX_INDEX_BYTES >> 20} MiB limit", 0)
                parts.append(block)
            data = b"".join(parts)
        else:
            raise FormatError(f"{name}: not a BAI/TBI/CSI index (magic {head!r})", 0)
    finally:
        if src is not source:  # we opened it: the whole index is in memory now
            src.close()
    return parse_index(data, name)
