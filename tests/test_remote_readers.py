"""Our readers on URLs: equal to local reads, and within the issue's request budgets.

Files are served by :class:`RangeServer` on 127.0.0.1, whose log is the ground truth for request
counts (cross-checked with ``source.stats``). Budgets (issue 7): bigBed open <= 2 requests, a cold
region query <= 3 more, a repeated query 0; BAM/VCF index 1 request, each query <= 2 more; BGZF2
open <= 2, each query <= 1 per contiguous frame run.
"""

from __future__ import annotations

import io
import itertools
import random
import struct
from pathlib import Path

import pytest

from bioformats_ext.io import open_source
from helpers import write_vcf_gz
from loopback import RangeServer

UCSC = Path(__file__).parent / "data" / "ucsc-bigbed"


@pytest.fixture(scope="module")
def server():
    with RangeServer() as srv:
        yield srv


def serve(server: RangeServer, name: str, data: bytes) -> str:
    server.files[name] = data
    return server.url(name)


def count(server: RangeServer, name: str) -> int:
    return sum(1 for r in server.requests() if r.path == name)


# -- bigBed ------------------------------------------------------------------------------------


def _bigbed():
    return pytest.importorskip("bioformats_ext.bigbed")


UCSC_FILES = sorted(p.name for p in UCSC.glob("*.bb"))


def chrom_regions(bb) -> list[tuple[str, int, int]]:
    return [(chrom, 0, size) for chrom, size in bb.chroms.items()]


@pytest.mark.parametrize("name", UCSC_FILES)
def test_ucsc_bigbed_over_http(server, name):
    bigbed = _bigbed()
    data = (UCSC / name).read_bytes()
    url = serve(server, name, data)
    with bigbed.open(UCSC / name) as local:
        expected_all = list(local.records())
        regions = chrom_regions(local)
        expected = [list(local.records(*r)) for r in regions]
    with bigbed.open(url) as remote:
        opened = remote.source.stats.requests
        assert opened == count(server, name) <= 2
        first = list(remote.records(*regions[0]))
        cold = remote.source.stats.requests - opened
        assert cold <= 3
        assert list(remote.records(*regions[0])) == first  # repeated query: free
        assert remote.source.stats.requests - opened == cold
        assert first == expected[0]
        assert [list(remote.records(*r)) for r in regions] == expected
        assert list(remote.records()) == expected_all
        assert remote.source.stats.requests == count(server, name)


def _rtree_levels(data: bytes) -> int:
    """R-tree depth, read independently of the package: follow first children to a leaf."""
    (magic,) = struct.unpack_from("<I", data, 0)
    bo = "<" if magic == 0x8789F2EB else ">"
    (index_offset,) = struct.unpack_from(bo + "Q", data, 24)
    node = index_offset + 48
    levels = 1
    while True:
        is_leaf, _, n = struct.unpack_from(bo + "BBH", data, node)
        assert n > 0
        if is_leaf:
            return levels
        node = struct.unpack_from(bo + "Q", data, node + 4 + 16)[0]
        levels += 1


def _bed12(n: int, seed: int) -> tuple[list[tuple[str, int, int, str]], dict[str, int]]:
    rng = random.Random(seed)
    sizes = {"chr1": 5_000_000, "chr2": 3_000_000, "chrX": 2_000_000}
    records = []
    for chrom, size in sizes.items():
        for i, start in enumerate(sorted(rng.randrange(0, size - 30_000) for _ in range(n // 3))):
            k = rng.randrange(1, 5)
            exon = rng.randrange(50, 500)
            step = exon + rng.randrange(100, 5000)
            end = start + (k - 1) * step + exon
            rest = (f"{chrom}_{i}\t{rng.randrange(1000)}\t{'+-'[i % 2]}\t{start}\t{end}\t0\t{k}\t"
                    + f"{exon}," * k + "\t" + "".join(f"{j * step}," for j in range(k)))
            records.append((chrom, start, end, rest))
    return records, sizes


@pytest.fixture(scope="module")
def deep_bigbed(tmp_path_factory) -> Path:
    """A bigBed in bedToBigBed's layout with a small R-tree fan-out, so the tree has several
    levels. (Biopython's writer fails on fan-outs this small, so the package's writer is used.)"""
    write = pytest.importorskip("bioformats_ext.bbi.write")
    records, sizes = _bed12(4500, seed=3)
    path = tmp_path_factory.mktemp("remote") / "deep.bb"
    with write.BigBedWriter(path, dict(sorted(sizes.items())), block_size=4,
                            items_per_slot=8) as writer:
        writer.write_records(records)
    assert _rtree_levels(path.read_bytes()) >= 4
    return path


def _regions(chroms: dict[str, int], n: int, seed: int) -> list[tuple[str, int, int]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        chrom = rng.choice(sorted(chroms))
        width = rng.choice([100, 5_000, 50_000, 400_000])
        start = rng.randrange(0, chroms[chrom] - width)
        out.append((chrom, start, start + width))
    return out


def test_deep_bigbed_budgets_default_options(server, deep_bigbed):
    bigbed = _bigbed()
    data = deep_bigbed.read_bytes()
    url = serve(server, "deep.bb", data)
    with bigbed.open(deep_bigbed) as local:
        regions = _regions(local.chroms, 25, seed=5)
        expected = [list(local.records(*r)) for r in regions]
        assert sum(map(len, expected)) > 100
    for region, want in zip(regions[:8], expected):
        with bigbed.open(url) as remote:  # cold every time
            opened = remote.source.stats.requests
            assert opened <= 2
            assert list(remote.records(*region)) == want
            assert remote.source.stats.requests - opened <= 3
            total = remote.source.stats.requests
            assert list(remote.records(*region)) == want
            assert remote.source.stats.requests == total  # repeated: 0
    with bigbed.open(url) as remote:
        assert [list(remote.records(*r)) for r in regions] == expected
        assert list(remote.records()) == list(bigbed.open(deep_bigbed).records())


def test_deep_bigbed_each_tree_level_is_one_request(server, deep_bigbed):
    """With tiny cache blocks nothing is shared by accident: a cold query costs at most one
    request per R-tree level plus one for the data blocks (the reader batches each level)."""
    bigbed = _bigbed()
    data = deep_bigbed.read_bytes()
    levels = _rtree_levels(data)
    url = serve(server, "deep.bb", data)
    with bigbed.open(deep_bigbed) as local:
        regions = _regions(local.chroms, 10, seed=9)
        expected = [list(local.records(*r)) for r in regions]
    worst = 0
    for region, want in zip(regions, expected):
        source = open_source(url, block_size=512, merge_gap=0, max_readahead=0)
        with bigbed.open(source) as remote:
            opened = source.stats.requests
            assert list(remote.records(*region)) == want
            worst = max(worst, source.stats.requests - opened)
    assert worst <= levels + 1, f"{worst} requests for a {levels}-level R-tree"


def test_pybigtools_layout_bigbed(server, tmp_path):
    """pybigtools puts the chromosome tree after the data: a different layout, same budgets."""
    bigbed = _bigbed()
    pybigtools = pytest.importorskip("pybigtools")
    records, sizes = _bed12(6000, seed=4)
    path = tmp_path / "pbt.bb"
    pybigtools.open(str(path), "w").write(dict(sorted(sizes.items())), iter(records))
    url = serve(server, "pbt.bb", path.read_bytes())
    with bigbed.open(path) as local:
        regions = _regions(local.chroms, 10, seed=2)
        expected = [list(local.records(*r)) for r in regions]
    with bigbed.open(url) as remote:
        assert remote.source.stats.requests <= 2
        opened = remote.source.stats.requests
        assert list(remote.records(*regions[0])) == expected[0]
        assert remote.source.stats.requests - opened <= 3
        assert [list(remote.records(*r)) for r in regions] == expected


def test_bio_align_parse_bigbed_url(server):
    pytest.importorskip("bioformats_ext.align.bigbed")
    from Bio import Align

    import bioformats_ext  # noqa: F401  (installs the format modules)

    path = UCSC / "bed12.bb"
    url = serve(server, "bed12.bb", path.read_bytes())
    local = [format(a, "bed") for a in Align.parse(path, "bigBed")]
    remote = [format(a, "bed") for a in Align.parse(url, "bigBed")]
    assert remote == local and len(local) > 0


# -- BAM ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bam_file(tmp_path_factory) -> Path:
    """~5 MB sorted BAM (more than the reader's 4 MiB streaming read) made by samtools (pysam)."""
    pysam = pytest.importorskip("pysam")
    directory = tmp_path_factory.mktemp("remote")
    refs = [("chrA", 2_000_000), ("chrB", 1_500_000)]
    rng = random.Random(8)
    lines = ["@HD\tVN:1.6\tSO:coordinate"] + [f"@SQ\tSN:{n}\tLN:{l}" for n, l in refs]
    qual = "I" * 100
    for tid, (name, length) in enumerate(refs):
        for i, pos in enumerate(sorted(rng.randrange(0, length - 200) for _ in range(60_000))):
            seq = "".join(rng.choices("ACGT", k=100))
            lines.append(f"r{tid}_{i}\t{16 if i % 3 == 0 else 0}\t{name}\t{pos + 1}\t60\t100M\t*\t0"
                         f"\t0\t{seq}\t{qual}")
    sam = directory / "reads.sam"
    sam.write_text("\n".join(lines) + "\n")
    path = directory / "reads.bam"
    pysam.view("-b", "-o", str(path), str(sam), catch_stdout=False)
    pysam.index(str(path))
    return path


def _fetch_over_http(server, reader_class, path, name, index_ext, regions, expected):
    """Serve ``path`` and its index, fetch ``regions`` through an explicitly opened index: the
    same records as locally, at most two requests per region, the index fetched once."""
    url = serve(server, name, path.read_bytes())
    serve(server, name + index_ext, Path(str(path) + index_ext).read_bytes())
    server.clear_log()
    index = open_source(url + index_ext)
    reader = reader_class(url, index=index)
    got = []
    for region in regions:
        before = reader.source.stats.requests
        got.append(list(reader.fetch(*region)))
        assert reader.source.stats.requests - before <= 2, region
    assert got == expected
    assert index.stats.requests == 1 == count(server, name + index_ext)
    assert reader.source.stats.requests == count(server, name)


BAM_REGIONS = [("chrA", 1000, 5000), ("chrB", 1_250_000, 1_290_000), ("chrB", 1_499_000, 1_500_000),
               ("chrA", 1_000_000, 1_001_000), ("chrB", 700_000, 760_000)]


def test_bam_over_http(server, bam_file):
    from bioformats_ext.bam import BamReader

    pysam = pytest.importorskip("pysam")
    local = BamReader(bam_file)
    expected = [list(local.fetch(*r)) for r in BAM_REGIONS]
    with pysam.AlignmentFile(str(bam_file)) as ref:
        for region, want in zip(BAM_REGIONS, expected):
            assert len(want) == sum(1 for _ in ref.fetch(*region))
    _fetch_over_http(server, BamReader, bam_file, "reads.bam", ".bai", BAM_REGIONS, expected)


def test_bam_url_finds_its_index(server, bam_file):
    """``BamReader(url)`` finds ``url + ".bai"`` itself: one request for the index."""
    from bioformats_ext.bam import BamReader

    url = serve(server, "found.bam", bam_file.read_bytes())
    serve(server, "found.bam.bai", Path(str(bam_file) + ".bai").read_bytes())
    server.clear_log()
    reader = BamReader(url)
    local = BamReader(bam_file)
    for region in BAM_REGIONS:
        before = reader.source.stats.requests
        assert list(reader.fetch(*region)) == list(local.fetch(*region))
        assert reader.source.stats.requests - before <= 2, region
    assert count(server, "found.bam.bai") == 1
    assert reader.source.stats.requests == count(server, "found.bam")


def test_bio_align_parse_bam_url(server, bam_file):
    pytest.importorskip("bioformats_ext.align.bam")
    from Bio import Align

    import bioformats_ext  # noqa: F401

    url = serve(server, "reads.bam", bam_file.read_bytes())
    local = [format(a, "sam") for a in itertools.islice(Align.parse(bam_file, "bam"), 3000)]
    remote = [format(a, "sam") for a in itertools.islice(Align.parse(url, "bam"), 3000)]
    assert remote == local and len(local) == 3000


# -- VCF ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vcf_file(tmp_path_factory) -> Path:
    """~4 MB bgzipped VCF (400,000 records, hundreds of BGZF blocks) with a TBI, both made by htslib."""
    pytest.importorskip("pysam")
    text = tmp_path_factory.mktemp("remote") / "calls.vcf"
    return write_vcf_gz(text, [("1", 20_000_000, 200_000), ("2", 10_000_000, 200_000)], seed=6)


VCF_REGIONS = [("1", 100, 5000), ("2", 5_000_000, 5_100_000), ("2", 9_999_000, 10_000_000),
               ("1", 15_000_000, 15_020_000), ("2", 1_000, 2_000)]


def test_vcf_over_http(server, vcf_file):
    from bioformats_ext.vcf import VcfReader

    pysam = pytest.importorskip("pysam")
    local = VcfReader(vcf_file)
    expected = [list(local.fetch(*r)) for r in VCF_REGIONS]
    with pysam.TabixFile(str(vcf_file)) as ref:
        assert expected == [list(ref.fetch(*r)) for r in VCF_REGIONS]
    _fetch_over_http(server, VcfReader, vcf_file, "calls.vcf.gz", ".tbi", VCF_REGIONS, expected)


def test_vcf_url_finds_its_index(server, vcf_file):
    """``VcfReader(url)`` finds ``url + ".tbi"`` itself: one request for the index."""
    from bioformats_ext.vcf import VcfReader

    url = serve(server, "found.vcf.gz", vcf_file.read_bytes())
    serve(server, "found.vcf.gz.tbi", Path(str(vcf_file) + ".tbi").read_bytes())
    server.clear_log()
    reader = VcfReader(url)
    local = VcfReader(vcf_file)
    for region in VCF_REGIONS:
        before = reader.source.stats.requests
        assert list(reader.fetch(*region)) == list(local.fetch(*region))
        assert reader.source.stats.requests - before <= 2, region
    assert count(server, "found.vcf.gz.tbi") == 1
    assert reader.source.stats.requests == count(server, "found.vcf.gz")


# -- BGZF2 -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bgzf2_file(tmp_path_factory) -> Path:
    """~2 MB BGZF2 of BED-like lines, larger than the reader's 256 KiB tail read."""
    from bioformats_ext.bgzf2 import Bgzf2Writer

    path = tmp_path_factory.mktemp("remote") / "lines.bgz2"
    refs = [("c1", 3_000_000), ("c2", 2_000_000)]
    rng = random.Random(12)
    with Bgzf2Writer(path, references=refs, block_size=16_384, level=1) as writer:
        for tid, (name, length) in enumerate(refs):
            for pos in sorted(rng.sample(range(length - 500), 40_000)):
                end = pos + rng.randrange(1, 400)
                line = f"{name}\t{pos}\t{end}\t{rng.random():.9f}\t{rng.getrandbits(40):x}\n"
                writer.write_record(line.encode())
                writer.push(tid, pos, end)
    return path


def test_bgzf2_over_http(server, bgzf2_file):
    zstandard = pytest.importorskip("zstandard")
    from bioformats_ext.bgzf2 import Bgzf2Reader

    data = bgzf2_file.read_bytes()
    url = serve(server, "lines.bgz2", data)
    local = Bgzf2Reader(bgzf2_file)
    regions = [("c1", 1000, 20_000), ("c2", 1_500_000, 1_700_000), ("c1", 2_999_000, 3_000_000),
               ("c1", 10_000, 10_001)]
    expected = [local.fetch(*r) for r in regions]
    runs = [len(list(local.fetch_runs(*r))) for r in regions]
    assert len(set(runs)) > 0 and sum(runs) > 0
    server.clear_log()
    remote = Bgzf2Reader(url)
    source = remote.source
    assert source.stats.requests == count(server, "lines.bgz2") <= 2
    for region, want, n_runs in zip(regions, expected, runs):
        before = source.stats.requests
        assert remote.fetch(*region) == want
        assert source.stats.requests - before <= n_runs, region
    # the whole stream equals an independent zstd decoder's output
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
    assert b"".join(remote.iter_frames()) == reader.read()
    assert source.stats.requests == count(server, "lines.bgz2")


def test_bam_open_records_over_http(server, bam_file):
    """bioformats_ext.bam.open over HTTP: same records as locally (pysam-checked above), the
    index found beside the URL, one request per region at most two."""
    import bioformats_ext.bam as B

    url = serve(server, "recs.bam", bam_file.read_bytes())
    serve(server, "recs.bam.bai", Path(str(bam_file) + ".bai").read_bytes())
    with B.open(bam_file) as local, B.open(url) as remote:
        assert remote.references == local.references
        for region in BAM_REGIONS:
            before = count(server, "recs.bam")   # counted by the server, not the client
            got = [r.to_string() for r in remote.fetch(*region)]
            assert count(server, "recs.bam") - before <= 2, region
            assert got == [r.to_string() for r in local.fetch(*region)]
        assert remote.idxstats() == local.idxstats()
        assert remote.count(until_eof=True) == local.count(until_eof=True)
