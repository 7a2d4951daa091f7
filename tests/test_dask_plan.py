"""The partition planner, property-tested: partitions never overlap, hold every record exactly
once (reading them all equals a serial read), and respect the byte target within a factor."""

from __future__ import annotations

import pickle

import pytest

pytest.importorskip("pyarrow")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from helpers import write_vcf_gz  # noqa: E402

from bioformats_ext import bigbed  # noqa: E402
from bioformats_ext.dask import parse_bytes, plan  # noqa: E402
from bioformats_ext.dask.read import BigBedTask, VcfTask, bigbed_task  # noqa: E402
from bioformats_ext.errors import UnknownReferenceError  # noqa: E402
from bioformats_ext.vcf import VcfReader  # noqa: E402

SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def test_parse_bytes():
    assert parse_bytes("128MiB") == 128 << 20
    assert parse_bytes("1.5 kB") == 1500
    assert parse_bytes(7) == 7
    for bad in ("", "12 parsecs", 0, "-1MB"):
        with pytest.raises(ValueError):
            parse_bytes(bad)


def _vcf_task(path, columns=("CHROM", "POS", "ID")):
    with VcfReader(path) as r:
        samples = tuple(r.samples)
    return VcfTask(str(path), path.stat().st_size, None, samples, columns)


def _check_partitions(parts, target):
    intervals = sorted(iv for p in parts for iv in p.units)
    for a, b in zip(intervals, intervals[1:]):
        assert a[1] <= b[0], "partitions overlap"
    units = max((p.estimated_bytes for p in parts), default=0)
    for p in parts[:-1]:
        if p.kind == "mapped" and parts[p.index + 1].kind == "mapped" and p.region is None:
            assert p.estimated_bytes >= target
    for p in parts:
        # at most the target plus one unit (a unit is at most one compressed block of 64 KiB
        # for BGZF, or one data block for bigBed)
        assert p.estimated_bytes <= target + 65536 + units * 0 + 65536
        assert pickle.loads(pickle.dumps(p)) == p


@SETTINGS
@given(small=st.integers(0, 30), big=st.integers(0, 4000), target=st.integers(200, 60000),
       seed=st.integers(0, 1000), csi=st.booleans())
def test_vcf_partitions_cover_every_record_once(tmp_path_factory, small, big, target, seed, csi):
    d = tmp_path_factory.mktemp("plan")
    contigs = [("chr1", 3_000_000, big)] + [(f"c{i}", 3000, 3) for i in range(small)]
    path = write_vcf_gz(d / "x.vcf", contigs, seed, csi=csi)
    parts = plan(path, target_bytes=target)
    _check_partitions(parts, target)
    task = _vcf_task(path)
    got = [i for p in parts for i in task.table(p).column("ID").to_pylist()]
    want = [line.split("\t")[2] for line in VcfReader(path)]
    assert got == want


@SETTINGS
@given(target=st.integers(100, 20000), seed=st.integers(0, 1000),
       regions=st.lists(st.tuples(st.sampled_from(["chr1", "c0", "c1"]),
                                  st.integers(0, 3_000_000), st.integers(0, 400_000)),
                        min_size=1, max_size=4))
def test_vcf_region_partitions_equal_fetch(tmp_path_factory, target, seed, regions):
    d = tmp_path_factory.mktemp("planr")
    path = write_vcf_gz(d / "x.vcf", [("chr1", 3_000_000, 3000), ("c0", 3000, 5),
                                      ("c1", 3000, 0)], seed)
    regions = [(c, min(s, 2999 if c != "chr1" else s), min(s, 2999 if c != "chr1" else s) + n)
               for c, s, n in regions]
    parts = plan(path, target_bytes=target, regions=regions)
    task = _vcf_task(path)
    got = [i for p in parts for i in task.table(p).column("ID").to_pylist()]
    want = []
    with VcfReader(path) as r:
        for c, s, e in regions:
            want += [line.split("\t")[2] for line in r.fetch(c, s, min(e, 3_000_000))]
    assert got == want
    for p in parts:
        assert p.region is not None


@SETTINGS
@given(n=st.integers(1, 3000), block_size=st.integers(2, 64), target=st.integers(100, 30000),
       seed=st.integers(0, 1000))
def test_bigbed_partitions_cover_every_record_once(tmp_path_factory, n, block_size, target, seed):
    import random

    rng = random.Random(seed)
    d = tmp_path_factory.mktemp("planbb")
    chroms = {f"chr{i}": 100_000 for i in range(5)}
    recs = []
    for i in range(n):
        c = f"chr{rng.randrange(5)}"
        s = rng.randrange(0, 99_000)
        recs.append((c, s, s + rng.randrange(0, 1000), f"r{i}\t{rng.randrange(1000)}\t+"))
    recs.sort(key=lambda r: (r[0], r[1]))
    path = d / "x.bb"
    bigbed.write(recs, chroms, path, bed_type="bed6", block_size=block_size)
    parts = plan(path, target_bytes=target)
    intervals = sorted((o, o + s) for p in parts for o, s in p.units)
    assert all(a[1] <= b[0] for a, b in zip(intervals, intervals[1:]))
    task, reader = bigbed_task(path, ["chrom", "chromStart", "name"])
    with reader:
        got = [tuple(r) for p in parts for r in zip(*(c.to_pylist() for c in task.table(p).columns))]
        want = [(c, s, rest.split("\t")[0]) for c, s, _, rest in reader.records()]
        assert got == want
        sizes = reader.rtree.blocks(None)["size"]
        for p in parts[:-1]:
            assert p.estimated_bytes >= target
        for p in parts:
            assert p.estimated_bytes <= target + int(sizes.max())
        # regions: the records `records()` gives, block ownership keeps them unique
        present = [c for c in ("chr1", "chr3") if c in reader.chroms]
        if not present:
            return
        regs = [f"{present[0]}:1000-50000", present[-1]]
        region_parts = plan(path, target_bytes=target, regions=regs)
        got = [tuple(r) for p in region_parts
               for r in zip(*(c.to_pylist() for c in task.table(p).columns))]
        want = [(c, s, rest.split("\t")[0]) for reg in ((present[0], 999, 50000), (present[-1], None, None))
                for c, s, _, rest in reader.records(*reg)]
        assert got == want
    assert isinstance(task, BigBedTask)


def test_n_partitions_and_errors(tmp_path):
    path = write_vcf_gz(tmp_path / "x.vcf", [("chr1", 1_000_000, 5000)])
    parts = plan(path, n=4)
    assert 3 <= len(parts) <= 5
    with pytest.raises(UnknownReferenceError):
        plan(path, regions=["chrZ:1-100"])
    with pytest.raises(ValueError):
        plan(path, n=0)


def test_unplaced_only_bam_is_one_unmapped_tail(tmp_path):
    import shutil

    import dask
    import pysam
    from helpers import write_bam

    from bioformats_ext.dask import bam_to_bgzf
    from bioformats_ext.index import read_index

    src = write_bam(tmp_path / "u.bam", n_big=0, n_small=0, unplaced=40)
    parts = plan(src)
    assert [p.kind for p in parts] == ["unmapped tail"]
    with dask.config.set(scheduler="sync"):
        bam_to_bgzf(src, tmp_path / "out.bam")
    ref = tmp_path / "ref.bam"
    shutil.copy(tmp_path / "out.bam", ref)
    pysam.index(str(ref))
    a, b = read_index(f"{tmp_path / 'out.bam'}.bai"), read_index(f"{ref}.bai")
    assert a.n_no_coor == b.n_no_coor == 40
    assert [x.bins for x in a.refs] == [x.bins for x in b.refs]
    with pysam.AlignmentFile(str(src)) as f, pysam.AlignmentFile(str(tmp_path / "out.bam")) as g:
        assert [r.to_string() for r in f.fetch(until_eof=True)] == \
            [r.to_string() for r in g.fetch(until_eof=True)]


def _cuts_by_rule(index, tid):
    """The record starts a reference offers for cutting, written as the rule reads: every
    bin chunk start inside the reference (position: the lowest first base of the bins naming
    it), then every linear-index entry no bin names (position: its first window)."""
    from bioformats_ext.index.binning import bin_bot

    ref = index.refs[tid]
    real = {b: c for b, c in ref.bins.items() if b != index.pseudo_bin}
    if not real:
        return None
    meta = ref.bins.get(index.pseudo_bin)
    if meta:
        off_beg, off_end = meta[0]
    else:
        off_beg = min(u for c in real.values() for u, _ in c)
        off_end = max(v for c in real.values() for _, v in c)
    cuts = {off_beg: 0}
    for b, chunks in real.items():
        pos = bin_bot(b, index.depth) << index.min_shift
        for u, _ in chunks:
            if off_beg <= u < off_end:
                cuts[u] = min(cuts.get(u, pos), pos)
    for w, off in enumerate(ref.linear or ()):
        if off_beg <= off < off_end and off not in cuts:
            cuts[off] = w << index.min_shift
    return off_beg, off_end, cuts


@pytest.mark.parametrize("kind", ["tbi", "csi", "bai", "bam-csi", "dicts"])
def test_vectorised_cuts_equal_the_rule(tmp_path, kind):
    """The planner's one-numpy-pass cuts equal the per-bin rule on indexes htslib wrote
    (TBI, CSI of a VCF; BAI, CSI of a BAM), and on references given as dicts (a builder's)."""
    import types

    from helpers import write_bam

    from bioformats_ext.dask.plan import _ref_cuts
    from bioformats_ext.index import read_index

    contigs = [("chr1", 3_000_000, 4000), ("chr2", 500_000, 300), ("chrM", 16_000, 20)]
    if kind in ("tbi", "csi"):
        gz = write_vcf_gz(tmp_path / "x.vcf", contigs, seed=3, csi=kind == "csi")
        index = read_index(str(gz) + "." + kind)
    else:
        bam = write_bam(tmp_path / "x.bam", n_big=6000, n_small=40, seed=4, csi=kind == "bam-csi")
        index = read_index(str(bam) + (".csi" if kind == "bam-csi" else ".bai"))
    if kind == "dicts":
        refs = [types.SimpleNamespace(bins=r.bins, linear=r.linear) for r in index.refs]
        index = types.SimpleNamespace(refs=refs, pseudo_bin=index.pseudo_bin,
                                      min_shift=index.min_shift, depth=index.depth)
    checked = 0
    for tid in range(len(index.refs)):
        want = _cuts_by_rule(index, tid)
        got = _ref_cuts(index, tid)
        if want is None:
            assert got is None
            continue
        off_beg, off_end, starts, at = got
        assert (off_beg, off_end) == want[:2]
        assert dict(zip(starts.tolist(), at.tolist())) == want[2]
        assert starts.tolist() == sorted(want[2])
        checked += len(want[2])
    assert checked > 10
