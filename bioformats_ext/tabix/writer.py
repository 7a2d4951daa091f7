"""``TabixWriter``: bgzipped (or BGZF2, or plain) tab-separated text and its TBI/CSI in one pass."""

from __future__ import annotations

from itertools import repeat
from typing import Any, Sequence

import numpy as np

from ..bam.header import sq_lengths
from ..coindex import BatchedRecordWriter, IndexedOutput
from ..errors import FormatError
from ..index import IndexBuilder
from ..index.tabix_conf import get_config, parse_lines
from ..index.vcf_batch import NameRuns
from .metadata import METADATA_KEY, config_to_text


def _as_line(record: Any) -> bytes:
    if isinstance(record, bytes):
        line = record
    elif isinstance(record, str):
        line = record.encode()
    elif isinstance(record, (bytearray, memoryview)):
        line = bytes(record)
    else:
        line = str(record).encode()
    return line if line.endswith(b"\n") else line + b"\n"



class TabixWriter(BatchedRecordWriter):
    """Write bgzipped tab-separated text (BED, GFF, SAM, VCF, ...) and its TBI/CSI in one pass.

    ``preset`` is a tabix preset name (``"bed"``, ``"gff"``, ``"sam"``, ``"vcf"``) or a
    :class:`~bioformats_ext.index.tabix_conf.TabixConfig`. ``header``: text written first
    (lines starting with the preset's meta character). ``references``: optional
    ``(name, length)`` list, used for the CSI depth and BGZF2's reference table.
    Reference ids follow first appearance, as tabix assigns them, so a chromosome that comes
    back after another one is a :class:`~bioformats_ext.errors.SortOrderError` when indexing.
    """

    def __init__(self, target: Any, header: "str | bytes | None" = None, preset: Any = "bed",
                 index: str | None = None, level: int | None = None, threads: int = 1,
                 compression: str | None = "bgzf", index_path: Any = None, min_shift: int = 14,
                 references: Sequence[tuple[str, int]] | None = None):
        if index not in (None, "tbi", "csi"):
            raise ValueError(f"index must be None, 'tbi' or 'csi', not {index!r}")
        self.config = get_config(preset)
        if isinstance(header, str):
            header = header.encode()
        header = bytes(header or b"")
        if header and not header.endswith(b"\n"):
            header += b"\n"
        if references is None and self.config.preset == 1:  # SAM text: lengths from @SQ
            references = sq_lengths(header)
        self.references = [(str(n), int(l)) for n, l in (references or [])]
        self._lengths = dict(self.references)
        self._buffer: list[bytes] = []
        config = self.config
        # like tabix / bcftools, only VCF (##contig) and SAM (@SQ) lengths choose the CSI depth
        max_len = (max(self._lengths.values(), default=0) or None) if config.preset in (1, 2) else None

        def make_builder(kind: str, offset0: int):
            if kind == "tbi":
                return IndexBuilder.tbi(config, offset0=offset0)
            return IndexBuilder.csi(min_shift=min_shift, max_ref_len=max_len, offset0=offset0,
                                    tabix=config)

        def save_index(builder, stream) -> None:
            if index == "tbi":
                builder.write_tbi(stream, builder.names)
            else:
                builder.write_csi(stream, builder.names)

        self._check_header(header)
        self.header = header.decode()
        self._out = IndexedOutput(target, compression=compression, level=level, threads=threads,
                                  index=index, index_path=index_path, make_builder=make_builder,
                                  save_index=save_index, references=self.references,
                                  content_head=header[:64] or None,
                                  metadata={METADATA_KEY: config_to_text(config)})
        self._out.late_references = lambda: [(n, self._lengths.get(n, 0))
                                             for n in self._out.reference_names]
        try:
            self._out.write_header(header)
        except BaseException:
            self._out.abort()
            raise

    def _check_header(self, header: bytes) -> None:
        meta = self.config.meta.encode()
        for number, line in enumerate(header.splitlines(), 1):
            if line and not line.startswith(meta):
                raise FormatError(f"header line {number} does not start with "
                                  f"{meta.decode()!r}")

    def _to_line(self, record: Any) -> bytes:
        return _as_line(record)

    def _intervals(self, data: bytes, sizes: np.ndarray, lines: list[bytes],
                   first_lineno: int) -> tuple[Sequence[Any], Any, Any]:
        """``(names, begs, ends)`` of a batch of data lines by the preset's column rules
        (VcfWriter overrides this with its numpy fast path, whose names may come as
        :class:`~bioformats_ext.index.vcf_batch.NameRuns`)."""
        return parse_lines(self.config, [ln.rstrip(b"\r\n") for ln in lines], first_lineno)

    def _fast_batch(self, batch: list) -> "list[bytes] | None":
        kinds = set(map(type, batch))
        # map over the unbound method: the per-line test runs in C, no Python frame per line
        if kinds == {bytes} and all(map(bytes.endswith, batch, repeat(b"\n"))):
            return batch
        if kinds == {str} and all(map(str.endswith, batch, repeat("\n"))):
            return [line.encode() for line in batch]
        return None

    def _join(self, lines: list[bytes]) -> tuple[bytes, np.ndarray]:
        """A batch's bytes and each line's length (VcfWriter reuses its validation scan's)."""
        return b"".join(lines), np.fromiter(map(len, lines), np.int64, len(lines))

    def _write_lines(self, lines: list[bytes]) -> None:
        out = self._out
        try:
            if out.compression is None:
                out.write_batch(*self._join(lines), None, None, None, None, None)
                return
            first = out.n_records
            meta = self.config.meta.encode()
            data, sizes = self._join(lines)
            buf = np.frombuffer(data, np.uint8)
            if (bool((buf[np.cumsum(sizes) - sizes] == meta[0]).any()) if len(meta) == 1 and
                    len(buf) and sizes.all() else any(map(bytes.startswith, lines, repeat(meta)))):
                # meta lines mid-file: written, never indexed
                run: list[bytes] = []
                for ln in lines:
                    if ln.startswith(meta):
                        if run:
                            self._write_lines(run)
                            run = []
                        out.write_unindexed(ln)
                    else:
                        run.append(ln)
                if run:
                    self._write_lines(run)
                return
            if out.compression == "bgzf" and out.index_kind is None:  # nothing to index
                out.write_batch(data, sizes, None, None, None, None, None)
                return
            names, begs, ends = self._intervals(data, sizes, lines, first + 1)
            if isinstance(names, NameRuns):  # one name per run of equal names
                tids = np.repeat(out.tids_for(names[0]), names[1])
            else:
                tids = out.tids_for(names)
            out.write_batch(data, sizes, tids, np.asarray(begs, np.int64),
                            np.asarray(ends, np.int64), None,
                            lambda i: lines[i][:120].decode(errors="replace").rstrip())
        except BaseException:
            self.abort()
            raise
