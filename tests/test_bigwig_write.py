"""bigWig writing: pyBigWig and pybigtools read our files exactly; zoom levels and the total
summary equal an independent, record-by-record implementation of bedGraphToBigWig's rules;
bad input gives typed errors naming the record and leaves no file."""

from __future__ import annotations

import io
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from helpers.bigwig import STATS, same, windows
from bioformats_ext import bigwig
from bioformats_ext.bbi.wig import BEDGRAPH, FIXEDSTEP
from bioformats_ext.errors import RecordError, SortOrderError, UnknownReferenceError

pyBigWig = pytest.importorskip("pyBigWig")
pybigtools = pytest.importorskip("pybigtools")

SIZES = {"chr1": 300_000, "chr2": 120_000, "chrX": 50_003}


def random_items(seed: int, density: float = 1.0) -> list[tuple[str, int, int, float]]:
    rng = np.random.default_rng(seed)
    items = []
    for chrom, size in SIZES.items():
        pos = 0
        while True:
            pos += int(rng.integers(0, int(200 / density)) if rng.random() < 0.5 else 0)
            width = int(rng.integers(0, 120)) if rng.random() < 0.98 else 0
            if pos + width > size:
                break
            items.append((chrom, pos, pos + width, float(np.float32(rng.normal(2, 3)))))
            pos += width
    # an item touching the end of a chromosome (a summary clipped there)
    last = items[-1]
    if last[2] < SIZES["chrX"]:
        items.append(("chrX", last[2], SIZES["chrX"], 1.5))
    return items


def _bedgraph(items, path: Path) -> None:
    with open(path, "w") as handle:
        handle.write("track type=bedGraph\n")
        for c, s, e, v in items:
            handle.write(f"{c}\t{s}\t{e}\t{v!r}\n")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("bwwrite")
    items = random_items(1)
    path = root / "ours.bw"
    n = bigwig.write(items, SIZES, path)
    assert n == len(items)
    return items, path


# -- an independent implementation of bedGraphToBigWig's summaries ---------------------------


def ucsc_level0(items, sizes, ids, scale):
    out = []
    for chrom in sizes:
        cur = None
        for c, s, e, v in items:
            if c != chrom:
                continue
            if cur is not None and cur[2] <= s:
                out.append(cur)
                cur = None
            if cur is None:
                cur = [ids[c], s, min(s + scale, sizes[c]), 0, v, v, 0.0, 0.0]
            while e > cur[2]:
                ov = min(e, cur[2]) - max(s, cur[1])
                cur[3] += ov
                cur[4], cur[5] = min(cur[4], v), max(cur[5], v)
                cur[6] += v * ov
                cur[7] += v * v * ov
                out.append(cur)
                s = cur[2]
                cur = [ids[c], s, min(s + scale, sizes[c]), 0, v, v, 0.0, 0.0]
            ov = e - s
            cur[3] += ov
            cur[4], cur[5] = min(cur[4], v), max(cur[5], v)
            cur[6] += v * ov
            cur[7] += v * v * ov
        if cur is not None:
            out.append(cur)
    return out


def ucsc_count(items, scale):
    count, res_end, chrom = 0, 0, None
    for c, s, e, _ in items:
        if c != chrom:
            chrom, res_end = c, 0
        if s >= res_end:
            count += 1
            res_end = s + scale
        while e > res_end:
            count += 1
            res_end += scale
    return count


def simple_reduce(summaries, reduction):
    out = []
    for r in summaries:
        last = out[-1] if out else None
        if last is None or last[0] != r[0] or r[2] > last[1] + reduction:
            out.append(list(r))
        else:
            last[2] = r[2]
            last[3] += r[3]
            last[4], last[5] = min(last[4], r[4]), max(last[5], r[5])
            last[6] += r[6]
            last[7] += r[7]
    return out


def ucsc_levels(items, sizes, data_size, compress=True):
    ids = {c: i for i, c in enumerate(dict.fromkeys(c for c, _, _, _ in items))}
    ave = sum(e - s for _, s, e, _ in items) / len(items)
    res = max(int(ave), 10)
    scales = []
    for _ in range(10):
        scales.append(res)
        if res > 1_000_000_000:
            break
        res *= 4
    chosen = None
    for scale in scales:
        count = ucsc_count(items, scale)
        reduced = count * 32 // (2 if compress else 1)
        if reduced <= data_size // 2:
            chosen = (scale, count)
            break
    scale, count = chosen or (scales[0], ucsc_count(items, scales[0]))
    level0 = ucsc_level0(items, sizes, ids, scale)
    levels = [(scale, level0)]
    reduction = scale * 4
    rezoomed = simple_reduce(level0, reduction)
    while len(levels) < 10:
        if len(rezoomed) >= count:
            break
        count = len(rezoomed)
        levels.append((reduction, rezoomed))
        reduction *= 4
        rezoomed = simple_reduce(rezoomed, reduction)
    return levels


def read_zoom_levels(data: bytes):
    """Reductions and records of every zoom level, parsed with struct and zlib only."""
    nzoom = struct.unpack_from("<H", data, 6)[0]
    data_off, index_off = struct.unpack_from("<QQ", data, 16)
    out = []
    for i in range(nzoom):
        reduction, zdata, zindex = struct.unpack_from("<I4xQQ", data, 64 + 24 * i)
        (count,) = struct.unpack_from("<I", data, zdata)
        raw, rest = b"", data[zdata + 4:zindex]
        while rest:
            d = zlib.decompressobj()
            raw += d.decompress(rest)
            rest = d.unused_data
        recs = [list(struct.unpack_from("<IIIIffff", raw, 32 * j)) for j in range(count)]
        assert len(raw) == 32 * count
        out.append((reduction, recs))
    return out, index_off - data_off


def test_zoom_levels_follow_ucsc_rules(written):
    items, path = written
    data = path.read_bytes()
    ours, data_size = read_zoom_levels(data)
    ref = ucsc_levels(items, SIZES, data_size)
    assert [r for r, _ in ours] == [r for r, _ in ref]
    assert len(ours) >= 3
    for (_, got), (_, want) in zip(ours, ref):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g[:4] == w[:4]
            assert g[4] == np.float32(w[4]) and g[5] == np.float32(w[5])
            # sumData / sumSquares are float32 in the file (relative step 6e-8) while the model
            # keeps float64 and adds in another order: 1e-5 covers the accumulated rounding;
            # abs 1e-3 covers sums that cancel to near 0 (negative values)
            assert math.isclose(g[6], w[6], rel_tol=1e-5, abs_tol=1e-3)
            assert math.isclose(g[7], w[7], rel_tol=1e-5, abs_tol=1e-3)


def test_total_summary_as_ucsc(written):
    items, path = written
    data = path.read_bytes()
    (total_off,) = struct.unpack_from("<Q", data, 44)
    covered, lo, hi, total, squares = struct.unpack_from("<Qdddd", data, total_off)
    assert covered == sum(e - s for _, s, e, _ in items)
    assert lo == min(v for *_, v in items) and hi == max(v for *_, v in items)
    # bedGraphToBigWig multiplies value by size in float32 and adds in double
    want = sum(float(np.float32(v) * np.float32(e - s)) for _, s, e, v in items)
    want2 = sum(float(np.float32(v) * np.float32(v) * np.float32(e - s)) for _, s, e, v in items)
    assert math.isclose(total, want, rel_tol=1e-12)
    assert math.isclose(squares, want2, rel_tol=1e-12)
    assert pyBigWig.open(str(path)).header()["nBasesCovered"] == covered


def test_peers_read_our_file_exactly(written):
    items, path = written
    pb = pyBigWig.open(str(path))
    pt = pybigtools.open(str(path))
    assert pb.chroms() == SIZES
    with bigwig.open(path) as ob:
        for chrom, size in SIZES.items():
            want = [(s, e, v) for c, s, e, v in items if c == chrom and e > 0 and s < size]
            assert list(pb.intervals(chrom)) == want
            assert [(int(s), int(e), float(v)) for s, e, v in pt.records(chrom)] == want
            assert list(ob.intervals(chrom)) == want
            assert np.array_equal(pb.values(chrom, 0, size, numpy=True), ob.values(chrom),
                                  equal_nan=True)
        for k, (c, a, b) in enumerate(windows(SIZES, 1000, 4, 20_000)):
            vals = ob.values(c, a, b)
            assert np.array_equal(vals, pb.values(c, a, b, numpy=True), equal_nan=True)
            assert np.array_equal(vals, pt.values(c, a, b, fillna=None).astype(np.float32), equal_nan=True)
            kind = STATS[k % 6]
            for exact in (True, False):
                want = pb.stats(c, a, b, type=kind, nBins=1 + k % 5, exact=exact)
                have = ob.stats(c, a, b, type=kind, nBins=1 + k % 5, exact=exact)
                assert all(same(x, y) for x, y in zip(want, have)), (c, a, b, kind, exact)


def test_bedgraph_path_equals_iterable_and_file_object(written, tmp_path):
    items, path = written
    bg = tmp_path / "in.bedGraph"
    _bedgraph(items, bg)
    out = tmp_path / "from_path.bw"
    bigwig.write(bg, SIZES, out)
    assert out.read_bytes() == path.read_bytes()
    buf = io.BytesIO()
    with open(bg, "rb") as handle:
        bigwig.write(handle, SIZES, buf)
    assert buf.getvalue() == path.read_bytes()


def test_per_base_arrays_become_runs_and_fixed_steps(tmp_path):
    rng = np.random.default_rng(3)
    a = np.full(SIZES["chr1"], np.nan, np.float32)
    a[1000:50_000] = rng.normal(size=49_000)  # distinct per-base values: fixedStep
    a[60_000:61_000] = 4.0  # one run
    a[70_000:90_000] = np.repeat(rng.normal(size=2000), 10)  # 10-base steps: fixedStep
    a[95_000:95_500:2] = 1.0  # alternating: bedGraph
    b = np.full(SIZES["chr2"], 2.5, np.float32)
    path = tmp_path / "arr.bw"
    bigwig.write({"chr1": a, "chr2": b}, SIZES, path, items_per_slot=512)
    pb = pyBigWig.open(str(path))
    assert np.array_equal(pb.values("chr1", 0, SIZES["chr1"], numpy=True), a, equal_nan=True)
    assert np.array_equal(pb.values("chr2", 0, SIZES["chr2"], numpy=True), b, equal_nan=True)
    with bigwig.open(path) as bw:
        kinds = [sec.kind for sec in bw.reader.all_sections()]
        assert np.array_equal(bw.values("chr1"), a, equal_nan=True)
        assert bw.intervals("chr2") == ((0, SIZES["chr2"], 2.5),)
    assert FIXEDSTEP in kinds and BEDGRAPH in kinds
    for chrom in ("chr1", "chr2"):
        for kind in STATS:
            assert all(same(x, y) for x, y in zip(pb.stats(chrom, type=kind, nBins=50),
                                                  bigwig.open(path).stats(chrom, type=kind,
                                                                          nBins=50)))


def test_options_uncompressed_and_no_zoom(tmp_path, written):
    items, _ = written
    path = tmp_path / "unc.bw"
    bigwig.write(items, SIZES, path, compress=False, zoom_levels=2, block_size=4,
                 items_per_slot=16)
    pb = pyBigWig.open(str(path))
    with bigwig.open(path) as bw:
        assert not bw.header.compressed and len(bw.zoom_levels) == 2
        for c, a, b in windows(SIZES, 100, 9):
            assert np.array_equal(bw.values(c, a, b), pb.values(c, a, b, numpy=True),
                                  equal_nan=True)
    path0 = tmp_path / "nozoom.bw"
    bigwig.write(items, SIZES, path0, zoom_levels=0)
    with bigwig.open(path0) as bw:
        assert bw.zoom_levels == []
        assert bw.stats("chr1", type="max") == pyBigWig.open(str(path0)).stats("chr1",
                                                                                type="max")


@pytest.mark.parametrize("items, error, match", [
    ([("chr1", 10, 20, 1.0), ("chr1", 5, 8, 1.0)], SortOrderError, "record 2.*not sorted"),
    ([("chr1", 10, 20, 1.0), ("chr1", 15, 30, 1.0)], SortOrderError, "record 2.*overlaps"),
    ([("chr1", 10, 20, 1.0), ("chr2", 0, 5, 1.0), ("chr1", 30, 40, 1.0)], SortOrderError,
     "record 3.*again"),
    ([("chr1", 0, 5, 1.0), ("chrZ", 0, 5, 1.0)], UnknownReferenceError, "record 2.*chrZ"),
    ([("chr1", 20, 10, 1.0)], RecordError, "record 1.*end before start"),
    ([("chr1", 0, 300_001, 1.0)], RecordError, "record 1.*past the chromosome end"),
    ([("chr1", -1, 5, 1.0)], RecordError, "record 1.*negative"),
    ([("chr1", 0, 5, float("nan"))], RecordError, "record 1.*NaN"),
    ([("chr1", 0, 5)], RecordError, "record 1.*expected"),
    ([("chr1", "x", 5, 1.0)], RecordError, "record 1"),
])
def test_bad_input_typed_errors_and_no_file(tmp_path, items, error, match):
    path = tmp_path / "bad.bw"
    with pytest.raises(error, match=match):
        bigwig.write(items, SIZES, path)
    assert list(tmp_path.iterdir()) == []


def test_bad_bedgraph_lines_are_named(tmp_path):
    bg = tmp_path / "bad.bedGraph"
    bg.write_text("chr1\t0\t10\t1\nchr1\t10\t20\tabc\n")
    with pytest.raises(RecordError, match="line 2.*abc"):
        bigwig.write(bg, SIZES, tmp_path / "x.bw")
    bg.write_text("chr1\t0\t10\t1\nchr1\t5\t20\t2\n")
    with pytest.raises(SortOrderError, match="line 2"):
        bigwig.write(bg, SIZES, tmp_path / "x.bw")
    assert not (tmp_path / "x.bw").exists()


def test_average_over_bed_matches_values(written, tmp_path):
    items, path = written
    rng = np.random.default_rng(8)
    bed = tmp_path / "regions.bed"
    regions = []
    with open(bed, "w") as handle:
        for i, (c, a, b) in enumerate(windows(SIZES, 300, 12, 30_000)):
            regions.append((c, a, b))
            handle.write(f"{c}\t{a}\t{b}\tr{i}\n")
        handle.write("chrNotThere\t0\t100\tmissing\n")
    del rng
    with bigwig.open(path) as bw:
        rows = bw.average_over_bed(bed, min_max=True)
        for (c, a, b), row in zip(regions, rows):
            vals = bw.values(c, a, b).astype(np.float64)
            cov = ~np.isnan(vals)
            total = vals[cov].sum()
            assert row[1] == b - a and row[2] == int(cov.sum())
            # both float64 sums of the same float32 values, added in a different order: 1e-9
            # relative; abs for windows whose values cancel to ~0
            assert math.isclose(row[3], total, rel_tol=1e-9, abs_tol=1e-6)
            assert math.isclose(row[4], total / (b - a), rel_tol=1e-9, abs_tol=1e-9)
            if cov.any():
                assert math.isclose(row[5], total / cov.sum(), rel_tol=1e-9, abs_tol=1e-9)
                assert row[6] == vals[cov].min() and row[7] == vals[cov].max()
        assert rows[-1][:3] == ("missing", 100, 0)
