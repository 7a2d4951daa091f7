"""The bigWig reader's fast paths and the writer's chunked zoom levels, against pyBigWig and
against the unchunked computation: the bedGraph window path, sub-windows of long queries, the
LRU of inflated blocks (equal answers after eviction, a repeated window reads nothing), and
zoom levels computed a chunk of items / summaries at a time (byte-identical levels)."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest

from helpers.bigwig import windows
from bioformats_ext import bigwig
from bioformats_ext.bbi import wig, wig_write, wig_zoom_stream
from bioformats_ext.io import open_source

pyBigWig = pytest.importorskip("pyBigWig")

SIZES = {"chr1": 200_000, "chr2": 70_001}


def _items(seed: int) -> list[tuple[str, int, int, float]]:
    """Runs and gaps of every kind: contiguous runs, short and long gaps, zero-length items,
    long items spanning many zoom bins, an item ending at the chromosome end."""
    rng = np.random.default_rng(seed)
    items = []
    for chrom, size in SIZES.items():
        pos = int(rng.integers(0, 50))
        while True:
            r = rng.random()
            width = 0 if r < 0.03 else int(rng.integers(2000, 9000)) if r < 0.05 else \
                int(rng.integers(1, 60))
            if pos + width > size:
                break
            items.append((chrom, pos, pos + width, float(np.float32(rng.normal(1, 4)))))
            pos += width
            pos += 0 if rng.random() < 0.6 else int(rng.integers(1, 400))
        if items[-1][2] < size:
            items.append((chrom, items[-1][2], size, 2.5))
    return items


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bwfast") / "fast.bw"
    bigwig.write(_items(3), SIZES, path, items_per_slot=64)
    return path


def test_subwindows_equal_pybigwig(made, monkeypatch):
    """Long queries in sub-windows (here 997 bases, so that items and zero-length items sit
    on sub-window edges) give pyBigWig's values and intervals."""
    monkeypatch.setattr(wig, "SUBWINDOW", 997)
    pb = pyBigWig.open(str(made))
    with bigwig.open(made) as bw:
        for chrom, size in SIZES.items():
            assert np.array_equal(bw.values(chrom), pb.values(chrom, 0, size, numpy=True),
                                  equal_nan=True)
            assert bw.intervals(chrom) == tuple(pb.intervals(chrom))
        for c, a, b in windows(SIZES, 60, 4, 20_000):
            assert np.array_equal(bw.values(c, a, b), pb.values(c, a, b, numpy=True),
                                  equal_nan=True), (c, a, b)
            assert bw.intervals(c, a, b) == tuple(pb.intervals(c, a, b) or ()), (c, a, b)


@pytest.mark.parametrize("cache", [0, 1, 3000])
def test_values_equal_after_cache_eviction(made, cache):
    """No cache, a cache too small for any block, a cache of a few blocks (constant
    eviction): every window, asked twice, equals pyBigWig."""
    pb = pyBigWig.open(str(made))
    wins = windows(SIZES, 150, 5, 5_000)
    with bigwig.open(made, block_cache=cache) as bw:
        for _ in range(2):
            for c, a, b in wins:
                assert np.array_equal(bw.values(c, a, b), pb.values(c, a, b, numpy=True),
                                      equal_nan=True), (c, a, b)
                s, e, v = bw.interval_arrays(c, a, b)
                want = pb.intervals(c, a, b) or ()
                assert list(zip(s.tolist(), e.tolist(), v.astype(float).tolist())) == list(want)
        if cache == 3000:
            assert 0 < bw.reader._inflated.nbytes <= 3000


def test_repeated_window_reads_nothing(made):
    """A window's blocks are kept inflated: asking again (values, intervals, exact stats)
    costs no read; a neighbouring window reads only the blocks it does not share."""
    src = open_source(made)
    with bigwig.open(src) as bw:
        first = bw.values("chr1", 10_000, 30_000)
        before = src.stats.requests
        assert np.array_equal(bw.values("chr1", 10_000, 30_000), first, equal_nan=True)
        bw.intervals("chr1", 10_000, 30_000)
        bw.stats("chr1", 10_000, 30_000, nBins=5, exact=True)
        assert src.stats.requests == before


def _masked(data: bytes) -> tuple[bytes, tuple[float, float]]:
    """The file with the total summary's sumData / sumSquares cut out (chunked sums add in
    another order, so their last bits may differ), and those two values."""
    (off,) = struct.unpack_from("<Q", data, 44)
    sums = struct.unpack_from("<dd", data, off + 24)
    return data[:off + 24] + data[off + 40:], sums


def test_chunked_zoom_levels_are_byte_identical(tmp_path, monkeypatch):
    """Zoom levels computed 41 items / 50 summaries at a time equal the one-chunk result
    byte for byte (chains and summaries crossing chunk edges are carried over whole)."""
    items = _items(7)
    whole = tmp_path / "whole.bw"
    bigwig.write(items, SIZES, whole, items_per_slot=16)
    monkeypatch.setattr(wig_write, "CHUNK_ITEMS", 41)
    monkeypatch.setattr(wig_zoom_stream, "SUMMARY_CHUNK", 50)
    chunked = tmp_path / "chunked.bw"
    bigwig.write(items, SIZES, chunked, items_per_slot=16)
    a, sums_a = _masked(whole.read_bytes())
    b, sums_b = _masked(chunked.read_bytes())
    assert a == b
    assert all(math.isclose(x, y, rel_tol=1e-12) for x, y in zip(sums_a, sums_b))
    with bigwig.open(chunked) as bw:
        assert len(bw.zoom_levels) >= 3


def test_leaf_lists_equal_tree_walks(made):
    """Local files answer regions from each chromosome's leaf items (kept as lists after one
    walk); a plain file object walks the tree per region: both give the same blocks."""
    with bigwig.open(made) as local, open(made, "rb") as handle, bigwig.open(handle) as walked:
        assert local.reader._leaves is not None and walked.reader._leaves is None
        for c, a, b in windows(SIZES, 200, 6, 30_000):
            cid = local.reader.chrom_ids[c]
            assert local.reader._ranges(cid, a, b) == walked.reader.rtree.ranges(cid, a, b)
            assert np.array_equal(local.values(c, a, b), walked.values(c, a, b),
                                  equal_nan=True)
            for level in range(len(local.zoom_levels)):  # zoom trees likewise
                assert local.zoom_records(level, c, a, b).tobytes() == \
                    walked.zoom_records(level, c, a, b).tobytes()
            assert local.stats(c, a, b, nBins=7) == walked.stats(c, a, b, nBins=7)


def test_average_over_bed12_counts_exons_only(made, tmp_path):
    """BED12 lines count only their blocks, as UCSC bigWigAverageOverBed: size, covered bases,
    sum and min/max from pyBigWig's values over the exons; BED6 lines as whole intervals."""
    pb = pyBigWig.open(str(made))
    rng = np.random.default_rng(9)
    lines, expect = [], []
    for i in range(60):
        chrom = ("chr1", "chr2")[i % 2]
        start = int(rng.integers(0, SIZES[chrom] - 30_000))
        if i % 3 == 0:
            end = start + int(rng.integers(1, 5000))
            lines.append(f"{chrom}\t{start}\t{end}\tplain{i}\t0\t+")
            exons = [(start, end)]
        else:
            k = int(rng.integers(1, 6))
            cuts = np.sort(rng.choice(np.arange(1, 30_000), 2 * k - 1, replace=False))
            edges = [0, *cuts.tolist()]
            exons = [(start + edges[2 * j], start + (edges[2 * j + 1] if 2 * j + 1 < len(edges)
                                                     else 30_000)) for j in range(k)]
            end = exons[-1][1]
            sizes = ",".join(str(b - a) for a, b in exons)
            starts = ",".join(str(a - start) for a, _ in exons)
            lines.append(f"{chrom}\t{start}\t{end}\tgene{i}\t0\t+\t{start}\t{end}\t0\t{k}\t"
                         f"{sizes},\t{starts},")
        vals = np.concatenate([pb.values(chrom, a, b, numpy=True) for a, b in exons])
        expect.append((sum(b - a for a, b in exons), vals.astype(np.float64)))
    bed = tmp_path / "genes.bed"
    bed.write_text("\n".join(lines) + "\n")
    with bigwig.open(made) as bw:
        rows = bw.average_over_bed(bed, min_max=True)
    assert len(rows) == len(lines)
    for row, (size, vals) in zip(rows, expect):
        cov = ~np.isnan(vals)
        assert row[1] == size and row[2] == int(cov.sum())
        assert math.isclose(row[3], vals[cov].sum(), rel_tol=1e-9, abs_tol=1e-6)
        if cov.any():
            assert row[6] == vals[cov].min() and row[7] == vals[cov].max()
        else:
            assert math.isnan(row[6]) and math.isnan(row[7])


def test_average_over_bed12_rejects_bad_blocks(made, tmp_path):
    from bioformats_ext.errors import RecordError

    bed = tmp_path / "bad.bed"
    bed.write_text("chr1\t100\t500\tg\t0\t+\t100\t500\t0\t2\t50,60,\t0,\n")
    with bigwig.open(made) as bw, pytest.raises(RecordError, match="line 1"):
        bw.average_over_bed(bed)
    bed.write_text("chr1\t100\t500\tg\t0\t+\t100\t500\t0\t2\t50,60,\t0,200,\n")
    with bigwig.open(made) as bw, pytest.raises(RecordError, match="chromEnd"):
        bw.average_over_bed(bed)


def test_inflater_hint_grows_and_errors_stay_typed():
    """A block larger than the hint is inflated by the bounded path and raises the hint;
    corrupt and oversized blocks give typed errors."""
    import zlib

    from bioformats_ext.bbi.wig_inflate import Inflater
    from bioformats_ext.errors import FormatError

    data = bytes(range(256)) * 40
    inflate = Inflater(100, 1 << 20)
    assert inflate(zlib.compress(data), 0) == data
    assert inflate.hint == len(data)
    assert inflate(zlib.compress(data[:500]), 0) == data[:500]
    with pytest.raises(FormatError):
        inflate(b"not a zlib stream", 7)
    with pytest.raises(FormatError):
        Inflater(100, 1000)(zlib.compress(data), 0)  # beyond the limit
