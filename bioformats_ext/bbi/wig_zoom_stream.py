"""The bigWig writer's zoom levels in bounded memory: summaries spilled to temporary files.

Level 0 is computed a chunk of items at a time (:func:`~.wig_zoom.level0_chunked`), each higher
level is reduced from the one below a chunk of summaries at a time (a group still open at a
chunk's end is recomputed with the next chunk, so every record is summed in the same order as
in one pass), and each level is written as compressed blocks plus its R-tree, built from one
entry per block. Memory holds a chunk, never a level: peak RSS does not grow with the input.
"""

from __future__ import annotations

import tempfile
from typing import BinaryIO, Callable, Iterable, Iterator

import numpy as np

from .format import MAX_ZOOM_LEVELS, ZOOM_RECORD_SIZE, ZOOM_RES_INCREMENT, layouts
from .header import ZoomLevel
from .wig_zoom import Chunk, count_chunked, level0_chunked
from .write_trees import rtree_bytes
from .write_zoom import SUMMARY_DTYPE, reduce_summaries, res_scales, summaries_to_disk

_LAY = layouts("<")
SUMMARY_CHUNK = 1 << 16  # summaries per chunk when reducing and writing levels


class SummarySpill:
    """Summary records (``SUMMARY_DTYPE``) appended to a temporary file, read back in chunks."""

    def __init__(self, spill_dir: str | None = None):
        self._file = tempfile.TemporaryFile(dir=spill_dir)
        self.count = 0

    def add(self, records: np.ndarray) -> None:
        if len(records):
            self._file.write(records.tobytes())
            self.count += len(records)

    def chunks(self, n: int | None = None) -> Iterator[np.ndarray]:
        n = n or SUMMARY_CHUNK
        self._file.flush()
        self._file.seek(0)
        size = SUMMARY_DTYPE.itemsize
        while True:
            raw = self._file.read(n * size)
            if not raw:
                return
            yield np.frombuffer(raw, SUMMARY_DTYPE)

    def close(self) -> None:
        self._file.close()


def reduce_chunked(chunks: Iterable[np.ndarray], reduction: int) -> Iterator[np.ndarray]:
    """:func:`reduce_summaries` over a stream of chunks: the last group of a chunk may go on
    in the next one, so its records are carried over and reduced again there."""
    it = iter(chunks)
    cur = next(it, None)
    carry: np.ndarray | None = None
    while cur is not None:
        nxt = next(it, None)
        if carry is not None and len(carry):
            cur = np.concatenate([carry, cur])
        out = reduce_summaries(cur, reduction)
        if nxt is None:
            yield out
            return
        key = (cur["chrom"].astype(np.int64) << 32) | cur["start"].astype(np.int64)
        last = (int(out["chrom"][-1]) << 32) | int(out["start"][-1])
        carry = cur[int(key.searchsorted(last)):]
        yield out[:-1]
        cur = nxt


ChromChunks = Callable[[int], Iterable[Chunk]]


def zoom_spills(chroms: list[tuple[int, int]], chunks: ChromChunks, ave_size: float,
                data_size: int, compress: bool, max_levels: int = MAX_ZOOM_LEVELS,
                spill_dir: str | None = None) -> list[tuple[int, SummarySpill]]:
    """``[(reduction, spilled summaries), ...]`` as bedGraphToBigWig writes them:
    candidates ``max(aveSize, 10) * 4**k``, the first whose estimated count (its item walk
    without clipping) times 32 bytes, halved when compressing, fits in half the data size;
    then each level merges the one below at 4x the reduction until a level stops shrinking
    (:func:`~.write_zoom.further_levels`, here on spilled summaries). ``chunks(chrom_id)``
    yields a chromosome's items in chunks, ``chroms`` is ``(chrom_id, size)`` in file order."""
    if not chroms or max_levels < 1:
        return []
    scales = res_scales(ave_size)
    chosen = None
    for scale in scales:
        n = sum(count_chunked(chunks(cid), scale) for cid, _ in chroms)
        reduced = n * ZOOM_RECORD_SIZE
        if compress:
            reduced //= 2
        if reduced <= data_size // 2:
            chosen = (scale, n)
            break
    if chosen is None:
        chosen = (scales[0], sum(count_chunked(chunks(cid), scales[0]) for cid, _ in chroms))
    scale, zoom_count = chosen
    level = SummarySpill(spill_dir)
    for cid, size in chroms:
        for part in level0_chunked(cid, chunks(cid), scale, size):
            level.add(part)
    levels = [(scale, level)]
    reduction = scale * ZOOM_RES_INCREMENT
    while True:
        rezoomed = SummarySpill(spill_dir)
        for part in reduce_chunked(levels[-1][1].chunks(), reduction):
            rezoomed.add(part)
        if len(levels) >= max_levels or reduction >= 2**31 or rezoomed.count >= zoom_count:
            rezoomed.close()
            return levels
        zoom_count = rezoomed.count
        levels.append((reduction, rezoomed))
        reduction *= ZOOM_RES_INCREMENT


def write_level(spill: SummarySpill, reduction: int, pos: int, out: BinaryIO,
                block_size: int, items_per_slot: int, compress=None) -> ZoomLevel:
    """Write one zoom level at file offset ``pos`` to ``out``: record count, blocks of
    ``items_per_slot`` records (``compress(list_of_blocks)``), R-tree. Returns its header.

    The tree is built from two entries per block (its first record's start; its largest
    end), which bound the block exactly as its records do; the header then gets the record
    count and slot size back, so the bytes equal those of the tree over every record."""
    per = items_per_slot
    out.write(_LAY.zoom_count.pack(spill.count))
    off = pos + 4
    chrom: list[int] = []
    base: list[int] = []
    ends: list[int] = []
    offsets: list[int] = []
    for chunk in spill.chunks(per * max(1, SUMMARY_CHUNK // per)):
        disk = summaries_to_disk(chunk)
        blocks = [disk[i:i + per].tobytes() for i in range(0, len(disk), per)]
        if compress is not None:
            blocks = compress(blocks)
        key = (chunk["chrom"].astype(np.int64) << 32) | chunk["end"].astype(np.int64)
        firsts = np.arange(0, len(chunk), per)
        top = np.maximum.reduceat(key, firsts)
        for i, j, block in zip(firsts.tolist(), top.tolist(), blocks):
            chrom += [int(chunk["chrom"][i]), j >> 32]
            base += [int(chunk["start"][i]), int(chunk["start"][i])]
            ends += [int(chunk["start"][i]), j & 0xFFFFFFFF]
            offsets += [off, off]
            off += len(block)
            out.write(block)
    index_offset = off
    tree = bytearray(rtree_bytes(chrom, base, ends, offsets, index_offset, index_offset,
                                 block_size, 2))
    fields = list(_LAY.rtree_header.unpack_from(tree, 0))
    fields[2] = spill.count
    fields[8] = per
    _LAY.rtree_header.pack_into(tree, 0, *fields)
    out.write(tree)
    return ZoomLevel(reduction, pos, index_offset)
