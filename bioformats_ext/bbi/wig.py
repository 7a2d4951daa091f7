"""bigWig data: the section layout and a reader built on the bigBed reader's layers.

A bigWig shares everything with a bigBed (header, zoom levels, total summary, chromosome B+ tree,
R-trees, zlib blocks) except the magic and what a data block holds: one *section*, a 24-byte
header (``chromId, start, end, itemStep, itemSpan, type, reserved, itemCount``) followed by
``itemCount`` items of one of three types:

* 1, bedGraph: ``start, end, value`` (12 bytes);
* 2, variableStep: ``start, value`` (8 bytes), each ``itemSpan`` long;
* 3, fixedStep: ``value`` (4 bytes), the i-th at ``start + i * itemStep``, ``itemSpan`` long.

Every section is decoded in one ``np.frombuffer`` (no per-item Python), into int64 starts/ends and
float32 values: the three types look the same to everything above this module.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO, Sequence, cast

import numpy as np

from ..errors import FormatError, TruncatedFileError, UnknownReferenceError
from ..io.source import ByteSource
from ._lru import LRU
from .autosql import AutoSqlTable
from .blocks import read_adjacent
from .wig_inflate import Inflater
from .wig_leaves import LeafLists, is_local
from .format import BIGWIG_MAGIC
from .reader import WINDOW_BYTES, BigBedReader, _windows

SECTION_HEADER_SIZE = 24
BEDGRAPH, VARSTEP, FIXEDSTEP = 1, 2, 3
_EMPTY_I = np.zeros(0, np.int64)
_EMPTY_F = np.zeros(0, np.float32)


def section_header(byteorder: str) -> struct.Struct:
    return struct.Struct(byteorder + "IIIIIBxH")


class Section:
    """One decoded section: chromosome id, int64 ``starts``/``ends``, float32 ``values``."""

    __slots__ = ("chrom", "starts", "ends", "values", "kind", "_lists")

    def __init__(self, chrom: int, starts: np.ndarray, ends: np.ndarray, values: np.ndarray,
                 kind: int):
        self.chrom = chrom
        self.starts = starts
        self.ends = ends
        self.values = values
        self.kind = kind

    def __len__(self) -> int:
        return len(self.starts)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Index range of the items overlapping ``[start, end)`` (items are sorted and
        non-overlapping in a valid file, so two binary searches)."""
        lo = int(self.ends.searchsorted(start, "right"))
        hi = int(self.starts.searchsorted(end, "left"))
        return lo, max(lo, hi)


def parse_section(data: bytes, byteorder: str, offset: int = 0) -> Section:
    """Decode one (decompressed) data block."""
    if len(data) < SECTION_HEADER_SIZE:
        raise TruncatedFileError("bigWig block shorter than its section header", offset)
    chrom, start, end, step, span, kind, count = section_header(byteorder).unpack_from(data, 0)
    bo = byteorder
    if kind == BEDGRAPH:
        size = 12
    elif kind in (VARSTEP, FIXEDSTEP):
        size = 8 if kind == VARSTEP else 4
    else:
        raise FormatError(f"unknown bigWig section type {kind}", offset)
    if SECTION_HEADER_SIZE + count * size > len(data):
        raise TruncatedFileError(f"bigWig section of {count} items runs past its block", offset)
    # a plain uint32 matrix (columns viewed as float32 where needed) is about twice as
    # fast to split as a structured dtype, and sections are decoded per window
    if kind == BEDGRAPH:
        items = np.frombuffer(data, bo + "u4", 3 * count, SECTION_HEADER_SIZE).reshape(count, 3)
        starts = items[:, 0].astype(np.int64)
        ends = items[:, 1].astype(np.int64)
        values = items[:, 2].view(bo + "f4").astype(np.float32)
    elif kind == VARSTEP:
        items = np.frombuffer(data, bo + "u4", 2 * count, SECTION_HEADER_SIZE).reshape(count, 2)
        starts = items[:, 0].astype(np.int64)
        ends = starts + span
        values = items[:, 1].view(bo + "f4").astype(np.float32)
    else:
        values = np.frombuffer(data, bo + "f4", count, SECTION_HEADER_SIZE).astype(np.float32)
        starts = start + step * np.arange(count, dtype=np.int64)
        ends = starts + span
    if count and (bool((ends < starts).any())):
        raise FormatError("bigWig item ends before it starts", offset)
    if count > 1 and bool((starts[1:] < starts[:-1]).any()):
        raise FormatError("bigWig section items are not sorted", offset)
    return Section(chrom, starts, ends, values, kind)


SUBWINDOW = 1 << 20
"""Long queries are answered in sub-windows of this many bases: the blocks, item arrays and
temporaries of one sub-window are all that is held besides the answer, whatever the
chromosome's size (a whole 250 Mbp chromosome costs its output plus a few MB)."""


class BigWigReader(BigBedReader):
    """Format-level bigWig access: the bigBed reader's header / trees / zoom / remote reads,
    with section decoding instead of BED records. See :class:`bioformats_ext.bigwig.BigWigFile`.

    Region queries take a fast path when the blocks are bedGraph sections of sorted,
    non-overlapping items (every file our writer, bedGraphToBigWig or pybigtools makes): the
    inflated blocks' items are joined into one uint32 matrix and the whole window is then a
    dozen numpy calls, whatever the number of blocks. Anything else (variableStep, fixedStep,
    unsorted or overlapping items, corrupt sections) goes through :class:`Section` objects.
    Inflated blocks are kept in an LRU (``block_cache`` bytes), so nearby or repeated windows
    neither read nor inflate a block again.
    """

    MAGIC = BIGWIG_MAGIC

    def __init__(self, source: "str | os.PathLike[str] | BinaryIO | ByteSource",
                 node_cache: int = 256, block_cache: int = 64 << 20):
        super().__init__(source, node_cache, block_cache)
        self._inflated: LRU[bytes] = LRU(1 << 20, block_cache)
        self.on_close.append(self._inflated.clear)
        self._inflate: Inflater | None = None
        self._leaves = LeafLists(self.rtree, self.chrom_sizes) if is_local(self.source) \
            else None
        self._header_struct = section_header(self.byteorder)
        self._u4 = np.dtype(self.byteorder + "u4")
        self._f4 = np.dtype(self.byteorder + "f4")
        self._item = np.dtype([("bounds", self.byteorder + "u8"), ("value", self._f4)])

    def _read_autosql(self) -> AutoSqlTable:
        self.autosql_text = None
        return AutoSqlTable("bigWig", "", [])

    def chrom_id(self, chrom: str) -> int:
        try:
            return self.chrom_ids[chrom]
        except KeyError:
            raise UnknownReferenceError(f"chromosome {chrom!r} is not in this bigWig") from None

    # -- blocks ----------------------------------------------------------------------------------
    def inflated(self, ranges: Sequence[tuple[int, int]], store: bool = True,
                 local: "dict[int, bytes] | None" = None) -> list[bytes]:
        """Inflated bytes of the blocks at ``(offset, size)``: from the LRU (or ``local``, a
        caller's own small map), the rest in one batched read with back-to-back blocks
        coalesced. ``store``: put new blocks in the LRU (long scans pass False and a
        ``local`` map, so they neither evict useful blocks nor read a shared block twice)."""
        cache = self._inflated
        datas: list[bytes | None] = []
        todo: list[tuple[int, int]] = []
        for rng in ranges:
            data = cache.get(rng[0])
            if data is None and local is not None:
                data = local.get(rng[0])
            if data is None:
                todo.append(rng)
            datas.append(data)
        if todo:
            todo = list(dict.fromkeys(todo))
            compressed = self.header.compressed
            inflate = self._inflater()
            got: dict[int, bytes] = {}
            for (off, _size), raw in zip(todo, read_adjacent(self.source, todo)):
                data = inflate(raw, off) if compressed else bytes(raw)
                got[off] = data
                if store:
                    cache.put(off, data, len(data) + 64)
            if local is not None:
                local.update(got)
            datas = [got[rng[0]] if d is None else d for d, rng in zip(datas, ranges)]
        return cast("list[bytes]", datas)

    def _inflater(self) -> Inflater:
        """The data blocks' inflater, its first hint the size of a full bedGraph section
        (``itemsPerSlot`` items; fixedStep and variableStep sections are smaller)."""
        if self._inflate is None:
            per = self.rtree.items_per_slot or 0
            guess = SECTION_HEADER_SIZE + 12 * per if per else self.header.uncompressBufSize
            self._inflate = Inflater(min(guess, self.header.uncompressBufSize or guess),
                                     self._inflate_limit)
        return self._inflate

    def load_sections(self, ranges: Sequence[tuple[int, int]], use_cache: bool = True
                      ) -> list[Section]:
        """Decoded sections at ``(offset, size)`` (inflated blocks from the LRU, the others
        in one batched read)."""
        datas = self.inflated(ranges, store=use_cache)
        return [self._parse(data, off) for (off, _), data in zip(ranges, datas)]

    def _parse(self, data: bytes, off: int) -> Section:
        sec = parse_section(data, self.byteorder, off)
        if sec.chrom >= len(self.chrom_names):
            raise FormatError("section with an unknown chromosome id", off)
        return sec

    def _decode(self, todo: list[tuple[int, int]]):
        """``(offset, Section)`` for each range: one batched read, then each block inflated
        (within the reader's bound) and parsed only as it is consumed (full scans)."""
        compressed = self.header.compressed
        inflate = self._inflater()
        for (off, _size), raw in zip(todo, read_adjacent(self.source, todo)):
            data = inflate(raw, off) if compressed else bytes(raw)
            yield off, self._parse(data, off)

    # -- the bedGraph fast path ------------------------------------------------------------------
    def _bedgraph(self, datas: list[bytes], cid: int) -> "tuple[np.ndarray, np.ndarray] | None":
        """``(bounds, values)`` of the blocks' items on ``cid``: ``bounds`` the uint32
        ``[s0, e0, s1, e1, ...]`` and ``values`` a float32 view (both in file byte order).
        None unless every block is a well-formed bedGraph section and the bounds never
        decrease (items sorted, non-overlapping, none ending before it starts): the caller
        then takes the general path, which handles or reports the rest."""
        unpack = self._header_struct.unpack_from
        nchrom = len(self.chrom_names)
        parts = []
        for data in datas:
            if len(data) < SECTION_HEADER_SIZE:
                return None
            chrom, _s, _e, _step, _span, kind, count = unpack(data, 0)
            if kind != BEDGRAPH or chrom >= nchrom or \
                    SECTION_HEADER_SIZE + 12 * count > len(data):
                return None
            if chrom == cid and count:
                parts.append(memoryview(data)[SECTION_HEADER_SIZE:
                                              SECTION_HEADER_SIZE + 12 * count])
        if not parts:
            return _EMPTY_I, _EMPTY_F
        items = np.frombuffer(parts[0] if len(parts) == 1 else b"".join(parts), self._item)
        # [s0, e0, s1, e1, ...] as uint32 (callers convert only what they keep), by one strided
        # copy of each item's first 8 bytes (a byte copy: any byte order): 2x faster than two
        # 4-byte copies, 8x faster than ``[:, :2].ravel()`` (numpy's 2-D copy loop)
        bounds = items["bounds"].copy().view(self._u4)
        if bool((bounds[1:] < bounds[:-1]).any()):
            return None
        return bounds, items["value"]

    def _window(self, cid: int, start: int, end: int, store: bool,
                local: "dict[int, bytes] | None" = None
                ) -> "tuple[np.ndarray, np.ndarray] | None":
        """:meth:`_bedgraph` for the blocks of one region (None: use the general path)."""
        ranges = self._ranges(cid, start, end)
        if len(ranges) > 1:
            ranges = list(dict.fromkeys(ranges))
        if not ranges:
            return _EMPTY_I, _EMPTY_F
        return self._bedgraph(self.inflated(ranges, store, local), cid)

    def _ranges(self, cid: int, start: int, end: int) -> list[tuple[int, int]]:
        """:meth:`RTree.ranges`; for local files from the chromosome's leaf lists."""
        if self._leaves is None:
            return self.rtree.ranges(cid, start, end)
        return self._leaves.ranges(cid, start, end)

    def _subwindows(self, start: int, end: int):
        """``(sub_start, sub_end, store)``: the region in SUBWINDOW pieces; only a region of
        one piece puts its blocks in the LRU."""
        if end - start <= SUBWINDOW:
            yield start, end, True
            return
        for a in range(start, end, SUBWINDOW):
            yield a, min(a + SUBWINDOW, end), False

    def values(self, cid: int, start: int, end: int) -> "np.ndarray | None":
        """Per-base float32 values of ``[start, end)`` (NaN where no item covers a base), in
        sub-windows of bounded memory; None when a block needs the general path."""
        n = end - start
        out: np.ndarray | None = None
        local: dict[int, bytes] = {}
        for a, b, store in self._subwindows(start, end):
            got = self._window(cid, a, b, store, local)
            if got is None:
                return None
            piece = _fill_sorted(*got, a, b)
            if a == start and b == end:
                return piece
            if out is None:
                out = np.empty(n, np.float32)
            out[a - start:b - start] = piece
            _keep_last(local)
        return out

    def region_arrays(self, cid: int, start: int, end: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """starts, ends, values of the items overlapping ``[start, end)`` (unclipped), sorted."""
        parts = []
        local: dict[int, bytes] = {}
        for a, b, store in self._subwindows(start, end):
            got = self._window(cid, a, b, store, local)
            if got is None:
                return self._region_arrays_general(cid, start, end)
            bounds, vals = got
            # items overlapping [a, b); in later sub-windows only those starting in it (the
            # others were taken by the sub-window before)
            lo, hi = _overlapping(bounds, a, b)
            if a > start:  # (zero-length items at ``a`` are interior here: taken)
                lo = int(bounds[0::2].searchsorted(a))
            if hi > lo:
                parts.append((bounds[2 * lo:2 * hi:2].astype(np.int64),
                              bounds[2 * lo + 1:2 * hi:2].astype(np.int64),
                              vals[lo:hi].astype(np.float32)))
            _keep_last(local)
        if not parts:
            return _EMPTY_I, _EMPTY_I, _EMPTY_F
        if len(parts) == 1:
            return parts[0]
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))  # type: ignore[return-value]

    # -- the general path ------------------------------------------------------------------------
    def _region_arrays_general(self, cid: int, start: int, end: int
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`region_arrays` through :class:`Section` objects: any section type, items in
        any order (sorted here), corrupt sections reported."""
        ranges = self.rtree.ranges(cid, start, end)
        if not ranges:
            return _EMPTY_I, _EMPTY_I, _EMPTY_F
        parts = []
        for batch, _ in _windows(list(dict.fromkeys(ranges)), WINDOW_BYTES, WINDOW_BYTES):
            for sec in self.load_sections(batch, use_cache=len(ranges) == len(batch)):
                if sec.chrom != cid or not len(sec):
                    continue
                lo, hi = sec.span(start, end)
                if hi > lo:
                    parts.append((sec.starts[lo:hi], sec.ends[lo:hi], sec.values[lo:hi]))
        if not parts:
            return _EMPTY_I, _EMPTY_I, _EMPTY_F
        if len(parts) == 1:
            s, e, v = parts[0]
        else:
            s = np.concatenate([p[0] for p in parts])
            e = np.concatenate([p[1] for p in parts])
            v = np.concatenate([p[2] for p in parts])
            if bool((s[1:] < s[:-1]).any()):
                order = np.argsort(s, kind="stable")
                s, e, v = s[order], e[order], v[order]
        # zero-length items never overlap (as in libBigWig)
        keep = (e > start) & (s < end)
        if not bool(keep.all()):
            s, e, v = s[keep], e[keep], v[keep]
        return s, e, v

    def all_sections(self, cid: int | None = None):
        """Every section (of one chromosome, or of the file), in file order, decoded in
        batches without touching the cache (a full scan would only evict useful sections)."""
        items = self.rtree.blocks(cid, 0, self.chrom_sizes[cid]) if cid is not None else \
            self.rtree.blocks(None)
        ranges = list(zip(items["offset"].tolist(), items["size"].tolist()))
        batch: list[tuple[int, int]] = []
        total = 0
        for rng in ranges:
            batch.append(rng)
            total += rng[1]
            if total >= (1 << 20):
                yield from (sec for _, sec in self._decode(batch))
                batch, total = [], 0
        if batch:
            yield from (sec for _, sec in self._decode(batch))


def _keep_last(local: dict[int, bytes]) -> None:
    """Between sub-windows keep only the last block read (the one a window boundary may
    share with the next sub-window)."""
    if len(local) > 1:
        last = max(local)
        data = local[last]
        local.clear()
        local[last] = data


def _overlapping(bounds: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """Index range of the items overlapping ``[start, end)`` from the nondecreasing bounds
    ``[s0, e0, s1, e1, ...]``: the first boundary after ``start`` lies in (odd index) or
    after (even) the first such item; the first boundary at or after ``end`` likewise.
    Zero-length items at either edge do not overlap, as in libBigWig."""
    # (keys of the bounds' type: a Python int key makes numpy search an int64 copy, ~3x slower)
    p = int(bounds.searchsorted(_key(start), "right"))
    q = int(bounds.searchsorted(_key(end), "left"))
    return p // 2, max(p // 2, (q + 1) // 2)


def _key(x: int) -> "np.uint32 | int":
    """``x`` as a uint32 search key when it is one."""
    return np.uint32(x) if 0 <= x <= 0xFFFFFFFF else x


def _fill_sorted(bounds: np.ndarray, vals: np.ndarray, start: int, end: int) -> np.ndarray:
    """Per-base float32 values of ``[start, end)`` from nondecreasing item bounds: one
    ``np.repeat`` over the alternating gap / item runs."""
    lo, hi = _overlapping(bounds, start, end)
    k = hi - lo
    if not k:
        return np.full(end - start, np.nan, np.float32)
    edges = np.empty(2 * k + 2, np.int64)
    edges[0] = start
    edges[1:-1] = bounds[2 * lo:2 * hi]
    edges[-1] = end
    # sorted bounds: only the first item can start before the window, the last end after it
    if edges[1] < start:
        edges[1] = start
    if edges[-2] > end:
        edges[-2] = end
    table = np.empty(2 * k + 1, np.float32)
    table[0::2] = np.nan
    table[1::2] = vals[lo:hi]
    return np.repeat(table, edges[1:] - edges[:-1])
