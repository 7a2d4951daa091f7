"""Sequence names and lengths from a UCSC ``.2bit`` file (``bedToBigBed -sizesIs2Bit``).

Only the header, the index and each sequence's 4-byte ``dnaSize`` are read (a few bytes per
sequence, never the DNA): signature ``0x1A412743`` in either byte order, version 0 (32-bit
offsets) or 1 (64-bit), sequence count, reserved; then per sequence a 1-byte name length, the
name and its record offset; a record starts with ``dnaSize``. Counts and offsets are checked
against the file size before anything is allocated from them.
"""

from __future__ import annotations

import os
import struct
from typing import Any

from .errors import FormatError, TruncatedFileError
from .io.source import open_source

__all__ = ["TWOBIT_MAGIC", "chrom_sizes"]

TWOBIT_MAGIC = 0x1A412743


def chrom_sizes(source: Any) -> dict[str, int]:
    """``{name: length}`` in file order from a .2bit path, file object, bytes or URL."""
    src = open_source(source)
    owned = src is not source
    name = getattr(src, "name", "2bit")
    try:
        size = src.size
        head = src.read_upto(0, 16)
        if len(head) < 16:
            raise TruncatedFileError(f"{name}: too short for a .2bit header", 0)
        for order in "<>":
            if struct.unpack_from(order + "I", head)[0] == TWOBIT_MAGIC:
                break
        else:
            raise FormatError(f"{name}: not a .2bit file (bad signature)", 0)
        version, count, _reserved = struct.unpack_from(order + "III", head, 4)
        if version not in (0, 1):
            raise FormatError(f"{name}: unsupported .2bit version {version}", 4)
        off_fmt = order + ("Q" if version else "I")
        off_size = struct.calcsize(off_fmt)
        if count * (1 + off_size) > size - 16:
            raise FormatError(f"{name}: .2bit declares {count} sequences, more than the file "
                              f"can index", 8)
        # the index: read in growing chunks (names are at most 255 bytes each)
        pos, index, buf, buf_at = 16, [], b"", 16
        for _ in range(count):
            need = 1 + 255 + off_size
            if pos + need > buf_at + len(buf):
                buf = src.read_upto(pos, max(need, 1 << 16))
                buf_at = pos
            rel = pos - buf_at
            if rel >= len(buf):
                raise TruncatedFileError(f"{name}: .2bit index ends early", pos)
            n = buf[rel]
            entry = buf[rel + 1:rel + 1 + n + off_size]
            if len(entry) < n + off_size:
                raise TruncatedFileError(f"{name}: .2bit index ends early", pos)
            seq_name = entry[:n].decode("ascii", "replace")
            (offset,) = struct.unpack_from(off_fmt, entry, n)
            if offset + 4 > size:
                raise FormatError(f"{name}: sequence {seq_name!r} points past the end of the "
                                  f"file ({offset})", pos)
            index.append((seq_name, offset))
            pos += 1 + n + off_size
        sizes: dict[str, int] = {}
        for seq_name, offset in index:
            (length,) = struct.unpack(order + "I", bytes(src.read(offset, 4)))
            if seq_name in sizes:
                raise FormatError(f"{name}: sequence {seq_name!r} appears twice", offset)
            sizes[seq_name] = length
        return sizes
    finally:
        if owned:
            src.close()


def is_twobit(path: "str | os.PathLike[str]") -> bool:
    """True when ``path`` starts with the .2bit signature (either byte order)."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    return len(head) == 4 and TWOBIT_MAGIC in struct.unpack("<I", head) + struct.unpack(">I", head)
