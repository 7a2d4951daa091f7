"""Data blocks: decompress, and locate a block's records in a few vectorised passes.

A bigBed block is a run of records ``chromId, start, end`` (12 bytes) followed by the rest of the
BED line, NUL-terminated. The 12-byte prefix may itself contain NULs, so a plain split cannot find
the records; the terminators are found with numpy (see ``_terminators``), the prefixes read with
one gather per field, and the texts decoded lazily: a query decodes only the records it returns.
"""

from __future__ import annotations

import re
import zlib
from typing import Any
from array import array

import numpy as np

from ..codec import zlib_module
from ..errors import FormatError, TruncatedFileError
from ..io.source import ByteSource

_zlib = zlib_module()  # ISA-L when installed: same format, about twice as fast


_MAX_RATIO = 1032          # deflate cannot expand data more than this
_ONE_SHOT_BOUND = 64 << 20  # one-shot inflate (faster) when the worst case stays below this
#: Hard ceiling on one inflated block, whatever ``uncompressBufSize`` claims (the header field is
#: 32-bit, so a file could otherwise ask for 4 GiB per block). bedToBigBed's blocks hold
#: ``itemsPerSlot`` (default 512) records; 16 MiB allows 32 KiB per BED line at that slot size,
#: far beyond real files, and keeps the numpy work on one block a few hundred MiB at worst.
MAX_BLOCK_INFLATE = 16 << 20
#: Blocks larger than this are split into records by a per-record walk (memory per record)
#: instead of the vectorised NUL scan (memory per byte).
_VECTOR_MAX = 4 << 20


def decompress(data: bytes, limit: int, offset: int) -> bytes:
    """zlib-inflate one block, refusing to produce more than ``limit`` bytes (zip bombs;
    ``limit`` is itself capped at :data:`MAX_BLOCK_INFLATE`). A block is inflated in one shot
    only when even its worst case (1032:1) stays under 64 MiB; otherwise ``max_length`` bounds
    the inflate, so no block ever costs more than 64 MiB, whatever its header claims."""
    limit = min(limit, MAX_BLOCK_INFLATE)
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
    """The records of one block: numpy ``chrom``/``start``/``end`` arrays, and the decompressed
    bytes with each record's rest located (``rest_start``/``rest_end``) but decoded only when
    asked for, so that a query decodes just the records it returns."""

    __slots__ = ("chrom", "start", "end", "data", "rest_start", "rest_end", "offset",
                 "_rests", "_index")

    def __init__(self, chrom: np.ndarray, start: np.ndarray, end: np.ndarray, data: bytes,
                 rest_start: np.ndarray, rest_end: np.ndarray, offset: int = 0):
        self.chrom = chrom
        self.start = start
        self.end = end
        self.data = data
        self.rest_start = rest_start
        self.rest_end = rest_end
        self.offset = offset
        self._rests: list[str] | None = None
        self._index: Any = None  # (running max of ends, chrom) built on the first query

    def __len__(self) -> int:
        return len(self.start)

    @property
    def rests(self) -> list[str]:
        return self.texts()

    def texts(self) -> list[str]:
        """The rest of every record (the BED columns after the third, tab-separated), decoded
        in one pass: the prefixes are zeroed in a copy, so that the records' texts are exactly
        the runs separated by 13 NULs (12 zeroed prefix bytes + the terminator)."""
        rests = self._rests
        if rests is None:
            n = len(self.start)
            if not n:
                rests = []
            elif len(self.data) > _VECTOR_MAX:  # memory per record, not 96 bytes per record
                rests = self.texts_at(range(n))
            else:
                buf = np.frombuffer(self.data, np.uint8).copy()
                buf[(self.rest_start[:, None] - _PREFIX_BACK).ravel()] = 0
                rests = _decode(buf.tobytes(), self.offset)[12:-1].split("\0" * 13)
            self._rests = rests
        return rests

    def texts_at(self, indices: "list[int] | range") -> list[str]:
        """The rests of the records at ``indices`` (decoding only those)."""
        if self._rests is not None:
            rests = self._rests
            return [rests[i] for i in indices]
        if isinstance(indices, range):
            rs = self.rest_start[indices.start:indices.stop].tolist()
            re_ = self.rest_end[indices.start:indices.stop].tolist()
        else:
            rs = self.rest_start[indices].tolist()
            re_ = self.rest_end[indices].tolist()
        data = self.data
        try:
            return [data[a:b].decode() for a, b in zip(rs, re_)]
        except UnicodeDecodeError:
            raise FormatError("record text is not UTF-8", self.offset) from None

    def _sorted_reach(self) -> np.ndarray | None:
        """Running maximum of the ends when the block is one chromosome sorted by start (as
        bigBed writers produce), else None. Computed once, on the first query."""
        reach = self._index
        if reach is None:
            c = self.chrom
            s = self.start
            ok = len(c) and c[0] == c[-1] and bool(np.all(c == c[0])) and \
                bool(np.all(s[1:] >= s[:-1]))
            reach = self._index = (np.maximum.accumulate(self.end) if ok else None,
                                   int(c[0]) if ok else None)
        return reach[0]

    def _candidates(self, chrom: int, start: int, end: int) -> tuple[int, list, list] | None:
        """``(first, starts, ends)`` of the records that may overlap (sorted blocks: only
        records in ``[first, last)``, two binary searches), or None when none can."""
        reach = self._sorted_reach()
        if reach is None:
            return None
        if self._index[1] != chrom:
            return 0, [], []
        first = int(reach.searchsorted(start))
        last = int(self.start.searchsorted(end, "right"))
        if first >= last:
            return first, [], []
        return first, self.start[first:last].tolist(), self.end[first:last].tolist()

    def select(self, chrom: int, start: int, end: int) -> list[int]:
        """Indices of records overlapping ``chrom:start-end`` (UCSC / Biopython semantics:
        zero-length records touching either edge count as overlapping)."""
        cand = self._candidates(chrom, start, end)
        if cand is None:
            chroms = self.chrom.tolist()
            return [i for i, (c, s, e) in enumerate(zip(chroms, self.start.tolist(),
                                                         self.end.tolist()))
                    if c == chrom and ((s < end and e > start) or
                                       (s == e and (s == end or e == start)))]
        first, starts, ends = cand
        return [first + i for i, (s, e) in enumerate(zip(starts, ends))
                if (s < end and e > start) or (s == e and (s == end or e == start))]

    def query(self, chrom: int, start: int, end: int
              ) -> tuple[list[int], list[int], list[str]] | None:
        """Starts, ends and texts of the records overlapping ``chrom:start-end`` (None if
        there are none): :meth:`select` and the gathers, on small lists."""
        reach = self._sorted_reach()
        if reach is None or self._index[1] != chrom:
            hits = self.select(chrom, start, end)
            if not hits:
                return None
            return (self.start[hits].tolist(), self.end[hits].tolist(), self.texts_at(hits))
        first = int(reach.searchsorted(start))
        last = int(self.start.searchsorted(end, "right"))
        if first >= last:
            return None
        if last - first > 16:
            # A long record early in the block keeps ``reach`` high: many candidates may end
            # before the region. ``end >= start`` (necessary for overlap) drops them in C.
            idx = (self.end[first:last] >= start).nonzero()[0]
            if not len(idx):
                return None
            idx += first
            starts = self.start[idx].tolist()
            ends = self.end[idx].tolist()
            indices: "list[int] | range" = idx.tolist()
        else:
            starts = self.start[first:last].tolist()
            ends = self.end[first:last].tolist()
            indices = range(first, last)
        keep = [i for i, (s, e) in enumerate(zip(starts, ends))
                if (s < end and e > start) or (s == e and (s == end or e == start))]
        if len(keep) == len(starts):
            return starts, ends, self.texts_at(indices)
        if not keep:
            return None
        return ([starts[i] for i in keep], [ends[i] for i in keep],
                self.texts_at([indices[i] for i in keep]))


_U4 = {"<": np.dtype("<u4"), ">": np.dtype(">u4")}
_PREFIX_BACK = np.arange(12, 0, -1, dtype=np.int64)  # a rest starts 12 bytes after its record


def _decode(data: bytes, offset: int) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise FormatError("record text is not UTF-8", offset) from None


def _terminators(data: bytes, offset: int) -> np.ndarray:
    """Positions of the NULs that end records.

    A record is a 12-byte prefix (which may hold NULs), its text (no NULs) and a NUL; so the
    terminators are found by walking: the first NUL at least 12 bytes after a record's start.
    Vectorised: every NUL more than 12 bytes after the previous NUL must be a terminator (it
    cannot lie in a prefix); the walk is then checked in one pass (each terminator's previous
    NUL lies within the previous record's prefix, the last one ends the block). Records with
    texts shorter than 12 bytes can defeat that guess; then the walk is done in Python.
    """
    size = len(data)
    if size > _VECTOR_MAX:
        return _walk(data, offset)
    raw = np.frombuffer(data, np.uint8)
    nuls = (raw == 0).nonzero()[0]
    if len(nuls) and nuls[-1] == size - 1:
        is_term = np.empty(len(nuls), bool)
        is_term[0] = nuls[0] >= 12
        np.greater_equal(nuls[1:] - nuls[:-1], 13, out=is_term[1:])
        idx = is_term.nonzero()[0]
        if len(idx) and idx[-1] == len(nuls) - 1:
            term = nuls[idx]
            first = int(idx[0])
            if (first == 0 or nuls[first - 1] < 12) and bool(
                    (nuls[idx[1:] - 1] < term[:-1] + 13).all()):
                return term
    return _walk(data, offset)


def _walk(data: bytes, offset: int) -> np.ndarray:
    """The record terminators found one record at a time (8 bytes per record)."""
    ends = array("q")
    append = ends.append
    find = data.find
    size = len(data)
    pos = 0
    while pos < size:
        z = find(b"\0", pos + 12)
        if z < 0:
            raise TruncatedFileError("block ends inside a record", offset + pos)
        append(z)
        pos = z + 1
    return np.frombuffer(ends, np.int64) if len(ends) else np.zeros(0, np.int64)


def _check_spans(start: np.ndarray, end: np.ndarray, offset: int) -> None:
    """A record ending before it starts is corrupt (bedToBigBed refuses to write one)."""
    bad = end < start
    if bad.any():
        i = int(bad.argmax())
        raise FormatError(f"record {i} of the block has start {int(start[i])} > end "
                          f"{int(end[i])}", offset)


def check_count(data: bytes, max_records: int | None, offset: int) -> None:
    """Refuse a block that must hold more records than the whole file declares: every record
    has 1 to 13 NULs, so a block with more than ``13 * max_records`` NULs is corrupt. One C
    pass (``bytes.count``) instead of parsing a bomb's million records first."""
    if max_records is not None and len(data) > 13 * 13 * max_records and \
            data.count(b"\0") > 13 * max_records:
        raise FormatError(f"block holds more records than the file's {max_records}", offset)


def parse_block(data: bytes, byteorder: str, offset: int = 0) -> Block:
    """Locate the records of a decompressed block and read their binary prefixes.

    The record ends come from :func:`_terminators` (vectorised); the three uint32 fields of all
    prefixes are then gathered through one unaligned, byte-strided uint32 view of the block.
    Texts are not decoded here (see :meth:`Block.texts`).
    """
    term = _terminators(data, offset)
    n = len(term)
    if not n:
        empty = np.zeros(0, np.int64)
        return Block(empty, empty, empty, data, empty, empty, offset)
    rec = np.empty(n, np.int64)
    rec[0] = 0
    np.add(term[:-1], 1, out=rec[1:])
    words = np.ndarray((len(data) - 3,), _U4[byteorder], data, 0, (1,))
    start = words[rec + 4].astype(np.int64)
    end = words[rec + 8].astype(np.int64)
    _check_spans(start, end, offset)
    return Block(words[rec].astype(np.int64), start, end, data, rec + 12, term, offset)


_REST = re.compile(r"(?s).{12}([^\0]*)\0")


def parse_run(data: bytes, byteorder: str, offset: int = 0) -> Block:
    """:func:`parse_block` for full scans, where every text is wanted: one regex ``findall``
    over the latin-1-decoded block (one character per byte) yields all texts in C, and their
    lengths locate the records; measured cheaper than locating first and decoding after."""
    if len(data) > _VECTOR_MAX:  # per-record memory for huge runs
        block = parse_block(data, byteorder, offset)
        block.texts()
        return block
    rests = _REST.findall(data.decode("latin-1"))
    n = len(rests)
    lengths = np.fromiter(map(len, rests), np.int64, n)
    term = np.cumsum(lengths + 13) - 1
    if (int(term[-1]) + 1 if n else 0) != len(data):  # bytes outside records: find the fault
        return parse_block(data, byteorder, offset)
    if not n:
        empty = np.zeros(0, np.int64)
        return Block(empty, empty, empty, data, empty, empty, offset)
    if not "".join(rests).isascii():
        try:
            rests = [r.encode("latin-1").decode() for r in rests]
        except UnicodeDecodeError:
            raise FormatError("record text is not UTF-8", offset) from None
    rest_start = term - lengths
    words = np.ndarray((len(data) - 3,), _U4[byteorder], data, 0, (1,))
    rec = rest_start - 12
    start = words[rec + 4].astype(np.int64)
    end = words[rec + 8].astype(np.int64)
    _check_spans(start, end, offset)
    block = Block(words[rec].astype(np.int64), start, end, data, rest_start, term, offset)
    block._rests = rests
    return block


def read_adjacent(source: ByteSource, ranges: list[tuple[int, int]]) -> list[memoryview]:
    """The bytes of each range, with runs of back-to-back ranges (a window's blocks usually
    are) fetched in one read: one system call (or request) per run instead of one per block.
    Callers bound the total: a run is read whole."""
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
