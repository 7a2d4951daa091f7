"""``index_bam``: index an existing coordinate-sorted BAM like ``samtools index``.

Streams the BGZF file in large batches (:mod:`bioformats_ext.bgzf.stream`), finds records with
the ``block_size`` chain walked in numpy lockstep from every block start (:mod:`.scan`), turns
record ends into virtual offsets with one ``searchsorted`` per batch and feeds
:meth:`IndexBuilder.push_many`, so the index equals what samtools writes for the same file.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

from ..bgzf.stream import BAM_BATCH, open_stream
from ..coindex.discovery import default_index_path
from ..errors import TruncatedFileError
from ..index import IndexBuilder
from ..sniff import expect
from .scan import parse_header, scan_fields, walk_records


def index_bam(path: "str | os.PathLike[str]", csi: bool = False, min_shift: int = 14, out: str | None = None,
              threads: int = 2, progress: "Callable[[int], None] | None" = None) -> str:
    """Index a coordinate-sorted BAM like ``samtools index`` (``-c`` for CSI); returns the index path.

    ``threads`` inflate blocks while the calling thread walks records (1: one helper thread).
    ``progress``, if given, is called with the compressed byte offset reached (for a progress bar).
    """
    reader, stream = open_stream(path, threads, progress)
    try:
        expect(reader.source, ("bam",), "a BAM file", containers=("bgzf",))
        while True:
            try:
                header = parse_header(stream.buf)
                break
            except TruncatedFileError:
                if not stream.fill(1 << 20):  # a small first batch: start walking early
                    raise
        offset0 = int(stream.voffsets(np.array([header.end]))[0])
        n_refs = len(header.names)
        if csi:
            builder = IndexBuilder.csi(min_shift, max_ref_len=max(header.lengths, default=0),
                                       offset0=offset0, n_refs=n_refs)
        else:
            builder = IndexBuilder.bai(n_refs, offset0=offset0)
        pos = header.end  # stream offset
        n_done = 0
        speculate = True  # do records start blocks (htslib)? re-checked on every batch
        while True:
            local = pos - stream.base
            hints = stream.hints()
            starts, nxt = walk_records(stream.buf, local, hints if speculate else ())
            speculate = _mostly_starts(hints[(hints > local) & (hints < nxt)], starts)
            if len(starts):
                f = scan_fields(stream.buf, starts, n_refs, n_done)
                voffs = stream.voffsets(f.stop + stream.base)
                builder.push_many(f.ref_id, f.pos, f.end, voffs, (f.flag & 4) == 0)
                n_done += len(starts)
            pos = nxt + stream.base
            stream.consume(pos)
            if stream.eof:
                if pos != stream.base + len(stream.buf):
                    raise TruncatedFileError(f"BAM ends inside record {n_done}", pos)
                break
            stream.fill(BAM_BATCH)
        builder.finish(stream.final_voffset())
        return builder.save(default_index_path(path, "csi" if csi else "bai", out), n_refs=n_refs)
    finally:
        stream.close()
        reader.close()


def _mostly_starts(hints: np.ndarray, starts: np.ndarray) -> bool:
    """True when at least half of ``hints`` are record starts (else speculation does not pay)."""
    if not len(hints) or not len(starts):
        return True
    i = np.minimum(np.searchsorted(starts, hints), len(starts) - 1)
    return bool(np.count_nonzero(starts[i] == hints) * 2 >= len(hints))
