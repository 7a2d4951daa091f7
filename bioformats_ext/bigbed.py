"""Raw, fast bigBed access for code that does not need ``Bio.Align`` objects.

>>> from bioformats_ext import bigbed
>>> with bigbed.open("tests/data/ucsc-bigbed/bigbedtest.bb") as bb:
...     bb.chroms["chr1"], next(bb.records("chr1", 0, 50))
(1000, ('chr1', 10, 100, 'name1\\t1\\t+'))

``records`` yields ``(chrom, start, end, rest)`` like pyBigWig's ``entries`` (``rest`` is the rest of
the BED line, tab-separated, or None for BED3). Opening is lazy: it reads the header, zoom headers,
autoSql, total summary and chromosome tree, normally in a single read.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Iterator

import numpy as np

from .bbi.autosql import AutoSqlTable
from .bbi.header import TotalSummary, ZoomLevel
from .bbi.reader import BigBedReader, Record
from .bbi.write import BigBedWriter, write
from .bbi.zoom import best_zoom, exact_summary, zoom_summary
from .bbi.file import BBIFile
from .bbi.zoom_records import zoom_records
from .io.source import ByteSource

__all__ = ["open", "BigBedFile", "write", "BigBedWriter"]


class BigBedFile(BBIFile):
    """An open bigBed file (a context manager). Use :func:`open`."""

    def __init__(self, source: "str | os.PathLike[str] | BinaryIO | ByteSource", **options):
        self._reader = BigBedReader(source, **options)

    @property
    def autosql(self) -> AutoSqlTable:
        """The autoSql declaration of the columns (``str()`` gives the ``.as`` text)."""
        return self._reader.autosql

    @property
    def autosql_text(self) -> str | None:
        """The autoSql text exactly as stored in the file (None if the file has none)."""
        return self._reader.autosql_text

    @property
    def total_summary(self) -> dict | None:
        """Whole-file coverage: ``covered``, ``min``, ``max``, ``mean``, ``std`` of depth."""
        ts: TotalSummary | None = self._reader.total_summary
        return None if ts is None else ts.as_dict()

    @property
    def extra_index_fields(self) -> list[str]:
        """Names of the fields that have an extraIndex (usable with :meth:`find`)."""
        names = self._reader.autosql.names
        return [names[i.field_id] for i in self._reader.extra_indices if i.field_id < len(names)]

    def __len__(self) -> int:
        """Number of records (from the data section's count; no data is read)."""
        return self._reader.item_count

    # -- queries ---------------------------------------------------------------------------------
    def records(self, chrom: str | None = None, start: int | None = None,
                end: int | None = None, region: str | None = None) -> Iterator[Record]:
        """Records overlapping a region, in file order; all records when ``chrom`` is None.

        ``start`` defaults to 0 and ``end`` to the chromosome size (``end`` to ``start + 1`` when
        only ``start`` is given). Zero-length records touching the region's edges are included,
        as in UCSC and Biopython. ``region="chr1:1,001-2,000"`` (1-based inclusive) is the
        samtools form. Unknown chromosomes raise ``UnknownReferenceError``, negative or reversed
        ranges ``RegionError`` (the rule of :mod:`bioformats_ext.reader_base`).
        """
        return self._reader.records(chrom, start, end, region)

    def find(self, field: str, value: str) -> Iterator[Record]:
        """Records whose ``field`` equals ``value``, via that field's extraIndex
        (``bigBedNamedItems``). ``MissingIndexError`` if the field is not indexed."""
        return self._reader.find(field, value)

    def summary(self, chrom: str, start: int | None = None, end: int | None = None,
                bins: int = 1, exact: bool = False) -> list[dict]:
        """Coverage-depth statistics in ``bins`` equal bins of ``chrom:start-end``.

        One dict per bin: ``covered`` (bases with depth > 0), and ``min``, ``max``, ``mean``,
        ``std`` of the depth over those bases (None for an empty bin). From the best zoom level
        unless ``exact`` (``bigBedSummary`` semantics).
        """
        reader = self._reader
        cid = reader.chrom_id(chrom)
        if start is None:
            start = 0
        if end is None:
            end = reader.chrom_sizes[cid]
        if bins < 1:
            raise ValueError("bins must be at least 1")
        if end <= start:
            raise ValueError(f"empty region {chrom}:{start}-{end}")
        level = None if exact else best_zoom(reader.zoom_levels, start, end, bins)
        if level is not None:
            return zoom_summary(reader.zoom_records(level, cid, start, end), start, end, bins)
        starts, ends = [], []
        for block, sel in reader.iter_blocks(chrom, start, end):
            starts.append(block.start[sel])
            ends.append(block.end[sel])
        s = np.concatenate(starts) if starts else np.zeros(0, np.int64)
        e = np.concatenate(ends) if ends else np.zeros(0, np.int64)
        return exact_summary(s, e, start, end, bins)

    # -- tables (optional extra ``frames``) -------------------------------------------------------
    def to_arrow(self, contig: str | None = None, start: int | None = None,
                 stop: int | None = None, region: str | None = None,
                 columns: "list[str] | None" = None):
        """Records overlapping a region (``fetch`` arguments; whole file when none) as a
        ``pyarrow.Table``: chrom (dictionary), chromStart/chromEnd (uint32) and the autoSql
        fields typed from the declaration. ``columns`` selects fields by autoSql name."""
        from .tables.bigbed import to_arrow

        return to_arrow(self._reader, contig, start, stop, region, columns)

    def to_pandas(self, contig: str | None = None, start: int | None = None,
                  stop: int | None = None, region: str | None = None,
                  columns: "list[str] | None" = None):
        """:meth:`to_arrow` as a pandas DataFrame (through Arrow)."""
        from .tables import to_pandas

        return to_pandas(self.to_arrow(contig, start, stop, region, columns))

    def zoom_records(self, level: "int | ZoomLevel", chrom: str, start: int | None = None,
                     end: int | None = None) -> np.ndarray:
        """Zoom summary records of ``level`` (index into :attr:`zoom_levels`, or a ZoomLevel)
        overlapping the region: structured array ``chrom, start, end, valid, min, max, sum,
        sum_squares``."""
        cid, start_, end_ = self._reader.resolve(chrom, start, end)
        return zoom_records(self._reader, level, cid, start_, end_)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"<BigBedFile {self._reader.source.name!r}: {len(self)} records>"


def open(source: "str | os.PathLike[str] | BinaryIO | ByteSource", **options) -> BigBedFile:  # noqa: A001
    """Open a bigBed from a path, a seekable binary file object, a URL or a ByteSource.

    ``options``: ``node_cache`` (R-tree nodes kept, default 256) and ``block_cache`` (bytes of
    decoded data blocks kept, default 64 MiB; 0 disables caching).
    """
    return BigBedFile(source, **options)
