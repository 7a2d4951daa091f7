"""The codecs: zlib, ISA-L and libdeflate behind one interface, levels mapped here only; and
BGZF2's zstd setting (:func:`zstd_compressor`).

BGZF needs raw deflate plus CRC32; bigBed blocks are zlib-wrapped deflate. Both get their
functions from :func:`deflate_codec` (the one place that maps a zlib level to each backend's
range) and inflate bigBed blocks with :func:`zlib_module` (ISA-L when installed: same format,
about twice as fast). zlib, ISA-L and libdeflate all release the GIL.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable


def backend_level(backend: str, level: int) -> int:
    """The level ``backend`` is given for a zlib ``level`` (ISA-L has 0-3, libdeflate 0-12; 0
    stores, as zlib's 0 and htslib's uncompressed BGZF do)."""
    if backend == "isal":
        return min(max(level, 0), 3)
    if backend in ("libdeflate", "deflate"):
        return min(max(level, 0), 12)
    return level


@dataclass(frozen=True)
class DeflateCodec:
    """Raw deflate (no zlib/gzip wrapper) plus CRC32: what a BGZF block needs."""

    name: str
    compress: Callable[[bytes], bytes]
    decompress: Callable[[bytes, int], bytes]
    crc32: Callable[[bytes], int]
    #: zlib-wrapped deflate (RFC 1950), as bigBed blocks are stored
    zlib_compress: Callable[[bytes], bytes]


def _zlib_codec(level: int) -> DeflateCodec:
    def compress(data: bytes) -> bytes:
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush()

    def decompress(data: bytes, size_hint: int) -> bytes:
        return _bounded(zlib.decompressobj(-15), data, size_hint, zlib.error)

    return DeflateCodec("zlib", compress, decompress, zlib.crc32,
                        lambda data: zlib.compress(data, level))


def _bounded(d: Any, data: bytes, size: int, error: Any) -> bytes:
    """Inflate at most ``size`` bytes (a BGZF block's ISIZE): a stream that would inflate to
    more is an error, never a larger allocation (libdeflate behaves so by design)."""
    out = d.decompress(data, max(size, 1))
    if d.unconsumed_tail or not d.eof:
        raise error("deflate stream does not end at the declared size")
    return out


def _isal_codec(level: int) -> DeflateCodec:
    from isal import isal_zlib

    isal_level = backend_level("isal", level)

    def compress(data: bytes) -> bytes:
        return isal_zlib.compress(data, isal_level, wbits=-15)

    def decompress(data: bytes, size_hint: int) -> bytes:
        return _bounded(isal_zlib.decompressobj(-15), data, size_hint, isal_zlib.error)

    return DeflateCodec("isal", compress, decompress, isal_zlib.crc32,
                        lambda data: isal_zlib.compress(data, isal_level))


def _libdeflate_codec(level: int) -> DeflateCodec:
    import deflate

    ld_level = backend_level("libdeflate", level)

    def compress(data: bytes) -> bytes:
        return bytes(deflate.deflate_compress(data, ld_level))

    def decompress(data: bytes, size_hint: int) -> bytes:
        return bytes(deflate.deflate_decompress(data, size_hint))

    def zlib_compress(data: bytes) -> bytes:
        return bytes(deflate.zlib_compress(data, ld_level))

    return DeflateCodec("libdeflate", compress, decompress, deflate.crc32, zlib_compress)


_DEFLATE_BACKENDS = {"zlib": _zlib_codec, "isal": _isal_codec, "libdeflate": _libdeflate_codec,
                     "deflate": _libdeflate_codec}


def available_deflate_backends() -> list[str]:
    """Backends importable here, fastest first."""
    names = []
    for name, module in (("libdeflate", "deflate"), ("isal", "isal")):
        try:
            __import__(module)
        except ImportError:
            continue
        names.append(name)
    names.append("zlib")
    return names


def deflate_codec(backend: str = "zlib", level: int = 6) -> DeflateCodec:
    """A raw-deflate codec. ``backend`` is ``zlib``, ``isal``, ``libdeflate`` or ``auto``."""
    if backend == "auto":
        backend = available_deflate_backends()[0]
    try:
        factory = _DEFLATE_BACKENDS[backend]
    except KeyError:
        raise ValueError(f"unknown deflate backend {backend!r}; choose from "
                         f"{sorted(_DEFLATE_BACKENDS)} or 'auto'") from None
    return factory(level)


def zlib_module() -> Any:
    """The fastest installed zlib-compatible module for inflating (``isal_zlib`` or ``zlib``)."""
    global _ZLIB
    if _ZLIB is None:
        try:
            from isal import isal_zlib
            _ZLIB = isal_zlib
        except ImportError:  # pragma: no cover - isal is an optional dependency
            _ZLIB = zlib
    return _ZLIB


_ZLIB: "ModuleType | None" = None


#: BGZF2's default ``level``: not one of zstd's levels (0 means "zstd's default" to libzstd
#: too) but the parameter set below, measured with ``benchmarks/bgzf2.py`` (docs/bgzf2.md).
BGZF2_DEFAULT_LEVEL = 0
#: Lazy matching with a shallow search, matches of at least 6 bytes and small tables: on the
#: benchmark's BAM and VCF payloads (256 KB frames) this compressed 2-3% smaller than BGZF
#: with libdeflate 6 while compressing ~1.25x (BAM) / 1.3x (VCF) and decompressing ~1.1x /
#: 1.5x faster in CPU time. zstd's own levels miss at least one of the three there: 1-4 are
#: 3-11% larger, 5 is no faster to read on BAM, 6 no faster to write. Short matches are what
#: make zstd slow to decode literal-heavy data (packed bases, qualities), hence min_match 6;
#: 2**17 / 2**16 hash and chain tables stay in cache (same size as zstd 6's, 15% faster). BAM
#: and VCF text came out best with the same set, so there is one.
BGZF2_TUNED = {"strategy": 4,  # zstandard.STRATEGY_LAZY
               "search_log": 2, "min_match": 6, "target_length": 32,
               "window_log": 20, "chain_log": 16, "hash_log": 17}


def zstd_compressor(level: int = BGZF2_DEFAULT_LEVEL, checksums: bool = True) -> Any:
    """A ``zstandard.ZstdCompressor`` for BGZF2 data frames: ``level`` 0 is the measured
    default (:data:`BGZF2_TUNED`; zstd shrinks the window to the frame), any other value one
    of zstd's levels (negative: its fast levels)."""
    import zstandard

    if level == BGZF2_DEFAULT_LEVEL:
        params = zstandard.ZstdCompressionParameters(write_checksum=checksums,
                                                     write_content_size=True, **BGZF2_TUNED)
        return zstandard.ZstdCompressor(compression_params=params)
    return zstandard.ZstdCompressor(level=level, write_checksum=checksums,
                                    write_content_size=True)
