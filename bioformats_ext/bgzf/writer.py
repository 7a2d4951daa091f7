"""BGZF writer with htslib's block layout, exact virtual offsets and optional threaded compression.

Layout rules that make our offsets agree with htslib (see docs/index.md):
blocks hold at most 0xff00 bytes; :meth:`BgzfWriter.write_record` starts a new block when a
record would not fit (records never straddle blocks unless larger than a block); a full block
is flushed at once, so :meth:`tell` never reports "end of block" but "start of the next" (htslib's
normalisation).

With ``threads > 1`` blocks are compressed by ``threads - 1`` pool threads while the caller goes
on producing records, helping with compression only when it would otherwise wait
(:class:`~bioformats_ext.compression.BlockCompressor`). A block's *address* then depends on the
compressed sizes of earlier blocks still in flight, so :meth:`tell` waits for them. Writers that
want to stay parallel use :meth:`tell_block` (block *number* << 16 | offset, known instantly) and
translate at the end with :meth:`block_addresses` (``IndexBuilder.finish(..., block_addresses=...)``
does this), exactly like htslib's multi-threaded indexing.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Callable, Sequence

import numpy as np

from ..codec import deflate_codec
from ..compression import BlockCompressor
from ..io.atomic import AtomicFile, CloseOrAbort
from .blocks import EOF_BLOCK, MAX_BLOCK_DATA, pack_block


class BgzfWriter(CloseOrAbort):
    """Write BGZF to a path (atomically: temp file + rename) or to a binary file object."""

    def __init__(self, target: "str | os.PathLike[str] | BinaryIO", level: int = 6,
                 backend: str = "auto", threads: int = 1):
        self.codec = deflate_codec(backend, level)
        self.level = level
        self.threads = max(1, int(threads))
        self._atomic: AtomicFile | None = None
        if isinstance(target, (str, os.PathLike)):
            self._atomic = AtomicFile(target)
            self._fh: BinaryIO = self._atomic.handle
            base = 0
        else:
            self._fh = target
            try:
                base = target.tell()
            except (AttributeError, OSError):
                base = 0
        self._buf = bytearray()
        self._next_address = base          # address of the next block to be written to disk
        self._addresses: list[int] = []    # address of every block written, by block number
        self._n_blocks = 0                 # blocks submitted (written or in flight)
        codec = self.codec
        # threaded: a window of 64 blocks (~4 MB) lets a writer hand over a whole batch of
        # records and go on encoding the next one while the pool compresses (a pipeline)
        self._compressor: BlockCompressor[bytes] = BlockCompressor(
            lambda data: pack_block(data, codec), self.threads, window=64 if threads > 1 else None)
        self._closed = False
        self.eof_voffset: int | None = None   # set by close(): real offset of the EOF block
        self.eof_block: int | None = None     # set by close(): its block-numbered offset
        # the end (tell_block) of the last record of the last write_records call, and whom to
        # tell when a flush moves it to the next block's start (htslib's hts_idx_amend_last)
        self._last_end: int | None = None
        self.on_amend: Callable[[int], None] | None = None

    # -- writing -------------------------------------------------------------------------------
    def write(self, data: "bytes | bytearray | memoryview") -> int:
        """Append bytes as a stream (may span blocks)."""
        buf = self._buf
        n = len(data)
        if len(buf) + n < MAX_BLOCK_DATA:
            buf += data
            return n
        view = memoryview(data)
        pos = 0
        while pos < n:
            take = min(MAX_BLOCK_DATA - len(buf), n - pos)
            buf += view[pos:pos + take]
            pos += take
            if len(buf) >= MAX_BLOCK_DATA:
                self._submit()
        return n

    def write_record(self, data: bytes) -> int:
        """Append one record, starting a new block first if it would not fit in this one.

        A record the index does not see (a comment line mid-file); it may move the end of the
        last indexed record to the next block's start, as it would the next indexed record.
        """
        self._amend_before(len(data))
        buf = self._buf
        if len(buf) + len(data) >= MAX_BLOCK_DATA:
            if buf and len(buf) + len(data) > MAX_BLOCK_DATA:
                self._submit()
            return self.write(data)
        buf += data
        return len(data)

    def flush(self) -> None:
        """End the current block now (e.g. after a header, so records start a fresh block)."""
        if self._buf:
            last = self._last_end
            if last is not None and last & 0xFFFF:  # the last record now ends at the next block
                self._amend((self._n_blocks + 1) << 16)
            self._submit()

    def write_records(self, data: "bytes | memoryview", sizes: "np.ndarray | Sequence[int]"
                      ) -> np.ndarray:
        """Write records (``data`` = their concatenation) with :meth:`write_record`'s layout, one
        ``write`` per block; returns each record's end as :meth:`tell_block` values.

        The layout rule is simple enough to compute for a whole batch: a record goes into the
        current block if it fits, else the block is flushed first (unless empty), and a record
        larger than a block spans several. With cumulative sizes, each block's run of records
        is one ``searchsorted``. A record followed by such a flush ends at the next block's
        start (what a reader's ``tell()`` reports, and what htslib's ``hts_idx_amend_last``
        records): within the batch the returned offsets say so already; for the batch's last
        record, a later flush calls :attr:`on_amend` with its new end.
        """
        cap = MAX_BLOCK_DATA
        sizes = np.asarray(sizes, np.int64)
        n = len(sizes)
        if n == 0:
            return np.zeros(0, np.int64)
        if self.threads > 1 and not isinstance(data, bytes):
            data = bytes(data)  # blocks below are compressed from views of it, on the pool
        self._amend_before(int(sizes[0]))
        cum = np.zeros(n + 1, np.int64)
        np.cumsum(sizes, out=cum[1:])
        offsets = np.empty(n, np.int64)
        view = memoryview(data)
        block, fill = self._n_blocks, len(self._buf)
        ends = cum.tolist()
        i = 0
        while i < n:
            j = int(np.searchsorted(cum, cum[i] + cap - fill, side="right")) - 1
            if j > i:  # records i..j-1 fit in this block
                a, b = ends[i], ends[j]
                offsets[i:j] = (block << 16) + fill + (cum[i + 1:j + 1] - a)
                fill += b - a
                if fill == cap or j < n:  # the block is complete: record j does not fit
                    if self._buf:
                        self._buf += view[a:b]
                        self._submit()
                    else:  # straight from the caller's bytes: no copy into the block buffer
                        self._submit_data(view[a:b])
                    if fill == cap:  # exactly full: the offset is the next block's start
                        offsets[j - 1] = (block + 1) << 16
                    block, fill = block + 1, 0
                else:
                    self._buf += view[a:b]
                i = j
            elif fill:
                self._submit()
                block, fill = block + 1, 0
            else:  # a record larger than a block
                size = int(sizes[i])
                self.write(view[ends[i]:ends[i + 1]])
                block, fill = block + size // cap, size % cap
                offsets[i] = (block << 16) | fill
                i += 1
        # amend within the batch: a record ending inside a block that the next one does not fit
        within = offsets[:-1] & 0xFFFF
        amend = (within > 0) & (within + sizes[1:] > cap)
        if amend.any():
            head = offsets[:-1]
            head[amend] = ((head[amend] >> 16) + 1) << 16
        self._last_end = int(offsets[-1])
        return offsets

    def _amend_before(self, size: int) -> None:
        """Before writing ``size`` bytes: if they will not fit after the last record's end,
        that end moves to the next block's start."""
        last = self._last_end
        if last is not None and last & 0xFFFF and (last & 0xFFFF) + size > MAX_BLOCK_DATA:
            self._amend(((last >> 16) + 1) << 16)

    def _amend(self, end: int) -> None:
        self._last_end = end
        if self.on_amend is not None:
            self.on_amend(end)

    def _submit(self) -> None:
        data = bytes(self._buf)
        self._buf.clear()
        self._submit_data(data)

    def _submit_data(self, data: "bytes | memoryview") -> None:
        """Queue one block's payload (immutable while it may be in flight on the pool)."""
        self._n_blocks += 1
        self._compressor.submit(data)  # type: ignore[arg-type]
        self._write_ready(block=False)

    def _write_ready(self, block: bool) -> None:
        for packed in self._compressor.drain(block=block):
            self._fh.write(packed)
            self._addresses.append(self._next_address)
            self._next_address += len(packed)

    # -- positions -----------------------------------------------------------------------------
    def tell(self) -> int:
        """Virtual offset of the next byte (waits for in-flight blocks when threaded)."""
        if len(self._addresses) < self._n_blocks:
            self._write_ready(block=True)
        return (self._next_address << 16) | len(self._buf)

    def tell_block(self) -> int:
        """``block_number << 16 | offset``: like :meth:`tell` but never waits; see the module doc."""
        return (self._n_blocks << 16) | len(self._buf)

    def block_addresses(self) -> np.ndarray:
        """File address of each block by number, plus the next block's address at the end.

        After :meth:`close` the EOF block is included (its number is ``eof_block >> 16``).
        """
        if not self._closed:
            self._write_ready(block=True)
        return np.array(self._addresses + [self._next_address], dtype=np.int64)

    def resolve(self, block_voffsets: "np.ndarray | int") -> "np.ndarray | int":
        """Turn :meth:`tell_block` values into real virtual offsets."""
        addr = self.block_addresses()
        v = np.asarray(block_voffsets, dtype=np.int64)
        out = (addr[v >> 16] << 16) | (v & 0xFFFF)
        return int(out) if out.ndim == 0 else out

    # -- closing -------------------------------------------------------------------------------
    def close(self) -> int:
        """Flush, write the EOF marker, rename into place; returns the EOF block's virtual offset."""
        if self._closed:
            return self.eof_voffset  # type: ignore[return-value]
        try:
            self.flush()
            self._write_ready(block=True)
            self._compressor.close()
            self.eof_voffset = self._next_address << 16
            self.eof_block = self._n_blocks << 16
            self._fh.write(EOF_BLOCK)
            self._addresses.append(self._next_address)
            self._n_blocks += 1
            self._next_address += len(EOF_BLOCK)
            if self._atomic is not None:
                self._atomic.commit()
            else:
                self._fh.flush()
        except BaseException:
            self.abort()
            raise
        self._closed = True
        return self.eof_voffset

    def abort(self) -> None:
        """Discard: nothing appears at the target path (temp file removed)."""
        if self._closed:
            return
        self._closed = True
        self._compressor.close()
        if self._atomic is not None:
            self._atomic.discard()

    @property
    def closed(self) -> bool:
        return self._closed

