"""bigWigAverageOverBed reads bounded batches of blocks: bytes per request and per batch stay
below the budget on a chromosome many times larger, with numbers equal to the unbatched run
and to pyBigWig's on real files (UCSC-made, see tests/data/bigwig/PROVENANCE.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers.bigwig import REAL_FILES, windows
from bioformats_ext import bigwig
from bioformats_ext.bbi import wig_average

pyBigWig = pytest.importorskip("pyBigWig")


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """One 3 Mbp chromosome of ~150k items (~1 MB of compressed blocks) and a small one."""
    rng = np.random.default_rng(21)
    starts = np.sort(rng.choice(3_000_000 // 20, 150_000, replace=False)) * 20
    ends = starts + rng.integers(1, 20, len(starts))
    vals = rng.gamma(2.0, 3.0, len(starts)).astype(np.float32)
    items = [("big", s, e, float(v)) for s, e, v in zip(starts.tolist(), ends.tolist(),
                                                       vals.tolist())]
    items += [("small", i * 10, i * 10 + 5, float(i)) for i in range(100)]
    path = tmp_path_factory.mktemp("avg") / "big.bw"
    bigwig.write(items, {"big": 3_000_000, "small": 5_000}, path)
    return path


def _bed(tmp_path, rows):
    bed = tmp_path / "regions.bed"
    bed.write_text("".join(f"{c}\t{a}\t{b}\tr{i}\n" for i, (c, a, b) in enumerate(rows)))
    return bed


def test_reads_are_bounded_and_numbers_unchanged(big, tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    rows = [("big", 0, 3_000_000), ("big", 1_000_000, 2_500_000), ("small", 0, 5_000)]
    for _ in range(300):
        a = int(rng.integers(0, 2_990_000))
        rows.append(("big", a, a + int(rng.integers(0, 10_000))))
    bed = _bed(tmp_path, rows)
    with bigwig.open(big) as bw:
        whole = bw.average_over_bed(bed, min_max=True)  # the default budget: one batch here
        data_bytes = sum(bw._reader.rtree.blocks(0, 0, 3_000_000)["size"].tolist())
    budget = 64 << 10
    assert data_bytes > 10 * budget
    monkeypatch.setattr(wig_average, "BATCH_BYTES", budget)
    with bigwig.open(big) as bw:
        biggest = int(bw._reader.rtree.blocks(None)["size"].max())
        reader = bw._reader
        requests: list[int] = []
        decoded: list[int] = []
        read_many = reader.source.read_many
        load_sections = reader.load_sections

        def counting_read_many(ranges):
            requests.append(sum(size for _, size in ranges))
            return read_many(ranges)

        def counting_load_sections(ranges, use_cache=True):
            decoded.append(sum(size for _, size in ranges))
            return load_sections(ranges, use_cache)

        monkeypatch.setattr(reader.source, "read_many", counting_read_many)
        monkeypatch.setattr(reader, "load_sections", counting_load_sections)
        batched = bw.average_over_bed(bed, min_max=True)
    assert len(decoded) > 10  # the big chromosome went through in many batches ...
    assert max(decoded) <= budget + biggest  # ... each within the budget (or one block)
    assert max(requests) <= budget + biggest
    assert sum(decoded) >= data_bytes
    # the same numbers, to the bit: the prefix sums carry on across batches
    assert batched == whole
    with bigwig.open(big) as bw:
        for (c, a, b), row in zip(rows, batched):
            vals = bw.values(c, a, b).astype(np.float64) if b > a else np.zeros(0)
            cov = ~np.isnan(vals)
            assert row[1] == b - a and row[2] == int(cov.sum())
            assert math.isclose(row[3], vals[cov].sum(), rel_tol=1e-9, abs_tol=1e-6)
            if cov.any():
                assert row[6] == vals[cov].min() and row[7] == vals[cov].max()


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_means_equal_pybigwig_on_real_files(path, tmp_path, monkeypatch):
    """Sums, covered bases and both means against pyBigWig (values and exact stats), with a
    batch budget small enough that long intervals cross batches."""
    monkeypatch.setattr(wig_average, "BATCH_BYTES", 4096)
    pb = pyBigWig.open(str(path))
    chroms = pb.chroms()
    rows = list(windows(chroms, 200, 17, 50_000))
    rows += [(c, 0, size) for c, size in chroms.items()]
    bed = _bed(tmp_path, rows)
    with bigwig.open(path) as bw:
        got = bw.average_over_bed(bed)
    for (c, a, b), row in zip(rows, got):
        vals = pb.values(c, a, b, numpy=True).astype(np.float64)
        cov = ~np.isnan(vals)
        total = vals[cov].sum()
        assert row[1] == b - a and row[2] == int(cov.sum()), (c, a, b)
        assert math.isclose(row[3], total, rel_tol=1e-9, abs_tol=1e-6), (c, a, b)
        assert math.isclose(row[4], total / (b - a), rel_tol=1e-9, abs_tol=1e-9)
        if cov.any():
            (mean,) = pb.stats(c, a, b, type="mean", exact=True)
            assert math.isclose(row[5], mean, rel_tol=1e-9, abs_tol=1e-9), (c, a, b)
        else:
            assert row[5] == 0.0
