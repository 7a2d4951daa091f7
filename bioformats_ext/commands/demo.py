"""``bioformats-ext demo``: a short tour of the package on bundled example data.

Each step prints what it does and the Python that does it, so the output doubles as a cheat
sheet. Runs offline in well under a second.
"""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator


def data_path(name: str) -> Path:
    """Path of a bundled example file (``bioformats_ext/data``)."""
    return Path(str(resources.files("bioformats_ext") / "data" / name))


def _step(title: str, code: str) -> None:
    print(f"\n== {title}")
    for line in code.strip("\n").splitlines():
        print(f"   >>> {line}")


def bigbed_tour() -> None:
    import bioformats_ext  # noqa: F401  (registers our bigBed with Bio.Align)
    from Bio import Align

    from .. import bigbed

    genes = data_path("genes.bb")
    toy = data_path("bigbedtest.bb")

    _step("Open a bigBed lazily (reads the header area only)",
          "bb = bigbed.open('genes.bb'); bb.chroms, len(bb)")
    with bigbed.open(genes) as bb:
        print(f"   {bb.chroms}, {len(bb)} records, "
              f"{bb.source.stats.requests} read(s) so far")

        _step("Records overlapping a region, as (chrom, start, end, rest) tuples",
              "for rec in bb.records('chr7', 500_000, 520_000): print(rec)")
        for rec in bb.records("chr7", 500_000, 520_000):
            print(f"   {rec}")

        _step("Look items up by name through the file's extraIndex",
              "list(bb.find('geneSymbol', 'PDGFA'))")
        for rec in bb.find("geneSymbol", "PDGFA"):
            print(f"   {rec[:3]} {(rec[3] or '').split(chr(9))[0]}")

        _step("Coverage summary in 4 bins (from the zoom levels, like bigBedSummary)",
              "bb.summary('chr7', 0, 1_000_000, bins=4)")
        for b in bb.summary("chr7", 0, 1_000_000, bins=4):
            mean = "n/a" if b["mean"] is None else f"{b['mean']:.2f}"
            print(f"   covered={b['covered']:>6}  mean depth={mean}")

        _step("The autoSql declaration of the columns", "print(bb.autosql)")
        print("   " + str(bb.autosql).rstrip("\n").replace("\n", "\n   "))

    _step("Bio.Align uses bioformats_ext for bigBed once the package is imported",
          "alignments = Align.parse('bigbedtest.bb', 'bigBed')\n"
          "[a.query.id for a in alignments.search('chr2', 0, 150)]")
    alignments = Align.parse(toy, "bigBed")
    print(f"   {type(alignments).__module__}.{type(alignments).__name__}, "
          f"{len(alignments)} alignments")
    found = list(alignments.search("chr2", 0, 150))
    print(f"   {[a.query.id for a in found]}  (name4 is a zero-length item at chr2:50)")
    first = found[1]
    print(f"   {first.target.id}:{first.coordinates[0, 0]}-{first.coordinates[0, -1]} "
          f"score={first.score}")

    _step("The same from the shell, UCSC style",
          "bioformats-ext bigbedtobed bigbedtest.bb stdout -chrom=chr1\n"
          "bioformats-ext bigbedinfo genes.bb -chroms")


def _without_annotations(alignments: Iterable) -> Iterator:
    """bigBed's extra columns (geneSymbol, spID) are not valid two-letter BAM tags: drop them."""
    for alignment in alignments:
        alignment.annotations = {}
        yield alignment


def indexed_writers_tour(workdir: str) -> None:
    import bioformats_ext  # noqa: F401  (registers "bam" with Bio.Align)
    from Bio import Align

    from ..vcf import VcfReader, VcfWriter

    bam_path = os.path.join(workdir, "genes.bam")
    _step("Write the genes as a BAM; its BAI is built in the same pass",
          "Align.write(alignments, 'genes.bam', 'bam', index='bai')")
    genes = Align.parse(str(data_path("genes.bb")), "bigBed")
    n = Align.write(_without_annotations(genes), bam_path, "bam", index="bai")
    print(f"   {n} alignments -> {sorted(os.listdir(workdir))}")

    _step("Region query on the BAM through its index (reads only the chunks that overlap)",
          "[a.query.id for a in Align.parse('genes.bam', 'bam').search('chr7', 500_000, 520_000)]")
    hits = Align.parse(bam_path, "bam").search("chr7", 500_000, 520_000)
    print(f"   {[a.query.id for a in hits]}")

    vcf_path = os.path.join(workdir, "calls.vcf.gz")
    text = data_path("example.vcf").read_text()
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    records = [line for line in text.splitlines() if line and not line.startswith("#")]
    _step("Write a bgzipped VCF with its tabix index in one pass",
          "with VcfWriter('calls.vcf.gz', header, index='tbi') as vcf: vcf.write_many(records)")
    with VcfWriter(vcf_path, header, index="tbi") as vcf:
        vcf.write_many(records)
    print(f"   {len(records)} records -> {sorted(f for f in os.listdir(workdir) if 'vcf' in f)}")

    _step("Fetch variants overlapping a region (INFO/END extends a deletion's reach)",
          "for line in VcfReader('calls.vcf.gz').fetch('chr7', 330_000, 340_000): ...")
    for line in VcfReader(vcf_path).fetch("chr7", 330_000, 340_000):
        fields = line.rstrip("\n").split("\t")
        print(f"   {fields[0]}:{fields[1]} {fields[2]} {fields[3]}>{fields[4]} {fields[7]}")

    _step("The same indexes from the shell, for files made elsewhere",
          "bioformats-ext index genes.bam          # like samtools index\n"
          "bioformats-ext tabix -p vcf calls.vcf.gz  # like tabix")


def records_tour(workdir: str) -> None:
    """BAM and VCF/BCF records with pysam's vocabulary, and bigWig values."""
    from .. import bam, bigwig, vcf

    _step("BAM records with pysam's names (0-based fetch, or a 1-based samtools region)",
          "with bam.open('example.bam') as f:\n"
          "    for read in f.fetch(region='chr7:1,000,001-1,001,000'): ...\n"
          "    f.count('chr7'), f.mapped, f.unmapped")
    with bam.open(data_path("example.bam")) as f:
        for read in f.fetch(region="chr7:1,000,001-1,001,000"):
            print(f"   {read.query_name} {read.reference_start} {read.cigarstring} "
                  f"mapq={read.mapping_quality}")
        print(f"   count(chr7)={f.count('chr7')} mapped={f.mapped} unmapped={f.unmapped}")

    bcf_path = os.path.join(workdir, "calls.bcf")
    _step("VCF -> BCF with its CSI in one pass, then typed records back",
          "with vcf.open('example.vcf') as src, \\\n"
          "        vcf.VcfWriter('calls.bcf', src.header.text(), format='bcf', index='csi') as out:\n"
          "    out.write_many(src)\n"
          "[(r.pos, r.ref, r.alts, r.info['DP']) for r in vcf.open('calls.bcf').fetch('chr7', 330_000, 340_000)]")
    with vcf.open(data_path("example.vcf")) as src, \
            vcf.VcfWriter(bcf_path, src.header.text(), format="bcf", index="csi") as out:
        out.write_many(src)
    print(f"   -> {sorted(f for f in os.listdir(workdir) if 'bcf' in f)}")
    with vcf.open(bcf_path) as variants:
        for rec in variants.fetch("chr7", 330_000, 340_000):
            print(f"   {rec.chrom}:{rec.pos} {rec.ref}>{','.join(rec.alts or ())} "
                  f"stop={rec.stop} DP={rec.info.get('DP')}")

    _step("bigWig with pyBigWig's API: values (NaN where uncovered) and zoom-level stats",
          "with bigwig.open('example.bw') as bw:\n"
          "    bw.values('chr1', 95, 125)[:7], bw.stats('chr1', 2000, 12000, type='max', nBins=4)")
    with bigwig.open(data_path("example.bw")) as bw:
        print(f"   {bw.values('chr1', 95, 125)[:7]}")
        print(f"   {bw.stats('chr1', 2000, 12000, type='max', nBins=4)}")


def main(argv: list[str] | None = None) -> int:
    """Run the tour; returns 0."""
    from ._options import ArgumentParser

    ArgumentParser(prog="bioformats-ext demo",
                   description="A short tour of bioformats_ext on the bundled example files "
                               "(prints each step and the Python that does it; writes only to "
                               "a temporary directory).").parse_args(argv or [])
    print("bioformats-ext demo: bundled files in", data_path(""))
    bigbed_tour()
    with tempfile.TemporaryDirectory(prefix="bioformats-ext-demo-") as workdir:
        indexed_writers_tour(workdir)
        records_tour(workdir)
    print("\nDone.")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
