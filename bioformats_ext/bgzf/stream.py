"""Stream a BGZF file's decompressed bytes in large batches, with the map back to virtual offsets.

Used by the second-pass indexers (``bam.index_bam``, ``tabix.index_tabix``): a helper thread
reads the compressed file in large pieces and hands groups of blocks to a thread pool that
inflates and CRC-checks them in order (the codecs release the GIL) while the caller works on
one reused buffer. :meth:`BlockStream.voffsets` turns stream positions into htslib's
``bgzf_tell`` values (an end of block is the next block's start).
"""

from __future__ import annotations

import queue
import threading
from functools import partial
from typing import Any, Callable, Generator, Iterator

import numpy as np

from ..compression import ordered_map
from ..errors import TruncatedFileError
from .blocks import block_spans, unpack_block
from .reader import BgzfReader, missing_eof

BATCH = 8 << 20  # uncompressed bytes per batch (text)
BAM_BATCH = 16 << 20  # BAM: the lockstep walk costs per record *per block*, so bigger is cheaper
_CHUNK = 4 << 20  # compressed bytes per read
_GROUP = 16       # blocks inflated per thread task


class BlockStream:
    """Uncompressed bytes of consecutive blocks plus the map back to virtual offsets."""

    def __init__(self, reader: BgzfReader, threads: int = 2,
                 progress: "Callable[[int], None] | None" = None):
        self._groups = _prefetch(ordered_map(partial(_inflate_group, reader.codec),
                                             _raw_groups(reader.source), threads), batch=1, depth=16)
        # one reused buffer (no fresh pages, no reallocation per batch); ``buf`` views its data
        self._arr = np.empty(BAM_BATCH + (2 << 20), dtype=np.uint8)
        self._mv = memoryview(self._arr)  # type: ignore[arg-type]  # numpy arrays are buffers
        self._n = 0
        self.base = 0                 # stream offset of buf[0]
        self.starts: list[int] = []   # stream offset of each non-empty block in buf
        self.addrs: list[int] = []
        self.nexts: list[int] = []    # address of the block that follows
        self.eof = False
        self.final_address: int | None = None  # first empty block after data, or file end
        self._size = reader.source.size
        self._source = reader.source
        self._progress = progress     # called with the compressed offset reached

    def fill(self, want: int = BATCH) -> bool:
        """Append blocks until ``want`` new bytes are buffered or the file ends; False at EOF."""
        got = 0
        while got < want:
            try:
                addrs, nexts, lens, datas = next(self._groups)
            except StopIteration:
                self.eof = True
                if self.final_address is None:  # no empty block at the end: no EOF marker
                    missing_eof(getattr(self._source, "name", None) or "BGZF file")
                    self.final_address = self._size
                return got > 0
            at = self.base + self._n
            for addr, nxt, n in zip(addrs, nexts, lens):
                if not n:
                    if self.final_address is None:
                        self.final_address = addr
                    continue
                self.final_address = None  # data after an empty block: keep going
                self.starts.append(at)
                self.addrs.append(addr)
                self.nexts.append(nxt)
                at += n
            got += self._append(datas, at - self.base - self._n)
            if self._progress is not None and nexts:
                self._progress(nexts[-1])
        return True

    @property
    def buf(self) -> np.ndarray:
        """The buffered uncompressed bytes (a view, valid until the next fill/consume)."""
        return self._arr[:self._n]

    def _append(self, datas: list, total: int) -> int:
        """Copy blocks (``total`` bytes) behind the buffered data, straight from each block."""
        end = self._n + total
        if end > len(self._arr):
            grown = np.empty(max(end, 2 * len(self._arr)), dtype=np.uint8)
            grown[:self._n] = self._arr[:self._n]
            self._arr = grown
            self._mv = memoryview(grown)  # type: ignore[arg-type]
        mv, at = self._mv, self._n
        for d in datas:
            mv[at:at + len(d)] = d
            at += len(d)
        self._n = end
        return total

    def final_voffset(self) -> int:
        """Virtual offset of the EOF marker (or the file end) once the stream is exhausted."""
        if self.final_address is None:
            raise TruncatedFileError("BGZF stream ended without a final block address", self.base)
        return self.final_address << 16

    def close(self) -> None:
        """Stop the prefetch thread (also on errors, before the source is closed)."""
        self._groups.close()

    def hints(self) -> np.ndarray:
        """Buffer offsets of the buffered blocks' starts (likely BAM record starts)."""
        return np.array(self.starts, dtype=np.int64) - self.base

    def voffsets(self, ends: np.ndarray) -> np.ndarray:
        """Virtual offsets of stream positions ``ends`` (htslib's normalisation at block ends)."""
        starts = np.array(self.starts, dtype=np.int64)
        lens = np.diff(np.append(starts, self.base + self._n))
        block_end = starts + lens
        k = np.searchsorted(block_end, ends, side="left")
        addrs = np.array(self.addrs, dtype=np.int64)
        nexts = np.array(self.nexts, dtype=np.int64)
        at_end = ends == block_end[k]
        return np.where(at_end, nexts[k] << 16, (addrs[k] << 16) | (ends - starts[k]))

    def consume(self, upto: int) -> None:
        """Drop buffered bytes before stream offset ``upto`` (keeping the block it falls in)."""
        keep = 0
        while keep + 1 < len(self.starts) and self.starts[keep + 1] <= upto:
            keep += 1
        if keep:
            cut = self.starts[keep] - self.base
            rest = self._n - cut
            self._arr[:rest] = self._arr[cut:self._n]  # numpy copes with the overlap
            self._n = rest
            self.base += cut
            del self.starts[:keep], self.addrs[:keep], self.nexts[:keep]


def _raw_groups(source, group: int = _GROUP) -> Iterator[tuple[int, bytes, list[tuple[int, int]]]]:
    """``(address, raw, [(offset, size), ...])``: up to ``group`` complete BGZF blocks of ``raw``
    (compressed bytes read in large pieces from ``address``), validated like
    :meth:`BgzfReader.iter_block_spans`."""
    size_total = source.size
    address = 0
    while address < size_total:
        raw = source.read_upto(address, _CHUNK)
        spans = block_spans(raw, address, size_total, size_total)
        if not spans:  # a source returning less than one block: cannot advance
            raise TruncatedFileError("truncated BGZF block", address)
        for i in range(0, len(spans), group):
            yield address, raw, spans[i:i + group]
        address += spans[-1][0] + spans[-1][1]


def _inflate_group(codec, item: tuple[int, bytes, list[tuple[int, int]]]
                   ) -> tuple[list[int], list[int], list[int], list[bytes]]:
    """Inflate (CRC-checked) one group of blocks on a worker thread: the codecs release the GIL."""
    address, raw, spans = item
    datas = [unpack_block(raw, p, size, codec, address + p) for p, size in spans]
    addrs = [address + p for p, _ in spans]
    nexts = [address + p + size for p, size in spans]
    return addrs, nexts, [len(d) for d in datas], datas


def _prefetch(items: Iterator, batch: int = 64, depth: int = 4) -> Generator:
    """Run ``items`` (reading + inflating) on a helper thread, ``batch`` items at a time.

    Inflating and CRC release the GIL, so this overlaps decompression with the Python record walk.
    Exceptions are re-raised in the consumer; the thread stops when the consumer goes away.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            chunk = []
            for item in items:
                chunk.append(item)
                if len(chunk) >= batch:
                    if not put(chunk):
                        return
                    chunk = []
            put(chunk) and put(None)
        except BaseException as exc:  # handed to the consumer
            put(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # e.g. shut down ordered_map's pool

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()


def open_stream(path: Any, threads: int = 2, progress: "Callable[[int], None] | None" = None
                ) -> tuple[BgzfReader, BlockStream]:
    reader = BgzfReader(path)
    return reader, BlockStream(reader, threads, progress)
