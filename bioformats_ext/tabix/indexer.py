"""``index_tabix``: index an existing bgzipped, sorted text file like ``tabix -p PRESET``.

Streams the BGZF file in large batches (:mod:`bioformats_ext.bgzf.stream`), finds lines with
numpy, parses their columns by the preset (:func:`~bioformats_ext.index.tabix_conf.parse_lines`)
and feeds :meth:`IndexBuilder.push_many` with the virtual offset where each line ends.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Iterator

import numpy as np

from ..bgzf.stream import BlockStream, open_stream
from ..coindex.discovery import default_index_path
from ..index import IndexBuilder
from ..index.sortorder import RecordNumbers
from ..index.tabix_conf import TBX_SAM, TBX_VCF, TabixConfig, get_config, parse_lines
from ..index.vcf_batch import vcf_intervals
from ..sniff import expect


_CONTIG_LEN = re.compile(rb"length[ =]*(\d+)")
_SQ_LEN = re.compile(rb"\tLN:(\d+)")


def _iter_lines(stream: BlockStream
                ) -> Iterator[tuple[list[bytes], np.ndarray, np.ndarray, bytes, np.ndarray]]:
    """Batches of complete lines (without newline) with the virtual offset where each ends,
    each line's first byte (newline for an empty line), the batch's bytes and where each line
    ends in them (after its newline)."""
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
            data = bytes(u8[local:int(ends[-1])])
            lines = data.split(b"\n")
            if data.endswith(b"\n"):
                lines.pop()
            yield lines, stream.voffsets(ends + stream.base), first, data, ends - local
            pos = int(ends[-1]) + stream.base
            stream.consume(pos)
        if stream.eof:
            return


def _vcf_batch(conf: TabixConfig, lines: list[bytes], first_lineno: int, data: bytes,
               sizes: np.ndarray) -> "tuple[list[bytes], np.ndarray, np.ndarray]":
    """Names and tabix intervals of consecutive VCF data lines (``data`` = their bytes, line
    ``i`` taking ``sizes[i]`` of them), vectorised over the batch."""
    return vcf_intervals(conf, data, sizes, lines, first_lineno)


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
        for lines, voffs, first, data, line_ends in _iter_lines(stream):
            n = len(lines)
            if len(meta) == 1 and meta != b"\n":
                is_meta = first == meta[0]
            else:
                is_meta = np.fromiter((ln[:1] == meta for ln in lines), dtype=bool, count=n)
            linenos = np.arange(lineno + 1, lineno + n + 1)
            skip = is_meta | (linenos <= conf.skip)
            lineno += n
            if builder is None:
                data_idx = np.flatnonzero(~skip)
                head = n if not len(data_idx) else int(data_idx[0])
                if csi and conf.preset in (TBX_VCF, TBX_SAM):
                    for ln in lines[:head]:
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
            names: list[Any]  # str from parse_lines, bytes from the batch rule
            begs: Any
            ends: Any
            if conf.preset == TBX_VCF and b - a == len(keep):
                # consecutive data lines: the writer's vectorised rule over the batch's bytes
                # (the exact per-line rule only for END / SVLEN / gVCF lines and odd ones)
                lo = int(line_ends[a - 1]) if a else 0
                sizes = np.diff(line_ends[a:b], prepend=lo)
                names, begs, ends = _vcf_batch(conf, lines[a:b], first_no + a,
                                               data[lo:int(line_ends[b - 1])], sizes)
            else:
                data_lines = [lines[i] for i in keep.tolist()]
                names, begs, ends = parse_lines(conf, data_lines, first_no)  # full VCF end rule
            builder.push_many(builder.tids_for(names), begs, ends, voffs[keep],
                              numbers=RecordNumbers(linenos[keep].tolist(), "line"))
        if builder is None:  # no data lines
            builder = (IndexBuilder.csi(min_shift, max_ref_len=max_ref_len or None, offset0=last_off, tabix=conf)
                       if csi else IndexBuilder.tbi(conf, offset0=last_off))
        builder.finish(stream.final_voffset())
        return builder.save(default_index_path(path, "csi" if csi else "tbi", out))
    finally:
        stream.close()
        reader.close()
