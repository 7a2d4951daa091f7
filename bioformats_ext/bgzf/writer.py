"""BGZF writer with htslib's block layout, exact virtual offsets and optional threaded compression.

Layout rules that make our offsets agree with htslib (see docs/index.md):
blocks hold at most 0xff00 bytes; :meth:`BgzfWriter.write_record` starts a new block when a
record would not fit (records never straddle blocks unless larger than a block); a full block
is flushed at once, so :meth:`tell` never reports "end of block" but "start of the next" (htslib's
normalisation).

With ``threads > 1`` blocks are compressed on a pool. A block's *address* then depends on the
compressed sizes of earlier blocks still in flight, so :meth:`tell` waits for them. Writers that
want to stay parallel use :meth:`tell_block` (block *number* << 16 | offset, known instantly) and
translate at the end with :meth:`block_addresses` (``IndexBuilder.finish(..., block_addresses=...)``
does this), exactly like htslib's multi-threaded indexing.
"""

from __future__ import annotations

import os
from typing import BinaryIO

import numpy as np

from ..compression import BlockCompressor, deflate_codec
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
        self._compressor = BlockCompressor(lambda data: pack_block(data, codec), self.threads)
        self._closed = False
        self.eof_voffset: int | None = None   # set by close(): real offset of the EOF block
        self.eof_block: int | None = None     # set by close(): its block-numbered offset

    # -- writing -------------------------------------------------------------------------------
    def write(self, data: bytes) -> int:
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
        """Append one record, starting a new block first if it would not fit in this one."""
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
            self._submit()

    def _submit(self) -> None:
        data = bytes(self._buf)
        self._buf.clear()
        self._n_blocks += 1
        self._compressor.submit(data)
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

