"""The file-level object shared by :class:`~bioformats_ext.bigbed.BigBedFile` and
:class:`~bioformats_ext.bigwig.BigWigFile` (both wrap a :class:`~.reader.BigBedReader`)."""

from __future__ import annotations

from ..io.source import ByteSource
from ..reader_base import RegionReader
from .header import Header, ZoomLevel
from .reader import BigBedReader


class BBIFile(RegionReader):
    """What an open bigBed and an open bigWig share: the reader, chromosomes, header, zoom
    levels, byte source, and closing."""

    _reader: BigBedReader

    @property
    def reader(self) -> BigBedReader:
        """The low-level reader (header, R-tree, blocks) behind this file."""
        return self._reader

    @property
    def chroms(self) -> dict[str, int]:
        """Chromosome name -> size, in chromosome-id order."""
        return self._reader.chroms

    @property
    def header(self) -> Header:
        return self._reader.header

    @property
    def zoom_levels(self) -> list[ZoomLevel]:
        return list(self._reader.zoom_levels)

    @property
    def source(self) -> ByteSource:  # type: ignore[override]
        return self._reader.source

    def reference_lengths(self) -> dict[str, int | None]:
        return dict(self.chroms)

    def close(self) -> None:
        self._closed = True
        self._reader.close()
