"""Recycled memory for cached decoded blocks (bbi/slabs.py): arrays are carved from slabs,
slabs go back to the pool only when nothing outside the reader points into them, and a
closed bigWig gives its slabs back so the next reader reuses them."""

import numpy as np
import pytest

from bioformats_ext import bigwig
from bioformats_ext.bbi import slabs
from bioformats_ext.bbi.slabs import SLAB_BYTES, SlabArena


@pytest.fixture(autouse=True)
def empty_pool(monkeypatch):
    monkeypatch.setattr(slabs, "_pool", [])


def test_arrays_come_from_one_slab_and_do_not_overlap():
    arena = SlabArena(64 << 20)
    a = arena.empty((5, 1000), np.uint32)
    b = arena.empty((3, 7), np.float64)
    a[...] = 7
    b[...] = 1.5
    assert a.base is b.base  # the same slab
    assert (a == 7).all() and (b == 1.5).all()
    assert b.ctypes.data % 64 == 0  # aligned


def test_large_arrays_and_the_limit_fall_back_to_plain_memory():
    arena = SlabArena(SLAB_BYTES)  # one slab at most
    big = arena.empty((SLAB_BYTES // 4,), np.uint8)  # above an eighth of a slab
    assert big.base is None
    first = arena.empty((SLAB_BYTES // 16,), np.uint8)
    for _ in range(20):  # fills the one slab, then plain arrays
        last = arena.empty((SLAB_BYTES // 16,), np.uint8)
    assert first.base is not None and first.base.nbytes == SLAB_BYTES + 64
    assert last.base is None or last.base is not first.base


def test_release_recycles_only_unreferenced_slabs():
    arena = SlabArena(64 << 20)
    kept = arena.empty((100,), np.uint32)  # still referenced after release
    arena.release()
    assert slabs._pool == []
    kept = None  # noqa: F841
    arena = SlabArena(64 << 20)
    x = arena.empty((100,), np.uint32)
    slab = id(x.base)
    x = None
    arena.release()
    assert len(slabs._pool) == 1 and id(slabs._pool[0]) == slab
    reused = SlabArena(64 << 20).empty((10,), np.uint8)
    assert id(reused.base) == slab and slabs._pool == []


def test_views_of_views_keep_their_slab_out_of_the_pool():
    arena = SlabArena(64 << 20)
    cols = arena.empty((5, 100), np.uint32)  # as a cached zoom block's columns
    row = cols[1][10:20]  # what a query may hand out from them
    buffer = memoryview(row)
    del cols, row
    arena.release()
    assert slabs._pool == []
    del buffer
    arena = SlabArena(64 << 20)
    arena.empty((5, 100), np.uint32)
    arena.release()
    assert len(slabs._pool) == 1


def test_a_closed_bigwig_gives_its_slabs_back(tmp_path):
    sizes = {"chr1": 2_000_000}
    n = 200_000
    starts = np.arange(n) * 10
    items = [("chr1", int(s), int(s) + 10, float(i % 17)) for i, s in enumerate(starts)]
    path = tmp_path / "a.bw"
    bigwig.write(items, sizes, path)
    with bigwig.open(path) as bw:
        want_stats = bw.stats("chr1", 0, 2_000_000, nBins=50, numpy=True)
        want_values = bw.values("chr1", 500_000, 600_000)
    assert slabs._pool  # the zoom columns were in slabs, now back in the pool
    pooled = list(slabs._pool)
    with bigwig.open(path) as bw:  # the next reader takes the same slabs: same numbers
        assert np.array_equal(bw.stats("chr1", 0, 2_000_000, nBins=50, numpy=True),
                              want_stats, equal_nan=True)
        assert np.array_equal(bw.values("chr1", 500_000, 600_000), want_values,
                              equal_nan=True)
        assert any(p not in slabs._pool for p in pooled)


def test_clear_pool_frees_what_closed_readers_left():
    arena = SlabArena(64 << 20)
    arena.empty((10,), np.uint8)
    arena.release()
    assert len(slabs._pool) == 1
    assert slabs.clear_pool() == SLAB_BYTES + 64
    assert slabs._pool == [] and slabs.clear_pool() == 0
