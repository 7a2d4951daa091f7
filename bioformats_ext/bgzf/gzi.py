"""The ``.gzi`` index of a BGZF file (``bgzip -i`` / ``-r``): uncompressed → compressed offsets.

Layout (little-endian): ``uint64 n`` then ``n`` pairs ``(uint64 caddr, uint64 uaddr)``, one per
data block except the first (whose pair would be ``(0, 0)``), in file order — the pairs htslib's
``bgzf_index_dump`` writes. Empty blocks (the EOF marker) have no entry. With it a reader can
start decompressing at any uncompressed offset (``bgzip -b``) or fetch a FASTA slice by offset.
"""

from __future__ import annotations

import bisect
import os
import struct
from typing import BinaryIO, Sequence

import numpy as np

from ..errors import FormatError, TruncatedFileError

__all__ = ["build_gzi", "read_gzi", "write_gzi", "gzi_bytes", "locate"]

_MAX_ENTRIES = 1 << 40  # a bound a corrupt count cannot exceed before we compare with the size


def gzi_bytes(entries: "np.ndarray | Sequence[tuple[int, int]]") -> bytes:
    """Serialise ``(caddr, uaddr)`` pairs."""
    arr = np.asarray(entries, dtype="<u8").reshape(-1, 2)
    return struct.pack("<Q", len(arr)) + arr.tobytes()


def write_gzi(target: "str | os.PathLike[str] | BinaryIO", entries) -> None:
    """Write a .gzi atomically to a path, or to a binary handle."""
    data = gzi_bytes(entries)
    if isinstance(target, (str, os.PathLike)):
        from ..io.atomic import atomic_open

        with atomic_open(target) as handle:
            handle.write(data)
    else:
        target.write(data)


def read_gzi(path: "str | os.PathLike[str]") -> np.ndarray:
    """``(n, 2)`` int64 array of ``(caddr, uaddr)``; raises FormatError on a malformed file."""
    name = os.fspath(path)
    with open(name, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise TruncatedFileError(f"{name}: truncated .gzi index (no entry count)", 0)
        (n,) = struct.unpack("<Q", head)
        size = os.fstat(handle.fileno()).st_size
        if n > _MAX_ENTRIES or size != 8 + 16 * n:
            raise FormatError(f"{name}: .gzi declares {n} entries but has {size - 8} bytes of "
                              f"entries (expected {16 * n})", 0)
        arr = np.frombuffer(handle.read(16 * n), dtype="<u8").reshape(-1, 2).astype(np.int64)
    if len(arr) and (np.any(np.diff(arr[:, 0]) <= 0) or np.any(np.diff(arr[:, 1]) <= 0)):
        raise FormatError(f"{name}: .gzi offsets are not increasing", 8)
    return arr


def build_gzi(source) -> np.ndarray:
    """Scan a BGZF file's blocks (no inflating beyond what the reader checks) → gzi entries."""
    from .reader import BgzfReader

    reader = BgzfReader(source)
    entries = []
    uaddr = 0
    first = True
    for address, _next, data in reader.iter_block_spans():
        if not data:
            continue
        if not first:
            entries.append((address, uaddr))
        first = False
        uaddr += len(data)
    return np.array(entries, dtype=np.int64).reshape(-1, 2)


def locate(entries: np.ndarray, offset: int) -> tuple[int, int]:
    """``(block address, uncompressed offset of that block)`` for the block holding ``offset``."""
    uaddrs = entries[:, 1].tolist() if len(entries) else []
    i = bisect.bisect_right(uaddrs, offset)
    if i == 0:
        return 0, 0
    return int(entries[i - 1, 0]), int(entries[i - 1, 1])
