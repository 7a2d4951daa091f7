"""Edge cases where we must equal the reference tools exactly (kent / htslib / samtools)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
from Bio import Align

import bioformats_ext  # noqa: F401
from bioformats_ext import bigbed
from bioformats_ext.bam import BamReader, BamWriter, index_bam
from bioformats_ext.bbi.write import write
from bioformats_ext.errors import BioformatsError
from bioformats_ext.index import read_index
from bioformats_ext.tabix import index_tabix
from bioformats_ext.vcf import VcfWriter

pysam = pytest.importorskip("pysam")
import pysam.bcftools  # noqa: E402
import pysam.samtools  # noqa: E402

UCSC = Path(__file__).parent / "data" / "ucsc-bigbed"


def _zooms(bb):
    r = bb.reader
    return [[r.zoom_records(z, cid, 0, 1 << 31).tolist() for cid in range(len(r.chrom_names))]
            for z in bb.zoom_levels]


def test_zero_length_items_total_summary_and_zooms_as_bedtobigbed(tmp_path):
    ucsc = bigbed.open(UCSC / "bigbedtest.bb")
    want = (210, 1.0, 2.0, 220.0, 240.0)
    h = ucsc.reader.total_summary
    assert (h.basesCovered, h.minVal, h.maxVal, h.sumData, h.sumSquares) == want
    # the bulk writer from the .bed, and Align.write from the bigBed iterator
    write(UCSC / "bigbedtest.bed", ucsc.chroms, tmp_path / "bulk.bb", autosql=ucsc.autosql_text,
          bed_type="bed6")
    Align.write(Align.parse(UCSC / "bigbedtest.bb", "bigBed"), tmp_path / "align.bb", "bigBed")
    for name in ("bulk.bb", "align.bb"):
        ours = bigbed.open(tmp_path / name)
        t = ours.reader.total_summary
        assert (t.basesCovered, t.minVal, t.maxVal, t.sumData, t.sumSquares) == want, name
        assert _zooms(ours) == _zooms(ucsc), name
    # Biopython's convention (one base per insertion point) on request
    Align.write(Align.parse(UCSC / "bigbedtest.bb", "bigBed"), tmp_path / "bio.bb", "bigBed",
                zero_length_bases=1)
    assert bigbed.open(tmp_path / "bio.bb").reader.total_summary.basesCovered == 213


@pytest.mark.parametrize("source", [UCSC / "bigbedtest.bb", UCSC / "bed12.bb",
                                    UCSC / "bigbed_extended.littleendian.bb"])
def test_stored_total_summary_equals_exact_summary_over_the_genome(source, tmp_path):
    """bigBedInfo's numbers (the writer's coverage tree) equal summary(exact=True) summed."""
    out = tmp_path / "copy.bb"
    Align.write(Align.parse(source, "bigBed"), out, "bigBed")
    for path in (source, out):
        with bigbed.open(path) as bb:
            total = bb.total_summary
            bins = [bb.summary(c, 0, n, bins=1, exact=True)[0] for c, n in bb.chroms.items()]
            covered = sum(b["covered"] for b in bins)
            assert covered == total["covered"]
            mean = sum(b["mean"] * b["covered"] for b in bins if b["covered"]) / covered
            # per-chromosome float64 means re-weighted: a few roundings (isclose's 1e-9)
            assert math.isclose(mean, total["mean"])
            assert min(b["min"] for b in bins if b["covered"]) == total["min"]
            assert max(b["max"] for b in bins if b["covered"]) == total["max"]


def test_summary_modes(tmp_path):
    """exact=False is bigBedSummary's algorithm: a zoom level when one is at most half a bin,
    else the items; exact=True always uses the items."""
    with bigbed.open(UCSC / "bigbedtest.bb") as bb:   # one zoom level, reduction 432
        # one bin of 864 bases: desired reduction 432, the zoom record chr1:10-442 (190 bases
        # covered, sum 200) is prorated by its overlap with 200-1064, as bbiSummarySlice does
        zoom = bb.summary("chr1", 200, 1064)[0]
        assert zoom["covered"] == math.floor(190 * 242 / 432)
        assert math.isclose(zoom["mean"], 200 / 190)  # prorated sum / covered: float64 roundings
        exact = bb.summary("chr1", 200, 1064, exact=True)[0]
        assert exact["covered"] == 100 and exact["mean"] == 1.0
        # bins of 100 bases: no level fits, both modes read the items and agree
        assert bb.summary("chr2", 0, 300, bins=3) == bb.summary("chr2", 0, 300, bins=3, exact=True)


def test_bam_l_ref_is_unsigned_and_csi_depth_as_samtools(tmp_path):
    header = "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:big\tLN:3000000000\n"
    reads = [f"r{i}\t0\tbig\t{2_000_000_000 + 100 * i}\t60\t10M\t*\t0\t0\tACGTACGTAC\tIIIIIIIIII"
             for i in range(5)]
    bam = tmp_path / "big.bam"
    with BamWriter(bam, header) as w:
        w.write_many(reads)
    assert pysam.AlignmentFile(str(bam)).lengths == (3_000_000_000,)
    with BamReader(bam) as r:
        assert r.header.references == [("big", 3_000_000_000)]
        assert len(list(r)) == 5
    pysam.samtools.index("-c", str(bam), str(tmp_path / "ref.csi"), catch_stdout=False)
    ours = read_index(index_bam(bam, csi=True, out=str(tmp_path / "ours.csi")))
    ref = read_index(tmp_path / "ref.csi")
    assert ours.depth == ref.depth == 6
    assert ours.refs[0].bins == ref.refs[0].bins


def test_bam_header_reference_too_long_is_typed(tmp_path):
    for length in (1 << 32, (1 << 32) + 5, -1):
        with pytest.raises(BioformatsError, match="does not fit a BAM header"):
            BamWriter(io.BytesIO(), f"@SQ\tSN:huge\tLN:{length}\n")


@pytest.mark.parametrize("contig", ["##contig=<ID=chr1,length=10000000000>",
                                    "##contig=<ID=chr1>", "##contig=<ID=chr1,length=1000>"])
def test_empty_vcf_csi_depth_as_tabix_and_bcftools(contig, tmp_path):
    header = (f"##fileformat=VCFv4.2\n{contig}\n"
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    with VcfWriter(tmp_path / "ours.vcf.gz", header, index="csi"):
        pass
    (tmp_path / "e.vcf").write_text(header)
    gz = str(tmp_path / "ref.vcf.gz")
    pysam.tabix_compress(str(tmp_path / "e.vcf"), gz, force=True)
    pysam.tabix_index(gz, preset="vcf", csi=True, force=True)
    tabix_depth = read_index(gz + ".csi").depth
    pysam.bcftools.index("-c", "-f", "-o", str(tmp_path / "bcf.csi"), gz, catch_stdout=False)
    assert read_index(tmp_path / "bcf.csi").depth == tabix_depth == 6
    assert read_index(tmp_path / "ours.vcf.gz.csi").depth == tabix_depth
    index_tabix(gz, preset="vcf", csi=True, out=str(tmp_path / "it.csi"))
    assert (tmp_path / "it.csi").read_bytes() == (Path(gz + ".csi")).read_bytes()
