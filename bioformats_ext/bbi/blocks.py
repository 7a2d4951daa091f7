"""Data blocks: decompress, and split a block into records in one pass.

A bigBed block is a run of records ``chromId, start, end`` (12 bytes) followed by the rest of the
BED line, NUL-terminated. The 12-byte prefix may itself contain NULs, so a plain split cannot find
the records; one compiled regex ``findall`` (12 characters, then up to a NUL) walks the whole
latin-1-decoded block in C, and the rests' lengths locate every prefix for one numpy gather.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from ..errors import FormatError, TruncatedFileError
from .format import layouts



try:  # ISA-L inflates about twice as fast as zlib; same format, optional dependency
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover
    _zlib = zlib


_MAX_RATIO = 1032          # deflate cannot expand data more than this
_ONE_SHOT_BOUND = 64 << 20  # one-shot inflate (faster) when the worst case stays below this


def decompress(data: bytes, limit: int, offset: int) -> bytes:
    """zlib-inflate one block, refusing to produce more than ``limit`` bytes (zip bombs)."""
    if len(data) * _MAX_RATIO <= _ONE_SHOT_BOUND:
        try:
            out = _zlib.decompress(data)
        except (zlib.error, _zlib.error) as exc:
            raise FormatError(f"corrupt compressed block ({exc})", offset) from None
        if len(out) > limit:
            raise FormatError(f"block inflates beyond {limit} bytes", offset)
        return out
    d = _zlib.decompressobj()
    try:
        out = d.decompress(data, limit)
    except (zlib.error, _zlib.error) as exc:
        raise FormatError(f"corrupt compressed block ({exc})", offset) from None
    if d.unconsumed_tail:
        raise FormatError(f"block inflates beyond {limit} bytes", offset)
    if not d.eof:
        raise TruncatedFileError("compressed block is truncated", offset)
    return out


class Block:
    """The records of one block: numpy ``chrom``/``start``/``end`` arrays and the rests (str)."""

    __slots__ = ("chrom", "start", "end", "rests", "_index")

    def __init__(self, chrom: np.ndarray, start: np.ndarray, end: np.ndarray, rests: list[str]):
        self.chrom = chrom
        self.start = start
        self.end = end
        self.rests = rests
        self._index: tuple | None = None  # (running max of ends,) built on the first query

    def __len__(self) -> int:
        return len(self.rests)

    def texts(self, offset: int = 0) -> list[str]:
        """The rest of every record (the BED columns after the third, tab-separated)."""
        return self.rests

    def texts_at(self, indices: list[int], offset: int = 0) -> list[str]:
        rests = self.rests
        return [rests[i] for i in indices]

    def _sorted_reach(self) -> np.ndarray | None:
        """Running maximum of the ends when the block is one chromosome sorted by start (as
        bigBed writers produce), else None. Computed once, on the first query."""
        reach = self._index
        if reach is None:
            c = self.chrom
            s = self.start
            ok = len(c) and c[0] == c[-1] and bool(np.all(c == c[0])) and \
                bool(np.all(s[1:] >= s[:-1]))
            reach = self._index = (np.maximum.accumulate(self.end),) if ok else (None,)
        return reach[0]

    def select(self, chrom: int, start: int, end: int) -> list[int]:
        """Indices of records overlapping ``chrom:start-end`` (UCSC / Biopython semantics:
        zero-length records touching either edge count as overlapping)."""
        reach = self._sorted_reach()
        if reach is not None:
            if self.chrom[0] != chrom:
                return []
            # sorted by start: only records in [first, last) can overlap
            first = int(reach.searchsorted(start))
            last = int(self.start.searchsorted(end, "right"))
            if first >= last:
                return []
            starts = self.start[first:last].tolist()
            ends = self.end[first:last].tolist()
        else:
            first = 0
            starts = self.start.tolist()
            ends = self.end.tolist()
            chroms = self.chrom.tolist()
            return [i for i, (c, s, e) in enumerate(zip(chroms, starts, ends))
                    if c == chrom and ((s < end and e > start) or
                                       (s == e and (s == end or e == start)))]
        return [first + i for i, (s, e) in enumerate(zip(starts, ends))
                if (s < end and e > start) or (s == e and (s == end or e == start))]


_REST = re.compile(r"(?s).{12}([^\0]*)\0")
_PREFIX_COLUMNS = np.arange(12, dtype=np.int64)


def parse_block(data: bytes, byteorder: str, offset: int = 0) -> Block:
    """Split a decompressed block into records.

    The block is decoded as latin-1 (one byte per character, so positions stay byte offsets and
    the binary prefixes cannot fail to decode); one regex pass in C then yields every record's
    text directly, their lengths give every record's position, and one numpy gather reads all
    12-byte prefixes. Non-ASCII text (UTF-8) is re-decoded, only in the blocks that have it.
    """
    rests = _REST.findall(data.decode("latin-1"))
    dtype = layouts(byteorder).bed_prefix_dtype
    n = len(rests)
    lengths = np.fromiter(map(len, rests), np.int64, n) + 13
    ends = np.cumsum(lengths)
    used = int(ends[-1]) if n else 0
    if used != len(data):  # every byte must belong to a record: prefix + rest + NUL
        if data.find(b"\0", used + 12) < 0:
            raise TruncatedFileError("block ends inside a record", offset + used)
        raise FormatError("malformed records in block", offset + used)
    if n:
        if not "".join(rests).isascii():
            try:
                rests = [r.encode("latin-1").decode() for r in rests]
            except UnicodeDecodeError:
                raise FormatError("record text is not UTF-8", offset) from None
        raw = np.frombuffer(data, np.uint8)
        prefix = raw[(ends - lengths)[:, None] + _PREFIX_COLUMNS].view(dtype).reshape(-1)
    else:
        prefix = np.zeros(0, dtype)
    return Block(prefix["chrom"].astype(np.int64), prefix["start"].astype(np.int64),
                 prefix["end"].astype(np.int64), rests)
