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
from .blocks import decompress
from .format import BIGWIG_MAGIC
from .reader import BigBedReader

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


def _read_adjacent(source: ByteSource, ranges: list[tuple[int, int]]) -> list[memoryview]:
    """The bytes of each range, with runs of back-to-back ranges (a window's blocks usually
    are) fetched in one read: one system call per run instead of one per block."""
    runs: list[list[int]] = []  # [offset, size, number of ranges]
    for off, size in ranges:
        if runs and runs[-1][0] + runs[-1][1] == off:
            runs[-1][1] += size
            runs[-1][2] += 1
        else:
            runs.append([off, size, 1])
    if len(runs) == len(ranges):
        return [memoryview(raw) for raw in source.read_many(ranges)]
    out: list[memoryview] = []
    it = iter(ranges)
    for (roff, _rsize, count), raw in zip(runs, source.read_many([(r[0], r[1]) for r in runs])):
        view = memoryview(raw)
        for _ in range(count):
            off, size = next(it)
            out.append(view[off - roff:off - roff + size])
    return out


class BigWigReader(BigBedReader):
    """Format-level bigWig access: the bigBed reader's header / trees / zoom / remote reads,
    with section decoding instead of BED records. See :class:`bioformats_ext.bigwig.BigWigFile`."""

    MAGIC = BIGWIG_MAGIC

    def __init__(self, source: "str | os.PathLike[str] | BinaryIO | ByteSource",
                 node_cache: int = 256, block_cache: int = 64 << 20):
        super().__init__(source, node_cache, block_cache)
        self._sections: LRU[Section] = LRU(1 << 20, block_cache)

    def _read_autosql(self) -> AutoSqlTable:
        self.autosql_text = None
        return AutoSqlTable("bigWig", "", [])

    def chrom_id(self, chrom: str) -> int:
        try:
            return self.chrom_ids[chrom]
        except KeyError:
            raise UnknownReferenceError(f"chromosome {chrom!r} is not in this bigWig") from None

    def load_sections(self, ranges: Sequence[tuple[int, int]], use_cache: bool = True
                      ) -> list[Section]:
        """Decoded sections at ``(offset, size)``; the uncached ones in one batched read."""
        out: dict[int, Section] = {}
        todo: list[tuple[int, int]] = []
        cache = self._sections
        for off, size in ranges:
            sec = cache.get(off) if use_cache else None
            if sec is None:
                todo.append((off, size))
            else:
                out[off] = sec
        if todo:
            for off, sec in self._decode(list(dict.fromkeys(todo))):
                out[off] = sec
                if use_cache:
                    cache.put(off, sec, 20 * len(sec) + 200)
        return [out[off] for off, _ in ranges]

    def _decode(self, todo: list[tuple[int, int]]):
        """``(offset, Section)`` for each range: one batched read, then each block inflated
        (within the reader's bound) and parsed only as it is consumed."""
        compressed = self.header.compressed
        limit = self._inflate_limit
        nchrom = len(self.chrom_names)
        for (off, _size), raw in zip(todo, _read_adjacent(self.source, todo)):
            # zlib takes any buffer; blocks.decompress is annotated for bytes only
            data = decompress(cast(bytes, raw), limit, off) if compressed else bytes(raw)
            sec = parse_section(data, self.byteorder, off)
            if sec.chrom >= nchrom:
                raise FormatError("section with an unknown chromosome id", off)
            yield off, sec

    def region_arrays(self, cid: int, start: int, end: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """starts, ends, values of the items overlapping ``[start, end)`` (unclipped), sorted."""
        ranges = self.rtree.ranges(cid, start, end)
        if not ranges:
            return _EMPTY_I, _EMPTY_I, _EMPTY_F
        parts = []
        for sec in self.load_sections(ranges):
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
