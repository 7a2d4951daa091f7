"""bigWig reading against pyBigWig and pybigtools (independent C and Rust readers).

Files: UCSC-made bigWigs from public test suites (tests/data/bigwig, see PROVENANCE.md), files
written by pyBigWig (all three section types) and pybigtools, an uncompressed file without zoom
levels, and a big-endian re-encoding. Every chromosome and 1,000 random windows per file:
values, intervals, exact statistics; zoom-based statistics on the same windows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers.bigwig import (REAL_FILES, STATS, pybigtools_file, pybigwig_sections, same,
                             to_big_endian, windows)
from bioformats_ext import bigwig
from bioformats_ext.bbi.wig import BEDGRAPH, FIXEDSTEP, VARSTEP
from bioformats_ext.errors import FormatError, RegionError, UnknownReferenceError

pyBigWig = pytest.importorskip("pyBigWig")
pybigtools = pytest.importorskip("pybigtools")


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bigwig")
    files = {"pybigwig": root / "pybigwig.bw", "pybigtools": root / "pybigtools.bw"}
    pybigwig_sections(files["pybigwig"])
    pybigtools_file(files["pybigtools"])
    items = [("chrA", i * 13, i * 13 + 1 + i % 9, float(i % 17) - 3.5) for i in range(4000)]
    items += [("chrB", i * 50, i * 50 + 50, 0.25 * i) for i in range(300)]
    files["flat"] = root / "flat.bw"
    bigwig.write(items, {"chrA": 60_000, "chrB": 20_000}, files["flat"], zoom_levels=0,
                 compress=False)
    return files


def _all_files(made):
    return [*REAL_FILES, *made.values()]


def _check_file(path: Path, nwin: int, seed: int, zoom_every: int = 5) -> None:
    pb = pyBigWig.open(str(path))
    pt = pybigtools.open(str(path))
    with bigwig.open(path) as ob:
        assert ob.chroms == pb.chroms()
        assert ob.summary()["covered"] == pb.header()["nBasesCovered"]
        # every chromosome, whole (intervals), and values where it is small enough
        for chrom, size in ob.chroms.items():
            expected = pb.intervals(chrom) or ()
            assert ob.intervals(chrom) == tuple(expected)
            if size <= 2_000_000:
                assert np.array_equal(ob.values(chrom), pb.values(chrom, 0, size, numpy=True),
                                      equal_nan=True)
        for k, (c, a, b) in enumerate(windows(ob.chroms, nwin, seed, 2_000)):
            got = ob.values(c, a, b)
            assert got.dtype == np.float32
            assert np.array_equal(got, pb.values(c, a, b, numpy=True), equal_nan=True), (c, a, b)
            assert np.array_equal(got, pt.values(c, a, b, fillna=None).astype(np.float32), equal_nan=True)
            ours = ob.intervals(c, a, b)
            assert ours == tuple(pb.intervals(c, a, b) or ()), (c, a, b)
            if k % 4 == 0:  # pybigtools clips intervals to the window
                s, e, v = ob.interval_arrays(c, a, b)
                theirs = np.array(list(pt.records(c, a, b)), dtype=float).reshape(-1, 3)
                assert np.array_equal(theirs[:, 0], s.clip(a, b))
                assert np.array_equal(theirs[:, 1], e.clip(a, b))
                assert np.array_equal(theirs[:, 2], v)
            kind = STATS[k % len(STATS)]
            bins = 1 if k % 2 else min(7, b - a)
            for exact in ([True, False] if k % zoom_every == 0 else [True]):
                want = pb.stats(c, a, b, type=kind, nBins=bins, exact=exact)
                have = ob.stats(c, a, b, type=kind, nBins=bins, exact=exact)
                assert all(same(x, y) for x, y in zip(want, have)), (c, a, b, kind, bins, exact)


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_ucsc_made_files_agree_with_pybigwig_and_pybigtools(path):
    _check_file(path, 1000, seed=1)


@pytest.mark.parametrize("name", ["pybigwig", "pybigtools", "flat"])
def test_files_written_by_the_peers_agree(made, name):
    _check_file(made[name], 1000, seed=2)


def test_pybigwig_file_has_all_three_section_types(made):
    with bigwig.open(made["pybigwig"]) as bw:
        kinds = {sec.kind for sec in bw.reader.all_sections()}
    assert kinds == {BEDGRAPH, VARSTEP, FIXEDSTEP}


def test_zoom_stats_equal_pybigwig_on_every_level(made):
    for path in [*REAL_FILES, made["pybigwig"], made["pybigtools"]]:
        pb = pyBigWig.open(str(path))
        with bigwig.open(path) as ob:
            assert ob.zoom_levels
            for chrom, size in ob.chroms.items():
                for level in ob.zoom_levels:
                    bins = max(1, size // (2 * level.reductionLevel + 3))
                    bins = min(bins, 500)
                    for kind in STATS:
                        try:
                            want = pb.stats(chrom, 0, size, type=kind, nBins=bins)
                        except RuntimeError:  # libBigWig fails on sqrt of a negative variance
                            continue
                        have = ob.stats(chrom, 0, size, type=kind, nBins=bins)
                        assert all(same(x, y) for x, y in zip(want, have)), (path, level, kind)


def test_big_endian_and_uncompressed(made, tmp_path):
    data = made["flat"].read_bytes()
    be = tmp_path / "be.bw"
    be.write_bytes(to_big_endian(data))
    pb = pyBigWig.open(str(made["flat"]))
    with bigwig.open(be) as bw:
        assert bw.header.byteorder == ">" and not bw.header.compressed
        assert bw.zoom_levels == []
        for chrom, size in bw.chroms.items():
            assert np.array_equal(bw.values(chrom), pb.values(chrom, 0, size, numpy=True),
                                  equal_nan=True)
            for kind in STATS:
                assert all(same(x, y) for x, y in zip(bw.stats(chrom, type=kind, nBins=9),
                                                      pb.stats(chrom, type=kind, nBins=9)))


def test_big_endian_zoom_records(tmp_path):
    items = [("c", i * 10, i * 10 + 5, float(i)) for i in range(3000)]
    path = tmp_path / "z.bw"
    bigwig.write(items, {"c": 40_000}, path, compress=False)
    be = tmp_path / "zbe.bw"
    be.write_bytes(to_big_endian(path.read_bytes()))
    with bigwig.open(path) as little, bigwig.open(be) as big:
        assert big.zoom_levels == little.zoom_levels
        for i in range(len(little.zoom_levels)):
            a = little.zoom_records(i, "c", 0, 40_000)
            b = big.zoom_records(i, "c", 0, 40_000)
            assert a.tolist() == b.tolist()


def test_arrays_regions_and_frames():
    path = REAL_FILES[0]
    with bigwig.open(path) as bw:
        chrom, size = next(iter(bw.chroms.items()))
        s, e, v = bw.interval_arrays(chrom, 0, size)
        assert list(zip(s.tolist(), e.tolist(), v.astype(float).tolist())) == \
            list(bw.intervals(chrom))
        a, b = size // 4, min(size, size // 4 + 50_000)
        region = f"{chrom}:{a + 1}-{b}"
        assert np.array_equal(bw.values(region=region), bw.values(chrom, a, b), equal_nan=True)
        assert bw.intervals(region=region) == bw.intervals(chrom, a, b)
        assert bw.stats(region=region, type="max") == bw.stats(chrom, a, b, type="max")
        frame = bw.to_pandas()
        assert len(frame) == sum(len(bw.intervals(c)) for c in bw.chroms)
        table = bw.to_arrow(chrom, a, b)
        assert table.column("start").to_pylist() == [x[0] for x in bw.intervals(chrom, a, b)]
        with pytest.raises(RegionError):
            bw.values(chrom, 10, 5)
        with pytest.raises(RegionError):
            bw.values(chrom, 0, size + 1)
        with pytest.raises(UnknownReferenceError):
            bw.values("nope", 0, 10)
        with pytest.raises(ValueError):
            bw.stats(chrom, type="median")
        assert isinstance(bw.stats(chrom, numpy=True), np.ndarray)


def test_bigbed_is_not_a_bigwig():
    from bioformats_ext import bigbed

    bb = Path(__file__).parent / "data" / "ucsc-bigbed" / "bigbedtest.bb"
    with pytest.raises(FormatError, match="not a bigWig"):
        bigwig.open(bb)
    with pytest.raises(FormatError, match="not a bigBed"):
        bigbed.open(REAL_FILES[0])


def test_bigbed_zoom_records_public():
    """bigBed zoom records, checked against a direct parse of the zoom level's blocks."""
    import struct
    import zlib

    from bioformats_ext import bigbed

    bb_path = Path(__file__).parent / "data" / "ucsc-bigbed" / "bigbedtest.bb"
    data = bb_path.read_bytes()
    with bigbed.open(bb_path) as bb:
        level = bb.zoom_levels[0]
        chrom = next(iter(bb.chroms))
        got = bb.zoom_records(0, chrom)
        # independent: first record of level 0 follows the 4-byte count at dataOffset
        (count,) = struct.unpack_from("<I", data, level.dataOffset)
        raw = zlib.decompressobj().decompress(data[level.dataOffset + 4:])
        first = struct.unpack_from("<IIIIffff", raw, 0)
        assert count >= len(got) > 0
        assert tuple(got[0].tolist())[:4] == first[:4]
        with pytest.raises(ValueError):
            bb.zoom_records(len(bb.zoom_levels), chrom)
