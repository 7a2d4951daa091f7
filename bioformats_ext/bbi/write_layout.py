"""The bigBed file assembled at ``close()``: header, zoom headers, autoSql, total summary,
extension header, extra-index list, chromosome B+ tree, data, data R-tree, zoom levels,
extra-index B+ trees, end magic - in bedToBigBed's order, so the target needs no seeking.

:class:`FileLayout` is the part of :class:`~.write.BigBedWriter` that knows this layout; the
writer's batch path (validation, blocks, coverage) fills the state it reads.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
from typing import Any, BinaryIO, cast

import numpy as np

from ..errors import FormatError
from .format import (BIGBED_MAGIC, EXTRA_HEADER_SIZE, HEADER_SIZE, MAX_ZOOM_LEVELS,
                     TOTAL_SUMMARY_SIZE, ZOOM_HEADER_SIZE, layouts)
from .header import ExtraHeader, ExtraIndex, Header, TotalSummary, ZoomLevel, pack_zoom_headers
from .write_trees import bptree_bytes, rtree_bytes
from .write_zoom import choose_levels, first_level, summaries_to_disk, total_summary

_LAY = layouts("<")


class FileLayout:
    """Writes the finished file from the writer's state (see :class:`~.write.BigBedWriter`)."""

    # state kept by the writer's batch path
    _as_text: "str | None"
    _bed_n: "int | None"
    _field_count: "int | None"
    _chrom: "str | None"
    _chroms: list[tuple[str, int]]
    _count: int
    _total_bases: int
    _coverage: Any
    _compressor: Any
    _data: Any
    _out: BinaryIO
    _extra_names: list[str]
    _extra_fields: list[int]
    _keys: list[list[tuple[np.ndarray, int]]]
    _max_key: list[int]
    _max_block: int
    _block_chrom: list[int]
    _block_start: list[int]
    _block_end: list[int]
    _block_sizes: list[int]
    block_size: int
    items_per_slot: int
    compress: bool

    def _end_block(self) -> None:  # pragma: no cover - provided by the writer
        raise NotImplementedError

    def _drain(self, block: bool) -> None:  # pragma: no cover - provided by the writer
        raise NotImplementedError

    def _setup_fields(self, field_count: int) -> None:  # pragma: no cover - provided by the writer
        raise NotImplementedError

    def _finish(self) -> None:
        if self._chrom is not None:
            self._end_block()
            self._coverage.end_chrom()
        sizes = [size for _, size in self._chroms]
        ave = self._total_bases / self._count if self._count else 0.0
        # While the pool finishes the last blocks: the likely zoom level 0 (needs no sizes).
        early = first_level(self._coverage, ave, sizes) if self._count else {}
        if self._compressor is not None:
            self._drain(True)  # the pool stays up for the zoom blocks
        if self._field_count is None:
            self._setup_fields(self._bed_n or 3)
        out = _Counter(self._out)
        header = Header(byteorder="<", fieldCount=cast(int, self._field_count),
                        definedFieldCount=cast(int, self._bed_n))
        # Fixed part, zoom slots (filled at the end), autoSql, total summary, extension header.
        prefix = bytearray(HEADER_SIZE + MAX_ZOOM_LEVELS * ZOOM_HEADER_SIZE)
        header.autoSqlOffset = len(prefix)
        as_bytes = (self._as_text or "").encode() + b"\0"  # set by _setup_fields above
        header.totalSummaryOffset = header.autoSqlOffset + len(as_bytes)
        header.extensionOffset = header.totalSummaryOffset + TOTAL_SUMMARY_SIZE
        pos = header.extensionOffset + EXTRA_HEADER_SIZE
        extra_list_offset = pos if self._extra_names else 0
        pos += 20 * len(self._extra_names)
        header.chromosomeTreeOffset = pos
        chrom_tree = self._chrom_tree(pos)
        header.fullDataOffset = pos + len(chrom_tree)
        data_size = self._data.tell()
        header.fullIndexOffset = header.fullDataOffset + 8 + data_size
        # Everything after the data can be computed now; the zoom levels need the data size.
        levels = choose_levels(self._coverage, ave, header.fullIndexOffset - header.fullDataOffset,
                               self.compress, sizes, early) if self._count else []
        summary = TotalSummary(*total_summary(self._coverage))
        # Data R-tree.
        block_sizes = np.asarray(self._block_sizes, dtype=np.uint64)
        offsets = header.fullDataOffset + 8 + np.concatenate(
            [[0], np.cumsum(block_sizes)[:-1]]).astype(np.uint64) if len(block_sizes) else \
            np.empty(0, np.uint64)
        data_index = rtree_bytes(self._block_chrom, self._block_start, self._block_end, offsets,
                                 header.fullIndexOffset, header.fullIndexOffset,
                                 self.block_size, 1)
        pos = header.fullIndexOffset + len(data_index)
        zoom_parts = []
        zoom_headers = []
        for reduction, summ in levels:
            part, level = self._zoom_level(summ, reduction, pos)
            zoom_parts.append(part)
            zoom_headers.append(level)
            pos += len(part)
        header.zoomLevels = len(levels)
        extra_parts = []
        extra_items = []
        for i, field in enumerate(self._extra_fields):
            tree = self._extra_tree(i, offsets, block_sizes, pos)
            extra_items.append(ExtraIndex(0, pos, [field]))
            extra_parts.append(tree)
            pos += len(tree)
        if self.compress:
            header.uncompressBufSize = max(self._max_block,
                                           self.items_per_slot * _LAY.zoom_record.size)
        # Write it all, in file order.
        prefix[:HEADER_SIZE] = header.pack()
        prefix[HEADER_SIZE:] = pack_zoom_headers(zoom_headers, "<")
        out.write(bytes(prefix))
        out.write(as_bytes)
        out.write(summary.pack("<"))
        out.write(ExtraHeader(EXTRA_HEADER_SIZE, len(self._extra_names),
                              extra_list_offset).pack("<"))
        for item in extra_items:
            out.write(item.pack("<"))
        out.write(chrom_tree)
        _expect_at(out.pos, header.fullDataOffset, "data")
        out.write(_LAY.data_count.pack(self._count))
        out.copy_from(self._data, data_size)
        self._data.close()
        _expect_at(out.pos, header.fullIndexOffset, "data R-tree")
        out.write(data_index)
        for part in zoom_parts:
            out.write(part)
        for part in extra_parts:
            out.write(part)
        out.write(struct.pack("<I", BIGBED_MAGIC))
        self._coverage.close()
        if self._compressor is not None:
            self._compressor.close()

    def _chrom_tree(self, offset: int) -> bytes:
        return chrom_tree_bytes(self._chroms, self.block_size, offset)

    def _zoom_level(self, summ: np.ndarray, reduction: int, pos: int) -> tuple[bytes, ZoomLevel]:
        compress = self._compressor.map if self._compressor is not None else None
        return zoom_level_bytes(summ, reduction, pos, self.block_size, self.items_per_slot,
                                compress)

    def _extra_tree(self, i: int, offsets: np.ndarray, sizes: np.ndarray, pos: int) -> bytes:
        entries = self._keys[i]
        key_size = self._max_key[i]
        width = f"S{max(key_size, 1)}"
        keys = np.concatenate([k.astype(width) for k, _ in entries]) if entries else \
            np.empty(0, dtype=width)
        blocks = np.repeat(np.array([b for _, b in entries], dtype=np.int64),
                           [len(k) for k, _ in entries]) if entries else np.empty(0, np.int64)
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        blocks = blocks[order]
        vals = np.empty(len(keys), dtype=[("offset", "<u8"), ("size", "<u8")])
        vals["offset"] = offsets[blocks] if len(blocks) else 0
        vals["size"] = sizes[blocks] if len(blocks) else 0
        return bptree_bytes(keys, vals, self.block_size, pos, key_size)


def chrom_tree_bytes(chroms: "list[tuple[str, int]] | list", block_size: int,
                     offset: int) -> bytes:
    """The chromosome B+ tree for ``chroms`` (``(name, size, ...)`` by chromosome id) as UCSC
    writes it: keys sorted, padded to the longest name, at most ``block_size`` per node (shared
    by the bigBed and bigWig writers)."""
    names = sorted((c[0].encode(), cid, c[1]) for cid, c in enumerate(chroms))
    # With no chromosomes, UCSC writes block and key size 0; 1 keeps strict readers happy.
    key_size = max((len(n) for n, _, _ in names), default=1)
    keys = np.array([n for n, _, _ in names], dtype=f"S{max(key_size, 1)}")
    vals = np.array([(cid, size) for _, cid, size in names],
                    dtype=[("id", "<u4"), ("size", "<u4")])
    return bptree_bytes(keys, vals, max(1, min(block_size, len(names))), offset, key_size)


def zoom_level_bytes(summ: np.ndarray, reduction: int, pos: int, block_size: int,
                     items_per_slot: int, compress=None) -> tuple[bytes, ZoomLevel]:
    """One zoom level written at ``pos``: record count, blocks of ``items_per_slot`` records
    (``compress(list_of_blocks)`` compresses them, e.g. on a thread pool), then its R-tree."""
    disk = summaries_to_disk(summ)
    per = items_per_slot
    blocks = [disk[i:i + per].tobytes() for i in range(0, len(disk), per)]
    if compress is not None:
        blocks = compress(blocks)
    data_offset = pos
    sizes = np.array([len(b) for b in blocks], dtype=np.uint64)
    block_offsets = data_offset + 4 + np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(
        np.uint64)
    item_offsets = np.repeat(block_offsets, [min(per, len(disk) - i)
                                             for i in range(0, len(disk), per)])
    index_offset = data_offset + 4 + int(sizes.sum())
    tree = rtree_bytes(summ["chrom"], summ["start"], summ["end"], item_offsets,
                       index_offset, index_offset, block_size, per)
    part = _LAY.zoom_count.pack(len(disk)) + b"".join(blocks) + tree
    return part, ZoomLevel(reduction, data_offset, index_offset)


def _expect_at(pos: int, planned: int, what: str) -> None:
    """The layout is planned before writing; a section starting elsewhere is a bug, reported
    as a typed error (not an ``assert``, which ``python -O`` removes) before the file is kept."""
    if pos != planned:
        raise FormatError(f"bigBed layout error: {what} starts at {pos}, planned at {planned}",
                          pos)


class _Counter:
    """Write-through wrapper that tracks the position, so the target needs no tell()/seek()."""

    def __init__(self, handle: BinaryIO):
        self._handle = handle
        self.pos = 0

    def write(self, data) -> int:
        self._handle.write(data)
        self.pos += len(data)
        return len(data)

    def copy_from(self, source: BinaryIO, size: int) -> None:
        """Append ``size`` bytes of ``source`` (from its start); in the kernel when both are
        real files."""
        source.flush()
        source.seek(0)
        try:
            dst = self._handle.fileno()
            src = source.fileno()
            self._handle.flush()
        except (AttributeError, OSError, io.UnsupportedOperation):
            shutil.copyfileobj(source, self, 1 << 20)
            return
        done = 0
        while done < size:
            try:
                sent = os.sendfile(dst, src, done, size - done)
            except OSError:
                if done:
                    raise
                shutil.copyfileobj(source, self, 1 << 20)  # fd types sendfile refuses
                return
            if sent == 0:
                raise OSError("short copy of the data section")
            done += sent
        self.pos += done
