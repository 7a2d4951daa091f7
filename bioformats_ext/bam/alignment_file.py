"""``bioformats_ext.bam.open``: a BAM reader with pysam's ``AlignmentFile`` vocabulary.

Everything goes through :func:`~bioformats_ext.bam.columns.decode_columns`: the file is read in
batches of about a megabyte of records, each decoded into numpy columns; region filters,
counts and flag filters are numpy masks over those columns; records (:class:`BamRecord`) are
made only for the rows a caller iterates. ``fetch_columns`` hands the columns themselves to
callers that want arrays (data frames, the benchmark's "pos/mapq/flag of every read").

Region arguments follow :func:`bioformats_ext.regions.resolve_region` (pysam semantics; typed
``UnknownReferenceError`` / ``RegionError``). Index statistics come from the BAI/CSI pseudo-bins,
as ``samtools idxstats`` reports them.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np

from ..coindex import region_blobs
from ..coindex.query import MAX_QUERY_STOP
from ..errors import (BioformatsError, FormatError, MissingIndexError, RegionError, TruncatedFileError,
                      UnknownReferenceError)
from ..io.source import skip_prefix
from ..reader_base import RegionReader
from ..regions import parse_region
from .columns import BamColumns, decode_columns
from .header import BamHeader
from .reader import BamReader
from .record import BamRecord, RecordBatch

__all__ = ["open", "BamFile", "AlignmentHeader", "IndexStats"]

_BATCH_BYTES = 1 << 20
_STREAM_BYTES = 4 << 20
_FILTER_ALL = 4 | 256 | 512 | 1024


class IndexStats(NamedTuple):
    contig: str
    mapped: int
    unmapped: int
    total: int


class AlignmentHeader:
    """pysam-style view of a BAM header: ``references``/``lengths`` tuples, ``to_dict()``."""

    __slots__ = ("bam_header", "references", "lengths", "_tids")

    def __init__(self, bam_header: BamHeader):
        self.bam_header = bam_header
        self.references: tuple[str, ...] = tuple(bam_header.names)
        self.lengths: tuple[int, ...] = tuple(bam_header.lengths)
        self._tids = {name: tid for tid, name in enumerate(self.references)}

    @property
    def text(self) -> str:
        return self.bam_header.text

    @property
    def nreferences(self) -> int:
        return len(self.references)

    def get_tid(self, name: str) -> int:
        return self._tids.get(name, -1)

    def get_reference_name(self, tid: int) -> str | None:
        return self.references[tid] if 0 <= tid < len(self.references) else None

    def get_reference_length(self, name: str) -> int:
        tid = self._tids.get(name)
        if tid is None:
            raise UnknownReferenceError(f"unknown reference {name!r}")
        return self.lengths[tid]

    def to_dict(self) -> dict[str, Any]:
        result = self.bam_header.to_dict()
        if "SQ" not in result:  # pysam builds SQ from the binary list (even when empty)
            result["SQ"] = [{"SN": n, "LN": n_} for n, n_ in zip(self.references, self.lengths)]
        return result

    def __str__(self) -> str:
        return self.text

    def __len__(self) -> int:
        return len(self.references)


def open(source: Any, index: Any = None, threads: int = 2) -> "BamFile":  # noqa: A001 - pysam-like
    """Open a BAM (BGZF or BGZF2; path, URL, fsspec URL, file object or bytes) for reading.

    ``threads``: threads reading and inflating blocks while records are decoded (1: none)."""
    return BamFile(source, index=index, threads=threads)


class BamFile(RegionReader):
    """A BAM reader with pysam's names: ``header``, ``fetch``, ``count``, ``mapped``, ... ."""

    def __init__(self, source: Any, index: Any = None, threads: int = 2):
        self.threads = threads
        self._reader = BamReader(source, index=index)
        if self._reader._bgzf is not None:  # whole-file streams and region queries alike
            self._reader._bgzf.codec = _inflate_codec(self._reader._bgzf.codec)
        self.source = self._reader.source
        self.header = AlignmentHeader(self._reader.header)
        self._refs = dict(zip(self.header.references, self.header.lengths))
        self.filename = source if isinstance(source, str) else getattr(source, "name", None)

    # -- pysam attributes -------------------------------------------------------------------
    @property
    def references(self) -> tuple[str, ...]:
        return self.header.references

    @property
    def lengths(self) -> tuple[int, ...]:
        return self.header.lengths

    @property
    def nreferences(self) -> int:
        return self.header.nreferences

    @property
    def text(self) -> str:
        return self.header.text

    def get_tid(self, name: str) -> int:
        return self.header.get_tid(name)

    def get_reference_name(self, tid: int) -> str | None:
        return self.header.get_reference_name(tid)

    def has_index(self) -> bool:
        if self._reader.container == "bgzf2":
            return True
        try:
            self._reader._load_index()
        except MissingIndexError:
            return False
        return True

    # -- streaming --------------------------------------------------------------------------
    def _stream_columns(self) -> Iterator[BamColumns]:
        """Every record of the file, in batches of columns (~4 MiB of records each)."""
        reader = self._reader
        n_refs = len(self.header.references)
        pending = b""
        parts: list[bytes] = []
        starts: list[int] = []
        size = 0
        first = 0

        def flush(final: bool) -> Iterator[BamColumns]:
            nonlocal pending, parts, starts, size, first
            data = pending + b"".join(parts) if pending else b"".join(parts)
            hints = np.array(starts, np.int64) + len(pending)
            parts, starts, size = [], [], 0
            cols = decode_columns(data, partial=True, n_refs=n_refs, first_record=first,
                                  hints=hints)
            first += len(cols)
            pending = data[cols.consumed:]
            if final and pending:
                raise TruncatedFileError(f"{reader.source.name}: BAM ends inside record {first + 1} "
                                         f"({len(pending)} bytes left)")
            if len(cols):
                yield cols

        chunks = self._inflated_blocks()
        try:
            for chunk in skip_prefix(chunks, reader._data_start):
                if not chunk:
                    continue
                starts.append(size)
                parts.append(chunk)
                size += len(chunk)
                if size >= _STREAM_BYTES:
                    yield from flush(False)
            yield from flush(True)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _inflated_blocks(self) -> Iterator[bytes]:
        """The file's uncompressed blocks in order; BGZF blocks are read and inflated on helper
        threads when ``threads > 1`` (the codecs release the GIL), so inflating overlaps
        decoding. Each block is copied once, into its batch."""
        reader = self._reader
        if reader._bgzf is None or self.threads <= 1:
            yield from reader._chunks()
            return
        from functools import partial

        from ..bgzf.stream import _inflate_group, _raw_groups
        from ..compression import ordered_map

        groups = ordered_map(partial(_inflate_group, reader._bgzf.codec),
                             _raw_groups(reader._bgzf.source), self.threads)
        for _addrs, _nexts, _lens, datas in groups:
            yield from datas

    def _region_columns(self, tid: int, beg: int, stop: int) -> Iterator[BamColumns]:
        reader = self._reader
        n_refs = len(self.header.references)
        if beg >= stop:
            return
        if reader._bgzf2 is not None:
            for blob in region_blobs(reader._bgzf2, tid, beg, stop):
                cols = decode_columns(blob, n_refs=n_refs)
                picked, _done = _overlapping(cols, tid, beg, stop)
                if picked is not None:
                    yield picked
            return
        chunks = reader._load_index().query(tid, beg, min(stop, MAX_QUERY_STOP))
        pending = b""
        last_chunk = -1
        bgzf = reader._bgzf
        if bgzf is None:  # not BGZF2 (returned above), so a container this reader cannot query
            raise FormatError(f"{reader.source.name}: not a BGZF file")
        for k, piece in bgzf.iter_range_pieces(chunks):
            if k != last_chunk and pending:
                raise TruncatedFileError(f"{reader.source.name}: index chunk ends inside a "
                                         f"record ({len(pending)} bytes)")
            last_chunk = k
            data = pending + piece if pending else piece
            cols = decode_columns(data, partial=True, n_refs=n_refs)
            pending = data[cols.consumed:]
            picked, done = _overlapping(cols, tid, beg, stop)
            if picked is not None:
                yield picked
            if done:  # sorted: nothing further can overlap (htslib stops here too)
                return
        if pending:
            raise TruncatedFileError(f"{reader.source.name}: index chunk ends inside a record "
                                     f"({len(pending)} bytes)")

    def fetch_columns(self, contig: str | None = None, start: int | None = None,
                      stop: int | None = None, region: str | None = None,
                      until_eof: bool = False, reference: str | None = None,
                      end: int | None = None) -> Iterator[BamColumns]:
        """What :meth:`fetch` selects, as batches of :class:`BamColumns` (the fast path)."""
        try:
            yield from self._fetch_columns(contig, start, stop, region, until_eof, reference, end)
        except BioformatsError as exc:  # name the file in every error about its data
            raise _with_name(exc, getattr(self._reader.source, "name", None)) from None

    def _fetch_columns(self, contig: str | None, start: int | None, stop: int | None,
                       region: str | None, until_eof: bool, reference: str | None,
                       end: int | None) -> Iterator[BamColumns]:
        contig = contig if contig is not None else reference
        stop = stop if stop is not None else end
        if contig is None and region is None:
            if start is not None or stop is not None:
                raise RegionError("start/stop given without a contig")
            for cols in self._stream_columns():
                if until_eof:
                    yield cols
                else:  # pysam without until_eof: every reference in turn, no unplaced reads
                    placed = cols.ref_id >= 0
                    if placed.all():
                        yield cols
                    elif placed.any():
                        yield cols.take(placed)
            return
        r = self.region(contig, start, stop, region)
        tid = self.header.get_tid(r.contig)
        # htslib does not clip to the declared length: records past it are still found
        limit = stop if region is None else parse_region(region, self._refs).stop
        yield from self._region_columns(tid, r.start, (1 << 62) if limit is None else int(limit))

    def fetch(self, contig: str | None = None, start: int | None = None, stop: int | None = None,
              region: str | None = None, until_eof: bool = False, reference: str | None = None,
              end: int | None = None, multiple_iterators: bool = False) -> Iterator[BamRecord]:
        """Records overlapping a region (0-based half-open, or a samtools region string)."""
        header = self.header
        for cols in self.fetch_columns(contig, start, stop, region, until_eof, reference, end):
            yield from RecordBatch(cols, header).records()

    def __iter__(self) -> Iterator[BamRecord]:
        return self.fetch(until_eof=True)

    def __next__(self) -> BamRecord:  # pragma: no cover - pysam files are their own iterators
        raise TypeError("use iter(bam_file) or bam_file.fetch()")

    def count(self, contig: str | None = None, start: int | None = None, stop: int | None = None,
              region: str | None = None, until_eof: bool = False,
              read_callback: "str | Callable[[BamRecord], bool]" = "nofilter",
              reference: str | None = None, end: int | None = None) -> int:
        """Number of records in a region (pysam's ``count``; ``read_callback="all"`` skips
        unmapped, secondary, QC-fail and duplicate reads)."""
        total = 0
        for cols in self.fetch_columns(contig, start, stop, region, until_eof, reference, end):
            if read_callback == "nofilter":
                total += len(cols)
            elif read_callback == "all":
                total += int(np.count_nonzero((cols.flag & _FILTER_ALL) == 0))
            elif callable(read_callback):
                total += sum(1 for rec in RecordBatch(cols, self.header).records()
                             if read_callback(rec))
            else:
                raise ValueError(f"read_callback must be 'all', 'nofilter' or a function, "
                                 f"not {read_callback!r}")
        return total

    # -- index statistics -------------------------------------------------------------------
    def _index(self) -> Any:
        if self._reader.container != "bgzf":
            raise MissingIndexError("index statistics need a BAI/CSI index (BGZF2 files have none)")
        return self._reader._load_index()

    def get_index_statistics(self) -> list[IndexStats]:
        """Per reference ``(contig, mapped, unmapped, total)`` from the index pseudo-bins."""
        index = self._index()
        out = []
        for tid, name in enumerate(self.header.references):
            mapped = index.mapped(tid) if tid < index.n_refs else 0
            unmapped = index.unmapped(tid) if tid < index.n_refs else 0
            out.append(IndexStats(name, mapped, unmapped, mapped + unmapped))
        return out

    @property
    def mapped(self) -> int:
        return sum(s.mapped for s in self.get_index_statistics())

    @property
    def unmapped(self) -> int:
        return sum(s.unmapped for s in self.get_index_statistics()) + self.nocoordinate

    @property
    def nocoordinate(self) -> int:
        return int(self._index().n_no_coor)

    def idxstats(self) -> str:
        """``samtools idxstats`` text."""
        lines = [f"{s.contig}\t{length}\t{s.mapped}\t{s.unmapped}\n"
                 for s, length in zip(self.get_index_statistics(), self.header.lengths)]
        lines.append(f"*\t0\t0\t{self.nocoordinate}\n")
        return "".join(lines)

    def __del__(self) -> None:  # a reader dropped without close(): release the file quietly
        try:
            if self.source is not None:
                self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass

    def reference_lengths(self) -> dict[str, int | None]:
        return dict(self._refs)

    def __enter__(self) -> "BamFile":
        return self


def _inflate_codec(codec: Any) -> Any:
    """The codec a BAM reader inflates with: ISA-L when installed (about 10 % less CPU than
    libdeflate on BAM blocks, CRC checks included, on the benchmark file), else ``codec``."""
    global _ISAL
    if _ISAL is None:
        from ..codec import available_deflate_backends, deflate_codec

        _ISAL = deflate_codec("isal") if "isal" in available_deflate_backends() else False
    return _ISAL or codec


_ISAL: Any = None


def _overlapping(cols: BamColumns, tid: int, beg: int, stop: int
                 ) -> tuple[BamColumns | None, bool]:
    """The records of ``cols`` overlapping ``tid:[beg, stop)`` (htslib's rule: ``pos < stop``
    and ``bam_endpos > beg``), and whether a later record can no longer overlap."""
    if not len(cols):
        return None, False
    ref = cols.ref_id
    pos = cols.pos
    keep = (ref == tid) & (pos < stop)
    if beg > 0:  # only records starting before ``beg`` need their CIGAR's end
        early = np.flatnonzero(keep & (pos < beg))
        if len(early):
            keep[early] = cols.end_positions(early) > beg
    done = bool(((ref > tid) | ((ref == tid) & (cols.pos >= stop))).any())
    if keep.all():
        return cols, done
    return (cols.take(keep) if keep.any() else None), done


def _with_name(exc: BioformatsError, name: str | None) -> BioformatsError:
    """``exc`` (same type and attributes) with its message prefixed by the file name."""
    if not name or not exc.args or str(exc.args[0]).startswith(str(name)):
        return exc
    named = copy.copy(exc)
    named.args = (f"{name}: {exc.args[0]}",) + exc.args[1:]
    return named
