"""Public access to zoom summary records, shared by the bigBed and bigWig readers.

Decoded zoom blocks are kept in a small LRU on the reader (like data blocks), so that binned
statistics over nearby or repeated windows do not inflate the same block again.
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
from ._lru import LRU
from .wig_inflate import Inflater
from .wig_leaves import LeafLists, is_local
from .header import ZoomLevel
from .reader import BigBedReader

ZOOM_CACHE_BYTES = 32 << 20


def _cache(reader: BigBedReader) -> LRU:
    cache = getattr(reader, "_zoom_block_cache", None)
    if cache is None:
        cache = LRU(1 << 16, ZOOM_CACHE_BYTES)
        reader._zoom_block_cache = cache  # type: ignore[attr-defined]
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
    ranges = _leaf_lists(reader, level).ranges(cid, start, end) if is_local(reader.source) \
        else reader.zoom_tree(level).ranges(cid, start, end)
    if not ranges:
        return np.zeros(0, dtype)
    cache: LRU[_Block] = _cache(reader)
    parts = []
    unique = list(dict.fromkeys(ranges))
    todo = [r for r in unique if cache.get(r[0]) is None]
    if todo:
        for (off, _size), raw in zip(todo, reader.source.read_many(todo)):
            new = _Block(_inflate(reader, raw, off, dtype))
            cache.put(off, new, new.nbytes)
    for off, size in unique:
        block = cache.get(off)
        if block is None:  # evicted by a huge query: read it again
            (raw,) = reader.source.read_many([(off, size)])
            block = _Block(_inflate(reader, raw, off, dtype))
        parts.append(block.overlap(cid, start, end))
    if len(parts) == 1:
        return parts[0]
    # as opaque 32-byte items: np.concatenate of structured arrays goes through dtype
    # promotion, ~10x slower
    raw = np.dtype(f"V{dtype.itemsize}")
    return np.concatenate([p.view(raw) for p in parts]).view(dtype)


def _inflate(reader: BigBedReader, raw: bytes, off: int, dtype: np.dtype) -> np.ndarray:
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
    recs = np.frombuffer(data, dtype)
    recs.flags.writeable = False  # (libdeflate gives a bytearray) callers get cached records
    return recs


class _Block:
    """One decoded zoom block with what every window query needs computed once: int64 starts
    and ends, whether the block holds one chromosome with sorted ends (then two binary
    searches find the overlapping records, no mask)."""

    __slots__ = ("recs", "starts", "ends", "chrom", "simple")

    def __init__(self, recs: np.ndarray):
        self.recs = recs
        self.starts = recs["start"].astype(np.int64)
        self.ends = recs["end"].astype(np.int64)
        c = recs["chrom"]
        self.chrom = int(c[0]) if len(c) and bool((c == c[0]).all()) else -1
        self.simple = self.chrom >= 0 and bool((self.ends[1:] >= self.ends[:-1]).all()) \
            and bool((self.starts[1:] >= self.starts[:-1]).all())

    @property
    def nbytes(self) -> int:
        return self.recs.nbytes + 16 * len(self.recs) + 64

    def overlap(self, cid: int, start: int, end: int) -> np.ndarray:
        recs = self.recs
        if self.simple:
            if self.chrom != cid:
                return recs[:0]
            lo = int(self.ends.searchsorted(start, "right"))
            hi = int(self.starts.searchsorted(end, "left"))
            return recs[lo:max(lo, hi)]
        keep = (recs["chrom"] == cid) & (self.starts < end) & (self.ends > start)
        return recs[keep]
