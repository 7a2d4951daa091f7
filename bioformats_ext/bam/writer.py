"""``BamWriter``: SAM records in, BAM out, with its BAI/CSI written in the same pass.

Each record is encoded, written with BGZF ``write_record`` (never straddling blocks, as htslib),
and its ``(tid, beg, end)`` pushed with the offset after it into the shared ``IndexBuilder`` —
exactly what htslib does when indexing on the fly — so on ``close()`` the index is complete and
equal to what ``samtools index`` would compute from the finished file.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

from ..coindex import BatchedRecordWriter, IndexedOutput
from ..index import IndexBuilder
from .encode import SamEncoder, encode_mixed, to_sam_bytes
from .pysam_records import SegmentEncoder
from .record import BamRecord
from .header import BamHeader


class BamWriter(BatchedRecordWriter):
    """Write a BAM file (and optionally ``file.bam.bai`` / ``file.bam.csi``) in one pass.

    ``header``: SAM header text, a pysam-style dict, ``[(name, length), ...]`` or a pysam
    ``AlignmentHeader``. ``index``: ``None``, ``"bai"`` or ``"csi"``. ``compression="bgzf2"``
    writes one self-indexed BGZF2 file instead. Records: SAM lines (str or bytes), our ``BamRecord``
    objects (copied as stored when their header's references match), objects with
    ``to_string()`` (pysam ``AlignedSegment``) or ``Bio.Align.Alignment`` objects.
    """

    batch_size = 8192

    def __init__(self, target: "str | os.PathLike[str] | BinaryIO", header: Any,
                 index: str | None = None, min_shift: int = 14, level: int | None = None,
                 threads: int = 1, compression: str = "bgzf",
                 index_path: "str | os.PathLike[str] | BinaryIO | None" = None):
        if index not in (None, "bai", "csi"):
            raise ValueError(f"index must be None, 'bai' or 'csi', not {index!r}")
        if compression not in ("bgzf", "bgzf2"):
            raise ValueError(f"compression must be 'bgzf' or 'bgzf2', not {compression!r}")
        self.header = BamHeader.from_any(header)
        self.min_shift = min_shift
        self._encoder = SamEncoder(self.header)
        self._alignment_writer: Any = None  # Bio.Align.sam.AlignmentWriter, made on first use
        self._segments: SegmentEncoder | None = None  # pysam segments' route, made on first use
        self._buffer: list[bytes] = []
        n_refs = len(self.header.names)
        max_len = self.header.max_length

        def make_builder(kind: str, offset0: int):
            if kind == "bai":
                return IndexBuilder.bai(n_refs, offset0=offset0, strict=True)
            return IndexBuilder.csi(min_shift=min_shift, max_ref_len=max_len, offset0=offset0,
                                    n_refs=n_refs, strict=True)

        def save_index(builder, stream) -> None:
            if index == "bai":
                builder.write_bai(stream, n_refs)
            else:
                builder.write_csi(stream)

        header_bytes = self.header.encode()
        self._out = IndexedOutput(target, compression=compression, level=level, threads=threads,
                                  index=index, index_path=index_path, make_builder=make_builder,
                                  save_index=save_index, references=self.header.references,
                                  content_head=header_bytes[:64])
        try:
            self._out.write_header(header_bytes)
        except BaseException:
            self._out.abort()
            raise

    def _fast_batch(self, batch: list) -> "list[bytes] | None":
        kinds = set(map(type, batch))
        if kinds == {bytes}:
            return _Lines(batch)
        if kinds == {str}:
            return _Lines([line.encode() for line in batch])
        if kinds == {BamRecord}:
            return _Records(batch)  # copied as stored by _write_lines
        if len(kinds) == 1:
            kind = next(iter(kinds))
            if _is_segment_type(kind):  # pysam AlignedSegments: htslib's bytes (_write_lines)
                return _Segments(batch)
            to_string = getattr(kind, "to_string", None)  # other objects: their SAM text
            if callable(to_string) and not issubclass(kind, (bytes, str, BamRecord)):
                return list(map(str.encode, map(to_string, batch)))
        return None

    def _to_line(self, record: Any) -> Any:
        if isinstance(record, BamRecord):
            return record  # written as stored, no SAM text round trip (see _write_lines)
        if isinstance(record, (bytes, str)):
            return to_sam_bytes(record)
        if hasattr(record, "to_string"):
            return to_sam_bytes(record)
        if hasattr(record, "coordinates") and hasattr(record, "sequences"):
            if self._alignment_writer is None:
                from Bio.Align.sam import AlignmentWriter  # only for Alignment objects

                self._alignment_writer = AlignmentWriter(None)
            return self._alignment_writer.format_alignment(record).encode()
        return to_sam_bytes(record)

    def write_columns(self, cols: Any) -> int:
        """Write every record of a :class:`~bioformats_ext.bam.columns.BamColumns` batch as
        stored, in one gather (the fast path of ``bioformats-ext view -b``). The batch must come
        from a BAM with this writer's references."""
        import numpy as np

        from types import SimpleNamespace

        from .record import RecordBatch

        self._flush_buffer()
        n = len(cols)
        if not n:
            return 0
        if int(cols.ref_id.max()) >= len(self.header.names) or \
                int(cols.next_ref_id.max()) >= len(self.header.names):
            raise ValueError("these records refer to references this BAM header does not have")
        out = self._out
        try:
            sizes = cols.stop - cols.offset
            data = cols._gather(cols.offset, sizes)[0].tobytes()
            batch = SimpleNamespace(tid=cols.ref_id, beg=np.maximum(cols.pos, 0),
                                    end=np.maximum(cols.end_positions(), 1),
                                    mapped=(cols.flag & 4) == 0)
            rows = RecordBatch(cols, SimpleNamespace(references=tuple(self.header.names)))
            describe = lambda i: _describe(BamRecord(rows, i))  # noqa: E731 - errors only
            _check_within_references(batch, self.header.lengths, _Rows(rows), out.n_records)
            out.write_batch(data, sizes, batch.tid, batch.beg, batch.end, batch.mapped, describe)
        except BaseException:
            self.abort()
            raise
        return n

    def _write_lines(self, lines: list[Any]) -> None:
        out = self._out
        try:
            batch = None
            kind = type(lines)
            if kind is _Records:
                batch = encode_mixed(self._encoder, lines, out.n_records)
            elif kind is _Lines:
                batch = self._encoder.encode(lines, out.n_records)
            else:
                kinds = set(map(type, lines)) if kind is not _Segments else {_Segments}
                if kind is _Segments or (len(kinds) == 1 and _is_segment_type(next(iter(kinds)))):
                    batch = self._segment_encoder().encode(lines)
                    kinds = set(map(type, lines)) if batch is None else kinds
                if batch is None:
                    if any(issubclass(k, BamRecord) for k in kinds):
                        batch = encode_mixed(self._encoder, lines, out.n_records)
                    else:
                        if kinds - {bytes}:  # pysam segments left to the text route
                            lines = [to_sam_bytes(x) for x in lines]
                        batch = self._encoder.encode(lines, out.n_records)
            _check_within_references(batch, self.header.lengths, lines, out.n_records)
            out.write_batch(batch.data, batch.sizes, batch.tid, batch.beg, batch.end, batch.mapped,
                            lambda i: _describe(lines[i]))
        except BaseException:
            self.abort()
            raise

    def _segment_encoder(self) -> SegmentEncoder:
        if self._segments is None:
            self._segments = SegmentEncoder(self.header.names, self.header.lengths)
        return self._segments

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()

    def abort(self) -> None:
        try:
            super().abort()
        finally:
            self._release()

    def _release(self) -> None:
        if self._segments is not None:
            self._segments.close()
            self._segments = None


class _Lines(list):
    """A batch known to hold only SAM lines as bytes."""


class _Segments(list):
    """A batch known to hold only pysam ``AlignedSegment`` objects."""


class _Records(list):
    """A batch known to hold only ``BamRecord`` objects (no second type scan)."""


class _Rows:
    """``rows[i]`` -> the i-th record of a RecordBatch (for error messages)."""

    def __init__(self, batch: Any):
        self._batch = batch

    def __getitem__(self, i: int) -> BamRecord:
        return BamRecord(self._batch, i)


def _is_segment_type(kind: type) -> bool:
    """pysam's ``AlignedSegment`` (or a subclass), recognised without importing pysam."""
    return any(k.__name__ == "AlignedSegment" and k.__module__.startswith("pysam")
               for k in kind.__mro__)


def _describe(item: Any) -> str:
    if isinstance(item, BamRecord):
        text = item.to_string()
    elif isinstance(item, (bytes, bytearray)):
        text = bytes(item).decode(errors="replace")
    else:
        text = to_sam_bytes(item).decode(errors="replace")
    return text[:120].rstrip()


def _check_within_references(batch: Any, lengths: "list[int]", lines: Any,
                             first: int) -> None:
    """htslib refuses a placed record whose POS lies beyond its reference's LN."""
    import numpy as np

    from ..errors import RecordError

    tid = np.asarray(batch.tid, np.int64)
    placed = tid >= 0
    if not placed.any() or not lengths:
        return
    ln = np.asarray(lengths, np.int64)
    beg = np.asarray(batch.beg, np.int64)
    over = np.zeros(len(tid), bool)
    over[placed] = beg[placed] >= ln[np.minimum(tid[placed], len(ln) - 1)]
    if over.any():
        i = int(over.argmax())
        raise RecordError(f"line {first + i + 1}: POS {int(beg[i]) + 1} is beyond the end of "
                          f"reference {int(tid[i])} (LN {int(ln[tid[i]])}): "
                          f"{_describe(lines[i])}", first + i + 1)
