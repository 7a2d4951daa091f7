"""The deflate codecs: zlib, ISA-L and libdeflate behind one interface, levels mapped here only.

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
