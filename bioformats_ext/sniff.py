"""Say what a file is from its first bytes: one sniffing rule for every reader.

``sniff(source)`` returns the container (``bgzf``, ``bgzf2``, ``gzip``, ``zstd``, ``none``) and
the format inside it (``bam``, ``bcf``, ``cram``, ``vcf``, ``sam``, ``bigbed``, ``bigwig``,
``text``, ``binary``, ``empty``). Readers call :func:`expect` so a wrong file gets
"x.bam is a BAM file, not VCF text" instead of garbage or a misleading parse error. Only a
bounded prefix is read and decompressed (no header can make this allocate more).
"""

from __future__ import annotations

import struct
import zlib
from typing import Collection, NamedTuple

from .errors import FormatError

__all__ = ["Sniffed", "sniff", "sniff_bytes", "sniff_container", "expect", "describe"]

BGZF_MAGIC = b"\x1f\x8b\x08\x04"
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = 0xFD2FB528
_BIGBED_MAGIC = 0x8789F2EB
_BIGWIG_MAGIC = 0x888FFC26
_HEAD = 64 * 1024      # bytes read from the file
_PEEK = 512            # decompressed bytes looked at

_NAMES = {
    "bam": "a BAM file", "bcf": "a BCF file", "cram": "a CRAM file", "vcf": "VCF text",
    "sam": "SAM text", "bigbed": "a bigBed file", "bigwig": "a bigWig file",
    "text": "text", "binary": "binary data", "empty": "an empty file",
}


class Sniffed(NamedTuple):
    container: str
    format: str

    def __str__(self) -> str:
        return describe(self)


def describe(sniffed: Sniffed) -> str:
    """``"a BAM file"``, ``"VCF text (BGZF-compressed)"``, ..."""
    what = _NAMES.get(sniffed.format, sniffed.format)
    if sniffed.container in ("bgzf", "bgzf2", "gzip", "zstd") and sniffed.format not in ("bam", "bcf"):
        return f"{what} ({sniffed.container.upper()}-compressed)"
    if sniffed.container == "gzip" and sniffed.format in ("bam", "bcf"):
        return f"{what} (plain gzip, not BGZF)"
    return what


def _payload_format(data: bytes) -> str:
    if not data:
        return "empty"
    if data.startswith(b"BAM\x01"):
        return "bam"
    if data.startswith(b"BCF\x02") or data.startswith(b"BCF\x04"):
        return "bcf"
    if data.startswith(b"##fileformat=VCF"):
        return "vcf"
    if data[:4] in (b"@HD\t", b"@SQ\t", b"@RG\t", b"@PG\t", b"@CO\t"):
        return "sam"
    sample = data[:_PEEK]
    if b"\x00" in sample:
        return "binary"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # a multi-byte character cut at the end is fine
            return "binary"
    return "text"


def _inflate_gzip_member(head: bytes) -> bytes:
    try:
        return zlib.decompressobj(31).decompress(head, _PEEK)
    except zlib.error:
        return b""


def _zstd_peek(head: bytes) -> bytes:
    """Decompress the start of the first zstd data frame in ``head``, skipping skippable frames."""
    pos = 0
    while pos + 8 <= len(head):
        magic, size = struct.unpack_from("<II", head, pos)
        if magic & 0xFFFFFFF0 == 0x184D2A50:
            pos += 8 + size
            continue
        if magic != _ZSTD_MAGIC:
            return b""
        import io

        import zstandard

        try:
            reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(head[pos:]))
            return reader.read(_PEEK)
        except zstandard.ZstdError:
            return b""
    return b""


def sniff_container(head: bytes) -> str:
    """The container from magic numbers only (no decompression): ``bgzf``, ``gzip``,
    ``bgzf2``, ``zstd`` or ``none``. What readers use to pick their block reader."""
    if head.startswith(BGZF_MAGIC) and len(head) >= 18 and head[12:14] == b"BC":
        return "bgzf"
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if len(head) >= 12 and struct.unpack_from("<I", head)[0] == 0x184D2A5B and head[8:12] == b"BGZ2":
        return "bgzf2"
    if len(head) >= 4 and (struct.unpack_from("<I", head)[0] == _ZSTD_MAGIC
                           or struct.unpack_from("<I", head)[0] & 0xFFFFFFF0 == 0x184D2A50):
        return "zstd"
    return "none"


def sniff_bytes(head: bytes) -> Sniffed:
    """Classify a file from its first bytes (64 KiB is plenty)."""
    if not head:
        return Sniffed("none", "empty")
    if len(head) >= 4:
        magic_le = struct.unpack_from("<I", head)[0]
        magic_be = struct.unpack_from(">I", head)[0]
        if _BIGBED_MAGIC in (magic_le, magic_be):
            return Sniffed("none", "bigbed")
        if _BIGWIG_MAGIC in (magic_le, magic_be):
            return Sniffed("none", "bigwig")
        if head.startswith(b"CRAM"):
            return Sniffed("none", "cram")
    container = sniff_container(head)
    if container in ("bgzf", "gzip"):
        return Sniffed(container, _payload_format(_inflate_gzip_member(head)))
    if container in ("bgzf2", "zstd"):
        return Sniffed(container, _payload_format(_zstd_peek(head)))
    if head.startswith(b"BAM\x01"):
        return Sniffed("none", "bam")
    if head.startswith(b"BCF\x02") or head.startswith(b"BCF\x04"):
        return Sniffed("none", "bcf")
    return Sniffed("none", _payload_format(head))


def sniff(source: object) -> Sniffed:
    """Classify a :class:`~bioformats_ext.io.ByteSource` (or anything with ``read_upto``)."""
    read_upto = getattr(source, "read_upto")
    return sniff_bytes(bytes(read_upto(0, _HEAD)))


def expect(source: object, formats: Collection[str], wanted: str,
           containers: Collection[str] | None = None) -> Sniffed:
    """Sniff ``source`` and raise a FormatError naming what it is unless its format is allowed.

    ``wanted`` is how the caller describes what it reads (``"VCF text"``, ``"a BAM file"``).
    """
    found = sniff(source)
    name = getattr(source, "name", "input")
    if found.format not in formats or (containers is not None and found.container not in containers):
        if found.container == "gzip" and found.format in formats:
            raise FormatError(f"{name}: plain gzip, not BGZF (recompress with bgzip)", 0)
        raise FormatError(f"{name} is {describe(found)}, not {wanted}", 0)
    return found
