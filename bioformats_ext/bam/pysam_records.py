"""pysam ``AlignedSegment`` objects → their BAM records, serialised by htslib itself.

Why: a segment holds its record in htslib's binary form, but pysam exposes it only field by
field or as SAM text; ``to_string()`` plus parsing the text back cost more per record than
htslib takes to write the whole record. pysam *can* hand the binary record to htslib's
``bam_write1``, so each batch is written by pysam, uncompressed (BGZF level 0, ``"wb0"``), to an
anonymous in-memory file; the stored deflate blocks are unwrapped (no inflate) and the records
decoded as columns (sizes, positions, ends for the index). The bytes are by construction the
ones pysam / htslib would write for these segments.

Only batches whose segments all share one header with the writer's references take this route;
anything else (no header, other references, a level-0 stream we do not recognise, a record the
column decoder rejects) returns None and the caller goes through SAM text, whose per-record
rules raise the numbered errors.
"""

from __future__ import annotations

import os
import struct
import tempfile
from operator import attrgetter
from typing import Any, Sequence

import numpy as np

from .columns import FIXED_DTYPE, BamColumns, _byte_rows
from .sam_fields import EncodedBatch

__all__ = ["SegmentEncoder"]

_HEADER = attrgetter("header")
_BGZF_HEAD = b"\x1f\x8b\x08\x04"
_STORED = struct.Struct("<BHH")  # stored deflate block: BFINAL/BTYPE byte, LEN, NLEN
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


class SegmentEncoder:
    """Encodes batches of pysam segments for one BAM header (``names`` / ``lengths``).

    Keeps one anonymous memory file and one minimal pysam header (references only: records
    carry reference ids, so nothing else of the header matters to ``bam_write1``).
    """

    def __init__(self, names: Sequence[str], lengths: Sequence[int]):
        self.names = tuple(names)
        self.lengths = list(lengths)
        self._file: Any = None
        self._pysam_header: Any = None
        self._same: dict[int, bool] = {}
        self._raw: bytearray | None = None  # pysam's output, read back (reused)

    def _matches(self, header: Any) -> bool:
        known = self._same.get(id(header))
        if known is None:
            refs = getattr(header, "references", None)
            known = self._same[id(header)] = refs is not None and tuple(refs) == self.names
        return known

    def encode(self, segments: list[Any]) -> "EncodedBatch | None":
        """The batch's records as htslib writes them, or None (see the module docstring)."""
        n = len(segments)
        if not n:
            return None
        try:
            headers = list(map(_HEADER, segments))
        except AttributeError:
            return None
        first = headers[0]
        if headers.count(first) != n or first is None or not self._matches(first):
            return None
        written = self._write(type(segments[0]).__module__, segments)
        if written is None:
            return None
        data, sizes = written
        u8 = np.frombuffer(data, np.uint8)
        offset = np.cumsum(sizes) - sizes
        try:
            if len(u8) < 36 or int(offset[-1]) + 36 > len(u8):
                return None
            fixed = _byte_rows(u8, 36)[offset].view(FIXED_DTYPE)
            cols = BamColumns(data, u8, offset, fixed, len(u8))
        except ValueError:
            return None
        # htslib wrote these bytes from the segments as they are (that is the point); what the
        # index needs must still hold: reference ids of the header, parts within each record
        n_refs = len(self.names)
        need = 36 + cols.l_read_name + 4 * cols.n_cigar + ((cols.l_seq + 1) >> 1) + cols.l_seq
        if not ((cols.stop - cols.offset == sizes).all() and (need <= sizes).all()
                and (cols.ref_id >= -1).all() and (cols.ref_id < n_refs).all()
                and (cols.next_ref_id >= -1).all() and (cols.next_ref_id < n_refs).all()):
            return None  # let the text route apply its rules and name the record
        return EncodedBatch(data, sizes, cols.ref_id, np.maximum(cols.pos, 0),
                            np.maximum(cols.end_positions(), 1), (cols.flag & 4) == 0)

    def _write(self, module: str, segments: list[Any]) -> "tuple[bytes, np.ndarray] | None":
        """pysam writes ``segments`` at level 0 into the memory file; returns the records'
        bytes (header dropped) and sizes (``write`` returns each record's size)."""
        import importlib

        pysam = importlib.import_module(module.split(".", 1)[0])
        if self._pysam_header is None:
            self._pysam_header = pysam.AlignmentHeader.from_references(list(self.names),
                                                                        self.lengths)
            self._file = _memory_file()
        handle = self._file
        fd = handle.fileno()
        os.lseek(fd, 0, os.SEEK_SET)  # overwritten in place: no truncation, no page faults
        with pysam.AlignmentFile(handle, "wb0", header=self._pysam_header) as out:
            sizes = np.fromiter(map(out.write, segments), np.int64, len(segments))
        length = os.lseek(fd, 0, os.SEEK_CUR)  # pysam's descriptor shares our file offset
        if self._raw is None or len(self._raw) < length:
            self._raw = bytearray(max(length, 2 * len(self._raw or b"")))
        view = memoryview(self._raw)[:length]
        if os.preadv(fd, [view], 0) != length:
            return None
        stream = unwrap_stored(view, int(sizes.sum()))
        return None if stream is None else (stream, sizes)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _memory_file() -> Any:
    """An anonymous read/write file: memfd on Linux, else a temporary file."""
    memfd = getattr(os, "memfd_create", None)
    if memfd is not None:
        try:
            return os.fdopen(memfd("bioformats-segments"), "w+b")
        except OSError:
            pass
    return tempfile.TemporaryFile()


def unwrap_stored(raw: memoryview, tail: int) -> "bytes | None":
    """The last ``tail`` bytes of the uncompressed stream of a BGZF file whose blocks hold
    stored (level 0) deflate blocks, if they start at a block (htslib flushes after the
    header); None if they do not or a block is not so (compressed, malformed, other layout)."""
    pieces: list[memoryview] = []
    total = 0
    pos, end = 0, len(raw)
    while pos < end:
        if raw[pos:pos + 4] != _BGZF_HEAD or pos + 26 > end or \
                raw[pos + 10:pos + 16] != b"\x06\x00BC\x02\x00":
            return None
        size = _U16.unpack_from(raw, pos + 16)[0] + 1
        if pos + size > end:
            return None
        isize = _U32.unpack_from(raw, pos + size - 4)[0]
        p, stop = pos + 18, pos + size - 8
        pos += size
        if isize == 0:  # the EOF marker (an empty fixed-Huffman block)
            continue
        got = 0
        while p < stop:
            flags, length, inverse = _STORED.unpack_from(raw, p)
            if flags & 6 or length ^ inverse != 0xFFFF or p + 5 + length > stop:
                return None
            pieces.append(raw[p + 5:p + 5 + length])
            got += length
            p += 5 + length
            if flags & 1:
                break
        if p != stop or got != isize:
            return None
        total += got
    skip = total - tail
    dropped = 0
    while pieces and dropped < skip:
        dropped += len(pieces[0])
        del pieces[0]
    if dropped != skip:
        return None
    return b"".join(pieces)
