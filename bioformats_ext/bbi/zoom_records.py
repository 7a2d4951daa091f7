"""Public access to zoom summary records, shared by the bigBed and bigWig readers.

Decoded zoom blocks are kept in a small LRU on the reader (like data blocks), so that binned
statistics over nearby or repeated windows do not inflate the same block again.
"""

from __future__ import annotations

import threading

import numpy as np

from ..errors import FormatError
from ._lru import LRU
from .wig_inflate import Inflater
from .wig_leaves import LeafLists, is_local
from .header import ZoomLevel
from .reader import BigBedReader
from .slabs import SlabArena

ZOOM_CACHE_BYTES = 32 << 20


def _cache(reader: BigBedReader) -> LRU:
    cache = getattr(reader, "_zoom_block_cache", None)
    if cache is None:
        cache = LRU(1 << 16, ZOOM_CACHE_BYTES)
        arena = SlabArena(ZOOM_CACHE_BYTES)
        reader._zoom_block_cache = cache  # type: ignore[attr-defined]
        reader._zoom_arena = arena  # type: ignore[attr-defined]

        def drop() -> None:  # on close: the blocks first, then the memory they were in
            cache.clear()
            arena.release()
        reader.on_close.append(drop)
    return cache


def _leaf_lists(reader: BigBedReader, level: ZoomLevel) -> LeafLists:
    """The zoom level's R-tree leaves as per-chromosome lists (local files)."""
    lists = getattr(reader, "_zoom_leaf_lists", None)
    if lists is None:
        lists = reader._zoom_leaf_lists = {}  # type: ignore[attr-defined]
    found = lists.get(level.indexOffset)
    if found is None:
        found = lists[level.indexOffset] = LeafLists(reader.zoom_tree(level), reader.chrom_sizes)
    return found


def block_ranges(reader: BigBedReader, level: ZoomLevel, cid: int, start: int, end: int
                 ) -> list[tuple[int, int]]:
    """``(offset, size)`` of the blocks of ``level`` that may hold records overlapping
    ``cid:start-end``, in file order (local files: from the chromosome's leaf lists)."""
    if is_local(reader.source):
        return _leaf_lists(reader, level).ranges(cid, start, end)
    return reader.zoom_tree(level).ranges(cid, start, end)


def zoom_blocks(reader: BigBedReader, level: ZoomLevel, cid: int, start: int, end: int,
                full: bool = True) -> "list[ZoomBlock]":
    """The decoded blocks of ``level`` that may hold records overlapping ``cid:start-end``, in
    file order; the ones not cached are read and inflated once (a local file block by block
    into a reused buffer, a remote one in one batched read). ``full``: with every field of
    the records (:attr:`ZoomBlock.words`), read again for a block cached without them."""
    local = is_local(reader.source)
    ranges = _leaf_lists(reader, level).ranges(cid, start, end) if local \
        else reader.zoom_tree(level).ranges(cid, start, end)
    if not ranges:
        return []
    cache: LRU[ZoomBlock] = _cache(reader)
    if len(ranges) > 1:
        ranges = list(dict.fromkeys(ranges))
        todo = [] if local else [r for r in ranges if cache.get(r[0]) is None]
        if len(todo) > 1:
            for (off, _size), raw in zip(todo, reader.source.read_many(todo)):
                new = _decode(reader, raw, off, full)
                cache.put(off, new, new.nbytes)
    out = []
    for off, size in ranges:
        block = cache.get(off)
        if block is None or (full and block.words is None):  # not read yet, evicted by a
            # huge query, or read for the fast statistics only
            block = _decode(reader, _read_scratch(reader, off, size), off, full)
            cache.put(off, block, block.nbytes)
        out.append(block)
    return out


_scratch = threading.local()


def _read_scratch(reader: BigBedReader, off: int, size: int) -> memoryview:
    """The ``size`` bytes at ``off`` in this thread's reused buffer (valid until its next
    read): compressed bytes are only needed until inflated."""
    buf = getattr(_scratch, "buf", None)
    if buf is None or len(buf) < size:
        buf = _scratch.buf = memoryview(bytearray(max(size, 64 << 10)))
    view = buf[:size]
    reader.source.read_into(off, view)
    return view


def zoom_records(reader: BigBedReader, level: "int | ZoomLevel", cid: int, start: int,
                 end: int) -> np.ndarray:
    """Zoom records of ``level`` (index into ``reader.zoom_levels`` or a ZoomLevel) that
    overlap ``cid:start-end``, as a structured array (fields ``chrom, start, end, valid, min,
    max, sum, sum_squares``; floats are the stored float32)."""
    if not isinstance(level, ZoomLevel):
        index = int(level)
        if not 0 <= index < len(reader.zoom_levels):
            raise ValueError(f"zoom level {index} does not exist: the file has "
                             f"{len(reader.zoom_levels)}")
        level = reader.zoom_levels[index]
    dtype = reader._lay.zoom_record_dtype
    parts = [block.overlap(cid, start, end) for block in zoom_blocks(reader, level, cid, start,
                                                                      end)]
    if not parts:
        return np.zeros(0, dtype)
    if len(parts) == 1:
        return parts[0]
    # as opaque 32-byte items: np.concatenate of structured arrays goes through dtype
    # promotion, ~10x slower
    raw = np.dtype(f"V{dtype.itemsize}")
    return np.concatenate([p.view(raw) for p in parts]).view(dtype)


def inflated(reader: BigBedReader, raw: "bytes | memoryview", off: int
             ) -> "bytes | memoryview":
    """A zoom block's records (inflated when the file is compressed), checked to be whole."""
    dtype = reader._lay.zoom_record_dtype
    header = reader.header
    if header.compressed:
        inflater = getattr(reader, "_zoom_inflater", None)
        if inflater is None:  # first hint: a full block of the first level's slot size
            per = reader.zoom_tree(reader.zoom_levels[0]).items_per_slot \
                if reader.zoom_levels else 0
            guess = dtype.itemsize * per if per else header.uncompressBufSize
            inflater = Inflater(min(guess, header.uncompressBufSize or guess),
                                reader._inflate_limit)
            reader._zoom_inflater = inflater  # type: ignore[attr-defined]
        data = inflater(raw, off)
    else:
        data = raw
    if len(data) % dtype.itemsize:
        raise FormatError("zoom block is not a whole number of records", off)
    return data


def _decode(reader: BigBedReader, raw: "bytes | memoryview", off: int, full: bool = True
            ) -> "ZoomBlock":
    return ZoomBlock(inflated(reader, raw, off), reader._lay.zoom_record_dtype, full,
                     getattr(reader, "_zoom_arena", None))


_FAST = np.array([1, 2, 3, 6, 7])  # start, end, valid, sum, sum of squares


class ZoomBlock:
    """One decoded zoom block. ``cols``: what the fast statistics need (:mod:`.zoom_bins`), a
    native uint32 (5, n) array of contiguous rows: start, end, valid and the float32 bits of
    sum and sum of squares (rows 0 and 1 are :attr:`starts` and :attr:`ends`, binary-searched
    per window). ``words``: every field, a native uint32 (n, 8) view of the inflated bytes
    (chrom, start, end, valid, then the float32 bits of min, max, sum, sum of squares), kept
    when ``full`` or not ``simple``: a block kept for the fast statistics holds 20 of the 32
    bytes of a record, and fresh memory costs a page fault per 4 KiB (measured 13 us for a
    32 KiB block, a quarter of its inflating). ``simple``: one chromosome, starts and ends sorted; then two
    binary searches find a window's records; ``widest``: the widest record then (2**32 when
    one is empty or ends before its start), else 0."""

    __slots__ = ("cols", "starts", "ends", "chrom", "simple", "widest", "words", "_dtype")

    def __init__(self, data: "bytes | bytearray | memoryview", dtype: np.dtype,
                 full: bool = True, arena: "SlabArena | None" = None):
        words = np.frombuffer(data, dtype["chrom"]).reshape(-1, 8)
        if not words.dtype.isnative:
            words = words.astype(np.uint32)
        self._dtype = dtype
        # one gather into contiguous rows, in recycled memory when the reader has an arena
        # (see .slabs: fresh pages cost a fault per 4 KiB)
        cols = None if arena is None else arena.empty((5, len(words)), np.uint32)
        self.cols = cols = words.T.take(_FAST, 0, cols)
        self.starts = starts = cols[0]
        self.ends = ends = cols[1]
        n = len(starts)
        chroms = words[:, 0]
        # one chromosome, starts and ends never decrease
        self.simple = n > 0 and (n == 1 or (
            bool((chroms == chroms[0]).all()) and bool((cols[:2, 1:] >= cols[:2, :-1]).all())))
        self.chrom = int(chroms[0]) if self.simple else -1
        # (uint32: an empty record, or one ending before its start, wraps to a huge width)
        self.widest = int((ends - starts - np.uint32(1)).max()) + 1 if self.simple else 0
        self.words: np.ndarray | None = None
        if full or not self.simple:  # (the fast path never takes a block that is not simple)
            self.words = words.copy() if isinstance(data, memoryview) else words  # (a reused
            # buffer: an uncompressed file's)

    @classmethod
    def from_parts(cls, cols: np.ndarray, dtype: np.dtype, simple: bool, chrom: int,
                   widest: int, words: "np.ndarray | None") -> "ZoomBlock":
        """A block decoded elsewhere (:mod:`.zoom_batch`, many blocks per numpy call), with
        the same fields and rules as :meth:`__init__`."""
        self = cls.__new__(cls)
        self._dtype = dtype
        self.cols = cols
        self.starts = cols[0]
        self.ends = cols[1]
        self.simple = simple
        self.chrom = chrom if simple else -1
        self.widest = widest if simple else 0
        self.words = words
        return self

    @property
    def nbytes(self) -> int:
        return self.cols.nbytes + (0 if self.words is None else self.words.nbytes) + 128

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Index range of the records overlapping ``[start, end)`` (``simple`` blocks)."""
        lo = int(self.ends.searchsorted(start, "right"))
        return lo, max(lo, int(self.starts.searchsorted(end, "left")))

    def overlap(self, cid: int, start: int, end: int) -> np.ndarray:
        """The records overlapping ``cid:start-end`` (a ``full`` block)."""
        dtype = self._dtype
        words = self.words
        if words is None:
            raise ValueError("zoom block read without all its fields")
        if self.simple:
            if self.chrom != cid:
                return np.zeros(0, dtype)
            lo, hi = self.span(start, end)
            words = words[lo:hi]
        else:
            words = words[(words[:, 0] == cid) & (self.starts < end) & (self.ends > start)]
        return words.astype(dtype["chrom"]).view(dtype).reshape(-1)
