"""Regenerate bioformats_ext/data/example.bam (+ .bai): 600 synthetic 100 bp reads on chr7.

    python tests/make_example_bam.py

Deterministic (fixed seed), written with our own BamWriter; every SAM tag type, soft/hard
clips, =/X/N/I/D operations, a long read with base-modification tags (MM/ML), placed and
unplaced unmapped reads.
"""

from __future__ import annotations

import random
from pathlib import Path

from bioformats_ext.bam import BamWriter

OUT = Path(__file__).resolve().parents[1] / "bioformats_ext" / "data" / "example.bam"
HEADER = ("@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr7\tLN:159345973\n@SQ\tSN:chrM\tLN:16569\n"
          "@RG\tID:grp1\tSM:sample1\n@CO\texample reads for the bioformats-ext docs\n")


def main() -> None:
    rng = random.Random(2024)
    rows = []
    for i in range(600):
        chrom = "chr7" if i < 560 else "chrM"
        pos = 1_000_000 + i * 250 + rng.randrange(200) if chrom == "chr7" else 100 + (i - 560) * 300
        seq = "".join(rng.choice("ACGT") for _ in range(100))
        qual = "".join(chr(33 + rng.randrange(10, 41)) for _ in range(100))
        cigar = rng.choice(["100M", "100M", "5S95M", "50M2I48M", "40M3D60M", "30M500N70M",
                            "60=1X39=", "3H100M"])
        flag = rng.choice([99, 147, 83, 163, 0, 16, 256, 2048])
        tags = [f"NM:i:{rng.randrange(4)}", f"AS:i:{rng.randrange(80, 101)}", "RG:Z:grp1"]
        if i % 7 == 0:
            tags += ["XA:A:Q", "XF:f:0.5", "XH:H:1AE3", "XB:B:s,-3,500,7"]
        if i % 11 == 0:
            tags += ["MM:Z:C+m,0,2;", "ML:B:C,200,31"]
        rows.append((0 if chrom == "chr7" else 1, pos, "\t".join(
            [f"read{i:03d}", str(flag), chrom, str(pos), str(rng.choice([0, 30, 60])), cigar,
             "=", str(pos + 150), rng.choice(["250", "-250"]), seq, qual] + tags)))
        if i % 50 == 0:  # a placed unmapped mate
            rows.append((0 if chrom == "chr7" else 1, pos, "\t".join(
                [f"read{i:03d}", "69", chrom, str(pos), "0", "*", "=", str(pos), "0", seq, qual])))
    rows.sort(key=lambda r: (r[0], r[1]))
    lines = [r[2] for r in rows] + [f"unplaced{i}\t4\t*\t0\t0\t*\t*\t0\t0\tACGTACGT\t*"
                                    for i in range(5)]
    with BamWriter(str(OUT), HEADER, index="bai") as writer:
        writer.write_many(lines)


if __name__ == "__main__":
    main()
