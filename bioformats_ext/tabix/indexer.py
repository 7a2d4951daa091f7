"""``index_tabix``: index an existing bgzipped, sorted text file like ``tabix -p PRESET``.

Streams the BGZF file in large batches (:mod:`bioformats_ext.bgzf.stream`), finds lines with
numpy, parses their columns by the preset (:func:`~bioformats_ext.index.tabix_conf.parse_lines`)
and feeds :meth:`IndexBuilder.push_many` with the virtual offset where each line ends.
"""

from __future__ import annotations

import os
import re
from typing import Callable, Iterator

import numpy as np

from ..bgzf.stream import BlockStream, open_stream
from ..coindex.discovery import default_index_path
from ..index import IndexBuilder
from ..index.sortorder import RecordNumbers
from ..index.tabix_conf import TBX_SAM, TBX_VCF, TabixConfig, get_config, parse_lines
from ..index.vcf_batch import NameRuns, VcfScan, scan_intervals
from ..sniff import expect


_CONTIG_LEN = re.compile(rb"length[ =]*(\d+)")
_SQ_LEN = re.compile(rb"\tLN:(\d+)")


class _Batch:
    """Complete lines of one stream batch: their bytes, where each ends in them (after its
    newline), the virtual offset where each ends, and each line's first byte (newline for an
    empty line). The ``lines`` list is cut only when a batch needs per-line work."""

    def __init__(self, data: bytes, ends: np.ndarray, voffs: np.ndarray, first: np.ndarray):
        self.data, self.ends, self.voffs, self.first = data, ends, voffs, first
        self._lines: list[bytes] | None = None

    @property
    def lines(self) -> list[bytes]:
        """Every line without its newline."""
        if self._lines is None:
            lines = self.data.split(b"\n")
            if self.data.endswith(b"\n"):
                lines.pop()
            self._lines = lines
        return self._lines


def _iter_batches(stream: BlockStream) -> Iterator[_Batch]:
    """Batches of complete lines as the stream inflates them."""
    pos = 0  # stream offset where the next line starts
    while True:
        stream.fill()
        local = pos - stream.base
        u8 = stream.buf
        ends = np.flatnonzero(u8[local:] == 10) + (local + 1)
        if stream.eof and (not len(ends) or ends[-1] < len(u8)) and local < len(u8):
            ends = np.append(ends, len(u8))  # last line without a newline
        if len(ends):
            first = u8[np.concatenate(([local], ends[:-1]))]
            yield _Batch(bytes(u8[local:int(ends[-1])]), ends - local,
                         stream.voffsets(ends + stream.base), first)
            pos = int(ends[-1]) + stream.base
            stream.consume(pos)
        if stream.eof:
            return


def _vcf_batch(conf: TabixConfig, batch: _Batch, a: int, b: int, first_lineno: int
               ) -> "tuple[NameRuns | list[str], np.ndarray, np.ndarray]":
    """CHROM runs and tabix intervals of the consecutive VCF data lines ``a:b`` of a batch,
    vectorised over their bytes (the writer's scan, :mod:`bioformats_ext.index.vcf_batch`)."""
    lo = int(batch.ends[a - 1]) if a else 0
    sizes = np.diff(batch.ends[a:b], prepend=lo)
    scan = VcfScan(batch.data[lo:int(batch.ends[b - 1])] if (a, b) != (0, len(batch.ends))
                   else batch.data, sizes)
    return scan_intervals(scan, first_lineno)


def index_tabix(path: "str | os.PathLike[str]", preset: "str | TabixConfig" = "vcf", csi: bool = False, min_shift: int = 14,
                out: str | None = None,
                progress: "Callable[[int], None] | None" = None) -> str:
    """Index a bgzipped, sorted text file like ``tabix -p PRESET`` (``-C`` for CSI).

    ``progress``, if given, is called with the compressed byte offset reached (for a progress bar).
    """
    conf = get_config(preset)
    reader, stream = open_stream(path, progress=progress)
    expect(reader.source, ("vcf", "sam", "text", "empty"),
           "VCF text" if conf.format & 0xFFFF == TBX_VCF else "tab-delimited text", containers=("bgzf",))
    builder: IndexBuilder | None = None
    last_off = 0
    lineno = 0
    max_ref_len = 0
    try:
        meta = conf.meta.encode()
        for batch in _iter_batches(stream):
            voffs, first = batch.voffs, batch.first
            n = len(voffs)
            if len(meta) == 1 and meta != b"\n":
                is_meta = first == meta[0]
            else:
                is_meta = np.fromiter((ln[:1] == meta for ln in batch.lines), dtype=bool, count=n)
            linenos = np.arange(lineno + 1, lineno + n + 1)
            skip = is_meta | (linenos <= conf.skip)
            lineno += n
            if builder is None:
                data_idx = np.flatnonzero(~skip)
                head = n if not len(data_idx) else int(data_idx[0])
                if csi and conf.preset in (TBX_VCF, TBX_SAM):
                    for ln in batch.lines[:head]:
                        if ln[:1] != conf.meta.encode():
                            continue
                        if conf.preset == TBX_VCF and ln.startswith(b"##contig"):
                            m = _CONTIG_LEN.search(ln, 8)
                        elif conf.preset == TBX_SAM and ln.startswith(b"@SQ"):
                            m = _SQ_LEN.search(ln, 3)
                        else:
                            m = None
                        if m:
                            max_ref_len = max(max_ref_len, int(m.group(1)))
                if head:
                    last_off = int(voffs[head - 1])
                if head == n:
                    continue
                if csi:
                    builder = IndexBuilder.csi(min_shift, max_ref_len=max_ref_len or None,
                                               offset0=last_off, tabix=conf)
                else:
                    builder = IndexBuilder.tbi(conf, offset0=last_off)
            keep = np.flatnonzero(~skip)
            if not len(keep):
                continue
            first_no = lineno - n + 1
            a, b = int(keep[0]), int(keep[-1]) + 1
            names: "NameRuns | list[str]"
            begs: "np.ndarray | list[int]"
            ends: "np.ndarray | list[int]"
            if conf.preset == TBX_VCF and b - a == len(keep):
                # consecutive data lines: the writer's vectorised rule over the batch's bytes
                # (the exact per-line rule only for END / SVLEN / gVCF lines and odd ones)
                names, begs, ends = _vcf_batch(conf, batch, a, b, first_no + a)
                tids = (np.repeat(builder.tids_for(names[0]), names[1])
                        if isinstance(names, NameRuns) else builder.tids_for(names))
            else:
                lines = batch.lines
                names, begs, ends = parse_lines(conf, [lines[i] for i in keep.tolist()],
                                                first_no)  # full VCF end rule
                tids = builder.tids_for(names)
            builder.push_many(tids, begs, ends, voffs[keep],
                              numbers=RecordNumbers(linenos[keep].tolist(), "line"))
        if builder is None:  # no data lines
            builder = (IndexBuilder.csi(min_shift, max_ref_len=max_ref_len or None, offset0=last_off, tabix=conf)
                       if csi else IndexBuilder.tbi(conf, offset0=last_off))
        builder.finish(stream.final_voffset())
        return builder.save(default_index_path(path, "csi" if csi else "tbi", out))
    finally:
        stream.close()
        reader.close()
