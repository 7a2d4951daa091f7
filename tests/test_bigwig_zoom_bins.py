"""Zoom-based ``stats`` (the one-bincount window path of bbi/zoom_bins.py and the general rule it
falls back to) against pyBigWig on every zoom level, many bin counts, windows at chromosome
ends and windows without data; exact stats against pyBigWig and pybigtools; the fast path
against the general rule on the same records; big-endian zoom blocks."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.bigwig import REAL_FILES, STATS, pybigtools_file, pybigwig_sections, same, \
    to_big_endian
from bioformats_ext import bigwig
from bioformats_ext.bbi.wig_stats import zoom_stats
from bioformats_ext.bbi.zoom_bins import window_stats
from bioformats_ext.bbi.zoom_records import zoom_records
from bioformats_ext.errors import TruncatedFileError
from bioformats_ext.io.base import LocalFileSource

pyBigWig = pytest.importorskip("pyBigWig")
pybigtools = pytest.importorskip("pybigtools")

BINS = (1, 2, 7, 33, 100, 257)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list:
    root = tmp_path_factory.mktemp("zoombins")
    made = {"pybigwig": root / "pybigwig.bw", "pybigtools": root / "pybigtools.bw",
            "gappy": root / "gappy.bw"}
    pybigwig_sections(made["pybigwig"])
    pybigtools_file(made["pybigtools"])
    # ours: runs with long gaps (windows without data), items up to the chromosome end
    rng = np.random.default_rng(4)
    items = []
    for chrom, size in (("g1", 900_000), ("g2", 300_000)):
        pos = 0
        while pos < size:
            if rng.random() < 0.01:
                pos += int(rng.integers(20_000, 80_000))  # a gap
            width = int(rng.integers(1, 60))
            if pos + width > size:
                break
            items.append((chrom, pos, pos + width, float(np.float32(rng.normal(2, 3)))))
            pos += width + int(rng.integers(0, 30))
        items.append((chrom, size - 7, size, 9.5))
    bigwig.write(items, {"g1": 900_000, "g2": 300_000}, made["gappy"])
    return [*REAL_FILES, *made.values()]


def _windows_for(level_reduction: int, nbins: int, size: int, rng) -> list[tuple[int, int]]:
    """Windows whose bins make libBigWig choose ``level_reduction`` (each bin 2-4 reductions
    wide), at random, at both chromosome ends; clipped to the chromosome."""
    width = nbins * 2 * level_reduction + int(rng.integers(0, 2 * nbins * level_reduction))
    width = max(1, min(width, size))
    out = [(0, width), (size - width, size)]
    for _ in range(6):
        a = int(rng.integers(0, size - width + 1))
        out.append((a, a + width))
    return out


def test_stats_equal_pybigwig_on_every_level_and_bin_count(files):
    rng = np.random.default_rng(12)
    checked = fast = 0
    for path in files:
        pb = pyBigWig.open(str(path))
        with bigwig.open(path) as ob:
            for chrom, size in ob.chroms.items():
                for level in ob.zoom_levels:
                    for nbins in BINS:
                        for a, b in _windows_for(level.reductionLevel, nbins, size, rng):
                            if b - a < nbins:
                                continue
                            for kind in STATS:
                                try:
                                    want = pb.stats(chrom, a, b, type=kind, nBins=nbins)
                                except RuntimeError:  # libBigWig: sqrt of a negative variance
                                    continue
                                have = ob.stats(chrom, a, b, type=kind, nBins=nbins)
                                assert len(have) == len(want)
                                assert all(same(x, y) for x, y in zip(want, have)), \
                                    (path.name, chrom, a, b, nbins, kind)
                                checked += 1
                            level_used = ob._zoom_for(b - a, nbins)
                            if level_used is not None and window_stats(
                                    ob.reader, level_used, ob.reader.chrom_id(chrom), a, b,
                                    nbins, "mean") is not None:
                                fast += 1
    assert checked > 5000
    assert fast > 500  # the window path did most of the work


def test_windows_without_data_and_at_the_ends(files):
    path = files[-1]  # gappy: long gaps, an item ending at each chromosome's end
    pb = pyBigWig.open(str(path))
    with bigwig.open(path) as ob:
        for chrom, size in ob.chroms.items():
            s, e, _ = ob.interval_arrays(chrom)
            gaps = np.flatnonzero(s[1:] - e[:-1] > 20_000)
            assert len(gaps)
            empty = 0
            for g in gaps[:5].tolist():
                third = (int(s[g + 1]) - int(e[g])) // 3
                a, b = int(e[g]) + third, int(s[g + 1]) - third
                for nbins in (1, 3, 10):
                    for kind in STATS:
                        have = ob.stats(chrom, a, b, type=kind, nBins=nbins)
                        want = pb.stats(chrom, a, b, type=kind, nBins=nbins)
                        assert all(same(x, y) for x, y in zip(want, have))
                        empty += all(x is None for x in want)
                        # from the data: no item, NaN (None in the list form), never 0
                        exact = ob.stats(chrom, a, b, type=kind, nBins=nbins, exact=True)
                        assert exact == [None] * nbins
                        assert pb.stats(chrom, a, b, type=kind, nBins=nbins, exact=True) == exact
            assert empty  # some windows reach no zoom record either
            for width in (2_000, 50_000, 300_000):
                for a, b in ((0, width), (size - width, size)):
                    for kind in STATS:
                        try:
                            want = pb.stats(chrom, a, b, type=kind, nBins=50)
                        except RuntimeError:  # libBigWig: sqrt of a negative variance
                            continue
                        have = ob.stats(chrom, a, b, type=kind, nBins=50)
                        assert all(same(x, y) for x, y in zip(want, have)), (a, b, kind)


def test_exact_stats_equal_pybigwig_and_pybigtools(files):
    rng = np.random.default_rng(2)
    for path in files:
        pb = pyBigWig.open(str(path))
        pt = pybigtools.open(str(path))
        with bigwig.open(path) as ob:
            for chrom, size in ob.chroms.items():
                for nbins in (1, 10, 100):
                    width = min(size, int(rng.integers(nbins, 400_000)))
                    if width < nbins:
                        continue
                    for a in (0, size - width, int(rng.integers(0, size - width + 1))):
                        b = a + width
                        have = ob.stats(chrom, a, b, nBins=nbins, exact=True)
                        want = pb.stats(chrom, a, b, nBins=nbins, exact=True)
                        assert all(same(x, y) for x, y in zip(want, have))
                        theirs = pt.values(chrom, a, b, bins=nbins, summary="mean", exact=True,
                                           missing=np.nan)
                        assert all(same(None if np.isnan(x) else float(x), y)
                                   for x, y in zip(theirs, have))


def test_window_path_equals_the_general_rule(files):
    """Same records, both computations: mean, std and coverage from window_stats agree with
    zoom_stats over zoom_records for random windows on every level."""
    rng = np.random.default_rng(6)
    for path in files:
        with bigwig.open(path) as ob:
            reader = ob.reader
            for chrom, size in ob.chroms.items():
                cid = reader.chrom_id(chrom)
                for level in ob.zoom_levels:
                    for nbins in (1, 5, 100):
                        for a, b in _windows_for(level.reductionLevel, nbins, size, rng):
                            if b - a < nbins:
                                continue
                            for kind in ("mean", "std", "coverage"):
                                fast = window_stats(reader, level, cid, a, b, nbins, kind)
                                if fast is None:
                                    continue
                                recs = zoom_records(reader, level, cid, a, b)
                                slow = zoom_stats(recs, a, b, nbins, kind)
                                assert all(same(x, y) for x, y in zip(slow.tolist(),
                                                                      fast.tolist()))


def test_big_endian_zoom_stats(tmp_path):
    rng = np.random.default_rng(1)
    items = [("c", i * 10, i * 10 + int(rng.integers(1, 10)), float(rng.normal()))
             for i in range(30_000)]
    path = tmp_path / "z.bw"
    bigwig.write(items, {"c": 400_000}, path, compress=False)
    be = tmp_path / "zbe.bw"
    be.write_bytes(to_big_endian(path.read_bytes()))
    pb = pyBigWig.open(str(path))
    with bigwig.open(path) as little, bigwig.open(be) as big:
        assert big.header.byteorder == ">"
        for nbins in (1, 10, 100):
            for width in (5_000, 60_000, 400_000):
                for a in (0, 400_000 - width, 123_456 % (400_001 - width)):
                    for kind in STATS:
                        want = pb.stats("c", a, a + width, type=kind, nBins=nbins)
                        for ob in (little, big):
                            have = ob.stats("c", a, a + width, type=kind, nBins=nbins)
                            assert all(same(x, y) for x, y in zip(want, have))


def test_read_into_is_a_checked_positional_read(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(bytes(range(256)) * 4)
    src = LocalFileSource(path)
    buf = memoryview(bytearray(10))
    src.read_into(100, buf)
    assert bytes(buf) == bytes(range(100, 110))
    assert src.stats.requests == 1 and src.stats.bytes_fetched == 10
    with pytest.raises(TruncatedFileError):
        src.read_into(1020, buf)
    src.close()
    with pytest.raises(ValueError):  # closed: the read fails, never reads another file's fd
        src.read_into(0, buf)


def test_stats_many_equals_stats_window_by_window(files):
    from bioformats_ext.errors import RegionError, UnknownReferenceError

    rng = np.random.default_rng(8)
    for path in files:
        with bigwig.open(path) as ob:
            names = list(ob.chroms)
            chroms, starts, ends = [], [], []
            for i in range(120):
                c = names[int(rng.integers(len(names)))]
                size = ob.chroms[c]
                width = min(size, (1_000, 20_000, 100_000, 333_333)[i % 4])
                a = int(rng.integers(0, size - width + 1)) if i % 5 else \
                    (0 if i % 2 else size - width)  # some windows at the chromosome ends
                chroms.append(c)
                starts.append(a)
                ends.append(a + width)
            for kind in STATS:
                for nbins in (1, 10, 100):
                    for exact in (False, True):
                        got = ob.stats_many(chroms, starts, ends, type=kind, nBins=nbins,
                                            exact=exact)
                        assert got.shape == (len(starts), nbins)
                        for row, c, a, b in zip(got, chroms, starts, ends):
                            want = ob.stats(c, a, b, type=kind, nBins=nbins, exact=exact)
                            assert all(same(x, None if np.isnan(y) else y)
                                       for x, y in zip(want, row.tolist())), (c, a, b, kind)
            c = max(names, key=ob.chroms.get)
            size = ob.chroms[c]
            one = ob.stats_many(c, [0, size // 2], [size // 2, size], nBins=2)
            assert one.shape == (2, 2)
            assert np.array_equal(one[1], ob.stats(c, size // 2, size, nBins=2, numpy=True),
                                  equal_nan=True)
            with pytest.raises(RegionError, match="window 2"):
                ob.stats_many(c, [0, 2], [size, 1])
            with pytest.raises(UnknownReferenceError):
                ob.stats_many(["nope"], [0], [10])
            with pytest.raises(ValueError):
                ob.stats_many([c, c], [0], [10])
