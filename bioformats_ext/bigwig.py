"""bigWig files: read (pyBigWig's API and semantics, on our lazy BBI layers) and write.

>>> from bioformats_ext import bigwig, examples
>>> with bigwig.open(examples.path("example.bw")) as bw:
...     bw.chroms["chr1"], bw.intervals("chr1", 0, 120)[:2]
(30000, ((100, 110, 1.0), (110, 120, 2.0)))

Opening reads the header, zoom headers, total summary and chromosome tree (normally one read);
R-tree nodes and data sections are read when a query needs them, batched and cached, so remote
files (HTTP(S), fsspec) cost a few requests per region. ``values``, ``stats`` and ``intervals``
take pyBigWig's positional arguments ``(chrom, start, end)``; ``region="chr1:101-200"`` (1-based,
samtools style) works too.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Iterable, Iterator, Sequence

import numpy as np

from .bbi.file import BBIFile
from .bbi.header import TotalSummary, ZoomLevel
from .bbi.wig import BigWigReader
from .bbi.wig_stats import check_region, choose_zoom, exact_stats, stat_type, to_list, zoom_stats
from .bbi.wig_write import BigWigWriter, write
from .bbi.zoom_bins import window_stats, windows_stats
from .bbi.zoom_records import zoom_records
from .errors import RegionError
from .io.source import ByteSource

__all__ = ["open", "BigWigFile", "write", "BigWigWriter", "average_over_bed"]


def fill_values(starts: np.ndarray, ends: np.ndarray, values: np.ndarray, start: int,
                end: int) -> np.ndarray:
    """Per-base float32 values of ``[start, end)`` (NaN where no item covers a base).

    Sorted, non-overlapping items (every valid bigWig) take one ``np.repeat`` over the
    alternating gap / item runs; anything else falls back to slice assignment in file order.
    """
    n = end - start
    if not len(starts):
        return np.full(n, np.nan, np.float32)
    s = starts - start
    e = ends - start
    if len(s) == 1 or bool((s[1:] >= e[:-1]).all()):
        # sorted and disjoint: only the first item can start before, the last end after
        if s[0] < 0:
            s[0] = 0
        if e[-1] > n:
            e[-1] = n
        runs = np.empty(2 * len(s) + 1, np.int64)
        runs[0] = s[0]
        runs[1:-1:2] = e - s
        runs[2:-1:2] = s[1:] - e[:-1]
        runs[-1] = n - e[-1]
        vals = np.full(2 * len(s) + 1, np.nan, np.float32)
        vals[1::2] = values
        return np.repeat(vals, runs)
    out = np.full(n, np.nan, np.float32)
    s = np.minimum(np.maximum(s, 0), n)
    e = np.minimum(np.maximum(e, 0), n)
    for a, b, v in zip(s.tolist(), e.tolist(), values.tolist()):
        out[a:b] = v
    return out


class BigWigFile(BBIFile):
    """An open bigWig file (a context manager). Use :func:`open`."""

    _reader: BigWigReader

    def __init__(self, source: "str | os.PathLike[str] | BinaryIO | ByteSource", **options):
        self._reader = BigWigReader(source, **options)
        self._zoom_memo: dict[tuple[int, int], ZoomLevel | None] = {}

    # -- metadata (chroms, header, zoom_levels, source, close: BBIFile) -----------------------
    def summary(self) -> dict:
        """The file's total summary: ``covered`` bases, ``min``, ``max``, ``mean``, ``std``
        (as ``bigWigInfo``), plus the raw ``sum`` and ``sum_squares``."""
        ts: TotalSummary | None = self._reader.total_summary
        if ts is None:
            ts = TotalSummary()
        out = ts.as_dict()
        out["sum"] = ts.sumData
        out["sum_squares"] = ts.sumSquares
        return out

    def __len__(self) -> int:
        """Number of data sections (the count stored at the start of the data)."""
        return self._reader.item_count

    # -- regions ---------------------------------------------------------------------------------
    def _region(self, chrom: str | None, start: int | None, end: int | None,
                region: str | None) -> tuple[str, int, int, int]:
        reader = self._reader
        if region is not None or chrom is None:
            reg = self.region(chrom, start, end, region)
            chrom, start, end = reg.contig, reg.start, reg.stop
            if chrom is None:
                raise RegionError("a chromosome is needed")
        cid = reader.chrom_id(chrom)
        size = reader.chrom_sizes[cid]
        start = 0 if start is None else int(start)
        end = size if end is None else int(end)
        check_region(chrom, start, end, size)
        return chrom, cid, start, end

    def _arrays(self, cid: int, start: int, end: int):
        return self._reader.region_arrays(cid, start, end)

    # -- queries ---------------------------------------------------------------------------------
    def values(self, chrom: str | None = None, start: int | None = None, end: int | None = None,
               *, region: str | None = None) -> np.ndarray:
        """Per-base values of ``chrom:start-end`` as float32 numpy (NaN where uncovered),
        like pyBigWig's ``values(..., numpy=True)``."""
        _, cid, start, end = self._region(chrom, start, end, region)
        out = self._reader.values(cid, start, end)
        if out is None:  # not plain sorted bedGraph sections
            s, e, v = self._reader._region_arrays_general(cid, start, end)
            out = fill_values(s, e, v, start, end)
        return out

    def intervals(self, chrom: str | None = None, start: int | None = None,
                  end: int | None = None, *, region: str | None = None
                  ) -> tuple[tuple[int, int, float], ...]:
        """``(start, end, value)`` of the items overlapping the region, unclipped (pyBigWig)."""
        _, cid, start, end = self._region(chrom, start, end, region)
        s, e, v = self._arrays(cid, start, end)
        return tuple(zip(s.tolist(), e.tolist(), v.astype(np.float64).tolist()))

    def interval_arrays(self, chrom: str | None = None, start: int | None = None,
                        end: int | None = None, *, region: str | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`intervals` as three numpy arrays: int64 starts and ends, float32 values."""
        _, cid, start, end = self._region(chrom, start, end, region)
        return self._arrays(cid, start, end)

    def stats(self, chrom: str | None = None, start: int | None = None, end: int | None = None,
              type: str = "mean", nBins: int = 1, exact: bool = False,  # noqa: A002
              numpy: bool = False, *, region: str | None = None):
        """``type`` (mean, min, max, std, coverage, sum) in ``nBins`` bins of the region, with
        pyBigWig's semantics: from the zoom level it would pick unless ``exact``. A list with
        None for empty bins, or (``numpy=True``) a float64 array with NaN."""
        kind = stat_type(type)
        nbins = int(nBins) or 1
        if nbins < 1:
            raise ValueError("nBins must be at least 1")
        _, cid, start, end = self._region(chrom, start, end, region)
        level = None if exact else self._zoom_for(end - start, nbins)
        out: np.ndarray | None
        if level is None:
            s, e, v = self._arrays(cid, start, end)
            out = exact_stats(s, e, v, start, end, nbins, kind)
        else:
            out = window_stats(self._reader, level, cid, start, end, nbins, kind)
            if out is None:  # not the common shape: the general rule
                recs = zoom_records(self._reader, level, cid, start, end)
                out = zoom_stats(recs, start, end, nbins, kind)
        return out if numpy else to_list(out)

    def stats_many(self, chroms: "str | Sequence[str]", starts: "Sequence[int] | np.ndarray",
                   ends: "Sequence[int] | np.ndarray", type: str = "mean",  # noqa: A002
                   nBins: int = 1, exact: bool = False) -> np.ndarray:
        """:meth:`stats` (``numpy=True``) of many windows at once: a ``(windows, nBins)``
        float64 array, NaN where pyBigWig gives None; the same numbers as calling
        :meth:`stats` window by window. ``chroms`` is one name or one per window. Windows of
        equal width share their zoom level and bin offsets, so their zoom-based mean, std
        and coverage go through one search and one ``bincount`` for all of them."""
        kind = stat_type(type)
        nbins = int(nBins) or 1
        if nbins < 1:
            raise ValueError("nBins must be at least 1")
        a = np.asarray(starts, np.int64).reshape(-1)
        b = np.asarray(ends, np.int64).reshape(-1)
        names = [chroms] * len(a) if isinstance(chroms, str) else list(chroms)
        if not len(names) == len(a) == len(b):
            raise ValueError(f"{len(names)} chromosomes, {len(a)} starts and {len(b)} ends: "
                             "one of each per window")
        reader = self._reader
        ids = {c: reader.chrom_id(c) for c in dict.fromkeys(names)}  # unknown: typed error
        cids = np.array([ids[c] for c in names], np.int64)
        sizes = np.asarray(reader.chrom_sizes, np.int64)[cids] if len(cids) else cids
        bad = np.flatnonzero((a < 0) | (b <= a) | (b > sizes))
        if len(bad):
            i = int(bad[0])
            try:
                check_region(names[i], int(a[i]), int(b[i]), int(sizes[i]))
            except RegionError as exc:
                raise RegionError(f"window {i + 1}: {exc}") from None
        out = np.full((len(a), nbins), np.nan)
        todo = np.ones(len(a), bool)
        if not exact and len(a):
            widths = b - a
            for width in np.unique(widths).tolist():
                level = self._zoom_for(width, nbins)
                group = np.flatnonzero(widths == width)
                got = None if level is None else \
                    windows_stats(reader, level, cids[group], a[group], width, nbins, kind)
                if got is not None:
                    out[group] = got[0]
                    todo[group] = ~got[1]
        for i in np.flatnonzero(todo).tolist():
            out[i] = self.stats(names[i], int(a[i]), int(b[i]), type=kind, nBins=nbins,
                                exact=exact, numpy=True)
        return out

    def _zoom_for(self, width: int, nbins: int) -> ZoomLevel | None:
        """:func:`~.bbi.wig_stats.choose_zoom`, remembered per (width, bins): a scan asks
        for the same window shape many times."""
        memo = self._zoom_memo
        key = (width, nbins)
        try:
            return memo[key]
        except KeyError:
            if len(memo) > 256:
                memo.clear()
            found = memo[key] = choose_zoom(self._reader.zoom_levels, 0, width, nbins)
            return found

    def zoom_records(self, level: "int | ZoomLevel", chrom: str | None = None,
                     start: int | None = None, end: int | None = None, *,
                     region: str | None = None) -> np.ndarray:
        """Zoom summary records of ``level`` (an index into :attr:`zoom_levels` or a
        :class:`ZoomLevel`) overlapping the region: a structured array with ``chrom``,
        ``start``, ``end``, ``valid``, ``min``, ``max``, ``sum``, ``sum_squares``."""
        _, cid, start, end = self._region(chrom, start, end, region)
        return zoom_records(self._reader, level, cid, start, end)

    def iter_intervals(self, chrom: str | None = None
                       ) -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
        """``(chrom, starts, ends, values)`` for every section in file order (whole file or one
        chromosome): the fast path for dumping a file (``bigwigtobedgraph``)."""
        reader = self._reader
        cid = None if chrom is None else reader.chrom_id(chrom)
        names = reader.chrom_names
        for sec in reader.all_sections(cid):
            if len(sec) and (cid is None or sec.chrom == cid):
                yield names[sec.chrom], sec.starts, sec.ends, sec.values

    def average_over_bed(self, bed: "str | os.PathLike[str] | Iterable[tuple]", **options):
        """See :func:`average_over_bed`."""
        return average_over_bed(self, bed, **options)

    # -- data frames -----------------------------------------------------------------------------
    def to_arrow(self, chrom: str | None = None, start: int | None = None,
                 end: int | None = None, *, region: str | None = None):
        """Intervals as a ``pyarrow.Table`` (columns chrom, start, end, value); the whole file
        when no region is given."""
        try:
            import pyarrow as pa
        except ImportError:
            raise ImportError("to_arrow needs pyarrow: pip install 'bioformats-ext[frames]'") \
                from None
        cols = self._columns(chrom, start, end, region)
        return pa.table({"chrom": pa.array(cols[0]).dictionary_encode(), "start": cols[1],
                         "end": cols[2], "value": cols[3]})

    def to_pandas(self, chrom: str | None = None, start: int | None = None,
                  end: int | None = None, *, region: str | None = None):
        """Intervals as a ``pandas.DataFrame`` (columns chrom, start, end, value)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas needs pandas: pip install 'bioformats-ext[frames]'") \
                from None
        cols = self._columns(chrom, start, end, region)
        return pd.DataFrame({"chrom": pd.Categorical(cols[0]), "start": cols[1],
                             "end": cols[2], "value": cols[3]})

    def _columns(self, chrom, start, end, region):
        if chrom is None and region is None:
            parts = list(self.iter_intervals())
        else:
            name, cid, start, end = self._region(chrom, start, end, region)
            parts = [(name, *self._arrays(cid, start, end))]
        names = np.concatenate([np.full(len(p[1]), p[0], dtype=object) for p in parts]) \
            if parts else np.zeros(0, object)
        cat = [np.concatenate([p[i] for p in parts]) if parts else np.zeros(0) for i in (1, 2, 3)]
        return names, cat[0], cat[1], cat[2]

    # -- lifecycle -------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"<BigWigFile {self._reader.source.name!r}: {len(self.chroms)} chromosomes>"


def open(source: "str | os.PathLike[str] | BinaryIO | ByteSource", **options) -> BigWigFile:  # noqa: A001
    """Open a bigWig from a path, a seekable binary file object, an HTTP(S) / fsspec URL or a
    ByteSource. ``options``: ``node_cache`` (R-tree nodes kept, default 256), ``block_cache``
    (bytes of decoded sections kept, default 64 MiB; 0 disables)."""
    return BigWigFile(source, **options)


from .bbi.wig_average import average_over_bed  # noqa: E402  (needs BigWigFile above)
