"""Region queries of a bigBed stream their blocks in bounded windows (issue 17).

Checked through the source's byte / request counters (not time): taking a few records of a big
chromosome reads about one small window, a whole-chromosome query reads the data once, window by
window, and the records equal pyBigWig's (libBigWig) for the same file.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bioformats_ext import bigbed
from bioformats_ext.bbi import reader as bbi_reader
from bioformats_ext.bbi.write import write

N = 40_000


@pytest.fixture(scope="module")
def big_bb(tmp_path_factory):
    rng = np.random.default_rng(17)
    starts = np.sort(rng.integers(0, 50_000_000, N))
    recs = [("chr1", int(s), int(s) + 1 + i % 300, f"r{i}\t{i % 1000}\t{'+-'[i % 2]}")
            for i, s in enumerate(starts.tolist())]
    recs += [("chr2", 10 * i, 10 * i + 5, f"s{i}\t0\t+") for i in range(100)]
    path = tmp_path_factory.mktemp("stream") / "big.bb"
    write(recs, {"chr1": 50_001_000, "chr2": 10_000}, str(path), bed_type="bed6")
    return path


@pytest.fixture
def small_windows(monkeypatch):
    monkeypatch.setattr(bbi_reader, "FIRST_WINDOW", 4096)
    monkeypatch.setattr(bbi_reader, "WINDOW_BYTES", 32768)


def _data_bytes(f) -> int:
    items = f._reader.rtree.blocks(None)
    return int(items["size"].sum())


def test_first_records_read_about_one_window(big_bb, small_windows):
    with bigbed.open(str(big_bb)) as f:
        data = _data_bytes(f)
        assert data > 8 * bbi_reader.WINDOW_BYTES  # the chromosome spans many windows
        stats = f.source.stats
        before = stats.bytes_fetched
        first = list(itertools.islice(f.records("chr1"), 10))
        taken = stats.bytes_fetched - before
        assert len(first) == 10 and first[0][0] == "chr1"
        # index nodes plus one first window (not the chromosome's blocks)
        assert taken < bbi_reader.FIRST_WINDOW + 16384 + 8192, (taken, data)
        rest = sum(1 for _ in f.records("chr1"))
        assert rest == N
        assert stats.bytes_fetched - before >= data - 2 * 4096  # the full query did read it all


def test_windowed_query_equals_libbigwig(big_bb, small_windows):
    pyBigWig = pytest.importorskip("pyBigWig")
    ref = pyBigWig.open(str(big_bb))
    with bigbed.open(str(big_bb), block_cache=0) as f:
        for chrom, start, end in [("chr1", 0, 50_001_000), ("chr1", 12_345_678, 31_000_000),
                                  ("chr2", 0, 10_000), ("chr1", 49_999_000, 50_001_000)]:
            before = f.source.stats.requests
            ours = [(s, e, t) for _, s, e, t in f.records(chrom, start, end)]
            theirs = [tuple(x) for x in (ref.entries(chrom, start, end) or [])]
            assert ours == theirs, (chrom, start, end)
            if chrom == "chr1" and end - start > 10_000_000:
                assert f.source.stats.requests - before > 3  # really read in several windows
    ref.close()


def test_window_reads_are_bounded(big_bb, small_windows):
    reads: list[int] = []
    with bigbed.open(str(big_bb), block_cache=0) as f:
        src = f.source
        original = src.read_many

        def spy(ranges):
            reads.append(sum(n for _, n in ranges))
            return original(ranges)

        src.read_many = spy  # type: ignore[method-assign]
        assert sum(1 for _ in f.records("chr1")) == N
    # the largest single data read is one window (plus at most one block over it)
    assert max(reads) <= 32768 + 16384


def test_long_query_does_not_fill_the_block_cache(big_bb, small_windows, monkeypatch):
    monkeypatch.setattr(bbi_reader, "CACHED_QUERY_BYTES", 8192)
    with bigbed.open(str(big_bb)) as f:
        assert sum(1 for _ in f.records("chr1")) == N
        cached = len(f._reader._blocks)
        assert 0 < cached < 10  # the query's first ~8 KiB of blocks, not the chromosome's
        before = f.source.stats.requests
        assert len(list(itertools.islice(f.records("chr1"), 5))) == 5
        assert f.source.stats.requests - before <= 1  # the start of the region is still cached
