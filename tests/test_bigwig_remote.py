"""bigWig over HTTP (loopback range server): equal to local reads, within the request budget
(open <= 2 requests, a cold region <= R-tree depth + 1, a repeated region 0)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from helpers.bigwig import REAL_FILES, windows
from bioformats_ext import bigwig
from bioformats_ext.io import open_source
from loopback import RangeServer


@pytest.fixture(scope="module")
def server():
    with RangeServer() as srv:
        yield srv


def rtree_depth(data: bytes, index_offset: int) -> int:
    """Levels of the R-tree at ``index_offset``, following first children (little endian)."""
    node, levels = index_offset + 48, 1
    while True:
        is_leaf, _, n = struct.unpack_from("<BBH", data, node)
        assert n > 0
        if is_leaf:
            return levels
        node = struct.unpack_from("<Q", data, node + 4 + 16)[0]
        levels += 1


@pytest.fixture(scope="module")
def deep(tmp_path_factory) -> Path:
    rng = np.random.default_rng(2)
    sizes = {"chr1": 3_000_000, "chr2": 2_000_000}
    items = []
    for chrom, size in sizes.items():
        starts = np.sort(rng.choice(size // 40, 20_000, replace=False)) * 40
        for s in starts.tolist():
            items.append((chrom, s, s + int(rng.integers(1, 40)), float(rng.normal())))
    path = tmp_path_factory.mktemp("bwremote") / "deep.bw"
    bigwig.write(items, sizes, path, block_size=4, items_per_slot=16)
    return path


def test_deep_bigwig_budgets(server, deep):
    data = deep.read_bytes()
    (index_offset,) = struct.unpack_from("<Q", data, 24)
    depth = rtree_depth(data, index_offset)
    assert depth >= 4
    server.files["deep.bw"] = data
    url = server.url("deep.bw")
    with bigwig.open(deep) as local:
        regions = windows(local.chroms, 12, 3, 200_000)
        expected = [local.values(*r) for r in regions]
        stats = [local.stats(*r, type="max", nBins=10) for r in regions]
    worst = 0
    for region, want, want_stats in zip(regions, expected, stats):
        source = open_source(url, block_size=512, merge_gap=0, max_readahead=0)
        with bigwig.open(source) as remote:
            assert source.stats.requests <= 2
            opened = source.stats.requests
            assert np.array_equal(remote.values(*region), want, equal_nan=True)
            worst = max(worst, source.stats.requests - opened)
            total = source.stats.requests
            assert np.array_equal(remote.values(*region), want, equal_nan=True)
            assert remote.intervals(*region) == bigwig.open(deep).intervals(*region)
            assert source.stats.requests == total  # repeated: free
            assert remote.stats(*region, type="max", nBins=10) == want_stats
    assert worst <= depth + 1, f"{worst} requests for a {depth}-level R-tree"


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_ucsc_bigwigs_over_http(server, path):
    server.files[path.name] = path.read_bytes()
    url = server.url(path.name)
    with bigwig.open(path) as local, bigwig.open(url) as remote:
        assert remote.source.stats.requests <= 2
        assert remote.chroms == local.chroms
        assert remote.summary() == local.summary()
        for region in windows(local.chroms, 20, 5, 20_000):
            assert np.array_equal(remote.values(*region), local.values(*region), equal_nan=True)
            assert remote.stats(*region, nBins=3) == local.stats(*region, nBins=3)


def test_stats_many_over_http_reads_blocks_in_runs(server, deep):
    """stats_many over HTTP equals the local answer, and reads each chunk's zoom blocks in
    runs of back-to-back blocks: fewer requests than windows (window by window, each cold
    window costs at least one)."""
    server.files["deep.bw"] = deep.read_bytes()
    rng = np.random.default_rng(8)
    with bigwig.open(deep) as local:
        chroms = sorted(local.chroms)
        names, starts, ends = [], [], []
        for _ in range(64):
            c = chroms[int(rng.integers(len(chroms)))]
            a = int(rng.integers(0, local.chroms[c] - 50_000))
            names.append(c)
            starts.append(a)
            ends.append(a + 50_000)
        want = local.stats_many(names, starts, ends, nBins=10)
        level = local._zoom_for(50_000, 10)
        assert level is not None
        blocks = {r for c, a, b in zip(names, starts, ends)
                  for r in local.reader.zoom_tree(level).ranges(local.reader.chrom_id(c), a, b)}
    source = open_source(server.url("deep.bw"), block_size=512, merge_gap=0, max_readahead=0)
    with bigwig.open(source) as remote:
        got = remote.stats_many(names, starts, ends, nBins=10)
        requests = source.stats.requests
    assert np.array_equal(got, want, equal_nan=True)
    assert len(blocks) > 20
    assert requests < len(names) / 2, (requests, len(names), len(blocks))
