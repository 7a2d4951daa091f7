"""The lazy bigBed reader: everything format-level, no Biopython objects.

Opening costs (normally) one read: the first 64 KiB, which in files written by bedToBigBed,
Biopython or this package hold the header, zoom headers, autoSql, total summary, extra-index
headers and the chromosome tree. Whatever lies outside that buffer is fetched in one more read.
R-tree nodes and data blocks are read only when a query needs them, each tree level and the data
blocks of a query in one batched ``read_many``; both are kept in small LRU caches.
"""

from __future__ import annotations

import os
from itertools import chain, repeat
from typing import BinaryIO, Callable, Iterator, Sequence

import numpy as np

from ..errors import (FormatError, MissingIndexError, RegionError, TruncatedFileError,
                      UnknownReferenceError)
from ..io.source import ByteSource, open_source
from ..sniff import expect, sniff
from ..reader_base import RegionReader
from ._lru import LRU
from .autosql import AutoSqlTable, Field, bed_declaration
from .blocks import (MAX_BLOCK_INFLATE, Block, check_count, decompress, parse_block,
                     parse_run)
from .bptree import BPlusTree, read_chromosomes
from .format import BIGBED_MAGIC, EXTRA_HEADER_SIZE, TOTAL_SUMMARY_SIZE, layouts
from .header import ExtraHeader, ExtraIndex, Header, TotalSummary, ZoomLevel, parse_extra_indices
from .rtree import RTree

OPEN_READ = 65536
MAX_META_SPAN = 64 << 20     # read a larger metadata area in one go only up to this size
BATCH_BYTES = 256 << 10      # full scans decode blocks in batches of this many (compressed) bytes
RUN_BYTES = 4 << 20          # ... and parse them in runs of at most this many inflated bytes
FIRST_WINDOW = 64 << 10      # region queries read their first (compressed) blocks in this window,
WINDOW_BYTES = 4 << 20       # ... doubling up to this: memory stays flat, the first record is fast
CACHED_QUERY_BYTES = 256 << 10  # only a query's first this many (compressed) bytes enter the cache
MIN_INFLATE_LIMIT = 1 << 20

Record = tuple[str, int, int, "str | None"]


def _windows(ranges: list[tuple[int, int]], first: int, limit: int
             ) -> Iterator[tuple[list[tuple[int, int]], int]]:
    """Consecutive ``(offset, size)`` ranges grouped into windows of at most ``first`` bytes,
    the budget doubling per window up to ``limit`` (a range larger than the budget is a window
    of its own); yields ``(ranges, bytes)``."""
    budget = first
    i = 0
    while i < len(ranges):
        j = i + 1
        total = ranges[i][1]
        while j < len(ranges) and total + ranges[j][1] <= budget:
            total += ranges[j][1]
            j += 1
        yield ranges[i:j], total
        i = j
        budget = min(2 * budget, limit)


class BigBedReader(RegionReader):
    """Format-level access to a bigBed file. See :class:`bioformats_ext.bigbed.BigBedFile`."""

    MAGIC = BIGBED_MAGIC  # the bigWig reader shares everything but the magic and the blocks

    def __init__(self, source: "str | os.PathLike[str] | BinaryIO | ByteSource",
                 node_cache: int = 256, block_cache: int = 64 << 20):
        self._owns_source = not isinstance(source, ByteSource)
        #: called once by :meth:`close` (caches that upper layers hang on the reader, such
        #: as the zoom blocks, drop their contents and give back their memory)
        self.on_close: list[Callable[[], None]] = []
        self.source = open_source(source)
        try:
            self._open(node_cache, block_cache)
        except FormatError:
            try:  # name what the file is instead ("x.bw is a bigWig file, not a bigBed file")
                found = sniff(self.source)
                if found.format not in ("bigbed", "empty", "binary", "text") or (
                        found.format == "text" and self.source.size >= 64):
                    expect(self.source, ("bigbed",), "a bigBed file")
            finally:
                self.close()
            raise
        except BaseException:
            self.close()
            raise

    # -- opening ---------------------------------------------------------------------------------
    def _open(self, node_cache: int, block_cache: int) -> None:
        """``block_cache``: bytes of decoded blocks kept (LRU) so that nearby or repeated
        queries do not inflate and parse a block again; 0 disables it."""
        src = self.source
        self.file_size = size = src.size
        head = src.read_upto(0, OPEN_READ)
        self._chunks: list[tuple[int, bytes]] = [(0, head)]
        self.header = header = Header.parse(head, size, self.MAGIC)
        self.byteorder = bo = header.byteorder
        self._lay = layouts(bo)
        self.zoom_levels = ZoomLevel.parse_all(head, header, size)
        # Normal layout: all metadata precedes the data count at fullDataOffset. Fetch what the
        # first read missed in one go.
        meta_end = header.fullDataOffset + 8
        starts = [o for o in (header.autoSqlOffset, header.totalSummaryOffset,
                              header.extensionOffset, header.chromosomeTreeOffset) if o]
        if (meta_end > len(head) and meta_end <= size and meta_end - len(head) <= MAX_META_SPAN
                and all(o < meta_end for o in starts)):
            self._chunks.append((len(head), src.read(len(head), meta_end - len(head))))

        self.autosql = self._read_autosql()
        self.total_summary: TotalSummary | None = None
        if header.totalSummaryOffset:
            (data,) = self._fetch([(header.totalSummaryOffset, TOTAL_SUMMARY_SIZE)])
            self.total_summary = TotalSummary.parse(data, 0, bo, header.totalSummaryOffset)
        self.extra_indices: list[ExtraIndex] = []
        if header.extensionOffset:
            (data,) = self._fetch([(header.extensionOffset, EXTRA_HEADER_SIZE)])
            ext = ExtraHeader.parse(data, 0, bo, header.extensionOffset)
            if ext.extraIndexCount:
                if ext.extraIndexCount * 20 > size or ext.extraIndexListOffset >= size:
                    raise FormatError("bad extra index list", header.extensionOffset)
                want = ext.extraIndexCount * (16 + 4 * 256)
                (data,) = self._fetch([(ext.extraIndexListOffset,
                                        min(want, size - ext.extraIndexListOffset))])
                self.extra_indices = parse_extra_indices(data, 0, ext.extraIndexCount, bo,
                                                         ext.extraIndexListOffset, size)
        self.chrom_names, self.chrom_sizes = read_chromosomes(
            self._fetch, header.chromosomeTreeOffset, bo, size)
        self.chrom_ids = {name: i for i, name in enumerate(self.chrom_names)}
        (data,) = self._fetch([(header.fullDataOffset, 8)])
        (self.item_count,) = self._lay.data_count.unpack(data)
        # Each item is >= 12 bytes uncompressed; deflate expands at most ~1032:1. Nothing is
        # allocated from this count, so the bound only has to catch absurd headers.
        expansion = 1032 if header.uncompressBufSize else 1
        if self.item_count * 12 > size * expansion:
            raise FormatError(f"item count {self.item_count} cannot fit in the file",
                              header.fullDataOffset)
        self.rtree = RTree(self._fetch, header.fullIndexOffset, bo, size, node_cache)
        self._blocks: LRU[Block] = LRU(1 << 20, block_cache)
        # kent inflates into a buffer of uncompressBufSize bytes; we allow at least 1 MiB (some
        # writers understate it) and never more than MAX_BLOCK_INFLATE, whatever the header says.
        self._inflate_limit = min(max(header.uncompressBufSize, MIN_INFLATE_LIMIT),
                                  MAX_BLOCK_INFLATE)
        self._zoom_trees: dict[int, RTree] = {}

    def _read_autosql(self) -> AutoSqlTable:
        header = self.header
        off = header.autoSqlOffset
        self.autosql_text: str | None = None
        if not off:
            decl = bed_declaration(min(header.definedFieldCount, 12))
            extra = [Field("string", f"field{i + 1}", "")
                     for i in range(len(decl), header.fieldCount)]
            return AutoSqlTable(decl.name, decl.comment, list(decl) + extra)
        end = header.totalSummaryOffset
        if end > off:
            (data,) = self._fetch([(off, end - off)])
        else:
            (data,) = self._fetch([(off, min(OPEN_READ, self.file_size - off))])
        if b"\0" not in data:
            raise FormatError("autoSql text is not NUL-terminated", off)
        try:
            self.autosql_text = data.split(b"\0", 1)[0].decode()
            table = AutoSqlTable.from_bytes(data)
        except UnicodeDecodeError:
            raise FormatError("autoSql text is not UTF-8", off) from None
        except FormatError as exc:
            raise FormatError(str(exc), off) from None
        if len(table) != header.fieldCount:
            raise FormatError(f"autoSql declares {len(table)} fields, header says "
                              f"{header.fieldCount}", off)
        return table

    def _fetch(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """Bytes for each range: from the buffers read at open when they cover it, else in one
        batched read of the source."""
        out: list[bytes | None] = []
        missing: list[int] = []
        for i, (off, length) in enumerate(ranges):
            if off < 0 or length < 0 or off + length > self.file_size:
                raise TruncatedFileError(f"needs bytes {off}..{off + length} of a "
                                         f"{self.file_size}-byte file", off)
            for start, data in self._chunks:
                if start <= off and off + length <= start + len(data):
                    out.append(data[off - start:off - start + length])
                    break
            else:
                out.append(None)
                missing.append(i)
        if missing:
            got = self.source.read_many([ranges[i] for i in missing])
            for i, data in zip(missing, got):
                out[i] = data
        return out  # type: ignore[return-value]

    # -- chromosomes -----------------------------------------------------------------------------
    @property
    def chroms(self) -> dict[str, int]:
        return dict(zip(self.chrom_names, self.chrom_sizes))

    def chrom_id(self, chrom: str) -> int:
        try:
            return self.chrom_ids[chrom]
        except KeyError:
            raise UnknownReferenceError(f"chromosome {chrom!r} is not in this bigBed") from None

    def reference_lengths(self) -> dict[str, int | None]:
        return dict(self.chroms)

    def resolve(self, chrom: str | None, start: int | None, end: int | None,
                region: str | None = None) -> tuple[int | None, int, int]:
        """(chromId, start, end) for a region; ``None`` chromosome (and no ``region``) means the
        whole file. As in UCSC and Biopython, ``start`` alone means the single base
        ``[start, start + 1)``; otherwise the shared rule of :mod:`bioformats_ext.reader_base`."""
        if chrom is None and region is None:
            if start is not None or end is not None:
                raise RegionError("start and end must both be None if chromosome is None")
            return None, 0, 0
        if start is None and end is not None:
            raise RegionError("end must be None if start is None")
        if start is not None and end is None and region is None:
            end = int(start) + 1
        r = self.region(chrom, start, end, region)
        cid = self.chrom_ids[r.contig]
        return cid, r.start, self.chrom_sizes[cid] if r.stop is None else r.stop

    # -- blocks ----------------------------------------------------------------------------------
    def _load_blocks(self, ranges: list[tuple[int, int]], use_cache: bool = True
                     ) -> Iterator[Block]:
        """Parsed blocks at ``(offset, size)``, in order, read in windows (FIRST_WINDOW bytes,
        doubling up to WINDOW_BYTES): taking a few records of a large chromosome reads about one
        small window, and a long query never holds more than one window of compressed bytes.
        Only a query's first CACHED_QUERY_BYTES go into the block cache: a long query would
        only evict useful blocks, and memory stays flat however large the chromosome."""
        done = 0
        for window, nbytes in _windows(ranges, FIRST_WINDOW, WINDOW_BYTES):
            yield from self._load_window(window, use_cache, use_cache and done < CACHED_QUERY_BYTES)
            done += nbytes

    def _load_window(self, ranges: list[tuple[int, int]], use_cache: bool,
                     store: bool) -> Iterator[Block]:
        """Blocks of one window: uncached ones fetched in one batched read but inflated one at
        a time, as they are consumed."""
        todo: list[tuple[int, int]] = []
        for off, size in ranges:
            if not use_cache or self._blocks.get(off) is None:
                todo.append((off, size))
        raws: dict[int, bytes] = {}
        if todo:
            todo = list(dict.fromkeys(todo))
            raws = {off: raw for (off, _), raw in zip(todo, self.source.read_many(todo))}
        compressed = self.header.compressed
        limit = self._inflate_limit
        for off, _size in ranges:
            block = self._blocks.get(off) if use_cache else None
            if block is None:
                raw = raws.get(off)
                if raw is None:  # evicted since the read, or listed twice without a cache
                    (raw,) = self.source.read_many([(off, _size)])
                # (Inflating on a second thread was measured slower: blocks are small, and the
                # hand-off costs more than the overlap gains.)
                data = decompress(raw, limit, off) if compressed else raw
                check_count(data, self.item_count, off)
                block = parse_block(data, self.byteorder, off)
                if len(block) and int(block.chrom.max()) >= len(self.chrom_names):
                    raise FormatError("record with an unknown chromosome id", off)
                if len(block) > self.item_count:
                    raise FormatError(f"block holds {len(block)} records, the file "
                                      f"{self.item_count}", off)
                if store:
                    self._blocks.put(off, block, len(data) + 96 * len(block))
            yield block

    def _load_runs(self, ranges: list[tuple[int, int]]) -> Iterator[Block]:
        """:meth:`_load_run` over runs of at most RUN_BYTES inflated bytes (a batch of small
        compressed blocks may inflate ~1000-fold: the batch is never inflated all at once)."""
        raws = self.source.read_many(ranges)
        compressed = self.header.compressed
        limit = self._inflate_limit
        run: list[tuple[int, int]] = []
        datas: list[bytes] = []
        total = 0
        for rng, raw in zip(ranges, raws):
            data = decompress(raw, limit, rng[0]) if compressed else raw
            check_count(data, self.item_count, rng[0])
            if datas and total + len(data) > RUN_BYTES:
                yield self._load_run(run, datas)
                run, datas, total = [], [], 0
            run.append(rng)
            datas.append(data)
            total += len(data)
        if datas:
            yield self._load_run(run, datas)

    def _load_run(self, ranges: list[tuple[int, int]], datas: list[bytes]) -> Block:
        """Consecutive blocks of a full scan decoded as one: blocks end at record boundaries,
        so their concatenation is itself a valid block, and the per-block fixed costs (numpy
        calls, allocations) are paid once per batch."""
        try:
            block = parse_run(b"".join(datas), self.byteorder, ranges[0][0])
        except FormatError:
            for (off, _), data in zip(ranges, datas):  # find the block at fault, for its offset
                parse_block(data, self.byteorder, off)
            raise
        if len(block) and int(block.chrom.max()) >= len(self.chrom_names):
            raise FormatError("record with an unknown chromosome id", ranges[0][0])
        return block

    def iter_blocks(self, chrom: str | None = None, start: int | None = None,
                    end: int | None = None) -> Iterator[tuple[Block, list[int] | None]]:
        """(block, selected record indices or None for all) for a region, in file order."""
        cid, start_, end_ = self.resolve(chrom, start, end)
        if cid is None:
            # A full scan: batches of blocks, not cached (it would only evict useful blocks).
            items = self.rtree.blocks(None)
            ranges = list(zip(items["offset"].tolist(), items["size"].tolist()))
            for batch, _ in _windows(ranges, BATCH_BYTES, BATCH_BYTES):
                for block in self._load_runs(batch):
                    yield block, None
            return
        ranges = list(dict.fromkeys(self.rtree.ranges(cid, start_, end_)))
        for block in self._load_blocks(ranges):
            sel = block.select(cid, start_, end_)
            if sel:
                yield block, sel

    def records(self, chrom: str | None = None, start: int | None = None,
                end: int | None = None, region: str | None = None) -> Iterator[Record]:
        # chain.from_iterable walks each block's zip in C: no Python frame per record
        cid, start_, end_ = self.resolve(chrom, start, end, region)
        if cid is None:
            return chain.from_iterable(self._record_runs(None, None, None))
        return chain.from_iterable(self._query_runs(cid, start_, end_))

    def _query_runs(self, cid: int, start: int, end: int) -> Iterator[Iterator[Record]]:
        """One iterator of record tuples per block with hits, for a region: the blocks' cached
        Python lists make a query on cached blocks two bisects and a few slices."""
        name = self.chrom_names[cid]
        ranges = self.rtree.ranges(cid, start, end)
        if len(ranges) > 1:
            ranges = list(dict.fromkeys(ranges))
        for block in self._load_blocks(ranges):
            hit = block.query(cid, start, end)
            if hit is not None:
                starts, ends, found = hit
                texts: list[str | None] = list(found)
                if not texts[0] or "" in texts:  # BED3: rest is None, as in pyBigWig's entries
                    texts = [t or None for t in texts]
                yield zip(repeat(name), starts, ends, texts)

    def _record_runs(self, chrom: str | None, start: int | None, end: int | None
                     ) -> Iterator[Iterator[Record]]:
        """One iterator of record tuples per block (in file order)."""
        names = self.chrom_names
        for block, sel in self.iter_blocks(chrom, start, end):
            c = block.chrom
            texts: list[str | None]
            if sel is None:
                texts = list(block.texts())
                starts = block.start.tolist()
                ends = block.end.tolist()
            else:
                c = c[sel]
                starts = block.start[sel].tolist()
                ends = block.end[sel].tolist()
                texts = list(block.texts_at(sel))
            if not texts[0] or "" in texts:  # BED3: rest is None, as in pyBigWig's entries
                texts = [t or None for t in texts]
            if c[0] == c[-1] and bool((c == c[0]).all()):
                yield zip(repeat(names[int(c[0])]), starts, ends, texts)
                continue
            # several chromosomes (a batch of a full scan): one run per chromosome
            cuts = [0, *(np.flatnonzero(c[1:] != c[:-1]) + 1).tolist(), len(c)]
            for a, b, cid in zip(cuts, cuts[1:], c[cuts[:-1]].tolist()):
                yield zip(repeat(names[cid], b - a), starts[a:b], ends[a:b], texts[a:b])

    # -- extra indices ---------------------------------------------------------------------------
    def find(self, field: str, value: str) -> Iterator[Record]:
        """Records whose ``field`` equals ``value``, through the field's extraIndex."""
        try:
            column = self.autosql.index_of(field)
        except KeyError:
            raise MissingIndexError(f"no field {field!r} in this bigBed") from None
        for index in self.extra_indices:
            if index.field_id == column:
                break
        else:
            raise MissingIndexError(f"field {field!r} has no extraIndex in this bigBed")
        tree = BPlusTree(self._fetch, index.fileOffset, self.byteorder, self.file_size)
        if tree.val_size != 16:
            raise FormatError(f"extra index value size {tree.val_size}, expected 16",
                              index.fileOffset)
        hits = tree.find(value.encode())
        if not len(hits):
            return
        # a block is listed once per matching record: each block once, in file order
        ranges = sorted(set(zip(hits["offset"].tolist(), hits["size"].tolist())))
        for off, size in ranges:
            if off + size > self.file_size:
                raise TruncatedFileError("extra index points past the end of the file", off)
        names = self.chrom_names
        col = column - 3
        for block in self._load_blocks(ranges):
            texts = block.texts()
            for i, text in enumerate(texts):
                if column == 0:
                    ok = names[block.chrom[i]] == value
                else:
                    parts = text.split("\t")
                    ok = col < len(parts) and parts[col] == value
                if ok:
                    yield (names[int(block.chrom[i])], int(block.start[i]), int(block.end[i]),
                           text or None)

    # -- zoom levels -----------------------------------------------------------------------------
    def zoom_tree(self, level: ZoomLevel) -> RTree:
        tree = self._zoom_trees.get(level.indexOffset)
        if tree is None:
            tree = RTree(self._fetch, level.indexOffset, self.byteorder, self.file_size)
            self._zoom_trees[level.indexOffset] = tree
        return tree

    def zoom_records(self, level: ZoomLevel, cid: int, start: int, end: int) -> np.ndarray:
        """Zoom summary records (numpy structured array) overlapping ``cid:start-end``."""
        items = self.zoom_tree(level).blocks(cid, start, end)
        dtype = self._lay.zoom_record_dtype
        if not len(items):
            return np.zeros(0, dtype)
        ranges = list(dict.fromkeys(zip(items["offset"].tolist(), items["size"].tolist())))
        parts = []
        for (off, _size), raw in zip(ranges, self.source.read_many(ranges)):
            data = decompress(raw, self._inflate_limit, off) if self.header.compressed else raw
            n = len(data) // dtype.itemsize
            parts.append(np.frombuffer(data, dtype, n))
        recs = np.concatenate(parts)
        keep = (recs["chrom"] == cid) & (recs["start"] < end) & (recs["end"] > start)
        return recs[keep]

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        src = getattr(self, "source", None)
        self._closed = True
        hooks, self.on_close = getattr(self, "on_close", []), []
        for hook in hooks:
            hook()
        if src is not None and self._owns_source:
            src.close()
