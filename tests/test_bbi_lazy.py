"""Laziness: what opening and querying a bigBed actually read.

The file is written by Biopython's own writer with small R-tree nodes (16 children) and 16 items
per block (smaller settings, or trees of more than two levels, trip a Biopython writer bug): a
root over 16 leaf nodes over 250 blocks, so a query that scanned siblings or the whole index
would show.
"""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest
from Bio.Align import bigbed as bio_bigbed

from bioformats_ext import bigbed
from bioformats_ext.align.bigbed import AlignmentIterator
from bioformats_ext.bbi.format import RTREE_HEADER_SIZE
from bioformats_ext.io.source import BytesSource, LocalFileSource
from helpers.bigbed import biopython_bigbed
from helpers.text import random_intervals

SIZES = {"chr1": 5_000_000, "chr2": 3_000_000}


class CountingSource(BytesSource):
    """Counts round trips: each ``read``/``read_upto`` or ``read_many`` call is one."""

    def __init__(self, data: bytes):
        super().__init__(data, "counting")
        self.calls = 0
        self.ranges: list[tuple[int, int]] = []
        self._inside = False

    def read(self, offset, length):
        if not self._inside:
            self.calls += 1
            self.ranges.append((offset, length))
        return super().read(offset, length)

    def read_many(self, ranges):
        self.calls += 1
        self.ranges.extend(ranges)
        self._inside = True
        try:
            return super().read_many(ranges)
        finally:
            self._inside = False

    def reset(self):
        self.calls = 0
        self.ranges = []


@pytest.fixture(scope="module")
def deep_file(tmp_path_factory):
    rng = random.Random(7)
    items = random_intervals(rng, [(c, n, 2000) for c, n in SIZES.items()],
                             lambda rng: rng.randrange(0, 3000), margin=5000)
    lines = [f"{c}\t{s}\t{e}\titem{c}_{i}\t{rng.randrange(1000)}\t{'+-'[i % 2]}\n"
             for c, s, e, i in items]
    path = tmp_path_factory.mktemp("lazy") / "deep.bb"
    biopython_bigbed(path, "".join(lines), SIZES, itemsPerSlot=16, blockSize=16)
    return path


def _depth(reader):
    """Levels of the R-tree, read from the file bytes along the leftmost path (an independent
    walk: node header ``isLeaf u8, reserved u8, count u16``, then 24-byte non-leaf items whose
    last 8 bytes are the child offset)."""
    bo = reader.byteorder
    off = reader.rtree.offset + RTREE_HEADER_SIZE
    depth = 1
    while True:
        is_leaf, _reserved, _count = struct.unpack(bo + "BBH", reader.source.read(off, 4))
        if is_leaf:
            return depth
        (off,) = struct.unpack(bo + "Q", reader.source.read(off + 4 + 16, 8))
        depth += 1


def test_open_reads_only_the_head(deep_file):
    data = deep_file.read_bytes()
    src = CountingSource(data)
    bb = bigbed.open(src)
    assert src.calls <= 2
    assert sum(n for _, n in src.ranges) <= 65536 + 4096
    assert len(data) > 65536 + 4096 + 30000  # so reading "everything" would be visible
    assert len(bb) == 4000 and bb.chroms == SIZES
    # a real file: the same budget in the source's own statistics
    local = LocalFileSource(deep_file)
    bigbed.open(local)
    assert local.stats.requests <= 2


def test_query_costs_depth_plus_blocks(deep_file):
    data = deep_file.read_bytes()
    src = CountingSource(data)
    bb = bigbed.open(src)
    reader = bb.reader
    everything = list(bb.records())
    all_leaves = reader.rtree.blocks(None)
    depth = _depth(reader)
    assert depth >= 2
    rng = random.Random(3)
    for _ in range(20):
        bb = bigbed.open(CountingSource(data))
        src = bb.reader.source
        chrom = rng.choice(list(SIZES))
        start = rng.randrange(SIZES[chrom] - 20_000)
        end = start + rng.choice([1, 1000, 20_000])
        src.reset()
        got = list(bb.records(chrom, start, end))
        # header+root in one call, one call per further level, one for the data blocks
        assert src.calls <= depth + 1, (src.calls, depth)
        cid = list(SIZES).index(chrom)
        lo, hi = (cid << 32) + start - 1, (cid << 32) + end + 1
        s = (all_leaves["start_chrom"].astype(np.int64) << 32) | all_leaves["start_base"]
        e = (all_leaves["end_chrom"].astype(np.int64) << 32) | all_leaves["end_base"]
        overlapping = set(all_leaves["offset"][(e >= lo) & (s <= hi)].tolist())
        fetched = {off for off, _ in src.ranges}
        assert overlapping <= fetched
        data_blocks = fetched & set(all_leaves["offset"].tolist())
        assert data_blocks == overlapping  # never a block that cannot overlap
        # nodes read: only overlapping ones, a handful per level, not the following siblings
        assert len(fetched - data_blocks) <= 1 + 3 * depth
        assert got == [r for r in everything if r[0] == chrom and
                       ((r[1] < end and r[2] > start) or (r[1] == r[2] and
                                                          (r[1] == end or r[2] == start)))]
        # a repeated query is served from the node and block caches
        src.reset()
        assert list(bb.records(chrom, start, end)) == got
        assert src.calls == 0


def test_alignment_search_is_lazy_too(deep_file):
    src = CountingSource(deep_file.read_bytes())
    alignments = AlignmentIterator(src)
    assert src.calls <= 2
    src.reset()
    found = list(alignments.search("chr2", 1_000_000, 1_001_000))
    assert src.calls <= _depth(alignments.reader) + 1
    assert sum(n for _, n in src.ranges) < src.size // 8
    expected = [a for a in bio_bigbed.AlignmentIterator(str(deep_file)).search(
        "chr2", 1_000_000, 1_001_000)]
    assert [a.query.id for a in found] == [a.query.id for a in expected]


def test_full_scan_reads_each_block_once(deep_file):
    src = CountingSource(deep_file.read_bytes())
    bb = bigbed.open(src)
    src.reset()
    assert len(list(bb.records())) == 4000
    offsets = [off for off, _ in src.ranges]
    assert len(offsets) == len(set(offsets))
    assert src.calls <= 2 * _depth(bb.reader) + 2  # one batched call per level + data batches
