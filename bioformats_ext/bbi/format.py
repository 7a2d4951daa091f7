"""Byte layouts of the BBI container (bigBed / bigWig), for both byte orders.

Every fixed-size structure of the format is one :class:`struct.Struct` (for single structures)
or one numpy dtype (for arrays of items parsed a node or block at a time). ``layouts(byteorder)``
returns them all for ``"<"`` or ``">"``; the reader and the writer share these so that the two
cannot disagree about a byte.

References: Kent et al. 2010 (Bioinformatics 26:2204), supplementary tables 5-14; UCSC
``bbiFile.h``, ``cirTree.h``, ``bPlusTree.h``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

BIGBED_MAGIC = 0x8789F2EB
BIGWIG_MAGIC = 0x888FFC26
BPT_MAGIC = 0x78CA8C91       # chromosome / extra-index B+ tree
RTREE_MAGIC = 0x2468ACE0     # cirTree (R-tree) index
BBI_CURRENT_VERSION = 4
MAX_ZOOM_LEVELS = 10
ZOOM_RES_INCREMENT = 4

HEADER_SIZE = 64
ZOOM_HEADER_SIZE = 24
TOTAL_SUMMARY_SIZE = 40
EXTRA_HEADER_SIZE = 64
BPT_HEADER_SIZE = 32
RTREE_HEADER_SIZE = 48
NODE_HEADER_SIZE = 4
RTREE_LEAF_ITEM_SIZE = 32
RTREE_NONLEAF_ITEM_SIZE = 24
BED_PREFIX_SIZE = 12
ZOOM_RECORD_SIZE = 32


@dataclass(frozen=True)
class Layouts:
    """All layouts for one byte order (``"<"`` little or ``">"`` big endian)."""

    byteorder: str
    # Common header (64 bytes): magic, version, zoomLevels, chromosomeTreeOffset, fullDataOffset,
    # fullIndexOffset, fieldCount, definedFieldCount, autoSqlOffset, totalSummaryOffset,
    # uncompressBufSize, extensionOffset (UCSC: "reserved" in the paper, extra-index header now).
    header: struct.Struct
    # Zoom header (24 bytes): reductionLevel, reserved, dataOffset, indexOffset.
    zoom_header: struct.Struct
    # Total summary (40 bytes): basesCovered, minVal, maxVal, sumData, sumSquares.
    total_summary: struct.Struct
    # Extension header (64 bytes): extensionSize, extraIndexCount, extraIndexListOffset, reserved.
    extra_header: struct.Struct
    # Extra index list item (16 bytes + 4 per field): type, fieldCount, fileOffset, reserved;
    # then per field: fieldId, reserved.
    extra_index_item: struct.Struct
    extra_index_field: struct.Struct
    # B+ tree header (32 bytes): magic, blockSize, keySize, valSize, itemCount, reserved.
    bpt_header: struct.Struct
    # B+ tree / R-tree node header (4 bytes): isLeaf, reserved, count.
    node_header: struct.Struct
    # R-tree header (48 bytes): magic, blockSize, itemCount, startChromIx, startBase, endChromIx,
    # endBase, endFileOffset, itemsPerSlot, reserved.
    rtree_header: struct.Struct
    # R-tree items, parsed a node at a time.
    rtree_leaf: np.dtype
    rtree_nonleaf: np.dtype
    # bigBed record prefix (12 bytes): chromId, chromStart, chromEnd; then NUL-terminated rest.
    bed_prefix: struct.Struct
    bed_prefix_dtype: np.dtype
    # Zoom summary record (32 bytes): chromId, start, end, validCount, minVal, maxVal, sumData,
    # sumSquares (floats are 32-bit).
    zoom_record: struct.Struct
    zoom_record_dtype: np.dtype
    # Record count at fullDataOffset / zoom dataOffset (bigBed: 8 bytes; zoom levels: 4 bytes).
    data_count: struct.Struct
    zoom_count: struct.Struct

    def bpt_leaf_dtype(self, key_size: int, val_size: int = 8) -> np.dtype:
        """Chromosome tree leaf items: key, chromId, chromSize (valSize 8), or for extra indices
        key, offset, size (valSize 16)."""
        bo = self.byteorder
        if val_size == 8:
            return np.dtype([("key", f"S{key_size}"), ("id", f"{bo}u4"), ("size", f"{bo}u4")])
        if val_size == 16:
            return np.dtype([("key", f"S{key_size}"), ("offset", f"{bo}u8"), ("size", f"{bo}u8")])
        return np.dtype([("key", f"S{key_size}"), ("value", f"V{val_size}")])

    def bpt_nonleaf_dtype(self, key_size: int) -> np.dtype:
        """B+ tree non-leaf items: key, childOffset."""
        return np.dtype([("key", f"S{key_size}"), ("offset", f"{self.byteorder}u8")])


@lru_cache(maxsize=None)
def layouts(byteorder: str = "<") -> Layouts:
    """The layouts for ``"<"`` (little endian) or ``">"`` (big endian); ``"="`` means native."""
    if byteorder == "=":
        import sys

        byteorder = "<" if sys.byteorder == "little" else ">"
    if byteorder not in ("<", ">"):
        raise ValueError(f"byteorder must be '<' or '>', not {byteorder!r}")
    bo = byteorder
    return Layouts(
        byteorder=bo,
        header=struct.Struct(bo + "IHHQQQHHQQIQ"),
        zoom_header=struct.Struct(bo + "I4xQQ"),
        total_summary=struct.Struct(bo + "Qdddd"),
        extra_header=struct.Struct(bo + "HHQ52x"),
        extra_index_item=struct.Struct(bo + "HHQ4x"),
        extra_index_field=struct.Struct(bo + "H2x"),
        bpt_header=struct.Struct(bo + "IIIIQ8x"),
        node_header=struct.Struct(bo + "?xH"),
        rtree_header=struct.Struct(bo + "IIQIIIIQI4x"),
        rtree_leaf=np.dtype([("start_chrom", bo + "u4"), ("start_base", bo + "u4"),
                             ("end_chrom", bo + "u4"), ("end_base", bo + "u4"),
                             ("offset", bo + "u8"), ("size", bo + "u8")]),
        rtree_nonleaf=np.dtype([("start_chrom", bo + "u4"), ("start_base", bo + "u4"),
                                ("end_chrom", bo + "u4"), ("end_base", bo + "u4"),
                                ("offset", bo + "u8")]),
        bed_prefix=struct.Struct(bo + "III"),
        bed_prefix_dtype=np.dtype([("chrom", bo + "u4"), ("start", bo + "u4"), ("end", bo + "u4")]),
        zoom_record=struct.Struct(bo + "IIIIffff"),
        zoom_record_dtype=np.dtype([("chrom", bo + "u4"), ("start", bo + "u4"), ("end", bo + "u4"),
                                    ("valid", bo + "u4"), ("min", bo + "f4"), ("max", bo + "f4"),
                                    ("sum", bo + "f4"), ("sum_squares", bo + "f4")]),
        data_count=struct.Struct(bo + "Q"),
        zoom_count=struct.Struct(bo + "I"),
    )


def detect_byteorder(magic: bytes, expected: int = BIGBED_MAGIC) -> str | None:
    """``"<"`` or ``">"`` if the 4 bytes are ``expected`` in either order, else None."""
    if len(magic) < 4:
        return None
    if int.from_bytes(magic[:4], "little") == expected:
        return "<"
    if int.from_bytes(magic[:4], "big") == expected:
        return ">"
    return None
