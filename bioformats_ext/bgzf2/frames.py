"""Frame-level building blocks of BGZF2: skippable frames, the seek table, zstd frame headers.

A BGZF2 file is a plain sequence of zstd frames (see ``docs/bgzf2.md``)::

    [BGZF2 header frame][pzstd frame][data frame] ... [BGZF2 index frame][seek table]

Everything here is byte layout only: building frames for the writer and parsing / validating
them for the reader. Parsing never trusts a size field before checking it against the bytes
actually present, so a corrupt file gives a typed error, never a huge allocation.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ..errors import FormatError, TruncatedFileError

ZSTD_MAGIC = 0xFD2FB528
PZSTD_MAGIC = 0x184D2A50          # pzstd: "the next data frame is N bytes"
BGZF2_MAGIC = 0x184D2A5B          # BGZF2 header frame and BGZF2 index frame
SEEKABLE_MAGIC = 0x184D2A5E       # zstd contrib/seekable_format seek table
SEEK_FOOTER_MAGIC = 0x8F92EAB1
INDEX_FOOTER_MAGIC = 0x8F92EABB
BGZF2_ID = b"BGZ2"
# Low 32 bits of XXH64("") (seed 0): the seek-table checksum of a frame that decodes to nothing.
EMPTY_CHECKSUM = 0x51D8E999
# The seekable format caps a frame at 1 GiB decompressed; we never write bigger frames.
MAX_FRAME_SIZE = 1 << 30
ZSTD_BLOCK_MAX = 128 * 1024       # a zstd block never decodes to more than this

_U32 = struct.Struct("<I")
_SKIP_HEAD = struct.Struct("<II")
_PZSTD = struct.Struct("<III")
_SEEK_FOOTER = struct.Struct("<IBI")
PZSTD_FRAME_SIZE = _PZSTD.size    # 12
SEEK_FOOTER_SIZE = _SEEK_FOOTER.size  # 9


def skippable_frame(magic: int, payload: bytes) -> bytes:
    return _SKIP_HEAD.pack(magic, len(payload)) + payload


def pzstd_frame(compressed_size: int) -> bytes:
    return _PZSTD.pack(PZSTD_MAGIC, 4, compressed_size)


def header_frame(content_head: bytes) -> bytes:
    """The leading BGZF2 frame: ``BGZ2`` plus a verbatim copy of the first data bytes."""
    return skippable_frame(BGZF2_MAGIC, BGZF2_ID + bytes(content_head))


def parse_pzstd_frame(buf: bytes | memoryview, offset: int) -> int:
    """Compressed size announced by a pzstd frame at ``buf[0:12]`` (``offset`` is for errors)."""
    if len(buf) < PZSTD_FRAME_SIZE:
        raise TruncatedFileError("pzstd skippable frame is cut short", offset)
    magic, length, size = _PZSTD.unpack_from(buf, 0)
    if magic != PZSTD_MAGIC or length != 4:
        raise FormatError(f"expected a pzstd skippable frame, found magic 0x{magic:08X} "
                          f"length {length}", offset)
    return size


def parse_header_frame(buf: bytes | memoryview, offset: int = 0) -> bytes:
    """The content head stored in a BGZF2 header frame (``buf`` is the whole frame)."""
    if len(buf) < 12:
        raise TruncatedFileError("BGZF2 header frame is cut short", offset)
    magic, length = _SKIP_HEAD.unpack_from(buf, 0)
    if magic != BGZF2_MAGIC or bytes(buf[8:12]) != BGZF2_ID:
        raise FormatError("not a BGZF2 file: the first frame is not a BGZF2 header frame", offset)
    if length != len(buf) - 8:
        raise FormatError(f"BGZF2 header frame length {length} disagrees with the seek table "
                          f"({len(buf) - 8})", offset)
    return bytes(buf[12:])


# --------------------------------------------------------------------------- seek table

def build_seek_table(compressed: np.ndarray, decompressed: np.ndarray,
                     checksums: np.ndarray | None) -> bytes:
    """The seekable-format seek table frame for the given per-frame sizes (and checksums)."""
    n = len(compressed)
    cols = [compressed, decompressed] + ([checksums] if checksums is not None else [])
    table = np.empty((n, len(cols)), dtype="<u4")
    for i, col in enumerate(cols):
        table[:, i] = col
    descriptor = 0x80 if checksums is not None else 0
    body = table.tobytes() + _SEEK_FOOTER.pack(n, descriptor, SEEK_FOOTER_MAGIC)
    return skippable_frame(SEEKABLE_MAGIC, body)


@dataclass
class SeekTable:
    """Per-frame sizes from the seek table, with cumulative offsets (numpy ``int64``)."""

    compressed: np.ndarray
    decompressed: np.ndarray
    checksums: np.ndarray | None
    offsets: np.ndarray            # compressed start of each frame
    uoffsets: np.ndarray           # uncompressed start of each frame
    size: int                      # bytes of the seek table frame itself

    def __len__(self) -> int:
        return len(self.compressed)


def seek_table_size(tail: bytes, file_size: int) -> tuple[int, int, bool]:
    """From the last 9 bytes: ``(table_frame_size, n_frames, has_checksums)``, checked."""
    if len(tail) < SEEK_FOOTER_SIZE:
        raise TruncatedFileError("file too short for a zstd seek table", file_size - len(tail))
    n, descriptor, magic = _SEEK_FOOTER.unpack_from(tail, len(tail) - SEEK_FOOTER_SIZE)
    if magic != SEEK_FOOTER_MAGIC:
        raise FormatError("no zstd seek table at the end of the file (missing magic "
                          f"0x{SEEK_FOOTER_MAGIC:08X})", file_size - 4)
    if descriptor & 0x7F:
        raise FormatError(f"seek table descriptor has reserved bits set (0x{descriptor:02X})",
                          file_size - 5)
    checks = bool(descriptor & 0x80)
    size = 8 + n * (12 if checks else 8) + SEEK_FOOTER_SIZE
    if size > file_size:
        raise TruncatedFileError(f"seek table declares {n} frames ({size} bytes) but the file "
                                 f"has {file_size} bytes", file_size - SEEK_FOOTER_SIZE)
    return size, n, checks


def parse_seek_table(buf: bytes, file_size: int) -> SeekTable:
    """Parse the whole seek table frame ``buf`` (the last ``len(buf)`` bytes of the file)."""
    size, n, checks = seek_table_size(buf, file_size)
    if len(buf) != size:
        raise TruncatedFileError("seek table is cut short", file_size - len(buf))
    magic, length = _SKIP_HEAD.unpack_from(buf, 0)
    start = file_size - size
    if magic != SEEKABLE_MAGIC:
        raise FormatError(f"seek table frame has magic 0x{magic:08X}, expected "
                          f"0x{SEEKABLE_MAGIC:08X}", start)
    if length != size - 8:
        raise FormatError(f"seek table frame length {length} != {size - 8} implied by its "
                          f"{n} entries", start)
    width = 3 if checks else 2
    table = np.frombuffer(buf, dtype="<u4", count=n * width, offset=8).reshape(n, width)
    compressed = table[:, 0].astype(np.int64)
    decompressed = table[:, 1].astype(np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(compressed, out=offsets[1:])
    if offsets[-1] != start:
        raise FormatError(f"seek table frame sizes add up to {int(offsets[-1])} bytes but the "
                          f"frames occupy {start}", start)
    uoffsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(decompressed, out=uoffsets[1:])
    return SeekTable(compressed, decompressed, table[:, 2].copy() if checks else None,
                     offsets, uoffsets, size)


# --------------------------------------------------------------------------- zstd frames

@dataclass
class ZstdFrameInfo:
    """What a zstd frame header and its block headers say, before decompressing."""

    content_size: int | None
    checksum: int | None           # stored content checksum (low 32 bits of XXH64), if any
    frame_size: int                # bytes from the magic to the end of the frame
    max_output: int                # upper bound on the decoded size implied by the blocks


_FCS_BYTES = (0, 2, 4, 8)
_DICT_BYTES = (0, 1, 2, 4)


def zstd_frame_info(buf: bytes | memoryview, offset: int = 0) -> ZstdFrameInfo:
    """Parse the zstd frame that starts at ``buf[0]``; walks block headers to find its end.

    ``offset`` (the frame's position in the file) only labels errors. Raises
    :class:`FormatError` for a non-zstd or malformed header and :class:`TruncatedFileError`
    when the blocks run past ``buf``.
    """
    n = len(buf)
    if n < 6:
        raise TruncatedFileError("zstd frame header is cut short", offset)
    magic = _U32.unpack_from(buf, 0)[0]
    if magic != ZSTD_MAGIC:
        raise FormatError(f"expected a zstd data frame, found magic 0x{magic:08X}", offset)
    fhd = buf[4]
    if fhd & 0x18:
        raise FormatError(f"zstd frame header descriptor has reserved bits set (0x{fhd:02X})",
                          offset + 4)
    single = bool(fhd & 0x20)
    fcs_flag = fhd >> 6
    fcs_bytes = 1 if (fcs_flag == 0 and single) else _FCS_BYTES[fcs_flag]
    pos = 5 + (0 if single else 1) + _DICT_BYTES[fhd & 3]
    if pos + fcs_bytes > n:
        raise TruncatedFileError("zstd frame header is cut short", offset)
    content_size = None
    if fcs_bytes:
        content_size = int.from_bytes(buf[pos:pos + fcs_bytes], "little")
        if fcs_bytes == 2:
            content_size += 256
    pos += fcs_bytes
    max_output = 0
    while True:
        if pos + 3 > n:
            raise TruncatedFileError("zstd frame ends inside a block header", offset + pos)
        head = int.from_bytes(buf[pos:pos + 3], "little")
        last, btype, bsize = head & 1, (head >> 1) & 3, head >> 3
        pos += 3
        if btype == 3:
            raise FormatError("zstd block has the reserved block type", offset + pos - 3)
        if btype == 1:              # RLE: one byte repeated bsize times
            pos += 1
            max_output += bsize
        else:
            if bsize > ZSTD_BLOCK_MAX:
                raise FormatError(f"zstd block of {bsize} bytes exceeds the 128 KiB maximum",
                                  offset + pos - 3)
            pos += bsize
            max_output += bsize if btype == 0 else ZSTD_BLOCK_MAX
        if last:
            break
    checksum = None
    if fhd & 4:
        if pos + 4 > n:
            raise TruncatedFileError("zstd frame checksum is cut short", offset + pos)
        checksum = _U32.unpack_from(buf, pos)[0]
        pos += 4
    if pos > n:
        raise TruncatedFileError("zstd frame runs past the end of its seek-table extent", offset)
    return ZstdFrameInfo(content_size, checksum, pos, max_output)


def frame_checksum(frame: bytes) -> int:
    """The content checksum a zstd frame with the checksum flag stores in its last 4 bytes."""
    return _U32.unpack_from(frame, len(frame) - 4)[0]
