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
