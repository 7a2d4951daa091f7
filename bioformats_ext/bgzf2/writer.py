"""Write BGZF2: zstd data frames, each preceded by a pzstd frame, plus index frame and seek table.

The writer is fed like :class:`~bioformats_ext.bgzf.BgzfWriter`: ``write_record(data)`` then
``push(tid, beg, end)`` per record, and it builds the genomic index as it goes (no second pass,
no external ``.bai``/``.tbi``). Frames are compressed on threads via
:class:`~bioformats_ext.compression.BlockCompressor`; every frame is compressed independently
with the same parameters, so the output does not depend on the thread count.
"""

from __future__ import annotations

import os
import threading
from bisect import bisect_right
from typing import BinaryIO, Callable

import numpy as np

from ..codec import BGZF2_DEFAULT_LEVEL, zstd_compressor
from ..compression import BlockCompressor
from ..errors import UnknownReferenceError
from ..index.sortorder import SortOrder, int64_columns
from ..io.atomic import AtomicFile, CloseOrAbort
from .frames import (EMPTY_CHECKSUM, MAX_FRAME_SIZE, PZSTD_FRAME_SIZE, build_seek_table,
                     frame_checksum, header_frame, pzstd_frame)
from .index import FrameIndexBuilder

# From benchmarks/bgzf2.py (docs/bgzf2.md): codec.BGZF2_TUNED (level 0) with 256,000-byte
# frames is smaller than BGZF with libdeflate 6 and faster to write and to read, on BAM and on
# VCF text; larger frames compress a little better but double the bytes a region fetch decodes.
DEFAULT_LEVEL = BGZF2_DEFAULT_LEVEL
DEFAULT_BLOCK_SIZE = 256_000
CONTENT_HEAD_SIZE = 64


class Bgzf2Writer(CloseOrAbort):
    """Write a BGZF2 file to ``target`` (a path, written atomically, or a binary file object).

    ``references`` is a list of ``(name, length)`` for the index; ``metadata`` key/value pairs
    go into the index frame's global metadata. ``content_head`` (default: the first 64 data
    bytes) is copied into the leading header frame for file-type detection.
    """

    def __init__(self, target: str | os.PathLike[str] | BinaryIO, level: int = DEFAULT_LEVEL,
                 block_size: int = DEFAULT_BLOCK_SIZE, threads: int = 1, checksums: bool = True,
                 content_head: bytes | None = None,
                 references: list[tuple[str, int]] | None = None, aligned: bool = True,
                 sorted: bool = True, metadata: dict[str, str] | None = None,
                 frame_metadata: bool = False):
        if not 1 <= block_size <= MAX_FRAME_SIZE:
            raise ValueError(f"block_size must be in 1..{MAX_FRAME_SIZE}")
        self.level = level
        self.block_size = block_size
        self.checksums = checksums
        self.content_head = None if content_head is None else bytes(content_head)
        self.references = None if references is None else [(str(n), int(l))
                                                           for n, l in references]
        self.aligned = aligned
        self.sorted = sorted
        self.metadata = dict(metadata or {})
        # frame_metadata: a skippable frame with each data frame's ranges and record counts
        # before it (bgzf2/stream.py); frames wait in _pending until their index state is final
        self.frame_metadata = frame_metadata
        self._pending: list[tuple[bytes, int]] = []
        self._released = 0                # data frames written so far
        self._released_end = 0            # uncompressed end of the last written frame
        self._meta_sizes: list[int] = []
        self._atomic: AtomicFile | None = None
        if isinstance(target, (str, os.PathLike)):
            self._atomic = AtomicFile(target)
            self._handle: BinaryIO = self._atomic.handle
        else:
            self._handle = target
        self._local = threading.local()
        self._compressor = BlockCompressor(self._compress, threads)
        self._buf = bytearray()
        self._pos = 0                     # uncompressed bytes accepted so far
        self._mark = 0                    # start of the record the next push describes
        self._frame_starts: list[int] = []   # uncompressed start of every frame cut so far
        self._cur_start = 0               # uncompressed start of the frame being filled
        self._index = FrameIndexBuilder()
        self._cur = self._index.frame(0)
        self._sizes: list[tuple[int, int, int]] = []   # (compressed, decompressed, checksum)
        self._header_written = False
        # the shared sort rule (references in header order, unplaced last); with
        # sorted=False only per-record checks remain
        self._order = SortOrder(strict=True, ordered=sorted, negative_start="error",
                                reference_name=self._reference_name,
                                hint="pass sorted=False for unsorted data")
        self._n_records = 0
        self.closed = False

    def _reference_name(self, tid: int) -> str:
        refs = self.references
        return refs[tid][0] if refs is not None and 0 <= tid < len(refs) else f"reference {tid}"

    def _check_references(self, tid: np.ndarray) -> None:
        refs = self.references
        if refs is not None and len(tid) and tid.max() >= len(refs):
            bad = int(np.flatnonzero(tid >= len(refs))[0])
            raise UnknownReferenceError(f"record {self._order.n_checked + bad + 1}: reference id "
                                        f"{int(tid[bad])} is not among the {len(refs)} references")

    # ------------------------------------------------------------------ compression
    def _compress(self, data: bytes) -> tuple[bytes, int]:
        cctx = getattr(self._local, "cctx", None)
        if cctx is None:
            cctx = self._local.cctx = zstd_compressor(self.level, self.checksums)
        return cctx.compress(data), len(data)

    def _emit(self, results) -> None:
        if self.frame_metadata:
            self._pending.extend(results)
            return
        self._write_frames(results)

    def _release(self, upto: int | None) -> None:
        """Write the pending frames that end at or before uncompressed offset ``upto`` (all
        when None): no later push can touch them, so their metadata is final."""
        from .stream import frame_meta_frame

        k = 0
        end = self._released_end
        for _frame, size in self._pending:
            if upto is not None and end + size > upto:
                break
            end += size
            k += 1
        if not k:
            return
        ready, self._pending = self._pending[:k], self._pending[k:]
        names = None if self.references is None else [n for n, _ in self.references]
        for frame, size in ready:
            meta = frame_meta_frame(self._index.frame(self._released), names)
            self._handle.write(meta)
            self._meta_sizes.append(len(meta))
            self._write_frames([(frame, size)])
            self._released += 1
            self._released_end += size

    def _write_frames(self, results) -> None:
        out = self._handle
        for frame, size in results:
            out.write(pzstd_frame(len(frame)))
            out.write(frame)
            check = frame_checksum(frame) if self.checksums else 0
            self._sizes.append((len(frame), size, check))

    def _write_header(self, head: bytes) -> None:
        if self.content_head is None:
            self.content_head = bytes(head[:CONTENT_HEAD_SIZE])
        frame = header_frame(self.content_head)
        self._handle.write(frame)
        self._header_size = len(frame)
        self._header_written = True

    def _cut(self, data: bytes) -> None:
        """Send one frame's worth of data to the compressor and start the next frame."""
        if not self._header_written:
            self._write_header(data)
        self._compressor.submit(data)
        self._emit(self._compressor.drain())
        self._frame_starts.append(self._cur_start)
        self._cur_start += len(data)
        self._cur = self._index.frame(len(self._frame_starts))

    def flush(self) -> None:
        """End the current frame (if it holds data); the next byte starts a new frame."""
        if self._buf:
            data = bytes(self._buf)
            self._buf.clear()
            self._cut(data)

    # ------------------------------------------------------------------ writing
    def write(self, data: bytes) -> int:
        """Append bytes as a stream: frames are cut every ``block_size`` bytes."""
        self._check_open()
        self._buf += data
        self._pos += len(data)
        size = self.block_size
        while len(self._buf) >= size:
            chunk = bytes(self._buf[:size])
            del self._buf[:size]
            self._cut(chunk)
        return len(data)

    def write_record(self, data: bytes) -> int:
        """Append one record, kept whole inside a frame.

        The current frame is ended first if the record would not fit; a record larger than
        ``block_size`` gets a frame of its own (split only past the 1 GiB frame limit).
        """
        self._check_open()
        n = len(data)
        if self._buf and len(self._buf) + n > self.block_size:
            self.flush()
        self._mark = self._pos
        if n > self.block_size and not self._buf:
            self._pos += n
            for i in range(0, n, MAX_FRAME_SIZE):
                self._cut(bytes(data[i:i + MAX_FRAME_SIZE]))
            return n
        self._buf += data
        self._pos += n
        return n

    def tell(self) -> int:
        """Uncompressed offset of the next byte (BGZF2's equivalent of a virtual offset)."""
        return self._pos

    def push(self, tid: int, beg: int, end: int, voffset: int | None = None,
             mapped: bool = True) -> None:
        """Index the record that ends at ``voffset`` (see :meth:`_push`)."""
        self._push(tid, beg, end, voffset, mapped)
        if self._pending:
            self._release(self._mark)

    def _push(self, tid: int, beg: int, end: int, voffset: int | None = None,
              mapped: bool = True) -> None:
        """Index the record that ends at ``voffset`` (default :meth:`tell`).

        ``beg``/``end`` are 0-based, end exclusive; ``tid`` -1 means unplaced. The record is
        taken to start where the previous push ended (or where the last ``write_record``
        began), and is attributed to every frame its bytes touch.
        """
        stop = self._pos if voffset is None else int(voffset)
        if tid < 0:
            tid, beg, end = -1, 0, 0     # unplaced: coordinates mean nothing
        else:
            self._check_references(np.array([tid]))
        self._order.check_one(tid, beg, end)
        if tid >= 0 and end <= beg:
            end = beg + 1
        start = self._mark
        self._mark = stop
        self._n_records += 1
        if start >= self._cur_start:
            self._add(self._cur, tid, beg, end, mapped)
            return
        # The record's bytes begin in an already-cut frame: attribute it to each frame touched.
        first = bisect_right(self._frame_starts, start) - 1
        last_byte = max(stop - 1, start)
        last = (len(self._frame_starts) if last_byte >= self._cur_start
                else bisect_right(self._frame_starts, last_byte) - 1)
        for frame in range(max(first, 0), last + 1):
            self._add(self._index.frame(frame), tid, beg, end, mapped)

    def write_records(self, records: "list[bytes]", tids, begs, ends, mapped=None,
                      describe: "Callable[[int], str] | None" = None) -> None:
        """``write_record`` + ``push`` for a batch (see :meth:`_write_records`)."""
        self._write_records(records, tids, begs, ends, mapped, describe)
        if self._pending:
            self._release(self._mark)

    def _write_records(self, records: "list[bytes]", tids, begs, ends, mapped=None,
                       describe: "Callable[[int], str] | None" = None) -> None:
        """``write_record`` + ``push`` for a batch, with the index bookkeeping done in numpy.

        Same file and index as calling the two per record; the per-record Python work is only
        the buffer append. The batch is checked before anything is written; ``describe(i)``
        adds record i's text to an error.
        """
        self._check_open()
        n = len(records)
        if n == 0:
            return
        tid, beg, end = int64_columns(tids, begs, ends)
        ok = np.ones(n, dtype=bool) if mapped is None else np.asarray(mapped, dtype=bool)
        if not len(tid) == len(ok) == n:
            raise ValueError("write_records: arrays differ in length")
        placed = tid >= 0
        if not placed.all():
            tid = np.where(placed, tid, -1)
            beg = np.where(placed, beg, 0)
            end = np.where(placed, end, 0)
        self._check_references(tid)
        self._order.check(tid, beg, end, describe=describe)
        end = np.where(placed & (end <= beg), beg + 1, end)
        frame = np.empty(n, dtype=np.int64)
        slow: list[int] = []
        size = self.block_size
        buf = self._buf
        lens = np.fromiter(map(len, records), np.int64, n)
        cum = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lens, out=cum[1:])
        i = 0
        # Same cuts as write_record per record, found per frame with a binary search.
        while i < n:
            if lens[i] > size:
                if buf:
                    self.flush()
                self.write_record(records[i])
                slow.append(i)
                frame[i] = -1
                i += 1
                continue
            # records i..j-1 fit in the room left (none of them is oversized, as room <= size)
            j = int(np.searchsorted(cum, cum[i] + (size - len(buf)), side="right")) - 1
            if j <= i:
                self.flush()
                continue
            buf += b"".join(records[i:j])
            self._pos += int(cum[j] - cum[i])
            frame[i:j] = len(self._frame_starts)
            i = j
        self._mark = self._pos
        self._n_records += n
        if slow:
            self._attribute_slow(records, set(slow), tid, beg, end, ok)
        keep = frame >= 0
        if not keep.any():
            return
        f, t, b, e, o = frame[keep], tid[keep], beg[keep], end[keep], ok[keep]
        order = np.lexsort((t, f))
        f, t, b, e, o = f[order], t[order], b[order], e[order], o[order]
        cut = np.flatnonzero((np.diff(f) != 0) | (np.diff(t) != 0)) + 1
        starts = np.concatenate(([0], cut))
        mins = np.minimum.reduceat(b, starts)
        maxs = np.maximum.reduceat(e, starts)
        aligned = np.add.reduceat(o.astype(np.int64), starts)
        counts = np.diff(np.concatenate((starts, [len(f)])))
        for fi, ti, lo, hi, a, c in zip(f[starts].tolist(), t[starts].tolist(), mins.tolist(),
                                       maxs.tolist(), aligned.tolist(), counts.tolist()):
            state = self._index.frame(fi)
            entry = state.get(ti)
            if entry is None:
                state[ti] = [lo, hi, a, c - a]
            else:
                entry[0] = min(entry[0], lo)
                entry[1] = max(entry[1], hi)
                entry[2] += a
                entry[3] += c - a

    def _attribute_slow(self, records, slow, tid, beg, end, ok) -> None:
        """Oversized records: recover which frames each one filled from the frame sizes."""
        # Frames are cut in order, so walk the records again to know each one's byte range.
        starts = self._frame_starts + [self._cur_start]
        pos = self._pos - sum(len(r) for r in records)
        for i, rec in enumerate(records):
            if i in slow:
                first = bisect_right(starts, pos) - 1
                last = bisect_right(starts, pos + len(rec) - 1) - 1
                for fr in range(first, last + 1):
                    self._add(self._index.frame(fr), int(tid[i]), int(beg[i]), int(end[i]),
                              bool(ok[i]))
            pos += len(rec)

    @staticmethod
    def _add(state: dict, tid: int, beg: int, end: int, mapped: bool) -> None:
        entry = state.get(tid)
        if entry is None:
            state[tid] = [beg, end, 1, 0] if mapped else [beg, end, 0, 1]
            return
        if beg < entry[0]:
            entry[0] = beg
        if end > entry[1]:
            entry[1] = end
        entry[2 if mapped else 3] += 1

    # ------------------------------------------------------------------ finishing
    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed Bgzf2Writer")

    def close(self) -> None:
        """Write the last frame, the index frame and the seek table; move the file into place."""
        if self.closed:
            return
        try:
            self.flush()
            self._emit(self._compressor.drain(block=True))
            if not self._header_written:
                self._write_header(b"")
            if self.frame_metadata:
                self._release(None)
            n_frames = len(self._frame_starts)
            index = self._index.finish(n_frames, self.references, self.aligned, self.sorted,
                                       self.metadata)
            index_frame = index.to_frame(self.level)
            self._handle.write(index_frame)
            sizes = np.array(self._sizes, dtype=np.int64).reshape(-1, 3)
            stride = 3 if self.frame_metadata and n_frames else 2
            n = 2 + stride * n_frames
            comp = np.empty(n, dtype=np.int64)
            decomp = np.zeros(n, dtype=np.int64)
            check = np.full(n, EMPTY_CHECKSUM, dtype=np.int64)
            comp[0] = self._header_size
            data = slice(stride, -1, stride)
            comp[stride - 1:-1:stride] = PZSTD_FRAME_SIZE
            if stride == 3:
                comp[1:-1:3] = self._meta_sizes
            comp[data] = sizes[:, 0]
            decomp[data] = sizes[:, 1]
            check[data] = sizes[:, 2]
            comp[-1] = len(index_frame)
            self._handle.write(build_seek_table(comp, decomp, check if self.checksums else None))
            self._handle.flush()
        except BaseException:
            self.abort()
            raise
        self._compressor.close()
        self.closed = True
        if self._atomic is not None:
            self._atomic.commit()

    def abort(self) -> None:
        """Stop writing; a file being written to a path is removed."""
        if self.closed:
            return
        self.closed = True
        self._compressor.close()
        if self._atomic is not None:
            self._atomic.discard()
