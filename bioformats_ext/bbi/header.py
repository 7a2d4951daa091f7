"""The fixed-size structures at the start of a BBI file: header, zoom headers, total summary and
extra-index headers. Each has ``parse`` (from bytes, with offset-bearing errors) and ``pack`` (for
the writer), so reading and writing use one definition.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

from ..errors import FormatError, TruncatedFileError
from .format import (
    BBI_CURRENT_VERSION,
    BIGBED_MAGIC,
    BIGWIG_MAGIC,
    EXTRA_HEADER_SIZE,
    HEADER_SIZE,
    MAX_ZOOM_LEVELS,
    TOTAL_SUMMARY_SIZE,
    ZOOM_HEADER_SIZE,
    detect_byteorder,
    layouts,
)


def _need(data: bytes, pos: int, size: int, what: str, base: int = 0) -> None:
    if pos < 0 or pos + size > len(data):
        raise TruncatedFileError(f"file ends inside the {what}", base + pos)


_KINDS = {BIGBED_MAGIC: "bigBed", BIGWIG_MAGIC: "bigWig"}


@dataclass
class Header:
    """The 64-byte common header (field names as in UCSC ``bbiFile.h``)."""

    byteorder: str = "<"
    magic: int = BIGBED_MAGIC
    version: int = BBI_CURRENT_VERSION
    zoomLevels: int = 0
    chromosomeTreeOffset: int = 0
    fullDataOffset: int = 0
    fullIndexOffset: int = 0
    fieldCount: int = 3
    definedFieldCount: int = 3
    autoSqlOffset: int = 0
    totalSummaryOffset: int = 0
    uncompressBufSize: int = 0
    extensionOffset: int = 0

    size = HEADER_SIZE

    @classmethod
    def parse(cls, data: bytes, file_size: int | None = None,
              magic: int = BIGBED_MAGIC) -> "Header":
        """Parse (and sanity-check) the header from the first bytes of a file whose magic
        must be ``magic`` (bigBed or bigWig: the two share this header)."""
        kind = _KINDS.get(magic, "BBI")
        if len(data) < 4:
            raise TruncatedFileError(f"file too short for a {kind} header", 0)
        byteorder = detect_byteorder(data, magic)
        if byteorder is None:
            raise FormatError(f"not a {kind} file (magic {data[:4].hex()})", 0)
        _need(data, 0, HEADER_SIZE, "header")
        values = layouts(byteorder).header.unpack_from(data, 0)
        header = cls(byteorder, *values)
        header._check(file_size)
        return header

    def _check(self, file_size: int | None) -> None:
        kind = _KINDS.get(self.magic, "BBI")
        if self.version < 1 or self.version > 64:
            raise FormatError(f"unsupported {kind} version {self.version}", 4)
        if self.zoomLevels > MAX_ZOOM_LEVELS * 4:
            raise FormatError(f"absurd number of zoom levels ({self.zoomLevels})", 6)
        if self.magic == BIGBED_MAGIC and not 3 <= self.definedFieldCount <= 15:
            raise FormatError(
                f"definedFieldCount {self.definedFieldCount} outside 3..15", 34)
        if self.fieldCount < self.definedFieldCount:
            raise FormatError(
                f"fieldCount {self.fieldCount} < definedFieldCount {self.definedFieldCount}", 32)
        if file_size is not None:
            for name, pos in (("chromosomeTreeOffset", 8), ("fullDataOffset", 16),
                              ("fullIndexOffset", 24), ("autoSqlOffset", 36),
                              ("totalSummaryOffset", 44), ("extensionOffset", 56)):
                value = getattr(self, name)
                if value >= file_size:
                    raise TruncatedFileError(f"{name} {value} is past the end of the file "
                                             f"({file_size} bytes)", pos)
            for name in ("chromosomeTreeOffset", "fullDataOffset", "fullIndexOffset"):
                if getattr(self, name) < HEADER_SIZE:
                    raise FormatError(f"{name} {getattr(self, name)} points into the header", 8)

    def pack(self) -> bytes:
        return layouts(self.byteorder).header.pack(
            self.magic, self.version, self.zoomLevels, self.chromosomeTreeOffset,
            self.fullDataOffset, self.fullIndexOffset, self.fieldCount, self.definedFieldCount,
            self.autoSqlOffset, self.totalSummaryOffset, self.uncompressBufSize,
            self.extensionOffset)

    @property
    def compressed(self) -> bool:
        return self.uncompressBufSize > 0


@dataclass
class ZoomLevel:
    """One zoom header: summaries at ``reductionLevel`` bases per record."""

    reductionLevel: int
    dataOffset: int
    indexOffset: int

    size = ZOOM_HEADER_SIZE

    @classmethod
    def parse_all(cls, data: bytes, header: Header, file_size: int | None = None,
                  base: int = HEADER_SIZE) -> list["ZoomLevel"]:
        """The ``header.zoomLevels`` zoom headers that follow the common header."""
        unpack = layouts(header.byteorder).zoom_header.unpack_from
        levels = []
        for i in range(header.zoomLevels):
            pos = base + i * ZOOM_HEADER_SIZE
            _need(data, pos, ZOOM_HEADER_SIZE, "zoom headers")
            level = cls(*unpack(data, pos))
            if file_size is not None and (level.dataOffset >= file_size
                                          or level.indexOffset >= file_size):
                raise TruncatedFileError(f"zoom level {i} points past the end of the file", pos)
            if level.reductionLevel == 0:
                raise FormatError(f"zoom level {i} has reduction 0", pos)
            levels.append(level)
        return levels

    def pack(self, byteorder: str = "<") -> bytes:
        return layouts(byteorder).zoom_header.pack(
            self.reductionLevel, self.dataOffset, self.indexOffset)


def pack_zoom_headers(levels: list[ZoomLevel], byteorder: str = "<",
                      slots: int = MAX_ZOOM_LEVELS) -> bytes:
    """The zoom-header area as bedToBigBed writes it: ``slots`` entries, unused ones zeroed."""
    data = b"".join(level.pack(byteorder) for level in levels)
    return data + bytes(max(0, slots - len(levels)) * ZOOM_HEADER_SIZE)


@dataclass
class TotalSummary:
    """Whole-file coverage summary: bases covered and min/max/sum/sum of squares of depth."""

    basesCovered: int = 0
    minVal: float = 0.0
    maxVal: float = 0.0
    sumData: float = 0.0
    sumSquares: float = 0.0

    size = TOTAL_SUMMARY_SIZE

    @classmethod
    def parse(cls, data: bytes, pos: int = 0, byteorder: str = "<", base: int = 0) -> "TotalSummary":
        _need(data, pos, TOTAL_SUMMARY_SIZE, "total summary", base)
        return cls(*layouts(byteorder).total_summary.unpack_from(data, pos))

    def pack(self, byteorder: str = "<") -> bytes:
        return layouts(byteorder).total_summary.pack(
            self.basesCovered, self.minVal, self.maxVal, self.sumData, self.sumSquares)

    def as_dict(self) -> dict[str, float]:
        """``covered``, ``min``, ``max``, ``mean``, ``std`` (UCSC ``bigBedInfo`` numbers)."""
        n = self.basesCovered
        return {
            "covered": n,
            "min": self.minVal,
            "max": self.maxVal,
            "mean": self.sumData / n if n else math.nan,
            "std": std_from_sums(self.sumData, self.sumSquares, n),
        }


def std_from_sums(total: float, squares: float, n: float) -> float:
    """Sample standard deviation from sums, as UCSC ``calcStdFromSums``."""
    if n <= 0:
        return math.nan
    var = squares - total * total / n
    if n > 1:
        var /= n - 1
    return math.sqrt(max(var, 0.0))


@dataclass
class ExtraIndex:
    """One extra (name) index: a B+ tree at ``fileOffset`` keyed on column ``fieldIds[0]``."""

    indexType: int = 0
    fileOffset: int = 0
    fieldIds: list[int] = field(default_factory=list)

    @property
    def field_id(self) -> int:
        return self.fieldIds[0]

    def pack(self, byteorder: str = "<") -> bytes:
        lay = layouts(byteorder)
        return lay.extra_index_item.pack(self.indexType, len(self.fieldIds), self.fileOffset) + \
            b"".join(lay.extra_index_field.pack(f) for f in self.fieldIds)


@dataclass
class ExtraHeader:
    """The extension header: where the list of extra indices lives."""

    extensionSize: int = EXTRA_HEADER_SIZE
    extraIndexCount: int = 0
    extraIndexListOffset: int = 0

    size = EXTRA_HEADER_SIZE

    @classmethod
    def parse(cls, data: bytes, pos: int, byteorder: str, base: int = 0) -> "ExtraHeader":
        _need(data, pos, EXTRA_HEADER_SIZE, "extension header", base)
        return cls(*layouts(byteorder).extra_header.unpack_from(data, pos))

    def pack(self, byteorder: str = "<") -> bytes:
        return layouts(byteorder).extra_header.pack(
            self.extensionSize, self.extraIndexCount, self.extraIndexListOffset)


def parse_extra_indices(data: bytes, pos: int, count: int, byteorder: str,
                        base: int = 0, file_size: int | None = None) -> list[ExtraIndex]:
    """``count`` extra-index list items starting at ``pos`` in ``data`` (file offset ``base``)."""
    lay = layouts(byteorder)
    out = []
    for _ in range(count):
        _need(data, pos, 16, "extra index list", base)
        kind, nfields, offset = lay.extra_index_item.unpack_from(data, pos)
        if nfields < 1 or nfields > 256:
            raise FormatError(f"extra index with {nfields} fields", base + pos)
        if file_size is not None and offset >= file_size:
            raise TruncatedFileError("extra index points past the end of the file", base + pos)
        pos += 16
        _need(data, pos, 4 * nfields, "extra index list", base)
        ids = [lay.extra_index_field.unpack_from(data, pos + 4 * i)[0] for i in range(nfields)]
        pos += 4 * nfields
        out.append(ExtraIndex(kind, offset, ids))
    return out


def unpack(fmt: struct.Struct, data: bytes, pos: int, what: str, base: int = 0) -> tuple:
    """``fmt.unpack_from`` with a :class:`TruncatedFileError` naming ``what`` and the offset."""
    _need(data, pos, fmt.size, what, base)
    return fmt.unpack_from(data, pos)
