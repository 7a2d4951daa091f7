"""The shared reader rule (bioformats_ext.reader_base): one region semantics in every reader.

Unknown contig -> UnknownReferenceError, negative or reversed -> RegionError, ``region=``
strings (1-based inclusive, samtools) equal the 0-based ``(contig, start, stop)`` form, and
regions agree with pysam/htslib on the same files.
"""

import random

import pysam
import pytest

from bioformats_ext import bigbed
from bioformats_ext.bam import BamReader, BamWriter
from bioformats_ext.bgzf2 import Bgzf2Reader
from bioformats_ext.commands.demo import data_path
from bioformats_ext.errors import RegionError, UnknownReferenceError
from bioformats_ext.reader_base import RegionReader
from bioformats_ext.tabix import TabixReader, TabixWriter
from bioformats_ext.vcf import VcfReader, VcfWriter

LENGTH = 158_821_424  # chr7 as the bundled bigBed declares it


def _vcf_text():
    return data_path("example.vcf").read_text()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("readers")
    text = _vcf_text()
    header = "".join(ln for ln in text.splitlines(keepends=True) if ln.startswith("#"))
    records = [ln for ln in text.splitlines(keepends=True) if not ln.startswith("#")]
    with VcfWriter(str(tmp / "x.vcf.gz"), header, index="tbi") as w:
        w.write_many(records)
    with VcfWriter(str(tmp / "x.vcf.bgz2"), header, compression="bgzf2") as w:
        w.write_many(records)
    rng = random.Random(3)
    bed = sorted((rng.randrange(0, 2_000_000), rng.randrange(1, 5000)) for _ in range(300))
    with TabixWriter(str(tmp / "x.bed.gz"), preset="bed", index="tbi") as w:
        w.write_many(f"chr7\t{s}\t{s + n}\tf{i}\n" for i, (s, n) in enumerate(bed))
    sam = [f"r{i}\t0\tchr7\t{s + 1}\t60\t50M\t*\t0\t0\t{'A' * 50}\t*\n"
           for i, (s, _) in enumerate(bed)]
    with BamWriter(str(tmp / "x.bam"), [("chr7", LENGTH)], index="bai") as w:
        w.write_many(sam)
    return tmp


def _readers(files):
    return {
        "bigbed": bigbed.open(str(data_path("genes.bb"))),
        "bam": BamReader(str(files / "x.bam")),
        "tabix": TabixReader(str(files / "x.bed.gz")),
        "vcf": VcfReader(str(files / "x.vcf.gz")),
        "bgzf2": Bgzf2Reader(str(files / "x.vcf.bgz2")),
    }


def _fetch(reader, *args, **kwargs):
    if isinstance(reader, bigbed.BigBedFile):
        return list(reader.records(*args, **kwargs))
    out = reader.fetch(*args, **kwargs)
    return out if isinstance(out, bytes) else list(out)


@pytest.mark.parametrize("kind", ["bigbed", "bam", "tabix", "vcf", "bgzf2"])
def test_same_errors_everywhere(files, kind):
    with _readers(files)[kind] as reader:
        assert isinstance(reader, RegionReader)
        with pytest.raises(UnknownReferenceError):
            _fetch(reader, "chrNope", 0, 10)
        with pytest.raises(RegionError):
            _fetch(reader, "chr7", 500, 100)
        with pytest.raises(RegionError):
            _fetch(reader, "chr7", -5, 100)
        with pytest.raises(RegionError):
            _fetch(reader, region="chr7:2,000-1,000")
        with pytest.raises(UnknownReferenceError):
            _fetch(reader, region="chrNope:1-10")
    assert reader.closed


@pytest.mark.parametrize("kind", ["bigbed", "bam", "tabix", "vcf", "bgzf2"])
def test_region_string_equals_coordinates(files, kind):
    rng = random.Random(kind)
    with _readers(files)[kind] as reader:
        for _ in range(20):
            start = rng.randrange(0, 2_000_000)
            stop = start + rng.randrange(1, 400_000)
            got = _fetch(reader, region=f"chr7:{start + 1:,}-{stop:,}")
            assert got == _fetch(reader, "chr7", start, stop)
        assert _fetch(reader, region="chr7") == _fetch(reader, "chr7")


def test_regions_agree_with_htslib(files):
    rng = random.Random(11)
    with VcfReader(str(files / "x.vcf.gz")) as vcf, BamReader(str(files / "x.bam")) as bam, \
            TabixReader(str(files / "x.bed.gz")) as bed, \
            pysam.TabixFile(str(files / "x.vcf.gz")) as their_vcf, \
            pysam.TabixFile(str(files / "x.bed.gz")) as their_bed, \
            pysam.AlignmentFile(str(files / "x.bam")) as their_bam:
        for _ in range(30):
            start = rng.randrange(0, 2_000_000)
            region = f"chr7:{start + 1}-{start + rng.randrange(1, 300_000)}"
            assert list(vcf.fetch(region=region)) == list(their_vcf.fetch(region=region))
            assert list(bed.fetch(region=region)) == list(their_bed.fetch(region=region))
            assert list(bam.fetch(region=region)) == \
                [a.to_string() for a in their_bam.fetch(region=region)]


def test_pysam_aliases_and_declared_contig_without_records(files, tmp_path):
    with BamReader(str(files / "x.bam")) as bam:
        assert list(bam.fetch(reference="chr7", start=0, end=5000)) == list(bam.fetch("chr7", 0, 5000))
        with pytest.raises(RegionError):
            list(bam.fetch("chr7", 0, 10, region="chr7:1-10"))
    header = "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=100>\n##contig=<ID=chr2>\n" \
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    with VcfWriter(str(tmp_path / "d.vcf.gz"), header, index="tbi") as w:
        w.write("chr1\t5\t.\tA\tC\t.\tPASS\t.\n")
    with VcfReader(str(tmp_path / "d.vcf.gz")) as vcf:
        assert list(vcf.fetch("chr2")) == []  # declared in the header, nothing indexed
        assert len(list(vcf.fetch("chr1", 0, 1000))) == 1  # stop clipped to the length 100
        with pytest.raises(UnknownReferenceError):
            vcf.fetch("chr3")
