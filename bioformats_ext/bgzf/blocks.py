"""BGZF block layout: one gzip member per block, at most 64 KiB compressed, 0xff00 bytes of data.

Everything that knows the byte layout lives here, so the writer and reader stay small:
:func:`pack_block` turns payload bytes into a block, :func:`parse_header` validates a block
header, :func:`unpack_block` checks CRC and ISIZE. A virtual offset is
``(block_address << 16) | offset_in_block``.
"""

from __future__ import annotations

import struct
import zlib

from ..codec import DeflateCodec
from ..errors import FormatError, TruncatedFileError
from ..sniff import sniff_container

#: Most uncompressed bytes htslib puts in one block (leaves room for incompressible data).
MAX_BLOCK_DATA = 0xFF00
#: Largest block on disk (BSIZE is a u16 holding size - 1).
MAX_BLOCK_SIZE = 0x10000
HEADER_SIZE = 18
FOOTER_SIZE = 8
#: The 28-byte empty block that marks a complete BGZF file.
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")

_HEADER = struct.Struct("<4sIBBHHHH")  # magic+flags, mtime, xfl, os, xlen, si1si2, slen, bsize
_HEADER_PREFIX = b"\x1f\x8b\x08\x04"
_FOOTER = struct.Struct("<II")


def pack_block(data: bytes, codec: DeflateCodec) -> bytes:
    """Compress ``data`` (at most :data:`MAX_BLOCK_DATA` bytes) into one BGZF block."""
    cdata = codec.compress(data)
    size = HEADER_SIZE + len(cdata) + FOOTER_SIZE
    if size > MAX_BLOCK_SIZE:  # incompressible data: store it (always fits for <= 0xff00 bytes)
        c = zlib.compressobj(0, zlib.DEFLATED, -15)
        cdata = c.compress(data) + c.flush()
        size = HEADER_SIZE + len(cdata) + FOOTER_SIZE
    header = _HEADER.pack(_HEADER_PREFIX, 0, 0, 0xFF, 6, 0x4342, 2, size - 1)
    return b"".join((header, cdata, _FOOTER.pack(codec.crc32(data) & 0xFFFFFFFF, len(data))))


def is_gzip(head: bytes) -> bool:
    """True when ``head`` starts a gzip member (BGZF or plain gzip; index files may be either)."""
    return sniff_container(head) in ("bgzf", "gzip")


def parse_header(buf: bytes | memoryview, pos: int, address: int) -> int:
    """Total size of the block whose header starts at ``buf[pos]`` (``address`` is for errors).

    Accepts any extra-field layout as long as a ``BC`` subfield is present, like htslib.
    """
    if len(buf) - pos < HEADER_SIZE:
        raise TruncatedFileError("truncated BGZF block header", address)
    magic, _mtime, _xfl, _os, xlen, si, slen, bsize = _HEADER.unpack_from(buf, pos)
    if magic != _HEADER_PREFIX:
        raise FormatError("not a BGZF block (bad gzip magic or flags)", address)
    if si == 0x4342 and slen == 2 and xlen == 6:
        return bsize + 1
    # General case: walk the extra subfields looking for BC.
    if len(buf) - pos < 12 + xlen:
        raise TruncatedFileError("truncated BGZF extra field", address)
    p, end = pos + 12, pos + 12 + xlen
    while p + 4 <= end:
        sid, sl = struct.unpack_from("<HH", buf, p)
        if sid == 0x4342 and sl == 2 and p + 6 <= end:
            return struct.unpack_from("<H", buf, p + 4)[0] + 1
        p += 4 + sl
    raise FormatError("gzip block without a BGZF 'BC' extra field", address)


def block_spans(raw: bytes | memoryview, address: int, limit: int,
                file_size: int) -> list[tuple[int, int]]:
    """``(offset, size)`` of the complete blocks at the start of ``raw`` (read from file offset
    ``address``) that start before ``limit``.

    A block cut off by the end of ``raw`` ends the list (the caller reads on from there), unless
    the file itself ends there: then the file is truncated.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    n = len(raw)
    while address + pos < limit:
        if n - pos < HEADER_SIZE:
            if address + n >= file_size:
                raise TruncatedFileError("truncated BGZF block header", address + pos)
            break
        size = parse_header(raw, pos, address + pos)
        if pos + size > n:
            if address + n >= file_size:
                raise TruncatedFileError("truncated BGZF block", address + pos)
            break
        spans.append((pos, size))
        pos += size
    return spans


def header_length(buf: bytes | memoryview, pos: int) -> int:
    """Bytes before the deflate data (18 for every block written by htslib or us)."""
    xlen = struct.unpack_from("<H", buf, pos + 10)[0]
    return 12 + xlen


def unpack_block(buf: bytes | memoryview, pos: int, size: int, codec: DeflateCodec,
                 address: int) -> bytes:
    """Decompress the block ``buf[pos:pos+size]``, checking ISIZE and CRC32."""
    hlen = header_length(buf, pos)
    if size < hlen + FOOTER_SIZE:
        raise FormatError("BGZF block size too small", address)
    crc, isize = _FOOTER.unpack_from(buf, pos + size - FOOTER_SIZE)
    if isize > MAX_BLOCK_SIZE:
        raise FormatError(f"BGZF block claims {isize} uncompressed bytes", address)
    cdata = bytes(buf[pos + hlen: pos + size - FOOTER_SIZE])
    try:
        if isize:
            data = codec.decompress(cdata, isize)
        else:  # an empty block (the EOF marker): inflate at most 1 byte to prove it
            d = zlib.decompressobj(-15)
            data = d.decompress(cdata, 1)
    except Exception as exc:  # zlib.error, deflate.DeflateError, isal errors
        raise FormatError(f"corrupt BGZF block ({exc})", address) from None
    if len(data) != isize:
        raise FormatError(f"BGZF block inflates to {len(data)} bytes, header says {isize}", address)
    if codec.crc32(data) & 0xFFFFFFFF != crc:
        raise FormatError("BGZF block CRC32 mismatch", address)
    return data
