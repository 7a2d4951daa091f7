"""Shared test data for the Dask / tables tests: VCF.gz files indexed by pysam (htslib)."""

from __future__ import annotations

import random
from pathlib import Path

HEADER_INFO = ['##INFO=<ID=DP,Number=1,Type=Integer,Description="depth">',
               '##INFO=<ID=END,Number=1,Type=Integer,Description="end">',
               '##FORMAT=<ID=GT,Number=1,Type=String,Description="genotype">']


def vcf_lines(contigs: list[tuple[str, int, int]], seed: int = 1) -> list[str]:
    """Header + sorted records: ``(name, length, n_records)`` per contig; some long (INFO/END)
    and some with QUAL '.'."""
    rng = random.Random(seed)
    lines = ["##fileformat=VCFv4.2"] + [f"##contig=<ID={c},length={n}>" for c, n, _ in contigs]
    lines += HEADER_INFO + ["#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2"]
    k = 0
    for name, length, count in contigs:
        positions = sorted(rng.randrange(1, length + 1) for _ in range(count))
        for pos in positions:
            ref = rng.choice(["A", "C", "GT", "TTA"])
            info = f"DP={rng.randrange(100)}"
            if rng.random() < 0.05:
                info += f";END={pos + rng.randrange(1, 3000)}"
            qual = rng.choice([".", str(rng.randrange(100)), "3.5"])
            lines.append(f"{name}\t{pos}\tv{k}\t{ref}\tG\t{qual}\tPASS\t{info}\tGT\t0/1\t1/1")
            k += 1
    return lines


def write_vcf_gz(path: Path, contigs: list[tuple[str, int, int]], seed: int = 1,
                 csi: bool = False) -> Path:
    """``path`` (``x.vcf``) bgzipped and indexed by htslib (pysam.tabix_index)."""
    import pysam

    path.write_text("\n".join(vcf_lines(contigs, seed)) + "\n")
    out = pysam.tabix_index(str(path), preset="vcf", force=True, csi=csi)
    return Path(out)


def write_bam(path: Path, n_big: int = 4000, n_small: int = 120, unplaced: int = 50,
              seed: int = 2, csi: bool = False) -> Path:
    """A coordinate-sorted BAM written and indexed by pysam (htslib): one huge contig, many
    small ones, placed unmapped mates, unplaced reads at the end, a few typed tags."""
    import array

    import pysam

    rng = random.Random(seed)
    refs = [("chr1", 50_000_000)] + [(f"ctg{i}", 3000) for i in range(n_small)]
    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": n, "LN": ln} for n, ln in refs], "RG": [{"ID": "g1"}]}
    reads = []
    for tid, (name, length) in enumerate(refs):
        for _ in range(n_big if tid == 0 else rng.randrange(0, 4)):
            pos = rng.randrange(0, length - 200)
            reads.append((tid, pos))
    reads.sort()
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for k, (tid, pos) in enumerate(reads):
            a = pysam.AlignedSegment(out.header)
            a.query_name = f"r{k}"
            length = rng.randrange(1, 120)
            a.query_sequence = "".join(rng.choice("ACGTN") for _ in range(length))
            a.reference_id = tid
            a.reference_start = pos
            if rng.random() < 0.05:  # placed, unmapped (mate's position)
                a.flag = 4 | 1
            else:
                a.flag = rng.choice([0, 16, 99, 147, 256])
                a.mapping_quality = rng.randrange(0, 61)
                m = rng.randrange(1, length + 1)
                a.cigarstring = f"{m}M{length - m}S" if m < length else f"{m}M"
            if rng.random() < 0.8:
                a.query_qualities = array.array("B", [rng.randrange(0, 41) for _ in range(length)])
            a.next_reference_id = tid
            a.next_reference_start = pos + rng.randrange(0, 300)
            a.template_length = rng.randrange(-500, 500)
            a.set_tag("NM", rng.randrange(0, 5))
            a.set_tag("RG", "g1")
            if rng.random() < 0.5:
                a.set_tag("XS", rng.uniform(0, 1), "f")
            out.write(a)
        for k in range(unplaced):
            a = pysam.AlignedSegment(out.header)
            a.query_name = f"u{k}"
            a.query_sequence = "ACGT" * rng.randrange(1, 10)
            a.flag = 4
            a.reference_id = -1
            a.reference_start = -1
            a.next_reference_id = -1
            a.next_reference_start = -1
            a.set_tag("NM", 0)
            a.set_tag("RG", "g1")
            out.write(a)
    pysam.index(str(path), *(["-c"] if csi else []))
    return path
