"""BGZF VCF shards concatenated with one merged TBI/CSI: equal in content to htslib indexing
the concatenated file (pysam.tabix_index), for shards cut anywhere — inside a reference, inside
a bin, between small contigs."""

from __future__ import annotations

import gzip
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import vcf_lines

from bioformats_ext.dask.bgzf_shards import concat_bgzf, write_vcf_shard
from bioformats_ext.index import read_index


def same_index(a, b):
    assert a.names == b.names
    assert a.n_no_coor == b.n_no_coor
    assert (a.min_shift, a.depth) == (b.min_shift, b.depth)
    assert len(a.refs) == len(b.refs)
    for x, y in zip(a.refs, b.refs):
        assert x.bins == y.bins
        assert x.linear == y.linear
        assert x.loffsets == y.loffsets


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(n_big=st.integers(0, 3000), n_small=st.integers(0, 20),
       cuts=st.lists(st.floats(0, 1), max_size=5), csi=st.booleans(), seed=st.integers(0, 99))
def test_merged_index_equals_htslib(tmp_path_factory, n_big, n_small, cuts, csi, seed):
    pysam = pytest.importorskip("pysam")
    d = tmp_path_factory.mktemp("shards")
    contigs = [("chr1", 2_000_000, n_big)] + [(f"c{i}", 5000, 3) for i in range(n_small)]
    lines = vcf_lines(contigs, seed)
    header = "".join(ln + "\n" for ln in lines if ln.startswith("#"))
    body = [ln + "\n" for ln in lines if not ln.startswith("#")]
    points = sorted({int(c * len(body)) for c in cuts} | {0, len(body)})
    pieces = [body[a:b] for a, b in zip(points, points[1:])] or [[]]
    index = "csi" if csi else "tbi"
    shards = [write_vcf_shard(str(d / f"s{k}.vcf.gz"), header, piece, index)
              for k, piece in enumerate(pieces)]
    out = d / "all.vcf.gz"
    concat_bgzf(shards, out, index, "vcf", 2_000_000)
    assert gzip.open(out).read().decode() == header + "".join(body)
    ref = d / "ref.vcf.gz"
    shutil.copy(out, ref)
    pysam.tabix_index(str(ref), preset="vcf", force=True, csi=csi)
    same_index(read_index(f"{out}.{index}"), read_index(f"{ref}.{index}"))
    # and htslib reads our index
    with pysam.TabixFile(str(out), index=f"{out}.{index}") as tf:
        got = list(tf.fetch("chr1", 100_000, 900_000)) if n_big else []
    assert got == [ln.rstrip("\n") for ln in body
                   if ln.startswith("chr1\t") and _overlaps(ln, 100_000, 900_000)]


def _overlaps(line, start, stop):
    f = line.rstrip("\n").split("\t")
    beg = int(f[1]) - 1
    end = beg + len(f[3])
    for item in f[7].split(";"):
        if item.startswith("END="):
            end = max(end, int(item[4:]))
    return beg < stop and end > start
