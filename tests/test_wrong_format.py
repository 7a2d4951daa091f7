"""A file handed to the wrong reader is named: "x.bcf is a BCF file, not VCF text" (sniff.expect
in every reader and indexer), never binary "lines" or a misleading parse error."""

from __future__ import annotations

import pytest

from bioformats_ext import bigbed, examples
from bioformats_ext.bam import BamReader, BamWriter, index_bam
from bioformats_ext.bgzf2 import Bgzf2Reader
from bioformats_ext.errors import FormatError
from bioformats_ext.tabix import TabixReader, index_tabix
from bioformats_ext.vcf import VcfReader, VcfWriter

pysam = pytest.importorskip("pysam")
import pysam.bcftools  # noqa: E402
import pysam.samtools  # noqa: E402
pyBigWig = pytest.importorskip("pyBigWig")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("kinds")
    sam = examples.path("example.sam").read_text().splitlines()
    with BamWriter(d / "x.bam", "\n".join(l for l in sam if l[0] == "@")) as bam:
        bam.write_many([l for l in sam if l[0] != "@"])
    vcf = examples.path("example.vcf").read_text().splitlines()
    with VcfWriter(d / "x.vcf.gz", "".join(l + "\n" for l in vcf if l[0] == "#")) as w:
        w.write_many([l for l in vcf if l[0] != "#"])
    pysam.bcftools.view("-Ob", "-o", str(d / "x.bcf"), str(d / "x.vcf.gz"), catch_stdout=False)
    pysam.samtools.view("-C", "--output-fmt-option", "no_ref=1", "-o", str(d / "x.cram"),
                        str(d / "x.bam"), catch_stdout=False)
    bw = pyBigWig.open(str(d / "x.bw"), "w")
    bw.addHeader([("chr7", 1_000_000)])
    bw.addEntries(["chr7"], [100], ends=[200], values=[1.5])
    bw.close()
    return {"bam": d / "x.bam", "bcf": d / "x.bcf", "cram": d / "x.cram", "bigwig": d / "x.bw",
            "vcf": d / "x.vcf.gz", "bigbed": examples.path("genes.bb")}


NAMES = {"bam": "a BAM file", "bcf": "a BCF file", "cram": "a CRAM file",
         "bigwig": "a bigWig file", "vcf": "VCF text", "bigbed": "a bigBed file"}
READERS = {
    "bigbed": (lambda p: bigbed.open(p), "a bigBed file"),
    "bam": (lambda p: BamReader(p), "a BAM file"),
    "vcf": (lambda p: VcfReader(p), "VCF text"),
    "tabix": (lambda p: TabixReader(p), "tab-delimited text"),
    "index_bam": (lambda p: index_bam(p, out=str(p) + ".nope.bai"), "a BAM file"),
    "index_tabix": (lambda p: index_tabix(p, out=str(p) + ".nope.tbi"), "VCF text"),
}
OK = {"bigbed": {"bigbed"}, "bam": {"bam"}, "vcf": {"vcf"}, "tabix": {"vcf"},
      "index_bam": {"bam"}, "index_tabix": {"vcf"}}


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("kind", sorted(NAMES))
def test_wrong_file_is_named(files, reader, kind):
    if kind in OK[reader]:
        return
    make, wanted = READERS[reader]
    with pytest.raises(FormatError) as info:
        make(files[kind])
    message = str(info.value)
    assert NAMES[kind] in message and wanted in message and files[kind].name in message


@pytest.mark.parametrize("kind", ["bam", "bcf", "vcf", "bigbed"])
def test_bgzf2_reader_names_other_files(files, kind):
    with pytest.raises(FormatError, match=NAMES[kind].split()[-2] if kind != "vcf" else "VCF"):
        Bgzf2Reader(files[kind])


def test_right_files_still_open(files):
    with BamReader(files["bam"]) as r:
        assert next(iter(r))
    with VcfReader(files["vcf"]) as r:
        assert next(iter(r))
    with bigbed.open(files["bigbed"]) as bb:
        assert len(bb) == 10
