"""Streaming bigWig writer: bedGraphToBigWig's file from one pass over the input.

Items ``(start, end, value)`` arrive in batches (from a bedGraph file, tuples, or per-base numpy
arrays). Each batch is validated with numpy (known chromosome, inside it, sorted, not
overlapping), cut into sections of ``items_per_slot`` items, encoded with one ``tobytes`` per
section, compressed on threads and appended to a temporary data file; the items themselves are
spilled (12 bytes each) for the zoom levels, which need the data size to choose their first
reduction. Memory holds one batch plus, at the end, one chromosome's items.

The layout is bedGraphToBigWig's: header, 10 zoom-header slots, total summary, chromosome B+
tree, data (section count, sections), data R-tree (one item per section), zoom levels, magic.
Items from a bedGraph or tuples become bedGraph sections, as UCSC writes them; per-base arrays
become runs, and a section whose runs are equally long and contiguous is written as fixedStep.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import BinaryIO, Callable, Union

import numpy as np

from ..compression import BlockCompressor
from ..errors import BioformatsError, RecordError, SortOrderError, UnknownReferenceError
from ..io.atomic import AtomicFile
from .format import (BIGWIG_MAGIC, HEADER_SIZE, MAX_ZOOM_LEVELS, TOTAL_SUMMARY_SIZE,
                     ZOOM_HEADER_SIZE, ZOOM_RECORD_SIZE, layouts)
from .header import Header, TotalSummary, pack_zoom_headers
from .wig import BEDGRAPH, FIXEDSTEP, section_header
from .wig_zoom import total_summary
from .wig_zoom_stream import write_level, zoom_spills
from .bedgraph import iter_bedgraph
from .staged import StagedWriter
from .write import read_chrom_sizes, zlib_compressor
from .write_layout import chrom_tree_bytes
from .write_trees import rtree_bytes

__all__ = ["BigWigWriter", "write"]

Target = Union[str, os.PathLike, BinaryIO]
_LAY = layouts("<")
_SECTION = section_header("<")
_ITEM = np.dtype([("s", "<u4"), ("e", "<u4"), ("v", "<f4")])
_BATCH = 1 << 16
_MAX_COORD = 0xFFFFFFFF
CHUNK_ITEMS = 1 << 16  # spilled items per chunk when computing zoom levels and summary
_MIN_FIXED = 8  # a fixedStep section pays off from about this many regular items


class BigWigWriter(StagedWriter):
    """Stream items into a bigWig file.

    >>> with BigWigWriter("out.bw", {"chr1": 1000}) as w:   # doctest: +SKIP
    ...     w.add_intervals("chr1", [0, 10], [10, 20], [1.0, 2.0])

    Chromosomes must come in one run each, items sorted by start and not overlapping.
    ``close()`` writes the file and returns the number of items.
    """

    def __init__(self, target: Target, chrom_sizes: Union[Mapping[str, int], str, os.PathLike],
                 zoom_levels: int = MAX_ZOOM_LEVELS, block_size: int = 256,
                 items_per_slot: int = 1024, compress: Union[bool, str] = True,
                 threads: int | None = None):
        if block_size < 2 or not 1 <= items_per_slot <= 0xFFFF:
            raise ValueError("block_size must be >= 2 and items_per_slot in 1..65535")
        if not 0 <= zoom_levels <= MAX_ZOOM_LEVELS:
            raise ValueError(f"zoom_levels must be in 0..{MAX_ZOOM_LEVELS}")
        self.chrom_sizes = read_chrom_sizes(chrom_sizes)
        self.max_zoom_levels = zoom_levels
        self.block_size = int(block_size)
        self.items_per_slot = int(items_per_slot)
        self._zcompress = zlib_compressor(compress)
        self.compress = self._zcompress is not None
        if isinstance(target, (str, os.PathLike)):
            self._atomic: AtomicFile | None = AtomicFile(target)
            self._out: BinaryIO = self._atomic.handle  # type: ignore[assignment]
            spill_dir: str | None = os.path.dirname(os.path.abspath(self._atomic.path))
        else:
            self._atomic = None
            self._out = target
            spill_dir = None
        self._spill_dir = spill_dir
        self._data = tempfile.TemporaryFile(dir=spill_dir)
        self._items = tempfile.TemporaryFile(dir=spill_dir)
        threads = threads if threads is not None else min(4, os.cpu_count() or 1)
        self._compressor: BlockCompressor | None = (
            BlockCompressor(self._zcompress, threads, window=32) if self._zcompress else None)
        self._chroms: list[tuple[str, int, int, int]] = []  # name, size, first item, count
        self._seen: set[str] = set()
        self._chrom: str | None = None
        self._last_end = 0
        self._last_start = -1
        self._first_in_chrom = True
        self._numbers_kind = "record"
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._pending_n = 0
        self._pending_fixed = False
        self._count = 0
        self._spilled = 0
        self._bases = 0
        self._sec_chrom: list[int] = []
        self._sec_start: list[int] = []
        self._sec_end: list[int] = []
        self._sec_sizes: list[int] = []
        self._max_section = 0
        self._closed = False
        self._failed = False

    # -- input -----------------------------------------------------------------------------------
    def add_intervals(self, chrom: str, starts, ends, values, numbers=None,
                      fixed_ok: bool = False) -> None:
        """Add items of one chromosome (array-likes). ``numbers`` names each item in errors
        (line numbers; default: 1-based running item numbers)."""
        if self._closed:
            raise BioformatsError("the writer is closed")
        try:
            self._add(chrom, np.asarray(starts, np.int64), np.asarray(ends, np.int64),
                      np.asarray(values, np.float64), numbers, fixed_ok)
        except BaseException:
            self._failed = True
            raise

    def add_array(self, chrom: str, values: np.ndarray, offset: int = 0) -> None:
        """Add per-base values of ``chrom`` starting at ``offset`` (NaN = no data): runs of
        one value become items, regular runs fixedStep sections."""
        a = np.asarray(values, np.float32)
        if a.ndim != 1:
            raise RecordError(f"{chrom}: per-base values must be one-dimensional")
        if not len(a):
            return
        valid = ~np.isnan(a)
        change = np.empty(len(a), bool)
        change[0] = True
        np.not_equal(a[1:], a[:-1], out=change[1:])
        change[1:] |= valid[1:] != valid[:-1]
        starts = np.flatnonzero(change)
        ends = np.append(starts[1:], len(a))
        keep = valid[starts]
        starts, ends = starts[keep], ends[keep]
        self.add_intervals(chrom, starts + offset, ends + offset, a[starts], fixed_ok=True)

    def write_records(self, records: Iterable[tuple]) -> int:
        """Add ``(chrom, start, end, value)`` tuples; returns how many."""
        it = iter(records)
        done = 0
        while True:
            batch = list(islice(it, _BATCH))
            if not batch:
                return done
            try:
                chroms, starts, ends, values = zip(*batch)
            except ValueError:
                bad = next(i for i, r in enumerate(batch) if len(r) != 4)
                self._failed = True
                raise RecordError(f"record {done + bad + 1}: expected (chrom, start, end, "
                                  f"value), got {batch[bad]!r}", done + bad + 1) from None
            numbers = np.arange(done + 1, done + 1 + len(batch))
            self._add_mixed(list(chroms), starts, ends, values, numbers, "record")
            done += len(batch)

    def write_bedgraph(self, path: "str | os.PathLike[str] | BinaryIO",
                       progress: Callable[[int], None] | None = None) -> int:
        """Add the items of a bedGraph file (``track``/``browser``/``#`` lines skipped)."""
        done = 0
        try:
            for chroms, s, e, v, numbers in iter_bedgraph(path):
                self._add_mixed(chroms, s, e, v, numbers, "line")
                done += len(s)
                if progress is not None:
                    progress(len(s))
        except BaseException:
            self._failed = True
            raise
        return done

    def _add_mixed(self, chroms: "list | np.ndarray", starts, ends, values, numbers: np.ndarray,
                   what: str) -> None:
        """A batch that may span chromosomes: one :meth:`add_intervals` per run."""
        try:
            s = np.asarray(starts, np.int64)
            e = np.asarray(ends, np.int64)
            v = np.asarray(values, np.float64)
        except (TypeError, ValueError, OverflowError):
            self._failed = True
            for i, (a, b, c) in enumerate(zip(starts, ends, values)):
                try:
                    int(a), int(b), float(c)
                except (TypeError, ValueError, OverflowError):
                    raise RecordError(f"{what} {numbers[i]}: bad start/end/value "
                                      f"{(a, b, c)!r}", int(numbers[i])) from None
            raise
        names = chroms if isinstance(chroms, np.ndarray) else np.array(chroms, dtype=object)
        if not len(names):
            return
        cuts = [0, *(np.flatnonzero(names[1:] != names[:-1]) + 1).tolist(), len(names)]
        for a, b in zip(cuts, cuts[1:]):
            name = names[a]
            if isinstance(name, bytes):
                name = name.decode()
            self._numbers_kind = what
            self.add_intervals(str(name), s[a:b], e[a:b], v[a:b], numbers[a:b])

    def _add(self, chrom: str, s: np.ndarray, e: np.ndarray, v: np.ndarray, numbers,
             fixed_ok: bool) -> None:
        n = len(s)
        if not n:
            return
        if numbers is None:
            numbers = np.arange(self._count + 1, self._count + 1 + n)
            kind = "item"
        else:
            kind = getattr(self, "_numbers_kind", "record")
        if not (len(e) == n == len(v)):
            raise RecordError("starts, ends and values differ in length")
        if chrom != self._chrom:
            size = self.chrom_sizes.get(chrom)
            if size is None:
                raise UnknownReferenceError(f"{kind} {numbers[0]}: chromosome {chrom!r} is not "
                                            "in the chromosome sizes")
            if chrom in self._seen:
                raise SortOrderError(f"{kind} {numbers[0]}: chromosome {chrom!r} appears again "
                                     "after other chromosomes (sort with sort -k1,1 -k2,2n)",
                                     record=int(numbers[0]))
            self._end_chrom()
            self._seen.add(chrom)
            self._chrom = chrom
            self._chroms.append((chrom, size, self._spilled, 0))
            self._last_end = 0
            self._first_in_chrom = True
        size = self._chroms[-1][1]
        bad = (s < 0) | (e < s) | (e > size)
        if bool(bad.any()):
            i = int(np.flatnonzero(bad)[0])
            why = ("negative start" if s[i] < 0 else "end before start" if e[i] < s[i]
                   else f"end past the chromosome end ({size})")
            raise RecordError(f"{kind} {numbers[i]}: {chrom}:{s[i]}-{e[i]}: {why}",
                              int(numbers[i]))
        prev_s = np.concatenate([[self._last_start if not self._first_in_chrom else -1],
                                 s[:-1]])
        prev_e = np.concatenate([[self._last_end], e[:-1]])
        unsorted = s < prev_s
        overlap = s < prev_e
        if bool((unsorted | overlap).any()):
            i = int(np.flatnonzero(unsorted | overlap)[0])
            why = "not sorted by start" if unsorted[i] else \
                f"overlaps the previous item (which ends at {prev_e[i]})"
            raise SortOrderError(f"{kind} {numbers[i]}: {chrom}:{s[i]}-{e[i]} is {why}",
                                 len(self._chroms) - 1, int(s[i]), int(numbers[i]))
        if bool(np.isnan(v).any()):
            i = int(np.flatnonzero(np.isnan(v))[0])
            raise RecordError(f"{kind} {numbers[i]}: value is NaN", int(numbers[i]))
        self._first_in_chrom = False
        self._last_start = int(s[-1])
        self._last_end = int(e[-1])
        v32 = v.astype(np.float32)
        items = np.empty(n, _ITEM)
        items["s"], items["e"], items["v"] = s, e, v32
        self._items.write(items.tobytes())
        self._spilled += n
        self._count += n
        self._bases += int((e - s).sum())
        if fixed_ok != self._pending_fixed and self._pending_n:
            self._flush(True)
        self._pending_fixed = fixed_ok
        self._pending.append((s, e, v32))
        self._pending_n += n
        if self._pending_n >= self.items_per_slot:
            self._flush(False)

    # -- sections ------------------------------------------------------------------------------
    def _flush(self, final: bool) -> None:
        if not self._pending_n:
            return
        if len(self._pending) == 1:
            s, e, v = self._pending[0]
        else:
            s = np.concatenate([p[0] for p in self._pending])
            e = np.concatenate([p[1] for p in self._pending])
            v = np.concatenate([p[2] for p in self._pending])
        per = self.items_per_slot
        cid = len(self._chroms) - 1
        if not self._pending_fixed:  # bedGraphToBigWig: sections of exactly items_per_slot
            full = len(s) if final else len(s) - len(s) % per
            for i in range(0, full, per):
                self._section(cid, s[i:i + per], e[i:i + per], v[i:i + per], False)
            keep = full
        else:
            keep = self._flush_runs(cid, s, e, v, final)
        rest = (s[keep:], e[keep:], v[keep:])
        self._pending = [rest] if len(rest[0]) else []
        self._pending_n = len(rest[0])

    def _flush_runs(self, cid: int, s: np.ndarray, e: np.ndarray, v: np.ndarray,
                    final: bool) -> int:
        """Runs from per-base arrays: maximal stretches of contiguous, equally long items
        (at least ``_MIN_FIXED``) become fixedStep sections, the rest bedGraph sections, in
        order. Returns how many items were written (the rest stays pending: the last stretch
        may continue in the next batch)."""
        n = len(s)
        per = self.items_per_slot
        length = e - s
        cuts = np.flatnonzero((s[1:] != e[:-1]) | (length[1:] != length[:-1])) + 1
        bounds = [0, *cuts.tolist(), n]
        limit = n if final else bounds[-2]
        loose = 0  # start of the irregular items not yet written
        for a, b in zip(bounds, bounds[1:]):
            if b > limit:
                break
            if b - a >= _MIN_FIXED and length[a] > 0:
                for i in range(loose, a, per):
                    j = min(i + per, a)
                    self._section(cid, s[i:j], e[i:j], v[i:j], False)
                for i in range(a, b, per):
                    j = min(i + per, b)
                    self._section(cid, s[i:j], e[i:j], v[i:j], j - i > 1)
                loose = b
        if final:
            for i in range(loose, n, per):
                self._section(cid, s[i:i + per], e[i:i + per], v[i:i + per], False)
            return n
        # full bedGraph sections of loose items can go now; a long last stretch in chunks
        done = loose + (limit - loose) // per * per
        for i in range(loose, done, per):
            self._section(cid, s[i:i + per], e[i:i + per], v[i:i + per], False)
        if n - limit > per and length[limit] > 0:
            for i in range(done, limit, per):
                j = min(i + per, limit)
                self._section(cid, s[i:j], e[i:j], v[i:j], False)
            last = limit + (n - limit - 1) // per * per
            for i in range(limit, last, per):
                self._section(cid, s[i:i + per], e[i:i + per], v[i:i + per], per > 1)
            done = last
        return done

    def _section(self, cid: int, s: np.ndarray, e: np.ndarray, v: np.ndarray,
                 fixed: bool) -> None:
        n = len(s)
        kind, step = (FIXEDSTEP, int(e[0] - s[0])) if fixed else (BEDGRAPH, 0)
        head = _SECTION.pack(cid, int(s[0]), int(e[-1]), step, step, kind, n)
        if kind == FIXEDSTEP:
            body = v.astype("<f4").tobytes()
        else:
            items = np.empty(n, _ITEM)
            items["s"], items["e"], items["v"] = s, e, v
            body = items.tobytes()
        data = head + body
        self._max_section = max(self._max_section, len(data))
        self._sec_chrom.append(cid)
        self._sec_start.append(int(s[0]))
        self._sec_end.append(int(e[-1]))
        if self._compressor is None:
            self._data.write(data)
            self._sec_sizes.append(len(data))
        else:
            self._compressor.submit(data)
            self._drain(False)

    def _drain(self, block: bool) -> None:
        assert self._compressor is not None
        comp: bytes
        for comp in self._compressor.drain(block):
            self._data.write(comp)
            self._sec_sizes.append(len(comp))

    def _end_chrom(self) -> None:
        if self._chrom is None:
            return
        self._flush(True)
        name, size, first, _ = self._chroms[-1]
        self._chroms[-1] = (name, size, first, self._spilled - first)

    # -- finishing -------------------------------------------------------------------------------
    def __del__(self):  # an abandoned writer must not leave temp files
        if not getattr(self, "_closed", True):
            try:
                self.abort()
            except Exception:
                pass

    def _abort(self) -> None:
        if self._compressor is not None:
            self._compressor.close()
        for handle in (self._data, self._items):
            try:
                handle.close()
            except Exception:
                pass
        if self._atomic is not None:
            self._atomic.discard()

    def _chrom_chunks(self, cid: int):
        """A chromosome's spilled items, ``CHUNK_ITEMS`` at a time (memory stays flat)."""
        _name, _size, first, count = self._chroms[cid]
        size = _ITEM.itemsize
        for i in range(first, first + count, CHUNK_ITEMS):
            self._items.seek(i * size)
            raw = np.frombuffer(self._items.read(min(CHUNK_ITEMS, first + count - i) * size),
                                _ITEM)
            yield raw["s"].astype(np.int64), raw["e"].astype(np.int64), raw["v"]

    def _finish(self) -> None:
        self._end_chrom()
        if self._compressor is not None:
            self._drain(True)
        self._items.flush()
        header = Header(byteorder="<", magic=BIGWIG_MAGIC, fieldCount=0, definedFieldCount=0)
        header.totalSummaryOffset = HEADER_SIZE + MAX_ZOOM_LEVELS * ZOOM_HEADER_SIZE
        header.chromosomeTreeOffset = header.totalSummaryOffset + TOTAL_SUMMARY_SIZE
        chrom_tree = chrom_tree_bytes(self._chroms, self.block_size, header.chromosomeTreeOffset)
        header.fullDataOffset = header.chromosomeTreeOffset + len(chrom_tree)
        data_size = self._data.tell()
        header.fullIndexOffset = header.fullDataOffset + 8 + data_size
        sizes = np.asarray(self._sec_sizes, np.uint64)
        offsets = (header.fullDataOffset + 8 + np.concatenate([[0], np.cumsum(sizes)[:-1]])
                   ).astype(np.uint64) if len(sizes) else np.zeros(0, np.uint64)
        index = rtree_bytes(self._sec_chrom, self._sec_start, self._sec_end, offsets,
                            header.fullIndexOffset, header.fullIndexOffset, self.block_size, 1)
        # zoom levels and total summary from the spilled items, a chunk at a time; the
        # levels themselves go to a temporary file
        chroms = range(len(self._chroms))
        summary = TotalSummary(*total_summary(
            chunk for cid in chroms for chunk in self._chrom_chunks(cid)))
        ave = self._bases / self._count if self._count else 0.0
        levels = zoom_spills([(cid, c[1]) for cid, c in enumerate(self._chroms)],
                             self._chrom_chunks, ave,
                             header.fullIndexOffset - header.fullDataOffset,
                             self.compress, self.max_zoom_levels,
                             self._spill_dir) if self._count else []
        pos = header.fullIndexOffset + len(index)
        zoom_headers = []
        compress = self._compressor.map if self._compressor is not None else None
        zoom_file = tempfile.TemporaryFile(dir=self._spill_dir)
        for reduction, spill in levels:
            zoom_headers.append(write_level(spill, reduction, pos + zoom_file.tell(), zoom_file,
                                            self.block_size, self.items_per_slot, compress))
            spill.close()
        header.zoomLevels = len(levels)
        if self.compress:
            header.uncompressBufSize = max(self._max_section,
                                           self.items_per_slot * ZOOM_RECORD_SIZE)
        out = self._out
        out.write(header.pack())
        out.write(pack_zoom_headers(zoom_headers, "<"))
        out.write(summary.pack("<"))
        out.write(chrom_tree)
        out.write(_LAY.data_count.pack(len(self._sec_sizes)))
        self._data.flush()
        self._data.seek(0)
        shutil.copyfileobj(self._data, out, 1 << 20)
        self._data.close()
        out.write(index)
        zoom_file.seek(0)
        shutil.copyfileobj(zoom_file, out, 1 << 20)
        zoom_file.close()
        out.write(struct.pack("<I", BIGWIG_MAGIC))
        self._items.close()
        if self._compressor is not None:
            self._compressor.close()


def write(data, chrom_sizes: Union[Mapping[str, int], str, os.PathLike], target: Target,
          zoom_levels: int = MAX_ZOOM_LEVELS, block_size: int = 256, items_per_slot: int = 1024,
          compress: Union[bool, str] = True, *, threads: int | None = None,
          progress: Callable[[int], None] | None = None) -> int:
    """Write a bigWig; returns the number of items.

    ``data``: a bedGraph path (or binary file object), an iterable of ``(chrom, start, end,
    value)``, or a mapping ``chrom -> numpy array`` of per-base values (NaN = no data).
    ``chrom_sizes``: ``{name: size}`` or a chrom.sizes path. ``zoom_levels`` caps the number of
    zoom levels (UCSC: 10). ``compress``: True (zlib, as UCSC), False, ``"libdeflate"`` or
    ``"isal"`` (faster). The output appears at ``target`` only when complete.
    """
    writer = BigWigWriter(target, chrom_sizes, zoom_levels=zoom_levels, block_size=block_size,
                          items_per_slot=items_per_slot, compress=compress, threads=threads)
    try:
        if isinstance(data, (str, os.PathLike)) or hasattr(data, "read"):
            writer.write_bedgraph(data, progress)
        elif isinstance(data, Mapping):
            for chrom, values in data.items():
                writer.add_array(chrom, values)
                if progress is not None:
                    progress(len(values))
        else:
            writer.write_records(data)
    except BaseException:
        writer.abort()
        raise
    return writer.close()
