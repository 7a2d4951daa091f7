"""``TabixReader``: bgzipped (or BGZF2, or plain) tab-separated text, fetched through TBI/CSI."""

from __future__ import annotations

import os
from typing import Any, Iterator

import numpy as np

from ..bgzf import BgzfReader
from ..bgzf2 import Bgzf2Reader
from ..coindex import load_index, region_blobs
from ..coindex.discovery import INDEX_KINDS
from ..errors import FormatError, MissingIndexError
from ..index.tabix_conf import TBX_VCF, TabixConfig, get_config, parse_lines
from ..index.vcf_batch import VcfScan, scan_intervals
from ..io.source import ByteSource, iter_chunks, open_source
from ..reader_base import RegionReader
from ..sniff import expect, sniff_container
from .metadata import METADATA_KEY, config_from_text

TEXT_FORMATS = ("vcf", "sam", "text", "empty")


def _detect(source: ByteSource) -> str:
    """``bgzf``, ``bgzf2`` or ``text``; plain gzip is refused (it cannot be indexed)."""
    container = sniff_container(source.read_upto(0, 18))
    if container in ("bgzf", "bgzf2"):
        return container
    if container == "gzip":
        raise FormatError(f"{source.name}: plain gzip, not BGZF (recompress with bgzip)", 0)
    return "text"


class TabixReader(RegionReader):
    """Read bgzipped (or BGZF2, or plain) tab-separated text; fetch regions through its index.

    ``index``: a TBI/CSI path or source; by default ``x.gz.tbi`` / ``x.gz.csi`` next to the file
    is used when a region is first fetched (BGZF2 files need none). ``preset`` gives the column
    rules when there is no index to take them from.
    """

    def __init__(self, source: Any, index: Any = None, preset: Any = None):
        self._path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
        self.source = open_source(source)
        vcf = preset == "vcf"  # a BAM/BCF/CRAM/bigBed here is named, not read as "lines"
        expect(self.source, TEXT_FORMATS if not vcf else ("vcf", "text", "empty"),
               "VCF text" if vcf else "tab-delimited text")
        self.container = _detect(self.source)
        self._index_source = index
        self._index = None
        self.config = get_config(preset) if preset is not None else None
        if self.container == "bgzf":
            self._bgzf = BgzfReader(self.source)
        elif self.container == "bgzf2":
            self._bgzf2 = Bgzf2Reader(self.source)
            stored = (self._bgzf2.metadata or {}).get(METADATA_KEY)
            if self.config is None and stored:
                try:
                    self.config = config_from_text(stored)
                except ValueError:
                    raise FormatError(f"{self.source.name}: bad tabix metadata {stored!r}") from None
        self._header: str | None = None

    @property
    def meta(self) -> bytes:
        """The meta (header / comment) character: from ``preset``, else the index, else '#'."""
        if self.config is None and self.container == "bgzf":
            try:
                self._load_index()
            except MissingIndexError:
                pass
        return (self.config.meta if self.config is not None else "#").encode()

    def _chunks(self) -> Iterator[bytes]:
        if self.container == "bgzf":
            for _address, data in self._bgzf.iter_blocks():
                yield data
        elif self.container == "bgzf2":
            yield from self._bgzf2.iter_frames()
        else:
            yield from iter_chunks(self.source)

    def _lines(self) -> Iterator[bytes]:
        pending = b""
        for chunk in self._chunks():
            data = pending + chunk if pending else chunk
            lines = data.split(b"\n")
            pending = lines.pop()
            yield from lines
        if pending:
            yield pending

    @property
    def header(self) -> str:
        """The leading meta lines (with newlines)."""
        if self._header is None:
            meta = self.meta
            out = []
            for line in self._lines():
                if not line.startswith(meta):
                    break
                out.append(line.decode(errors="replace") + "\n")
            self._header = "".join(out)
        return self._header

    def __iter__(self) -> Iterator[str]:
        """Data lines (meta lines skipped), without newlines."""
        meta = self.meta
        for line in self._lines():
            if line and not line.startswith(meta):
                yield line.rstrip(b"\r").decode(errors="replace")

    def _load_index(self):
        if self._index is not None:
            return self._index
        self._index = load_index(self._path, self._index_source, INDEX_KINDS["tabix"], "file")
        if self.config is None:
            conf = getattr(self._index, "tabix", None) or getattr(self._index, "config", None)
            if conf is not None:
                self.config = conf
        return self._index

    def reference_lengths(self) -> dict[str, int | None] | None:  # type: ignore[override]
        """Names the index knows (lengths when BGZF2 stored them); ``None`` for plain text."""
        if self.container == "bgzf2":
            return {ref.name: (ref.length or None) for ref in self._bgzf2.references}
        if self.container == "bgzf":
            names = list(getattr(self._load_index(), "names", None) or [])
            return dict.fromkeys(names) if names else None
        return None

    def fetch(self, contig: str | None = None, start: int | None = None,
              stop: int | None = None, region: str | None = None, *,
              reference: str | None = None, end: int | None = None) -> Iterator[str]:
        """Data lines overlapping ``contig:[start, stop)`` (0-based, half-open) or ``region``
        (``"chr1:1,000-2,000"``, 1-based inclusive); see :mod:`bioformats_ext.reader_base`."""
        span = self._span(contig, start, stop, region, reference=reference, end=end)
        return iter(()) if span is None else self._lines_in(*span)

    def _span(self, contig: str | None = None, start: int | None = None,
              stop: int | None = None, region: str | None = None, *,
              reference: str | None = None, end: int | None = None
              ) -> "tuple[str, int, int] | None":
        """``fetch``'s checks: ``(contig, start, stop)`` to read, or None when empty."""
        if self.container == "text":
            raise MissingIndexError("plain text files cannot be fetched by region")
        if self.container == "bgzf2" and self.config is None:
            raise MissingIndexError("this BGZF2 file does not say which columns hold "
                                    "positions; pass preset=")
        r = self.region(contig, start, stop, region, reference=reference, end=end)
        stop_ = (1 << 62) if r.stop is None else r.stop
        return None if stop_ <= r.start else (r.contig, r.start, stop_)

    def _lines_in(self, chrom: str, beg: int, stop: int) -> Iterator[str]:
        for text in self._text_many([(chrom, beg, stop)]):
            for line in text.split(b"\n")[:-1]:
                yield line.rstrip(b"\r").decode(errors="replace")

    def _text_many(self, spans: "list[tuple[str, int, int]]",
                   group_bytes: int = 4 << 20) -> Iterator[bytes]:
        """The lines overlapping many ``(chrom, beg, stop)`` spans, in order, as stored (each
        ending with a newline), one ``bytes`` per region blob; the blobs of consecutive spans
        are filtered together (up to ``group_bytes``), so many small queries share one numpy
        pass."""
        conf = self.config
        group: list[bytes] = []
        queries: list[tuple[str, int, int]] = []
        size = 0
        for chrom, beg, stop in spans:
            if self.container == "bgzf2":
                blobs = region_blobs(self._bgzf2, chrom, beg, stop)
            else:
                index = self._load_index()
                if chrom not in (getattr(index, "names", None) or [chrom]):
                    continue  # a contig only the header declares: nothing indexed
                blobs = region_blobs(self._bgzf, chrom, beg, stop, index)
            conf = self.config
            if conf is None:
                raise MissingIndexError("no column rules: pass preset=")
            group += blobs
            queries += [(chrom, beg, stop)] * len(blobs)
            size += sum(map(len, blobs))
            if size >= group_bytes:
                yield from filter(None, overlapping_text(conf, group, self.meta, queries))
                group, queries, size = [], [], 0
        if group and conf is not None:
            yield from filter(None, overlapping_text(conf, group, self.meta, queries))


def overlapping_text(conf: TabixConfig, blobs: list[bytes], meta: bytes,
                     queries: "list[tuple[str, int, int]]") -> list[bytes]:
    """For each blob (text cut at line ends) its lines on ``chrom`` overlapping
    ``[beg, stop)`` (``queries[i]`` for ``blobs[i]``) by the preset's interval rule (VCF:
    htslib 1.24's end rule, :mod:`..index.vcf_end`), as stored, each ending with a newline;
    meta and empty lines skipped. Vectorised over all blobs at once (one scan of their
    joined bytes); per line only for rare VCF lines; kept lines leave as runs of bytes."""
    blobs = [b if b.endswith(b"\n") or not b else b + b"\n" for b in blobs]
    data = b"".join(blobs)
    buf = np.frombuffer(data, np.uint8)
    stops = np.flatnonzero(buf == 10) + 1
    sizes = np.diff(stops, prepend=0)
    starts = stops - sizes
    n = len(stops)
    if not n:
        return [b""] * len(blobs)
    per_blob = np.diff(np.searchsorted(stops, np.cumsum([len(b) for b in blobs]),
                                       side="right"), prepend=0)
    if bool(((sizes == 1) | (buf[starts] == meta[0] if len(meta) == 1 else True)).any()):
        return _overlapping_slow(conf, blobs, meta, queries)
    codes = {chrom: k for k, chrom in enumerate(dict.fromkeys(q[0] for q in queries))}
    want = np.repeat(np.array([codes[q[0]] for q in queries], np.int64), per_blob)
    q_beg = np.repeat(np.array([q[1] for q in queries], np.int64), per_blob)
    q_stop = np.repeat(np.array([q[2] for q in queries], np.int64), per_blob)
    if conf.preset == TBX_VCF and (conf.col_seq, conf.col_beg) == (1, 2):
        (names, runs), begs, ends = scan_intervals(VcfScan(data, sizes), 1)
        code = np.repeat(np.array([codes.get(n.decode(errors="replace"), -1) for n in names],
                                  np.int64), runs)
    else:
        lines = [data[a:b].rstrip(b"\r\n") for a, b in zip(starts.tolist(), stops.tolist())]
        str_names, begs_l, ends_l = parse_lines(conf, lines)
        code = np.fromiter((codes.get(n, -1) for n in str_names), np.int64, len(str_names))
        begs, ends = np.asarray(begs_l, np.int64), np.asarray(ends_l, np.int64)
    rows = np.flatnonzero((code == want) & (begs < q_stop) & (ends > q_beg))
    out = [b""] * len(blobs)
    if not len(rows):
        return out
    blob_of = np.repeat(np.arange(len(blobs)), per_blob)[rows]
    cut = np.flatnonzero((np.diff(rows) != 1) | (np.diff(blob_of) != 0)) + 1
    heads = np.concatenate(([0], cut))
    tails = np.concatenate((cut - 1, [len(rows) - 1]))
    for j, a, b in zip(blob_of[heads].tolist(), starts[rows[heads]].tolist(),
                       stops[rows[tails]].tolist()):
        out[j] += data[a:b]
    return out


def _overlapping_slow(conf: TabixConfig, blobs: list[bytes], meta: bytes,
                      queries: "list[tuple[str, int, int]]") -> list[bytes]:
    """:func:`overlapping_text` for blobs holding meta or empty lines: those dropped first."""
    kept = [b"".join(ln + b"\n" for ln in blob.split(b"\n")[:-1]
                     if ln and not ln.startswith(meta)) for blob in blobs]
    if not any(kept):
        return kept
    return overlapping_text(conf, kept, meta, queries)
