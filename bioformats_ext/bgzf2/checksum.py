"""XXH64, for seek-table checksums of frames that carry no checksum of their own.

The zstd seekable format stores the low 32 bits of XXH64(decompressed frame) per frame. When a
frame also carries its own checksum, libzstd verifies the data against it and we compare the
two numbers; a third-party frame without one can only be checked by hashing the data. That is
rare, so the hash comes from whatever is at hand: the ``xxhash`` module, the system's
``libxxhash`` (through ctypes), or a plain-Python implementation of the published algorithm
(slow, ~10 MB/s, but always there).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
from typing import Callable

_M = (1 << 64) - 1
P1 = 0x9E3779B185EBCA87
P2 = 0xC2B2AE3D27D4EB4F
P3 = 0x165667B19E3779F9
P4 = 0x85EBCA77C2B2AE63
P5 = 0x27D4EB2F165667C5


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M


def _round(acc: int, lane: int) -> int:
    acc = (acc + lane * P2) & _M
    return (_rotl(acc, 31) * P1) & _M


def _merge(acc: int, value: int) -> int:
    acc ^= _round(0, value)
    return (acc * P1 + P4) & _M


def xxh64_python(data: bytes, seed: int = 0) -> int:
    """XXH64 of ``data`` in plain Python (the reference algorithm, written from its spec)."""
    n = len(data)
    pos = 0
    if n >= 32:
        v1 = (seed + P1 + P2) & _M
        v2 = (seed + P2) & _M
        v3 = seed & _M
        v4 = (seed - P1) & _M
        stripes = n // 32
        lanes = struct.unpack_from(f"<{4 * stripes}Q", data, 0)
        for i in range(0, 4 * stripes, 4):
            v1 = (_rotl((v1 + lanes[i] * P2) & _M, 31) * P1) & _M
            v2 = (_rotl((v2 + lanes[i + 1] * P2) & _M, 31) * P1) & _M
            v3 = (_rotl((v3 + lanes[i + 2] * P2) & _M, 31) * P1) & _M
            v4 = (_rotl((v4 + lanes[i + 3] * P2) & _M, 31) * P1) & _M
        pos = 32 * stripes
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M
        for v in (v1, v2, v3, v4):
            h = _merge(h, v)
    else:
        h = (seed + P5) & _M
    h = (h + n) & _M
    while pos + 8 <= n:
        (lane,) = struct.unpack_from("<Q", data, pos)
        h ^= _round(0, lane)
        h = (_rotl(h, 27) * P1 + P4) & _M
        pos += 8
    if pos + 4 <= n:
        (word,) = struct.unpack_from("<I", data, pos)
        h ^= (word * P1) & _M
        h = (_rotl(h, 23) * P2 + P3) & _M
        pos += 4
    while pos < n:
        h ^= (data[pos] * P5) & _M
        h = (_rotl(h, 11) * P1) & _M
        pos += 1
    h ^= h >> 33
    h = (h * P2) & _M
    h ^= h >> 29
    h = (h * P3) & _M
    h ^= h >> 32
    return h


def _find() -> Callable[[bytes], int]:
    try:
        import xxhash  # type: ignore[import-not-found]

        return lambda data: xxhash.xxh64_intdigest(data)
    except ImportError:
        pass
    name = ctypes.util.find_library("xxhash")
    if name:
        try:
            lib = ctypes.CDLL(name)
            fn = lib.XXH64
            fn.restype = ctypes.c_ulonglong
            fn.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_ulonglong]
            return lambda data: int(fn(bytes(data), len(data), 0))
        except (OSError, AttributeError):
            pass
    return xxh64_python


_xxh64: Callable[[bytes], int] | None = None


def xxh64(data: bytes) -> int:
    """XXH64 (seed 0) of ``data``, from the fastest implementation available."""
    global _xxh64
    if _xxh64 is None:
        _xxh64 = _find()
    return _xxh64(data)
