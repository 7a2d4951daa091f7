"""Write BCF 2.2 (BGZF or BGZF2) with its CSI built in the same pass.

Layout as htslib's ``bcf_hdr_write`` / ``bcf_write``: ``BCF\\2\\2``, the header text with IDX
keys and a NUL, a block flush, then records written as a *stream* (unlike BAM and VCF, BCF
records may straddle BGZF blocks). Each record is pushed to the shared
:class:`~bioformats_ext.index.IndexBuilder` with ``[pos, pos + rlen)`` and the offset after it,
computed for a whole batch from cumulative sizes (a block holds 0xff00 bytes; a full block is
shipped at once, so an offset at a block's end reads as the next block's start, like
``bgzf_tell``). CSI depth follows ``bcf_idx_init``: smallest depth holding the longest
``##contig`` + 256 (2^31 - 1 when no length is given). TBI cannot index BCF and is refused.
"""

from __future__ import annotations

import os
import struct
from itertools import islice
from typing import Any, BinaryIO, Iterable

import numpy as np

from ..errors import RecordError
from ..io.atomic import AtomicFiles, CloseOrAbort
from .bcf_encode import BcfEncoder
from .bcf_encode_batch import BatchEncoder
from .header import VcfHeader

__all__ = ["BcfWriter", "bcf_header_bytes", "record_line"]

_CAP = 0xFF00


def bcf_header_bytes(header: VcfHeader) -> bytes:
    text = header.text(bcf=True).encode() + b"\0"
    return b"BCF\x02\x02" + struct.pack("<I", len(text)) + text


def record_line(record: Any) -> bytes:
    """A VCF data line from a str/bytes line, our record, a pysam ``VariantRecord`` or a tuple."""
    if isinstance(record, bytes):
        return record
    if isinstance(record, str):
        return record.encode()
    if isinstance(record, tuple):
        from .fields import tuple_line

        return tuple_line(record).encode()
    return str(record).encode()


class BcfWriter(CloseOrAbort):
    """``BcfWriter(target, header, index="csi")``: ``write``/``write_many`` VCF lines, records
    (ours or pysam's) or tuples; ``close`` writes the EOF block and the CSI (``x.bcf.csi``).

    ``compression``: ``"bgzf"`` (``level=0`` gives ``bcftools view -Ou`` output) or ``"bgzf2"``
    (self-indexed). ``strict=False`` turns values htslib would store as missing into one warning
    per key instead of a :class:`RecordError`.
    """

    batch_size = 4096
    text_chunk = 1 << 19  # bytes of VCF text a batch when reading a file object

    def __init__(self, target: "str | os.PathLike[str] | BinaryIO", header: "str | bytes | VcfHeader",
                 index: str | None = "csi", level: int | None = None, threads: int = 1,
                 compression: str = "bgzf", index_path: Any = None, min_shift: int = 14,
                 strict: bool = True):
        if index == "tbi":
            raise ValueError("TBI cannot index BCF (its bins and names are for text); "
                             "use index='csi', as bcftools does")
        if index not in (None, "csi"):
            raise ValueError(f"index must be None or 'csi', not {index!r}")
        if compression not in ("bgzf", "bgzf2"):
            raise ValueError(f"BCF compression must be 'bgzf' or 'bgzf2', not {compression!r}")
        if compression == "bgzf2" and index is not None and index_path is not None:
            raise ValueError("BGZF2 files carry their index inside; no index_path")
        self.header = header if isinstance(header, VcfHeader) else VcfHeader(header)
        self.encoder = BcfEncoder(self.header, strict=strict)
        self._batch = BatchEncoder(self.encoder)
        self.compression = compression
        self._files = AtomicFiles()
        self._buffer: list = []
        self._closed = False
        self.n_records = 0
        self._builder = None
        self.index_path: Any = None
        try:
            if isinstance(target, (str, os.PathLike)):
                self.path: str | None = os.fspath(target)
                handle: Any = self._files.open(self.path)
            else:
                self.path = None
                handle = target
            head = bcf_header_bytes(self.header)
            contigs = [(n or "", self.header.contigs.get(n or "") or 0)
                       for n in self.header.contig_names]
            if compression == "bgzf2":
                from ..bgzf2 import Bgzf2Writer

                kwargs: dict[str, Any] = {"threads": threads, "references": contigs,
                                          "content_head": head[:64]}
                if level is not None:
                    kwargs["level"] = level
                self.container: Any = Bgzf2Writer(handle, **kwargs)
                self.container.write(head)
                self.container.flush()
            else:
                from ..bgzf import BgzfWriter

                self.container = BgzfWriter(handle, level=6 if level is None else level,
                                            threads=threads)
                self.container.write(head)
                self.container.flush()
                if index == "csi":
                    from ..index import IndexBuilder

                    if index_path is None:
                        if self.path is None:
                            raise ValueError("index_path is needed when writing to a file object")
                        index_path = self.path + ".csi"
                    self.index_path = index_path
                    max_len = self.header.max_contig_length() or (1 << 31) - 1
                    self._builder = IndexBuilder.csi(min_shift=min_shift, max_ref_len=max_len,
                                                     offset0=self.container.tell_block(),
                                                     n_refs=len(self.header.contig_names))
        except BaseException:
            self._files.abort()
            raise

    # -- writing --------------------------------------------------------------------------------
    def write(self, record: Any) -> None:
        """Write one record (buffered; errors surface at the next flush or close)."""
        self._buffer.append(record_line(record))
        if len(self._buffer) >= self.batch_size:
            self._flush_buffer()

    def write_many(self, records: Iterable[Any]) -> int:
        """Write records (see :meth:`write`); a binary file object of VCF data lines is read in
        large chunks, never split into line objects (the fast path for VCF → BCF)."""
        self._flush_buffer()
        count = 0
        if hasattr(records, "read") and hasattr(records, "readline"):
            return self._write_text(records)
        it = iter(records)
        while True:
            batch = [r if r.__class__ is bytes else record_line(r)
                     for r in islice(it, self.batch_size)]
            if not batch:
                return count
            self._write_batch(batch)
            count += len(batch)

    def _write_text(self, stream: Any) -> int:
        count = 0
        rest = b""
        while True:
            chunk = stream.read(self.text_chunk)
            if isinstance(chunk, str):
                chunk = chunk.encode()
            if not chunk:
                if rest:
                    self._write_blob(rest + b"\n")
                    count += 1
                return count
            cut = chunk.rfind(b"\n") + 1
            if not cut:
                rest += chunk
                continue
            blob, rest = rest + chunk[:cut], chunk[cut:]
            count += self._write_blob(blob)

    def _write_blob(self, blob: bytes) -> int:
        """Write whole VCF lines (ending with newlines) from one chunk of text."""
        if b"\r" in blob:
            return self._write_batch(blob.split(b"\n")[:-1])
        return self._write_encoded(self._batch.encode_text, blob)

    def _flush_buffer(self) -> None:
        if self._buffer:
            batch, self._buffer = self._buffer, []
            self._write_batch(batch)

    def _write_batch(self, lines: list[bytes]) -> int:
        return self._write_encoded(self._batch.encode, lines)

    def _write_encoded(self, encode: Any, batch: Any) -> int:
        """Encode a batch (lines or text) and write it; any error aborts the whole output."""
        try:
            data, sizes, tid, beg, end = encode(batch, self.n_records + 1)
            self._emit_data(data, sizes, tid, beg, end)
            self.n_records += len(sizes)
        except BaseException:
            self.abort()
            raise
        return len(sizes)

    def write_encoded(self, records: list[bytes], tid, beg, end) -> None:
        """Write ready BCF records (e.g. copied from another BCF with the same header)."""
        try:
            self._flush_buffer()
            self._emit(records, np.asarray(tid, np.int64), np.asarray(beg, np.int64),
                       np.asarray(end, np.int64))
            self.n_records += len(records)
        except BaseException:
            self.abort()
            raise

    def _emit(self, recs: list[bytes], tid: np.ndarray, beg: np.ndarray, end: np.ndarray) -> None:
        if recs:
            self._emit_data(b"".join(recs), np.fromiter(map(len, recs), np.int64, len(recs)),
                            tid, beg, end)

    def _emit_data(self, data: bytes, sizes: np.ndarray, tid: np.ndarray, beg: np.ndarray,
                   end: np.ndarray) -> None:
        """Write a batch of records (``data``, their ``sizes``) and index them."""
        if not len(sizes):
            return
        container = self.container
        if self.compression == "bgzf2":
            view = memoryview(data)
            bounds = np.concatenate(([0], np.cumsum(sizes))).tolist()
            container.write_records([view[a:b] for a, b in zip(bounds, bounds[1:])],
                                    tid, beg, end)
            return
        if self._builder is not None:
            start = container.tell_block()
            stream = (start & 0xFFFF) + np.cumsum(sizes)
            offsets = (((start >> 16) + stream // _CAP) << 16) | (stream % _CAP)
            self._builder.push_many(tid, beg, end, offsets)  # validates order before writing
        container.write(data)

    # -- closing --------------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        try:
            self._flush_buffer()
            container = self.container
            if self.compression == "bgzf":
                container.flush()
                final = container.tell_block()
                container.close()
                if self._builder is not None:
                    self._builder.finish(final, block_addresses=container.block_addresses())
                    target = self.index_path
                    stream: Any = (self._files.open(target)
                                   if isinstance(target, (str, os.PathLike)) else target)
                    self._builder.write_csi(stream, n_refs=len(self.header.contig_names))
            else:
                container.close()
            self._files.commit()
        except BaseException:
            self.abort()
            raise
        self._closed = True

    def abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.container.abort()
        except Exception:
            pass
        self._files.abort()
