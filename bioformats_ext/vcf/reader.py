"""``vcf.open``: one reader for VCF text (plain, BGZF, BGZF2) and BCF (BGZF, BGZF2), local or remote.

The format is sniffed (:func:`bioformats_ext.sniff.sniff`), never guessed from the name. BCF is
read block-run by block-run: records are cut out of the decompressed stream with one
``unpack_from`` each and wrapped lazily (:class:`~.record.BcfRecord`); records straddling blocks
are carried over. ``fetch`` goes through the CSI (``x.bcf.csi`` or ``index=``) or the TBI/CSI
of a VCF.gz, or BGZF2's embedded index, with the shared region rule
(:func:`bioformats_ext.regions.resolve_region`).
"""

from __future__ import annotations

import builtins
import os
import struct
from itertools import repeat
from typing import Any, Iterator

import numpy as np

from ..errors import FormatError, MissingIndexError, TruncatedFileError
from ..io.source import ByteSource, iter_chunks, open_source, skip_prefix
from ..reader_base import RegionReader
from ..regions import resolve_region
from ..sniff import expect
from .bcf_batch import BcfBatch
from .header import VcfHeader
from .bcf_record import BcfRecord
from .record import RecordContext, TextRecord, VariantRecord

__all__ = ["open", "VariantFile", "iter_bcf_records"]

_U32x2 = struct.Struct("<II")
_MAX_RECORD = 1 << 28      # a record claiming more is corrupt, not big (bounded memory)
_MAX_HEADER = 1 << 28
_RUN = 1 << 20             # decompressed bytes gathered before records are cut


def open(source: Any, index: Any = None, strict: bool = True) -> "VariantFile":  # noqa: A001
    """Open VCF / VCF.gz / BCF (sniffed) from a path, URL, fsspec URL, file object or bytes."""
    return VariantFile(source, index=index, strict=strict)


def _cut(data: bytes, start: int, ctx: RecordContext, first: int):
    """Records of ``data`` from ``start``; returns (records, offset of the first incomplete)."""
    batch, off = _cut_batch(data, start, ctx, first)
    return list(_records(batch)), off


def _records(batch: BcfBatch) -> Iterator[BcfRecord]:
    """The batch's records, made one at a time: a record dropped before the next is made keeps
    the garbage collector's young-object count flat (a whole batch of live records made it run
    dozens of collections per batch)."""
    return map(BcfRecord, repeat(batch, batch.n), range(batch.n))


def _cut_batch(data: bytes, start: int, ctx: RecordContext, first: int) -> tuple[BcfBatch, int]:
    """The :class:`BcfBatch` of ``data``'s complete records from ``start`` and the offset of the
    first incomplete one."""
    offs: list[int] = []
    n = len(data)
    off = start
    unpack = _U32x2.unpack_from
    append = offs.append
    try:  # the one sequential step: each size says where the next record starts
        while True:  # ends when fewer than 8 bytes are left (struct.error): no per-step checks
            l_shared, l_indiv = unpack(data, off)
            append(off)
            off += 8 + l_shared + l_indiv
    except struct.error:
        pass
    if off > n:  # the last record runs past the data: it is the incomplete one
        off = offs.pop()
    if off + 8 <= n:  # an incomplete record must not claim absurd sizes (memory is bounded)
        l_shared, l_indiv = unpack(data, off)
        if l_shared < 24 or 8 + l_shared + l_indiv > _MAX_RECORD:
            raise FormatError(f"{ctx.name}: record {first + len(offs)}: impossible sizes "
                              f"l_shared={l_shared}, l_indiv={l_indiv}")
    batch = BcfBatch(data, offs, ctx, first)
    if len(offs):
        small = batch.fixed["l_shared"] < 24
        if small.any():
            i = int(np.argmax(small))
            raise FormatError(f"{ctx.name}: record {first + i}: impossible l_shared "
                              f"{int(batch.fixed['l_shared'][i])} (< 24)")
    return batch, off


def iter_bcf_records(chunks: Iterator[bytes], ctx: RecordContext, first: int = 1
                     ) -> Iterator[BcfRecord]:
    """BCF records from decompressed pieces of the record stream (header already removed)."""
    pending = b""
    number = first
    gathered: list[bytes] = []
    size = 0
    for chunk in chunks:
        gathered.append(chunk)
        size += len(chunk)
        if size < _RUN:
            continue
        data = pending + b"".join(gathered) if pending else b"".join(gathered)
        gathered, size = [], 0
        batch, off = _cut_batch(data, 0, ctx, number)
        number += batch.n
        yield from _records(batch)
        pending = data[off:]
    data = pending + b"".join(gathered)
    batch, off = _cut_batch(data, 0, ctx, number)
    yield from _records(batch)
    if off != len(data):
        raise TruncatedFileError(f"{ctx.name}: file ends inside record {number + batch.n}")


class VariantFile(RegionReader):
    """A VCF or BCF file: ``header``, iteration, ``fetch``, ``count`` (pysam's vocabulary)."""

    def __init__(self, source: Any, index: Any = None, strict: bool = True):
        self._path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
        self.source: ByteSource = open_source(source)
        name = self._path or getattr(self.source, "name", None) or "input"
        found = expect(self.source, ("vcf", "bcf"), "VCF or BCF",
                       containers=("none", "bgzf", "bgzf2"))
        self.container = found.container
        self.format = found.format
        self._index_arg = index
        self._index: Any = None
        self.strict = strict
        if self.format == "vcf":
            from .text import VcfReader

            self._text = VcfReader(source if self._path else self.source, index=index)
            header = VcfHeader(self._text.header)
        else:
            header, self._records_start = self._read_bcf_header()
        self.header = header
        self._ctx = RecordContext(header, strict, str(name))

    @property
    def is_bcf(self) -> bool:
        return self.format == "bcf"

    # -- BCF plumbing ---------------------------------------------------------------------------
    def _stream_chunks(self) -> Iterator[bytes]:
        if self.container == "bgzf":
            from ..bgzf import BgzfReader

            self._bgzf = getattr(self, "_bgzf", None) or BgzfReader(self.source)
            for _address, data in self._bgzf.iter_blocks():
                yield data
        elif self.container == "bgzf2":
            from ..bgzf2 import Bgzf2Reader

            self._bgzf2 = getattr(self, "_bgzf2", None) or Bgzf2Reader(self.source)
            yield from self._bgzf2.iter_frames()
        else:
            yield from iter_chunks(self.source)

    def _read_bcf_header(self) -> tuple[VcfHeader, int]:
        head = b""
        for chunk in self._stream_chunks():
            head += chunk
            if len(head) >= 9:
                (l_text,) = struct.unpack_from("<I", head, 5)
                if l_text > _MAX_HEADER:
                    raise FormatError(f"{self._path or 'input'}: absurd BCF header length {l_text}")
                if len(head) >= 9 + l_text:
                    break
        if len(head) < 9 or head[:3] != b"BCF" or head[3] != 2:
            raise FormatError(f"{self._path or 'input'}: not BCF version 2")
        (l_text,) = struct.unpack_from("<I", head, 5)
        if len(head) < 9 + l_text:
            raise TruncatedFileError(f"{self._path or 'input'}: file ends inside the BCF header")
        text = head[9:9 + l_text].rstrip(b"\0").decode("utf-8", errors="replace")
        return VcfHeader(text), 9 + l_text

    def _bcf_body(self) -> Iterator[bytes]:
        return skip_prefix(self._stream_chunks(), self._records_start)

    # -- iteration ------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[VariantRecord]:
        if self.format == "bcf":  # no generator layer of our own between records and caller
            return iter_bcf_records(self._bcf_body(), self._ctx)
        return self._iter_text()

    def _iter_text(self) -> Iterator[VariantRecord]:
        ctx = self._ctx
        lineno = self.header.source_text.count("\n")
        for line in self._text:
            lineno += 1
            yield TextRecord(line, ctx, lineno)

    def reference_lengths(self) -> "dict[str, int | None]":
        return dict(self.header.contigs)

    def fetch(self, contig: str | None = None, start: int | None = None, stop: int | None = None,
              region: str | None = None, reopen: bool = False, *, reference: str | None = None,
              end: int | None = None) -> Iterator[VariantRecord]:
        """Records overlapping the region (0-based half-open args, or a samtools region)."""
        if contig is None and region is None and reference is None:
            yield from self
            return
        if self.header.contigs:
            reg = self.region(contig, start, stop, region, reference=reference, end=end)
        else:  # no ##contig lines: names are checked by the index, not the header
            reg = resolve_region(contig if reference is None else reference, start,
                                 stop if end is None else end, region, None)
        beg = reg.start
        end = reg.stop if reg.stop is not None else 1 << 62
        if self.format == "vcf":
            ctx = self._ctx
            for line in self._text.fetch(reg.contig, beg, end):
                yield TextRecord(line, ctx)
            return
        try:
            tid = self.header.contig_index(reg.contig)
        except KeyError:
            return
        if self.container == "bgzf2":
            from ..bgzf2 import Bgzf2Reader

            self._bgzf2 = getattr(self, "_bgzf2", None) or Bgzf2Reader(self.source)
            try:
                blobs = [data for _, data in self._bgzf2.fetch_runs(reg.contig, beg, end)]
            except KeyError:
                return
        elif self.container == "bgzf":
            from ..bgzf import BgzfReader

            index = self._load_index()
            chunks = index.query(tid, beg, min(end, 1 << 40))
            self._bgzf = getattr(self, "_bgzf", None) or BgzfReader(self.source)
            blobs = self._bgzf.read_ranges(list(chunks)) if chunks else []
        else:
            raise MissingIndexError("an uncompressed BCF cannot be fetched by region")
        for blob in blobs:
            batch, _ = _cut_batch(blob, 0, self._ctx, 0)
            for rec in _records(batch):
                if rec.tid != tid:
                    continue
                p = rec.pos - 1
                if p >= end:
                    break
                if p + max(rec.rlen, 1) > beg:
                    yield rec

    def _load_index(self):
        if self._index is None:
            from ..coindex import load_index_near
            from ..index import read_index

            if self._index_arg is not None:
                self._index = read_index(self._index_arg)
            elif self._path is not None and os.path.exists(self._path + ".csi"):
                with builtins.open(self._path + ".csi", "rb") as fh:
                    self._index = read_index(fh.read())
            else:
                self._index = load_index_near(self._path, ["csi"], "BCF file")
        return self._index

    def count(self, contig: str | None = None, start: int | None = None, stop: int | None = None,
              region: str | None = None) -> int:
        """How many records (in the region, when one is given)."""
        n = 0
        for _ in self.fetch(contig, start, stop, region):
            n += 1
        return n

    def close(self) -> None:
        if not self.closed and self.format == "vcf":
            self._text.close()
        super().close()
