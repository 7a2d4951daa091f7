"""``BamReader``: stream a BAM (BGZF or BGZF2), or fetch a region through its index.

Region queries read only the chunks the BAI/CSI names (all of them in one ``read_many``), or
for BGZF2 only the frames its embedded index names, then keep the records that overlap exactly
as htslib's iterator does (``pos < end`` and ``bam_endpos > start``).
"""

from __future__ import annotations

import os
from typing import Any, Iterator

from ..bgzf import BgzfReader
from ..bgzf2 import Bgzf2Reader
from ..coindex import load_index, region_blobs
from ..coindex.discovery import INDEX_KINDS
from ..errors import FormatError, TruncatedFileError
from ..reader_base import RegionReader
from ..io.source import ByteSource, open_source, skip_prefix
from ..sniff import expect, sniff_container
from .decode import record_span, record_to_sam, split_records
from .header import BamHeader

def detect_container(source: ByteSource) -> str:
    """``"bgzf"``, ``"bgzf2"``, or a FormatError."""
    container = sniff_container(source.read_upto(0, 18))
    if container in ("bgzf", "bgzf2"):
        return container
    raise FormatError(f"{source.name}: neither BGZF nor BGZF2", 0)


class BamReader(RegionReader):
    """Read BAM records as SAM text (``__iter__``, :meth:`fetch`) or raw bytes (:meth:`records`).

    ``index``: path / source of a BAI or CSI; by default one is looked for next to the file
    (``x.bam.bai``, ``x.bam.csi``, ``x.bai``) when a region is first fetched.
    """

    def __init__(self, source: Any, index: Any = None):
        self._path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
        self.source = open_source(source)
        expect(self.source, ("bam",), "a BAM file", containers=("bgzf", "bgzf2"))
        self.container = detect_container(self.source)
        if self.container == "bgzf":
            self._bgzf: BgzfReader | None = BgzfReader(self.source)
            self._bgzf2: Bgzf2Reader | None = None
        else:
            self._bgzf2 = Bgzf2Reader(self.source)
            self._bgzf = None
        self._index_source = index
        self._index = None
        self.header, self._data_start = self._read_header()

    # -- streaming ---------------------------------------------------------------------------
    def _chunks(self) -> Iterator[bytes]:
        if self._bgzf is not None:
            for _address, data in self._bgzf.iter_blocks():
                yield data
        elif self._bgzf2 is not None:
            yield from self._bgzf2.iter_frames()

    def _read_header(self) -> tuple[BamHeader, int]:
        buf = bytearray()
        chunks = self._chunks()
        pos = 0

        def read(n: int) -> bytes:
            nonlocal pos
            while len(buf) - pos < n:
                chunk = next(chunks, None)
                if chunk is None:
                    break
                buf.extend(chunk)
            out = bytes(buf[pos:pos + n])
            pos += len(out)
            return out

        header = BamHeader.decode(read)
        return header, pos

    def records(self) -> Iterator[memoryview]:
        """Every record's bytes (without the 4-byte length), in file order."""
        pending = b""
        for chunk in skip_prefix(self._chunks(), self._data_start):
            data = pending + chunk if pending else chunk
            view = memoryview(data)
            stop = 0
            for start, stop in split_records(data):
                yield view[start:stop]
            pending = data[stop:] if stop else data
        if pending:
            raise TruncatedFileError(f"{self.source.name}: BAM ends inside a record "
                                     f"({len(pending)} bytes left)")

    def __iter__(self) -> Iterator[str]:
        """Every record as a SAM line (no newline)."""
        names = self.header.names
        for rec in self.records():
            yield record_to_sam(rec, names)

    # -- regions -----------------------------------------------------------------------------
    def _load_index(self):
        if self._index is None:
            self._index = load_index(self._path, self._index_source, INDEX_KINDS["bam"], "BAM")
        return self._index

    def reference_lengths(self) -> dict[str, int | None]:
        return dict(zip(self.header.names, self.header.lengths))

    def fetch_records(self, contig: str | None = None, start: int | None = None,
                      stop: int | None = None, region: str | None = None, *,
                      reference: str | None = None, end: int | None = None
                      ) -> Iterator[memoryview]:
        """Raw records overlapping ``contig:[start, stop)`` (0-based, half-open) or ``region``
        (``"chr1:1,000-2,000"``, 1-based inclusive); see :mod:`bioformats_ext.reader_base`."""
        r = self.region(contig, start, stop, region, reference=reference, end=end)
        tid = self.header.tid(r.contig)
        beg, stop_ = r.start, (1 << 62) if r.stop is None else r.stop
        if stop_ <= beg:
            return iter(())
        return self._records_in(tid, beg, stop_)

    def _records_in(self, tid: int, beg: int, stop: int) -> Iterator[memoryview]:
        if self._bgzf2 is not None:
            blobs = region_blobs(self._bgzf2, tid, beg, stop)
        else:
            blobs = region_blobs(self._bgzf, tid, beg, stop, self._load_index())
        for blob in blobs:
            view = memoryview(blob)
            for a, b in split_records(blob):
                rec = view[a:b]
                rtid, pos, rend, _flag = record_span(rec)
                if rtid != tid:
                    if 0 <= rtid < tid:  # BGZF2 frames may start with earlier references
                        continue
                    break
                if pos >= stop:
                    break
                if rend > beg:
                    yield rec

    def fetch(self, contig: str | None = None, start: int | None = None,
              stop: int | None = None, region: str | None = None, *,
              reference: str | None = None, end: int | None = None) -> Iterator[str]:
        """SAM lines of the records overlapping the region (arguments as :meth:`fetch_records`)."""
        names = self.header.names
        records = self.fetch_records(contig, start, stop, region, reference=reference, end=end)
        return (record_to_sam(rec, names) for rec in records)
