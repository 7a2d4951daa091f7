"""read_bigbed / read_vcf on a real distributed.LocalCluster (2 worker processes): the computed
frame equals a serial read record for record — whole files, region lists, many small contigs,
one huge contig — from local paths, loopback HTTP and S3 (moto's server)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")
distributed = pytest.importorskip("distributed")

from helpers import write_vcf_gz  # noqa: E402

from bioformats_ext import bigbed  # noqa: E402
from bioformats_ext.dask import read_bigbed, read_vcf  # noqa: E402
from bioformats_ext.vcf import VcfReader  # noqa: E402

from loopback import RangeServer  # noqa: E402  (tests/loopback.py)

ROOT = Path(__file__).resolve().parent.parent
BED12 = Path(__file__).parent / "data" / "ucsc-bigbed" / "bigPsl.bb"


@pytest.fixture(scope="module")
def client():
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(ROOT) + (os.pathsep + old if old else "")
    try:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None, silence_logs=40) as cluster:
            with distributed.Client(cluster) as c:
                yield c
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("dask")
    # one huge contig (many partitions) and many small ones (grouped)
    contigs = [("chr1", 50_000_000, 12_000)] + [(f"scaffold{i}", 4000, 4) for i in range(300)]
    vcf = write_vcf_gz(d / "calls.vcf", contigs, seed=7)
    rng = __import__("random").Random(3)
    chroms = {"chr1": 10_000_000, **{f"u{i}": 5000 for i in range(200)}}
    recs = []
    for c, size in chroms.items():
        for _ in range(3000 if c == "chr1" else 3):
            s = rng.randrange(0, size - 100)
            recs.append((c, s, s + rng.randrange(0, 100), f"n{len(recs)}\t{rng.randrange(1000)}\t-"))
    recs.sort(key=lambda r: (r[0], r[1]))
    bb = d / "track.bb"
    bigbed.write(recs, chroms, bb, bed_type="bed6", block_size=32)
    return {"vcf": vcf, "bb": bb}


def vcf_rows(path, regions=None):
    with VcfReader(path) as r:
        if regions is None:
            lines = list(r)
        else:
            lines = [ln for reg in regions for ln in r.fetch(*reg)]
    return [(f[0], int(f[1]), f[2], f[3], f[4], None if f[5] == "." else float(f[5]), f[6], f[7])
            for f in (ln.split("\t") for ln in lines)]


def frame_rows(df):
    out = []
    for row in df.itertuples(index=False):
        row = list(row)
        if "QUAL" in df.columns:
            q = df.columns.get_loc("QUAL")
            row[q] = None if row[q] != row[q] else float(row[q])
        out.append(tuple(row))
    return out


def test_vcf_whole_file_equals_serial_and_pysam(client, files):
    import pysam

    ddf = read_vcf(files["vcf"], target_bytes="20KiB")
    assert ddf.npartitions >= 4
    df = ddf.compute()
    assert frame_rows(df) == vcf_rows(files["vcf"])
    with pysam.VariantFile(str(files["vcf"])) as vf:
        theirs = [(r.chrom, r.pos, r.id) for r in vf]
    assert list(zip(df["CHROM"], df["POS"], df["ID"])) == theirs


def test_vcf_regions_and_samples(client, files):
    regions = [("chr1", 1_000_000, 9_000_000), ("scaffold7", 0, 4000), ("chr1", 40_000_000, 40_100_000),
               ("scaffold299", 10, 20)]
    ddf = read_vcf(files["vcf"], regions=["chr1:1000001-9000000", "scaffold7",
                                          ("chr1", 40_000_000, 40_100_000), ("scaffold299", 10, 20)],
                   target_bytes="8KiB", columns=["CHROM", "POS", "ID", "s2"])
    df = ddf.compute()
    want = [(f[0], int(f[1]), f[2], f[10]) for f in
            (ln.split("\t") for reg in regions for ln in VcfReader(files["vcf"]).fetch(*reg))]
    assert list(df.itertuples(index=False, name=None)) == want


def test_bigbed_whole_and_regions(client, files):
    path = files["bb"]
    with bigbed.open(path) as bb:
        serial = bb.to_pandas()
        regional = [bb.to_pandas("chr1", 2_000_000, 6_000_000), bb.to_pandas("u17"),
                    bb.to_pandas("u3", 100, 200)]
        records = list(bb.records())
    ddf = read_bigbed(path, target_bytes="4KiB")
    assert ddf.npartitions >= 4
    df = ddf.compute()
    assert list(df.itertuples(index=False, name=None)) == \
        list(serial.itertuples(index=False, name=None))
    assert [(c, s, e, f"{n}\t{sc}\t{st}") for c, s, e, n, sc, st in
            df.itertuples(index=False, name=None)] == records
    ddf = read_bigbed(path, regions=["chr1:2000001-6000000", "u17", ("u3", 100, 200)],
                      target_bytes="2KiB", columns=["chrom", "chromStart", "name"])
    want = [r for part in regional for r in part[["chrom", "chromStart", "name"]]
            .itertuples(index=False, name=None)]
    assert list(ddf.compute().itertuples(index=False, name=None)) == want


def test_over_http_one_request_per_partition(client, files):
    vcf, bb = files["vcf"], files["bb"]
    tbi = Path(str(vcf) + ".tbi")
    with RangeServer({"calls.vcf.gz": vcf.read_bytes(), "calls.vcf.gz.tbi": tbi.read_bytes(),
                      "track.bb": bb.read_bytes()}) as srv:
        ddf = read_vcf(srv.url("calls.vcf.gz"), target_bytes="20KiB")
        srv.clear_log()
        df = ddf.compute()
        gets = [r for r in srv.requests("GET")]
        assert len(gets) == ddf.npartitions
        assert frame_rows(df) == vcf_rows(vcf)
        # known divisions over HTTP: the same cuts and rows as the local file's
        local = read_vcf(vcf, target_bytes="20KiB", divisions=True)
        remote = read_vcf(srv.url("calls.vcf.gz"), target_bytes="20KiB", divisions=True)
        assert remote.divisions == local.divisions and remote.known_divisions
        srv.clear_log()
        got = remote.compute()
        assert len(srv.requests("GET")) == remote.npartitions
        assert got.index.tolist() == local.compute().index.tolist()
        assert frame_rows(got) == vcf_rows(vcf)
        ddf = read_bigbed(srv.url("track.bb"), target_bytes="4KiB")
        srv.clear_log()
        df = ddf.compute()
        assert len(srv.requests("GET")) == ddf.npartitions
        with bigbed.open(bb) as f:
            assert list(df.itertuples(index=False, name=None)) == \
                list(f.to_pandas().itertuples(index=False, name=None))


@pytest.fixture(scope="module")
def s3(files):
    pytest.importorskip("s3fs")
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        client.create_bucket(Bucket="frames")
        for key, path in (("calls.vcf.gz", files["vcf"]),
                          ("calls.vcf.gz.tbi", Path(str(files["vcf"]) + ".tbi")),
                          ("track.bb", files["bb"])):
            client.put_object(Bucket="frames", Key=key, Body=path.read_bytes())
        yield {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}
    finally:
        server.stop()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_on_s3(client, files, s3):
    ddf = read_vcf("s3://frames/calls.vcf.gz", target_bytes="40KiB", storage_options=s3)
    assert frame_rows(ddf.compute()) == vcf_rows(files["vcf"])
    ddf = read_bigbed("s3://frames/track.bb", regions=["chr1:1-3000000"], target_bytes="4KiB",
                      storage_options=s3)
    with bigbed.open(files["bb"]) as f:
        want = list(f.to_pandas("chr1", 0, 3_000_000).itertuples(index=False, name=None))
    assert list(ddf.compute().itertuples(index=False, name=None)) == want


def test_vcf_to_bgzf2_shards_then_concat(client, files, tmp_path):
    """Each worker writes a BGZF2 shard; concat joins them without recompression: one
    self-indexed file whose payload is the original VCF and whose index answers queries as a
    serially written BGZF2 does."""
    import gzip
    import subprocess

    from bioformats_ext.bgzf2 import Bgzf2Reader
    from bioformats_ext.dask import vcf_to_bgzf2
    from bioformats_ext.vcf import VcfWriter

    out = tmp_path / "calls.vcf.bgzf2"
    shards = vcf_to_bgzf2(files["vcf"], out, target_bytes="40KiB")
    assert shards >= 3
    with Bgzf2Reader(out) as r:
        assert r.read() == gzip.open(files["vcf"]).read()
        meta = r.index.metadata
    serial = tmp_path / "serial.vcf.bgzf2"
    with VcfReader(files["vcf"]) as src, VcfWriter(serial, src.header, compression="bgzf2") as w:
        w.write_many(line + "\n" for line in src)
    with Bgzf2Reader(serial) as r:
        assert r.index.metadata == meta
    subprocess.run(["zstd", "-tq", str(out)], check=True)
    with VcfReader(out) as ours, VcfReader(serial) as theirs:
        for reg in [("chr1", 5_000_000, 5_300_000), ("scaffold42", None, None),
                    ("chr1", 0, 10)]:
            assert list(ours.fetch(*reg)) == list(theirs.fetch(*reg))
    # and the result reads back through Dask (frames planned from the embedded index)
    df = read_vcf(out, target_bytes="30KiB").compute()
    assert frame_rows(df) == vcf_rows(files["vcf"])


@pytest.fixture(scope="module")
def bams(tmp_path_factory):
    pytest.importorskip("bioformats_ext.bam.columns")
    from helpers import write_bam

    d = tmp_path_factory.mktemp("bam")
    return {"bai": write_bam(d / "reads.bam"), "csi": write_bam(d / "csi.bam", seed=5, csi=True)}


def pysam_rows(path, regions=None, tags=("NM", "RG", "XS")):
    import pysam

    rows = []
    with pysam.AlignmentFile(str(path)) as f:
        its = [f.fetch(until_eof=True)] if regions is None else [f.fetch(*r) for r in regions]
        for it in its:
            for a in it:
                rows.append((a.query_name, a.flag, a.reference_name, a.reference_start + 1,
                             a.reference_end, a.mapping_quality, a.cigarstring or "*",
                             a.next_reference_name, a.next_reference_start + 1,
                             a.template_length, a.query_sequence,
                             None if a.query_qualities is None else
                             pysam.qualities_to_qualitystring(a.query_qualities),
                             *(a.get_tag(t) if a.has_tag(t) else None for t in tags)))
    return rows


def bam_rows(df):
    out = []
    for row in df.itertuples(index=False, name=None):
        row = [None if (isinstance(v, float) and v != v) or v is pd_NA() else v for v in row]
        for i in (2, 7):
            row[i] = None if row[i] is None else str(row[i])
        row[4] = None if row[4] is None else int(row[4])
        out.append(tuple(row))
    return out


def pd_NA():
    import pandas as pd

    return pd.NA


def test_bam_whole_file_with_unmapped_tail(client, bams):
    from bioformats_ext.dask import read_bam

    for path in bams.values():
        ddf = read_bam(path, target_bytes="16KiB", tags=["NM", "RG", "XS"])
        assert ddf.npartitions >= 4
        df = ddf.compute()
        got = bam_rows(df)
        want = pysam_rows(path)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g[:14] == w[:14]
            # XS is a float32 ('f') tag: compared at approx's 1e-6, i.e. float32 precision
            assert (g[14] is None and w[14] is None) or g[14] == pytest.approx(w[14])
        assert df["rname"].isna().sum() == 50  # the unplaced tail


def test_bam_regions(client, bams):
    from bioformats_ext.dask import read_bam

    regions = [("chr1", 1_000_000, 20_000_000), ("ctg3", 0, 3000), ("ctg77", 100, 200),
               ("chr1", 49_000_000, 50_000_000)]
    for path in bams.values():
        ddf = read_bam(path, regions=regions, target_bytes="8KiB",
                       columns=["qname", "flag", "rname", "pos", "end"])
        got = [(q, f, str(r), p, None if e is pd_NA() else int(e))
               for q, f, r, p, e in ddf.compute().itertuples(index=False, name=None)]
        want = [w[:5] for w in pysam_rows(path, regions)]
        assert got == want


@pytest.mark.parametrize("index", ["tbi", "csi"])
def test_vcf_to_bgzf_shards_with_merged_index(client, files, tmp_path, index):
    """Workers write BGZF shards; the client concatenates them and writes one index from the
    shards' shifted pushes: equal to htslib indexing the concatenated file."""
    import gzip
    import shutil

    import pysam

    from bioformats_ext.dask import vcf_to_bgzf
    from bioformats_ext.index import read_index

    out = tmp_path / "calls.vcf.gz"
    assert vcf_to_bgzf(files["vcf"], out, index=index, target_bytes="40KiB") >= 3
    assert gzip.open(out).read() == gzip.open(files["vcf"]).read()
    ref = tmp_path / "ref.vcf.gz"
    shutil.copy(out, ref)
    pysam.tabix_index(str(ref), preset="vcf", force=True, csi=index == "csi")
    a, b = read_index(f"{out}.{index}"), read_index(f"{ref}.{index}")
    assert a.names == b.names and a.n_no_coor == b.n_no_coor
    for x, y in zip(a.refs, b.refs):
        assert x.bins == y.bins and x.linear == y.linear and x.loffsets == y.loffsets


@pytest.mark.parametrize("index", ["bai", "csi"])
def test_bam_to_bgzf_shards_with_merged_index(client, tmp_path, index):
    """Workers rewrite BAM partitions (unplaced tail included) as shards; one BAI/CSI merged
    from their shifted pushes equals samtools index of the concatenated BAM."""
    import shutil

    import pysam
    from helpers import write_bam

    from bioformats_ext.dask import bam_to_bgzf
    from bioformats_ext.index import read_index

    src = write_bam(tmp_path / "in.bam", n_big=3000, n_small=60, csi=index == "csi")
    out = tmp_path / "out.bam"
    assert bam_to_bgzf(src, out, index=index, target_bytes="24KiB") >= 3
    ref = tmp_path / "ref.bam"
    shutil.copy(out, ref)
    pysam.index(str(ref), *(["-c"] if index == "csi" else []))
    a, b = read_index(f"{out}.{index}"), read_index(f"{ref}.{index}")
    assert a.n_no_coor == b.n_no_coor == 50 and len(a.refs) == len(b.refs)
    for x, y in zip(a.refs, b.refs):
        assert x.bins == y.bins and x.linear == y.linear and x.loffsets == y.loffsets
    with pysam.AlignmentFile(str(src)) as f, pysam.AlignmentFile(str(out)) as g:
        assert [r.to_string() for r in f.fetch(until_eof=True)] == \
            [r.to_string() for r in g.fetch(until_eof=True)]


def test_bigwig_local_and_http_equal_pybigwig(client, tmp_path):
    """read_bigwig (sections grouped into partitions) equals pyBigWig's intervals, whole file
    and region lists, from a file pyBigWig itself wrote; over HTTP one GET per partition."""
    import random

    import numpy as np
    pyBigWig = pytest.importorskip("pyBigWig")

    from bioformats_ext.dask import read_bigwig

    path = tmp_path / "t.bw"
    chroms = [("chr1", 5_000_000)] + [(f"c{i}", 10_000) for i in range(50)]
    rng = random.Random(1)
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(chroms)
    for c, length in chroms:
        starts = sorted(rng.sample(range(0, length - 5), 20_000 if c == "chr1" else 10))
        bw.addEntries([c] * len(starts), starts, ends=[s + 1 for s in starts],
                      values=[rng.random() for _ in starts])
    bw.close()
    ref = pyBigWig.open(str(path))
    regions = [("chr1", 1_000_000, 2_000_000), ("c7", 0, 10_000), ("c9", 100, 5000)]

    def rows(df):
        return list(zip(df.chrom.astype(str), df.start, df.end, df.value))

    def want(regs):
        return [(c, s, e, np.float32(v)) for c, a, z in regs for s, e, v in
                (ref.intervals(c, a, z) or [])]

    whole = [(c, 0, n) for c, n in chroms]
    with RangeServer({"t.bw": path.read_bytes()}) as srv:
        for src in (path, srv.url("t.bw")):
            ddf = read_bigwig(src, target_bytes="16KiB")
            assert ddf.npartitions >= 4
            srv.clear_log()
            assert rows(ddf.compute()) == want(whole)
            if isinstance(src, str):
                assert len(srv.requests("GET")) == ddf.npartitions
            got = read_bigwig(src, regions=regions, target_bytes="4KiB").compute()
            assert rows(got) == want(regions)


def test_bcf_equals_its_vcf(client, files, tmp_path):
    """A BCF made by bcftools from the VCF.gz, CSI-indexed by bcftools: read_vcf gives the same
    rows (fixed fields and header-typed INFO), whole and by regions."""
    import pysam.bcftools

    bcf = tmp_path / "calls.bcf"
    pysam.bcftools.view("-Ob", "-o", str(bcf), str(files["vcf"]), catch_stdout=False)
    pysam.bcftools.index(str(bcf))
    ddf = read_vcf(bcf, target_bytes="30KiB", info=["DP", "END"])
    assert ddf.npartitions >= 3
    got = ddf.compute()
    assert frame_rows(got.drop(columns=["INFO/DP", "INFO/END"])) == vcf_rows(files["vcf"])
    with pysam.VariantFile(str(files["vcf"])) as vf:
        assert got["INFO/DP"].tolist() == [r.info["DP"] for r in vf]
    regions = ["chr1:1000001-9000000", "scaffold7", ("scaffold299", 10, 20)]
    got = read_vcf(bcf, regions=regions, target_bytes="8KiB").compute()
    want = read_vcf(files["vcf"], regions=regions, target_bytes="8KiB").compute()
    assert frame_rows(got) == frame_rows(want) and len(got)
    # GT columns: BCF decodes them as columns, VCF.gz takes FORMAT's leading GT field
    got = read_vcf(bcf, target_bytes="30KiB", genotypes=True, columns=["POS"]).compute()
    want = read_vcf(files["vcf"], target_bytes="30KiB", genotypes=True,
                    columns=["POS"]).compute()
    gt_cols = [c for c in got.columns if c.startswith("GT/")]
    assert gt_cols and got[gt_cols].notna().all().all()
    assert got.astype(object).values.tolist() == want.astype(object).values.tolist()


# -- known divisions on the ``locus`` index ---------------------------------------------------


def _check_divisions(client, ddf, full):
    """Divisions known and honoured by every partition; loc slices by division agree."""
    import pandas as pd

    assert ddf.known_divisions and ddf.index.name == "locus"
    div = ddf.divisions
    lo = ddf.map_partitions(lambda d: pd.Series([d.index.min() if len(d) else -1])).compute()
    hi = ddf.map_partitions(lambda d: pd.Series([d.index.max() if len(d) else -1])).compute()
    last = ddf.npartitions - 1
    for i in range(ddf.npartitions):
        assert div[i] <= lo.iloc[i]
        assert hi.iloc[i] < div[i + 1] or (i == last and hi.iloc[i] <= div[i + 1])
    assert full.index.is_monotonic_increasing
    a, b = div[1] - 5, div[min(3, last)] + 7  # a slice across cuts
    got = ddf.loc[a:b].compute()
    assert got.index.tolist() == full.loc[a:b].index.tolist() and len(got)


def test_bam_divisions_with_runs_of_equal_starts(client, tmp_path):
    """Reads in runs of 40 at one start, partitions of a few KiB: cuts fall inside runs and are
    moved past them; the frame equals pysam's reads in order, indexed by locus."""
    import pysam

    from bioformats_ext.dask import read_bam
    from bioformats_ext.dask.divisions import locus_of

    path = tmp_path / "runs.bam"
    refs = ["chr1", "chr2", "chr3"]
    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": c, "LN": 1_000_000} for c in refs]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        k = 0
        for tid in (0, 2):   # chr2 has no reads
            for start in range(0, 200_000, 2_000):
                for _ in range(40):
                    a = pysam.AlignedSegment(out.header)
                    a.query_name = f"r{k}"
                    a.reference_id, a.reference_start = tid, start
                    a.query_sequence = "ACGT" * 10
                    a.cigarstring = "40M"
                    out.write(a)
                    k += 1
        for j in range(30):
            u = pysam.AlignedSegment(out.header)
            u.query_name, u.query_sequence, u.flag = f"u{j}", "ACG", 4
            u.reference_id = u.reference_start = -1
            out.write(u)
    pysam.index(str(path))
    ddf = read_bam(path, target_bytes="6KiB", divisions=True, columns=["qname", "rname", "pos"])
    assert ddf.npartitions >= 5
    full = ddf.compute()
    want = pysam_rows(path, tags=())
    assert [(q, None if r != r else str(r), p) for q, r, p in
            full.itertuples(index=False, name=None)] == [(w[0], w[2], w[3]) for w in want]
    assert full.index.tolist() == [len(refs) << 32 if w[2] is None else
                                   locus_of(refs, w[2], w[3] - 1) for w in want]
    _check_divisions(client, ddf, full)
    with pytest.raises(ValueError):
        read_bam(path, regions=["chr1"], divisions=True)


def test_vcf_and_bcf_divisions(client, tmp_path):
    """A VCF.gz with runs of records at one POS (and its BCF): known divisions, the same rows
    as the serial reader, loc slices equal to filtering the whole frame."""
    import pysam
    import pysam.bcftools

    lines = ["##fileformat=VCFv4.2"] + [f"##contig=<ID=c{i},length=100000>" for i in range(4)]
    lines.append('##INFO=<ID=DP,Number=1,Type=Integer,Description="depth">')
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    for c in (0, 1, 3):
        for pos in range(1, 60_000, 700):
            lines += [f"c{c}\t{pos}\tv{c}_{pos}_{j}\tA\tG\t1\tPASS\tDP={j}" for j in range(25)]
    vcf = tmp_path / "runs.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    gz = pysam.tabix_index(str(vcf), preset="vcf", force=True)
    bcf = tmp_path / "runs.bcf"
    pysam.bcftools.view("-Ob", "-o", str(bcf), gz, catch_stdout=False)
    pysam.bcftools.index(str(bcf))
    want = vcf_rows(gz)
    for path in (gz, bcf):
        ddf = read_vcf(path, target_bytes="8KiB", divisions=True)
        assert ddf.npartitions >= 4
        full = ddf.compute()
        assert frame_rows(full) == want
        refs = ["c0", "c1", "c3"] if path == gz else ["c0", "c1", "c2", "c3"]
        assert full.index.tolist() == [(refs.index(r[0]) << 32) + r[1] - 1 for r in want]
        _check_divisions(client, ddf, full)
