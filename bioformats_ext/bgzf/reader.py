"""BGZF reader over any byte source: virtual-offset seeks, lines, whole-block iteration.

Reads go through :func:`bioformats_ext.io.open_source`, so local, file-object and remote files
behave the same. Bulk paths (:meth:`BgzfReader.iter_blocks`, :meth:`BgzfReader.read_ranges`)
fetch compressed bytes in large pieces (one ``read_many`` for a chunk list) and inflate block by
block; no per-byte Python work.
"""

from __future__ import annotations

import warnings
from typing import Iterator, Sequence

from ..codec import deflate_codec
from ..errors import FormatError, TruncatedFileError, TruncatedFileWarning
from ..io.base import LineReader
from ..io.source import ByteSource, open_source
from .blocks import EOF_BLOCK, MAX_BLOCK_SIZE, block_spans, parse_header, unpack_block
from .strict import _STRICT_EOF, strict_eof  # noqa: F401  (strict_eof re-exported)

# Streaming reads start small and double up to _CHUNK: reading just a header (BAM, VCF) over the
# network then costs one small request, while a full scan soon reads 4 MiB at a time.
_FIRST_CHUNK = 1 << 16
_CHUNK = 1 << 22

def missing_eof(name: str) -> None:
    """Report a BGZF stream that ends without the EOF block: warn as htslib does, or raise in
    strict mode. (A file cut exactly at a block boundary is otherwise indistinguishable from a
    shorter complete file.)"""
    message = f"{name}: EOF marker is absent. The input is probably truncated"
    if _STRICT_EOF.get():
        raise TruncatedFileError(message)
    warnings.warn(message, TruncatedFileWarning, stacklevel=3)


class BgzfReader(LineReader):
    """Random access to the uncompressed stream of a BGZF file."""

    def __init__(self, source, backend: str = "auto"):
        self.source: ByteSource = open_source(source)
        self.codec = deflate_codec(backend)
        self._addr = 0          # address of the loaded block
        self._next = 0          # address of the block after it
        self._data = b""        # its uncompressed bytes
        self._pos = 0           # read position inside it
        self._loaded = False
        self._eof_checked = False

    def _check_eof(self) -> None:
        """Once per reader, on reaching the end of the file: is the EOF block there?"""
        if not self._eof_checked:
            self._eof_checked = True
            if not self.has_eof_marker:
                missing_eof(getattr(self.source, "name", None) or "BGZF file")

    # -- blocks ----------------------------------------------------------------------------------
    def read_block(self, address: int) -> tuple[bytes, int]:
        """``(uncompressed bytes, address of the next block)`` for the block at ``address``."""
        size_total = self.source.size
        if address < 0 or address > size_total:
            raise FormatError("block address outside the file", address)
        if address == size_total:
            return b"", address
        raw = self.source.read_upto(address, MAX_BLOCK_SIZE)
        size = parse_header(raw, 0, address)
        if size > len(raw):
            raise TruncatedFileError("truncated BGZF block", address)
        return unpack_block(raw, 0, size, self.codec, address), address + size

    def iter_blocks(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Yield ``(block_address, uncompressed bytes)`` for blocks starting in ``[start, end)``."""
        for address, _next, data in self.iter_block_spans(start, end):
            yield address, data

    def iter_block_spans(self, start: int = 0, end: int | None = None
                         ) -> Iterator[tuple[int, int, bytes]]:
        """Like :meth:`iter_blocks` but yields ``(address, next_address, data)``."""
        size_total = self.source.size
        end = size_total if end is None else min(end, size_total)
        address = start
        chunk = _FIRST_CHUNK
        while address < end:
            # never fetch much past ``end`` (remote sources pay for every byte)
            raw = self.source.read_upto(address, min(chunk, end - address + MAX_BLOCK_SIZE))
            spans = block_spans(raw, address, end, size_total)
            if not spans and chunk >= _CHUNK:  # a source returning less than one block
                raise TruncatedFileError("truncated BGZF block", address)
            chunk = min(2 * chunk, _CHUNK)
            for pos, size in spans:
                yield (address + pos, address + pos + size,
                       unpack_block(raw, pos, size, self.codec, address + pos))
            if spans:
                address += spans[-1][0] + spans[-1][1]
        if end == size_total and address >= size_total:
            self._check_eof()

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """Uncompressed bytes for each ``(start_voffset, end_voffset)``, with one ``read_many``.

        This is what a region query needs: the chunk list from an index turned into data.
        """
        out: list[list[bytes]] = [[] for _ in ranges]
        for k, piece in self.iter_range_pieces(ranges):
            out[k].append(piece)
        return [b"".join(parts) for parts in out]

    def iter_range_pieces(self, ranges: Sequence[tuple[int, int]]) -> Iterator[tuple[int, bytes]]:
        """``(range number, uncompressed bytes)`` block by block for ``(start_voffset, end_voffset)``
        ranges: the compressed bytes of all ranges come in one ``read_many`` (one request
        remotely), but blocks are only inflated as the caller asks, so a query that ends early
        inflates no more."""
        if not ranges:
            return
        size_total = self.source.size
        spans = []
        for beg, end in ranges:
            a, b = beg >> 16, end >> 16
            # the block holding ``end`` is needed only if end's in-block offset is > 0
            stop = min(size_total, b + (MAX_BLOCK_SIZE if end & 0xFFFF else 0))
            if stop < a:
                raise FormatError("chunk ends before it starts", beg)
            spans.append((a, max(stop - a, 0)))
        raws = self.source.read_many(spans)
        for k, ((beg, end), (a, _), raw) in enumerate(zip(ranges, spans, raws)):
            b = end >> 16
            pos = 0
            while a + pos <= b and pos < len(raw):
                if a + pos == b and not end & 0xFFFF:
                    break
                size = parse_header(raw, pos, a + pos)
                if pos + size > len(raw):
                    raise TruncatedFileError("truncated BGZF block", a + pos)
                data = unpack_block(raw, pos, size, self.codec, a + pos)
                lo = (beg & 0xFFFF) if pos == 0 else 0
                hi = (end & 0xFFFF) if a + pos == b else len(data)
                if lo > len(data) or hi > len(data):
                    raise FormatError("virtual offset past the end of its block", a + pos)
                yield k, data[lo:hi]
                pos += size

    @property
    def has_eof_marker(self) -> bool:
        """True when the file ends with the 28-byte BGZF EOF block (a complete file)."""
        size = self.source.size
        return size >= len(EOF_BLOCK) and self.source.read(size - len(EOF_BLOCK), len(EOF_BLOCK)) == EOF_BLOCK

    # -- stream interface --------------------------------------------------------------------
    def _load(self, address: int) -> None:
        self._data, self._next = self.read_block(address)
        self._addr = address
        self._pos = 0
        self._loaded = True

    def seek(self, voffset: int) -> int:
        address, within = voffset >> 16, voffset & 0xFFFF
        if not self._loaded or address != self._addr:
            self._load(address)
        if within > len(self._data):
            raise FormatError(f"virtual offset {voffset} points past the end of its block", address)
        self._pos = within
        return voffset

    def tell(self) -> int:
        """Virtual offset of the next byte; the end of a block is reported as the next block's start."""
        if not self._loaded:
            return 0
        if self._pos >= len(self._data):
            return self._next << 16
        return (self._addr << 16) | self._pos

    def _advance(self) -> bool:
        """Move to the next non-empty block; False at end of file."""
        if not self._loaded:
            if self.source.size == 0:  # an empty file is not an empty BGZF stream
                self._check_eof()
                return False
            self._load(0)
            if self._pos < len(self._data):
                return True
        while self._pos >= len(self._data):
            if self._next >= self.source.size:
                self._check_eof()
                return False
            self._load(self._next)
        return True

    def read(self, n: int = -1) -> bytes:
        parts = []
        want = n
        while want != 0:
            if self._pos >= len(self._data) or not self._loaded:
                if not self._advance():
                    break
            avail = len(self._data) - self._pos
            take = avail if want < 0 else min(avail, want)
            parts.append(self._data[self._pos:self._pos + take])
            self._pos += take
            if want > 0:
                want -= take
        return b"".join(parts)

    def readline(self) -> bytes:
        parts = []
        while True:
            if self._pos >= len(self._data) or not self._loaded:
                if not self._advance():
                    break
            i = self._data.find(b"\n", self._pos)
            if i >= 0:
                parts.append(self._data[self._pos:i + 1])
                self._pos = i + 1
                break
            parts.append(self._data[self._pos:])
            self._pos = len(self._data)
        return b"".join(parts)

    def close(self) -> None:
        self.source.close()

    def __enter__(self) -> "BgzfReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
