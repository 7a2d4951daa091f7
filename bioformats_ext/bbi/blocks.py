"""Data blocks: decompress, and split a block into records in one pass.

A bigBed block is a run of records ``chromId, start, end`` (12 bytes) followed by the rest of the
BED line, NUL-terminated. The 12-byte prefix may itself contain NULs, so we walk the block with
``bytes.find`` (C speed, one call per record), then read all prefixes with a single numpy gather,
and decode all rests with a single ``decode``/``split`` (rests cannot contain NUL).
"""

from __future__ import annotations

import zlib

import numpy as np

from ..errors import FormatError, TruncatedFileError
from .format import BED_PREFIX_SIZE, layouts

_PREFIX_COLUMNS = np.arange(BED_PREFIX_SIZE, dtype=np.int64)


def decompress(data: bytes, limit: int, offset: int) -> bytes:
    """zlib-inflate one block, refusing to produce more than ``limit`` bytes (zip bombs)."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit)
    except zlib.error as exc:
        raise FormatError(f"corrupt compressed block ({exc})", offset) from None
    if d.unconsumed_tail:
        raise FormatError(f"block inflates beyond {limit} bytes", offset)
    if not d.eof:
        raise TruncatedFileError("compressed block is truncated", offset)
    return out


class Block:
    """The records of one block: numpy ``chrom``/``start``/``end`` arrays and the raw rests."""

    __slots__ = ("chrom", "start", "end", "rests", "_texts")

    def __init__(self, chrom: np.ndarray, start: np.ndarray, end: np.ndarray, rests: list[bytes]):
        self.chrom = chrom
        self.start = start
        self.end = end
        self.rests = rests
        self._texts: list[str] | None = None

    def __len__(self) -> int:
        return len(self.rests)

    def texts(self, offset: int = 0) -> list[str]:
        """The rests as str (decoded once per block, cached)."""
        if self._texts is None:
            if not self.rests:
                self._texts = []
            else:
                try:
                    self._texts = b"\0".join(self.rests).decode().split("\0")
                except UnicodeDecodeError:
                    raise FormatError("record text is not UTF-8", offset) from None
        return self._texts

    def select(self, chrom: int, start: int, end: int) -> np.ndarray:
        """Indices of records overlapping ``chrom:start-end`` (UCSC / Biopython semantics:
        zero-length records touching either edge count as overlapping)."""
        s = self.start
        e = self.end
        mask = (self.chrom == chrom) & (((s < end) & (e > start)) |
                                        ((s == e) & ((s == end) | (e == start))))
        return np.flatnonzero(mask)


def parse_block(data: bytes, byteorder: str, offset: int = 0) -> Block:
    """Split a decompressed block into records."""
    n = len(data)
    positions: list[int] = []
    rests: list[bytes] = []
    append_pos = positions.append
    append_rest = rests.append
    find = data.find
    pos = 0
    try:
        while pos < n:
            nul = find(b"\0", pos + BED_PREFIX_SIZE)
            if nul < 0:
                raise ValueError
            append_pos(pos)
            append_rest(data[pos + BED_PREFIX_SIZE:nul])
            pos = nul + 1
    except ValueError:
        if pos + BED_PREFIX_SIZE > n:
            raise TruncatedFileError("block ends inside a record", offset) from None
        raise FormatError("record without NUL terminator", offset) from None
    dtype = layouts(byteorder).bed_prefix_dtype
    if positions:
        raw = np.frombuffer(data, np.uint8)
        idx = np.asarray(positions, dtype=np.int64)[:, None] + _PREFIX_COLUMNS
        prefix = raw[idx].view(dtype).reshape(-1)
    else:
        prefix = np.zeros(0, dtype)
    return Block(prefix["chrom"].astype(np.int64), prefix["start"].astype(np.int64),
                 prefix["end"].astype(np.int64), rests)
