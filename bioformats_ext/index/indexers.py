"""Second-pass indexers for existing files: ``samtools index`` and ``tabix`` equivalents.

Both stream the BGZF file in large batches of blocks (inflated on a thread pool while this
thread works), find records with bulk operations (the BAM ``block_size`` chain, walked in numpy
lockstep from every block start; ``\\n`` positions with numpy for text), turn record ends into
virtual offsets with one ``searchsorted`` per batch, and feed :meth:`IndexBuilder.push_many`.
The offsets follow htslib's ``bgzf_tell`` (an end of block is the next block's start), so the index
equals what samtools/tabix write for the same file.
"""

from __future__ import annotations

import os
import queue
import re
import threading
from functools import partial
from typing import Callable, Iterator

import numpy as np

from ..bam.scan import parse_header, scan_fields, walk_records
from ..bgzf.blocks import block_spans, unpack_block
from ..bgzf.reader import BgzfReader, missing_eof
from ..compression import ordered_map
from ..errors import TruncatedFileError
from .builder import IndexBuilder
from .tabix_conf import TBX_SAM, TBX_VCF, get_config, parse_lines

_BATCH = 8 << 20  # uncompressed bytes per batch
_BAM_BATCH = 16 << 20  # BAM: the lockstep walk costs per record *per block*, so bigger is cheaper
_CHUNK = 4 << 20  # compressed bytes per read
_GROUP = 16       # blocks inflated per thread task


class _Stream:
    """Uncompressed bytes of consecutive blocks plus the map back to virtual offsets."""

    def __init__(self, reader: BgzfReader, threads: int = 2,
                 progress: "Callable[[int], None] | None" = None):
        self._groups = _prefetch(ordered_map(partial(_inflate_group, reader.codec),
                                             _raw_groups(reader.source), threads), batch=1, depth=16)
        # one reused buffer (no fresh pages, no reallocation per batch); ``buf`` views its data
        self._arr = np.empty(_BAM_BATCH + (2 << 20), dtype=np.uint8)
        self._mv = memoryview(self._arr)
        self._n = 0
        self.base = 0                 # stream offset of buf[0]
        self.starts: list[int] = []   # stream offset of each non-empty block in buf
        self.addrs: list[int] = []
        self.nexts: list[int] = []    # address of the block that follows
        self.eof = False
        self.final_address: int | None = None  # first empty block after data, or file end
        self._size = reader.source.size
        self._source = reader.source
        self._progress = progress     # called with the compressed offset reached

    def fill(self, want: int = _BATCH) -> bool:
        """Append blocks until ``want`` new bytes are buffered or the file ends; False at EOF."""
        got = 0
        while got < want:
            try:
                addrs, nexts, lens, datas = next(self._groups)
            except StopIteration:
                self.eof = True
                if self.final_address is None:  # no empty block at the end: no EOF marker
                    missing_eof(getattr(self._source, "name", None) or "BGZF file")
                    self.final_address = self._size
                return got > 0
            at = self.base + self._n
            for addr, nxt, n in zip(addrs, nexts, lens):
                if not n:
                    if self.final_address is None:
                        self.final_address = addr
                    continue
                self.final_address = None  # data after an empty block: keep going
                self.starts.append(at)
                self.addrs.append(addr)
                self.nexts.append(nxt)
                at += n
            got += self._append(datas, at - self.base - self._n)
            if self._progress is not None and nexts:
                self._progress(nexts[-1])
        return True

    @property
    def buf(self) -> np.ndarray:
        """The buffered uncompressed bytes (a view, valid until the next fill/consume)."""
        return self._arr[:self._n]

    def _append(self, datas: list, total: int) -> int:
        """Copy blocks (``total`` bytes) behind the buffered data, straight from each block."""
        end = self._n + total
        if end > len(self._arr):
            grown = np.empty(max(end, 2 * len(self._arr)), dtype=np.uint8)
            grown[:self._n] = self._arr[:self._n]
            self._arr = grown
            self._mv = memoryview(grown)
        mv, at = self._mv, self._n
        for d in datas:
            mv[at:at + len(d)] = d
            at += len(d)
        self._n = end
        return total

    def close(self) -> None:
        """Stop the prefetch thread (also on errors, before the source is closed)."""
        self._groups.close()

    def hints(self) -> np.ndarray:
        """Buffer offsets of the buffered blocks' starts (likely BAM record starts)."""
        return np.array(self.starts, dtype=np.int64) - self.base

    def voffsets(self, ends: np.ndarray) -> np.ndarray:
        """Virtual offsets of stream positions ``ends`` (htslib's normalisation at block ends)."""
        starts = np.array(self.starts, dtype=np.int64)
        lens = np.diff(np.append(starts, self.base + self._n))
        block_end = starts + lens
        k = np.searchsorted(block_end, ends, side="left")
        addrs = np.array(self.addrs, dtype=np.int64)
        nexts = np.array(self.nexts, dtype=np.int64)
        at_end = ends == block_end[k]
        return np.where(at_end, nexts[k] << 16, (addrs[k] << 16) | (ends - starts[k]))

    def consume(self, upto: int) -> None:
        """Drop buffered bytes before stream offset ``upto`` (keeping the block it falls in)."""
        keep = 0
        while keep + 1 < len(self.starts) and self.starts[keep + 1] <= upto:
            keep += 1
        if keep:
            cut = self.starts[keep] - self.base
            rest = self._n - cut
            self._arr[:rest] = self._arr[cut:self._n]  # numpy copes with the overlap
            self._n = rest
            self.base += cut
            del self.starts[:keep], self.addrs[:keep], self.nexts[:keep]


def _raw_groups(source, group: int = _GROUP) -> Iterator[tuple[int, bytes, list[tuple[int, int]]]]:
    """``(address, raw, [(offset, size), ...])``: up to ``group`` complete BGZF blocks of ``raw``
    (compressed bytes read in large pieces from ``address``), validated like
    :meth:`BgzfReader.iter_block_spans`."""
    size_total = source.size
    address = 0
    while address < size_total:
        raw = source.read_upto(address, _CHUNK)
        spans = block_spans(raw, address, size_total, size_total)
        if not spans:  # a source returning less than one block: cannot advance
            raise TruncatedFileError("truncated BGZF block", address)
        for i in range(0, len(spans), group):
            yield address, raw, spans[i:i + group]
        address += spans[-1][0] + spans[-1][1]


def _inflate_group(codec, item: tuple[int, bytes, list[tuple[int, int]]]
                   ) -> tuple[list[int], list[int], list[int], list[bytes]]:
    """Inflate (CRC-checked) one group of blocks on a worker thread: the codecs release the GIL."""
    address, raw, spans = item
    datas = [unpack_block(raw, p, size, codec, address + p) for p, size in spans]
    addrs = [address + p for p, _ in spans]
    nexts = [address + p + size for p, size in spans]
    return addrs, nexts, [len(d) for d in datas], datas


def _prefetch(items: Iterator, batch: int = 64, depth: int = 4) -> Iterator:
    """Run ``items`` (reading + inflating) on a helper thread, ``batch`` items at a time.

    Inflating and CRC release the GIL, so this overlaps decompression with the Python record walk.
    Exceptions are re-raised in the consumer; the thread stops when the consumer goes away.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            chunk = []
            for item in items:
                chunk.append(item)
                if len(chunk) >= batch:
                    if not put(chunk):
                        return
                    chunk = []
            put(chunk) and put(None)
        except BaseException as exc:  # handed to the consumer
            put(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # e.g. shut down ordered_map's pool

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()


def _open(path, threads: int = 2, progress=None) -> tuple[BgzfReader, _Stream]:
    reader = BgzfReader(path)
    return reader, _Stream(reader, threads, progress)


def _index_path(path: str, ext: str, out: str | None) -> str:
    return out if out is not None else f"{os.fspath(path)}.{ext}"


def index_bam(path, csi: bool = False, min_shift: int = 14, out: str | None = None,
              threads: int = 2, progress: "Callable[[int], None] | None" = None) -> str:
    """Index a coordinate-sorted BAM like ``samtools index`` (``-c`` for CSI); returns the index path.

    ``threads`` inflate blocks while the calling thread walks records (1: one helper thread).
    ``progress``, if given, is called with the compressed byte offset reached (for a progress bar).
    """
    reader, stream = _open(path, threads, progress)
    try:
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
            stream.fill(_BAM_BATCH)
        builder.finish(stream.final_address << 16)
        return builder.save(_index_path(path, "csi" if csi else "bai", out), n_refs=n_refs)
    finally:
        stream.close()
        reader.close()


def _mostly_starts(hints: np.ndarray, starts: np.ndarray) -> bool:
    """True when at least half of ``hints`` are record starts (else speculation does not pay)."""
    if not len(hints) or not len(starts):
        return True
    i = np.minimum(np.searchsorted(starts, hints), len(starts) - 1)
    return bool(np.count_nonzero(starts[i] == hints) * 2 >= len(hints))


_CONTIG_LEN = re.compile(rb"length[ =]*(\d+)")
_SQ_LEN = re.compile(rb"\tLN:(\d+)")


def _iter_lines(stream: _Stream) -> Iterator[tuple[list[bytes], np.ndarray, np.ndarray]]:
    """Batches of complete lines (without newline) with the virtual offset where each ends and
    each line's first byte (newline for an empty line)."""
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
            yield lines, stream.voffsets(ends + stream.base), first
            pos = int(ends[-1]) + stream.base
            stream.consume(pos)
        if stream.eof:
            return


def index_tabix(path, preset: str = "vcf", csi: bool = False, min_shift: int = 14,
                out: str | None = None,
                progress: "Callable[[int], None] | None" = None) -> str:
    """Index a bgzipped, sorted text file like ``tabix -p PRESET`` (``-C`` for CSI).

    ``progress``, if given, is called with the compressed byte offset reached (for a progress bar).
    """
    conf = get_config(preset)
    reader, stream = _open(path, progress=progress)
    builder: IndexBuilder | None = None
    last_off = 0
    lineno = 0
    max_ref_len = 0
    try:
        meta = conf.meta.encode()
        for lines, voffs, first in _iter_lines(stream):
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
            data_lines = [lines[i] for i in keep.tolist()]
            first_no = lineno - n + 1
            names, begs, ends = parse_lines(conf, data_lines, first_no)
            tid_of = {nm: builder.tid_for(nm) for nm in dict.fromkeys(names)}
            tids = np.array(list(map(tid_of.__getitem__, names)), dtype=np.int64)
            builder.push_many(tids, begs, ends, voffs[keep])
        if builder is None:  # no data lines
            builder = (IndexBuilder.csi(min_shift, max_ref_len=max_ref_len or None, offset0=last_off, tabix=conf)
                       if csi else IndexBuilder.tbi(conf, offset0=last_off))
        builder.finish(stream.final_address << 16)
        return builder.save(_index_path(path, "csi" if csi else "tbi", out))
    finally:
        stream.close()
        reader.close()
