"""The shared region rule and file sniffer (bioformats_ext.regions, bioformats_ext.sniff)."""

import gzip

import pysam
import pytest

from bioformats_ext.errors import RegionError, UnknownReferenceError
from bioformats_ext.io import BytesSource
from bioformats_ext.regions import Region, format_region, parse_region, resolve_region
from bioformats_ext.sniff import expect, sniff, sniff_bytes
from bioformats_ext.errors import FormatError


@pytest.mark.parametrize("text, expected", [
    ("chr1", ("chr1", 0, None)),
    ("chr1:1000", ("chr1", 999, None)),
    ("chr1:1,000-2,000", ("chr1", 999, 2000)),
    ("chr1:1-1", ("chr1", 0, 1)),
    ("chr1:0-10", ("chr1", 0, 10)),
    ("{HLA-A*01:01}:1-100", ("HLA-A*01:01", 0, 100)),
    ("{HLA-A*01:01}", ("HLA-A*01:01", 0, None)),
])
def test_parse_region_samtools_forms(text, expected):
    assert parse_region(text) == Region(*expected)


def test_parse_region_prefers_whole_name_and_refuses_ambiguity():
    assert parse_region("HLA:1", {"HLA:1": 5}) == Region("HLA:1", 0, None)
    with pytest.raises(RegionError, match="ambiguous"):
        parse_region("HLA:1", {"HLA:1": 5, "HLA": 10})


@pytest.mark.parametrize("text", ["", "chr1:", "chr1:x-5", "chr1:10-5", "{chr1"])
def test_parse_region_errors_are_typed(text):
    with pytest.raises(RegionError):
        parse_region(text)


def test_resolve_region_rules():
    refs = {"chr1": 100, "chr2": None}
    assert resolve_region("chr1", references=refs) == Region("chr1", 0, 100)
    assert resolve_region("chr1", 10, 1000, references=refs) == Region("chr1", 10, 100)
    assert resolve_region("chr2", 5, references=refs) == Region("chr2", 5, None)
    assert resolve_region(region="chr1:11-20", references=refs) == Region("chr1", 10, 20)
    with pytest.raises(UnknownReferenceError):
        resolve_region("chrX", references=refs)
    with pytest.raises(RegionError):
        resolve_region("chr1", 20, 10, references=refs)
    with pytest.raises(RegionError):
        resolve_region("chr1", -1, references=refs)
    with pytest.raises(RegionError):
        resolve_region("chr1", region="chr1:1-2", references=refs)
    assert format_region(Region("chr1", 10, 20)) == "chr1:11-20"
    assert format_region(Region("a:b", 0, None)) == "{a:b}"


@pytest.fixture
def pysam_files(tmp_path):
    header = {"SQ": [{"SN": "chr1", "LN": 1000}]}
    bam = tmp_path / "x.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header):
        pass
    vcf_text = "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    (tmp_path / "x.vcf").write_text(vcf_text)
    pysam.tabix_compress(str(tmp_path / "x.vcf"), str(tmp_path / "x.vcf.gz"))
    with pysam.VariantFile(str(tmp_path / "x.vcf")) as src, \
            pysam.VariantFile(str(tmp_path / "x.bcf"), "wb", header=src.header):
        pass
    (tmp_path / "plain.vcf.gz").write_bytes(gzip.compress(vcf_text.encode()))
    return tmp_path


def test_sniff_real_files(pysam_files):
    def what(name):
        return tuple(sniff_bytes((pysam_files / name).read_bytes()[:65536]))
    assert what("x.bam") == ("bgzf", "bam")
    assert what("x.bcf") == ("bgzf", "bcf")
    assert what("x.vcf.gz") == ("bgzf", "vcf")
    assert what("x.vcf") == ("none", "vcf")
    assert what("plain.vcf.gz") == ("gzip", "vcf")


def test_expect_names_what_the_file_is(pysam_files):
    source = BytesSource((pysam_files / "x.bam").read_bytes(), name="x.bam")
    assert sniff(source).format == "bam"
    with pytest.raises(FormatError, match="x.bam is a BAM file, not VCF text"):
        expect(source, {"vcf"}, "VCF text")
    gz = BytesSource((pysam_files / "plain.vcf.gz").read_bytes(), name="plain.vcf.gz")
    with pytest.raises(FormatError, match="plain gzip"):
        expect(gz, {"vcf"}, "VCF text", containers={"bgzf", "bgzf2", "none"})
