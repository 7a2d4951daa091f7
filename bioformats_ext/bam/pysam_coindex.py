"""``co_index``: a BAI/CSI for a BAM that pysam writes, built while it writes (no second pass).

The wrapper forwards each ``write(segment)`` to pysam and records ``(tid, beg, end, size)``
plus pysam's ``tell()`` after the record (htslib's ``bgzf_tell``: the virtual offset where the
record ends). htslib starts a new BGZF block before a record that does not fit the current one
(``bgzf_flush_try``); a reader then sees the previous record end at the new block's start, so
that offset is amended exactly as htslib's own ``hts_idx_amend_last`` does. The new block's
address is known from the record's own end offset, except when the record fills or spans whole
blocks; those few addresses are read from the BGZF block headers of the finished file. On
``close()`` the offsets go through the shared :class:`~bioformats_ext.index.IndexBuilder` and
the index is written atomically: the same content ``samtools index`` computes from the file.

The record size is computed from the segment's fields (name, CIGAR, sequence, tags with their
types), as ``bam_write1`` lays the record out, including the ``CG`` form of long CIGARs.
"""

from __future__ import annotations

import array
import os
import struct
from typing import Any

import numpy as np

from ..errors import FormatError, RecordError

__all__ = ["co_index", "CoIndexedWriter"]

_BLOCK = 0xFF00  # htslib's BGZF_BLOCK_SIZE: a block is flushed when a record would pass it
_EOF_SIZE = 28
_TAG_SIZES = {"A": 1, "c": 1, "C": 1, "s": 2, "S": 2, "i": 4, "I": 4, "f": 4, "d": 8}


def _record_size(seg: Any) -> int:
    """Bytes ``bam_write1`` writes for ``seg`` (with the 4-byte block_size)."""
    name = seg.query_name
    l_name = len(name.encode()) + 1 if name is not None else 2
    n_cigar = len(seg.cigartuples or ())
    l_seq = seg.query_length
    size = 4 + 32 + l_name + 4 * n_cigar + (l_seq + 1) // 2 + l_seq
    if n_cigar > 0xFFFF:
        size += 16  # 2-op placeholder CIGAR instead of the real one, which moves to "CG:B,I"
    for _tag, value, kind in seg.get_tags(with_value_type=True):
        size += 3
        if kind in ("Z", "H"):
            size += len(str(value).encode()) + 1
        elif kind == "B":
            items = value if isinstance(value, array.array) else array.array("i", value)
            size += 5 + items.itemsize * len(items)
        else:
            size += _TAG_SIZES.get(kind, 4)
    return size


class CoIndexedWriter:
    """pysam ``AlignmentFile`` (opened ``"wb"``) plus an index written on :meth:`close`."""

    def __init__(self, alignment_file: Any, index_path: "str | os.PathLike[str] | None" = None,
                 kind: str | None = None, min_shift: int = 14):
        if kind is None:
            kind = "csi" if index_path is not None and os.fspath(index_path).endswith(".csi") else "bai"
        if kind not in ("bai", "csi"):
            raise ValueError(f"kind must be 'bai' or 'csi', not {kind!r}")
        self.file = alignment_file
        filename = getattr(alignment_file, "filename", None)
        if isinstance(filename, bytes):
            filename = filename.decode()
        self.path: str | None = filename
        if index_path is None:
            if not filename:
                raise ValueError("index_path is needed when the BAM has no file name")
            index_path = f"{filename}.{kind}"
        self.index_path = os.fspath(index_path)
        self.kind = kind
        self.min_shift = min_shift
        self._offset0 = int(alignment_file.tell())
        header = alignment_file.header  # pysam drops it on close
        self._n_refs = len(header.references)
        self._max_len = max(header.lengths, default=0)
        self._tid = array.array("q")
        self._beg = array.array("q")
        self._end = array.array("q")
        self._voff = array.array("q")
        self._size = array.array("q")
        self._mapped = array.array("b")
        self._closed = False

    # -- pysam surface ------------------------------------------------------------------------
    @property
    def header(self) -> Any:
        return self.file.header

    def tell(self) -> int:
        return int(self.file.tell())

    def write(self, segment: Any) -> int:
        """Write through pysam and remember where the record ends."""
        size = _record_size(segment)
        result = self.file.write(segment)
        flag = segment.flag
        tid = segment.reference_id
        pos = segment.reference_start
        end = segment.reference_end if not flag & 4 else None
        self._tid.append(tid)
        self._beg.append(pos)
        self._end.append(end if end is not None else pos + 1)
        self._voff.append(int(self.file.tell()))
        self._size.append(size)
        self._mapped.append(0 if flag & 4 else 1)
        return result

    def close(self) -> None:
        """Close the BAM, then compute and atomically write the index."""
        if self._closed:
            return
        self._closed = True
        self.file.close()
        if self.path is None:
            raise ValueError("cannot index a BAM without a path")
        from ..index import IndexBuilder
        from ..io.atomic import AtomicFiles

        file_size = os.path.getsize(self.path)
        final = (file_size - _EOF_SIZE) << 16
        voff = np.frombuffer(self._voff, np.int64).copy() if len(self._voff) else np.zeros(0, np.int64)
        size = np.frombuffer(self._size, np.int64) if len(self._size) else np.zeros(0, np.int64)
        prev = np.concatenate(([self._offset0], voff[:-1]))
        within = prev & 0xFFFF
        flushed = (within > 0) & (within + size > _BLOCK)
        if len(voff) and voff[-1] & 0xFFFF:
            voff[-1] = final  # the closing flush ends the last block right after the record
        for k in np.flatnonzero(flushed).tolist():
            start = self._new_block_start(int(prev[k]), int(self._voff[k]), int(size[k]))
            if k > 0:
                voff[k - 1] = start
        n_refs = self._n_refs
        if self.kind == "bai":
            builder = IndexBuilder.bai(n_refs, offset0=self._offset0)
        else:
            builder = IndexBuilder.csi(min_shift=self.min_shift,
                                       max_ref_len=self._max_len,
                                       offset0=self._offset0, n_refs=n_refs)
        tid = np.frombuffer(self._tid, np.int64) if len(self._tid) else np.zeros(0, np.int64)
        beg = np.frombuffer(self._beg, np.int64) if len(self._beg) else np.zeros(0, np.int64)
        end = np.frombuffer(self._end, np.int64) if len(self._end) else np.zeros(0, np.int64)
        mapped = np.frombuffer(self._mapped, np.int8).astype(bool) if len(self._mapped) else None
        builder.push_many(tid, np.maximum(beg, 0), np.maximum(end, 1), voff, mapped)
        builder.finish(final)
        files = AtomicFiles()
        try:
            stream: Any = files.open(self.index_path)
            if self.kind == "bai":
                builder.write_bai(stream, n_refs)
            else:
                builder.write_csi(stream)
            files.commit()
        except BaseException:
            files.abort()
            raise

    def _new_block_start(self, prev: int, end: int, size: int) -> int:
        """Virtual offset of the block htslib started for a record that did not fit."""
        if size <= _BLOCK and (end & 0xFFFF) == size:
            return (end >> 16) << 16
        address = prev >> 16  # the next block after the one the previous record ended in
        with open(self.path or "", "rb") as handle:  # noqa: PTH123
            handle.seek(address)
            head = handle.read(18)
        if len(head) < 18 or head[:4] != b"\x1f\x8b\x08\x04":
            raise FormatError(f"{self.path}: no BGZF block at {address}", address)
        (bsize,) = struct.unpack_from("<H", head, 16)
        return (address + bsize + 1) << 16

    def abort(self) -> None:
        """Close pysam's file and write no index."""
        self._closed = True
        self.file.close()

    def __enter__(self) -> "CoIndexedWriter":
        return self

    def __exit__(self, exc_type: Any, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __getattr__(self, name: str) -> Any:  # the rest of pysam's AlignmentFile
        return getattr(self.file, name)


def co_index(alignment_file: Any, index_path: "str | os.PathLike[str] | None" = None,
             kind: str | None = None, min_shift: int = 14) -> CoIndexedWriter:
    """Wrap a pysam ``AlignmentFile`` opened for BAM writing so closing it also writes its index.

    ``index_path`` defaults to ``<bam>.bai`` (``.csi`` with ``kind="csi"``); a ``.csi`` path
    implies CSI. Records must be coordinate-sorted (else :class:`SortOrderError` on close).
    """
    if getattr(alignment_file, "is_bam", True) is False:
        raise RecordError("co_index needs a BAM AlignmentFile (mode 'wb')")
    return CoIndexedWriter(alignment_file, index_path, kind, min_shift)
