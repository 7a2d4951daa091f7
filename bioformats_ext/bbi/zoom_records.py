"""Public access to zoom summary records, shared by the bigBed and bigWig readers.

Decoded zoom blocks are kept in a small LRU on the reader (like data blocks), so that binned
statistics over nearby or repeated windows do not inflate the same block again.
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
from ._lru import LRU
from .blocks import decompress
from .header import ZoomLevel
from .reader import BigBedReader

ZOOM_CACHE_BYTES = 32 << 20


def _cache(reader: BigBedReader) -> LRU:
    cache = getattr(reader, "_zoom_block_cache", None)
    if cache is None:
        cache = LRU(1 << 16, ZOOM_CACHE_BYTES)
        reader._zoom_block_cache = cache  # type: ignore[attr-defined]
    return cache


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
    ranges = reader.zoom_tree(level).ranges(cid, start, end)
    if not ranges:
        return np.zeros(0, dtype)
    cache = _cache(reader)
    parts = []
    todo = [r for r in dict.fromkeys(ranges) if cache.get(r[0]) is None]
    if todo:
        compressed = reader.header.compressed
        for (off, _size), raw in zip(todo, reader.source.read_many(todo)):
            data = decompress(raw, reader._inflate_limit, off) if compressed else raw
            if len(data) % dtype.itemsize:
                raise FormatError("zoom block is not a whole number of records", off)
            recs = np.frombuffer(data, dtype)
            cache.put(off, recs, len(data) + 64)
    for off, _size in dict.fromkeys(ranges):
        recs = cache.get(off)  # type: ignore[assignment]
        if recs is None:  # evicted by a huge query: read it again
            (raw,) = reader.source.read_many([(off, _size)])
            data = decompress(raw, reader._inflate_limit, off) if reader.header.compressed \
                else raw
            recs = np.frombuffer(data, dtype, len(data) // dtype.itemsize)
        c = recs["chrom"]
        if len(c) and c[0] == cid and c[-1] == cid:
            s = recs["start"]
            lo = int(recs["end"].searchsorted(start, "right")) if \
                bool((recs["end"][1:] >= recs["end"][:-1]).all()) else 0
            hi = int(s.searchsorted(end, "left"))
            recs = recs[lo:max(lo, hi)]
            keep = (recs["start"] < end) & (recs["end"] > start)
        else:
            keep = (c == cid) & (recs["start"] < end) & (recs["end"] > start)
        parts.append(recs[keep])
    return np.concatenate(parts) if len(parts) > 1 else parts[0]
