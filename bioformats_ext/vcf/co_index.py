"""Index what pysam (or htslib) wrote: ``co_index(variant_file, kind)`` → TBI/CSI like tabix/bcftools.

pysam's ``VariantFile(..., "wz"/"wb")`` can write but not index in one go from Python; this is
the hook that closes it and builds the index in one streaming pass over the compressed file
with the shared :class:`~bioformats_ext.index.IndexBuilder`: each record's end is mapped to the
virtual offset htslib's reader reports there (a record ending at a block's end is at the next
block's start), intervals come from :mod:`.end_rule` (tabix's rule for VCF.gz, ``pos + rlen``
for BCF), and the CSI depth from the ``##contig`` lengths as tabix / bcftools choose it.
"""

from __future__ import annotations

import os
import struct
from typing import Any

import numpy as np

from ..errors import FormatError
from ..io.atomic import atomic_open

__all__ = ["co_index", "build_index"]


def co_index(variant_file: Any, kind: str = "csi", out: str | None = None,
             min_shift: int = 14) -> str:
    """Close ``variant_file`` (a pysam ``VariantFile`` opened for writing, or a path) and write
    its index (``kind`` = ``"tbi"`` for VCF.gz, ``"csi"`` for either); returns the index path."""
    path = variant_file if isinstance(variant_file, (str, os.PathLike)) else None
    if path is None:
        name = getattr(variant_file, "filename", None)
        if name is None:
            raise ValueError("co_index needs a pysam VariantFile or a path")
        path = name.decode() if isinstance(name, bytes) else str(name)
        if getattr(variant_file, "is_open", True):
            variant_file.close()
    path = os.fspath(path)
    builder, names, n_refs = build_index(path, kind, min_shift)
    target = out or f"{path}.{kind}"
    with atomic_open(target) as fh:
        if kind == "tbi":
            builder.write_tbi(fh, names)
        elif names is not None:
            builder.write_csi(fh, names)
        else:
            builder.write_csi(fh, n_refs=n_refs)
    return target


def _blocks(path: str):
    """Yield ``(stream_start, next_address, data)`` per non-empty block, plus an end sentinel."""
    from ..bgzf import BgzfReader

    reader = BgzfReader(path)
    ustart = 0
    last_next = 0
    for address, next_address, data in reader.iter_block_spans():
        if data:  # the stream ends where the last non-empty block ends (at the EOF marker)
            last_next = next_address
            yield ustart, address, data
            ustart += len(data)
    yield ustart, last_next, b""


class _Stream:
    """Decompressed stream with voffset lookup for any stream position seen so far."""

    def __init__(self, path: str):
        self._it = _blocks(path)
        self.starts: list[int] = []
        self.addresses: list[int] = []
        self.buf = b""
        self.base = 0           # stream position of buf[0]
        self.done = False

    def more(self, want: int = 1 << 20) -> bool:
        """Append at least ``want`` bytes (or the rest) to ``buf``; False at end."""
        if self.done:
            return False
        parts = [self.buf]
        got = 0
        for start, address, data in self._it:
            self.starts.append(start)
            self.addresses.append(address)
            if not data:
                self.done = True
                break
            parts.append(data)
            got += len(data)
            if got >= want:
                break
        else:
            self.done = True
        self.buf = b"".join(parts)
        return got > 0 or not self.done

    def drop(self, upto: int) -> None:
        """Forget ``buf`` before stream position ``upto``."""
        self.buf = self.buf[upto - self.base:]
        self.base = upto

    def voffsets(self, positions: np.ndarray) -> np.ndarray:
        starts = np.asarray(self.starts, np.int64)
        k = np.searchsorted(starts, positions, side="right") - 1
        addr = np.asarray(self.addresses, np.int64)[k]
        return (addr << 16) | (positions - starts[k])


def build_index(path: str, kind: str, min_shift: int = 14):
    """``(finished IndexBuilder, names or None, n_refs)`` for a BGZF VCF or BCF file."""
    from ..index import IndexBuilder
    from ..io.source import open_source
    from ..sniff import sniff

    if kind not in ("tbi", "csi"):
        raise ValueError(f"kind must be 'tbi' or 'csi', not {kind!r}")
    src = open_source(path)
    try:
        found = sniff(src)
    finally:
        src.close()
    if found.container != "bgzf" or found.format not in ("vcf", "bcf"):
        raise FormatError(f"{path} is {found}, not a BGZF-compressed VCF or BCF")
    stream = _Stream(path)
    if found.format == "bcf":
        if kind == "tbi":
            raise ValueError("TBI cannot index BCF; use kind='csi' (as bcftools does)")
        return _index_bcf(path, stream, min_shift, IndexBuilder)
    return _index_vcf(path, stream, kind, min_shift, IndexBuilder)


def _index_bcf(path: str, stream: _Stream, min_shift: int, IndexBuilder):
    from .header import VcfHeader

    while len(stream.buf) < 9 and stream.more():
        pass
    if stream.buf[:5] not in (b"BCF\x02\x02", b"BCF\x02\x01"):
        raise FormatError(f"{path}: not BCF 2")
    (l_text,) = struct.unpack_from("<I", stream.buf, 5)
    while len(stream.buf) < 9 + l_text and stream.more():
        pass
    if len(stream.buf) < 9 + l_text:
        raise FormatError(f"{path}: file ends inside the BCF header")
    header = VcfHeader(stream.buf[9:9 + l_text].rstrip(b"\0").decode(errors="replace"))
    start = 9 + l_text
    while stream.base + len(stream.buf) <= start and stream.more():
        pass
    offset0 = int(stream.voffsets(np.array([start]))[0])
    max_len = header.max_contig_length() or (1 << 31) - 1
    builder = None
    pos = start
    number = 0
    unpack = struct.Struct("<IIiiI").unpack_from
    while True:
        ends, tids, begs, stops = [], [], [], []
        buf, base = stream.buf, stream.base
        off = pos - base
        while off + 24 <= len(buf):
            l_shared, l_indiv, tid, p, rlen = unpack(buf, off)
            size = 8 + l_shared + l_indiv
            if l_shared < 24 or size > 1 << 28:
                raise FormatError(f"{path}: record {number + 1}: impossible sizes")
            if off + size > len(buf) or (off + size == len(buf) and not stream.done):
                break  # a record ending where loaded data ends: its offset needs the next block
            off += size
            number += 1
            ends.append(base + off)
            tids.append(tid)
            begs.append(p)
            stops.append(p + rlen)
        if builder is None:
            builder = IndexBuilder.csi(min_shift=min_shift, max_ref_len=max_len, offset0=offset0,
                                       n_refs=len(header.contig_names))
        if ends:
            builder.push_many(tids, begs, stops, stream.voffsets(np.array(ends, np.int64)))
            pos = ends[-1]
        stream.drop(pos)
        if not stream.more():
            if stream.buf:
                raise FormatError(f"{path}: file ends inside record {number + 1}")
            break
    final = int(stream.voffsets(np.array([stream.base]))[0])
    builder.finish(final)
    return builder, None, len(header.contig_names)


def _index_vcf(path: str, stream: _Stream, kind: str, min_shift: int, IndexBuilder):
    from .end_rule import needs_rule, tabix_interval
    from .header import VcfHeader

    builder = None
    names: list[str] = []
    tids: dict[bytes, int] = {}
    header_lines: list[bytes] = []
    pos = 0
    lineno = 0
    while True:
        buf, base = stream.buf, stream.base
        nl = np.flatnonzero(np.frombuffer(buf, np.uint8) == 10)
        nl = nl[nl >= pos - base]
        ends, t, b, e = [], [], [], []
        prev = pos - base
        for cut in nl.tolist():
            if cut + 1 == len(buf) and not stream.done:
                break  # its end offset needs the next block
            line = buf[prev:cut]
            lineno += 1
            if line.startswith(b"#") or not line:
                if builder is None:
                    header_lines.append(line)
                prev = cut + 1
                continue
            if builder is None:
                offset0 = int(stream.voffsets(np.array([base + prev]))[0])
                contigs = VcfHeader(b"\n".join(header_lines + [b"#CHROM"]).decode(
                    errors="replace")).max_contig_length() if header_lines else 0
                if kind == "tbi":
                    builder = IndexBuilder.tbi("vcf", offset0=offset0)
                else:
                    builder = IndexBuilder.csi(min_shift=min_shift, max_ref_len=contigs or None,
                                               offset0=offset0, tabix="vcf")
            if needs_rule(line):
                name_s, bg, en = tabix_interval(line, lineno)
                name = name_s.encode()
            else:
                fields = line.split(b"\t", 4)
                if len(fields) < 4 or not fields[1].isdigit():
                    name_s, bg, en = tabix_interval(line, lineno)
                    name = name_s.encode()
                else:
                    name = fields[0]
                    bg = max(int(fields[1]) - 1, 0)
                    en = bg + len(fields[3]) if fields[3] else max(int(fields[1]), 1)
            tid = tids.get(name)
            if tid is None:
                tid = tids[name] = len(names)
                names.append(name.decode(errors="replace"))
            ends.append(base + cut + 1)
            t.append(tid)
            b.append(bg)
            e.append(en)
            prev = cut + 1
        if ends:
            assert builder is not None
            builder.push_many(t, b, e, stream.voffsets(np.array(ends, np.int64)))
        pos = base + prev
        stream.drop(pos)
        if not stream.more():
            break
    if builder is None:
        final = int(stream.voffsets(np.array([stream.base]))[0])
        builder = IndexBuilder.tbi("vcf", offset0=final) if kind == "tbi" else \
            IndexBuilder.csi(min_shift=min_shift, offset0=final, tabix="vcf")
    final = int(stream.voffsets(np.array([stream.base]))[0])
    builder.finish(final)
    return builder, names, None
