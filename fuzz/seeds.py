"""Seed files for the fuzz campaign: small, valid files made by our writers and by independent
implementations (pysam/htslib, pybigtools, UCSC's own bigBed files in ``tests/data``).

Each seed is a *case*: a dict ``{file name: bytes}`` (a data file and, when it has one, its
index), so a target can fuzz either member. Seeds are built once per run into memory; building
them is deterministic (fixed contents), so a campaign is reproducible from its ``--seed``.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
UCSC = REPO / "tests" / "data" / "ucsc-bigbed"

Case = dict[str, bytes]

CONTIGS = [("chr1", 200_000), ("chr2", 150_000), ("chrM", 16_569)]
VCF_HEADER = ("##fileformat=VCFv4.2\n"
              + "".join(f"##contig=<ID={n},length={ln}>\n" for n, ln in CONTIGS)
              + '##INFO=<ID=END,Number=1,Type=Integer,Description="End">\n'
              + '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
              + '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
              + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\n")


def vcf_lines(rng: random.Random, n: int) -> list[str]:
    lines = []
    for name, length in CONTIGS:
        pos = 1
        for _ in range(n // len(CONTIGS)):
            pos += rng.randint(1, 2000)
            if pos >= length:
                break
            ref = rng.choice(["A", "C", "GT", "TTA"])
            info = f"DP={rng.randint(1, 99)}"
            if rng.random() < 0.1:
                info += f";END={pos + rng.randint(1, 500)}"
            lines.append(f"{name}\t{pos}\t.\t{ref}\tG\t{rng.randint(1, 60)}\tPASS\t{info}\tGT\t0/1\n")
    return lines


def sam_header() -> str:
    return "@HD\tVN:1.6\tSO:coordinate\n" + "".join(f"@SQ\tSN:{n}\tLN:{ln}\n" for n, ln in CONTIGS)


def sam_lines(rng: random.Random, n: int) -> list[str]:
    out = []
    for tid, (name, length) in enumerate(CONTIGS):
        pos = 1
        for i in range(n // len(CONTIGS)):
            pos += rng.randint(0, 3000)
            if pos + 60 >= length:
                break
            m = rng.randint(10, 40)
            cigar = f"{m}M2I{48 - m}M" if rng.random() < 0.3 else "50M"
            seq = "".join(rng.choice("ACGT") for _ in range(50))
            out.append(f"r{tid}_{i}\t{rng.choice([0, 16, 99, 147])}\t{name}\t{pos}\t{rng.randint(0, 60)}"
                       f"\t{cigar}\t=\t{pos + 100}\t150\t{seq}\t{'I' * 50}\tNM:i:{rng.randint(0, 3)}\n")
    out.append(f"u1\t4\t*\t0\t0\t*\t*\t0\t0\tACGT\tIIII\n")
    return out


def bed_lines(rng: random.Random, n: int, width: int = 6) -> list[tuple]:
    recs = []
    for name, length in CONTIGS:
        start = 0
        for i in range(n // len(CONTIGS)):
            start += rng.randint(0, 500)
            end = start + rng.randint(0, 800)
            if end > length:
                break
            rest = f"f{i}\t{rng.randint(0, 1000)}\t{rng.choice('+-')}" if width >= 6 else None
            recs.append((name, start, end, rest))
    return recs


def _read(path: "str | os.PathLike[str]") -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _in_tmp(build: Callable[[str], dict[str, str]]) -> Case:
    """Run ``build(dir)`` (which returns ``{case name: path}``) and collect the files."""
    with tempfile.TemporaryDirectory() as d:
        names = build(d)
        return {name: _read(path) for name, path in names.items()}


def bigbed_seeds() -> list[Case]:
    cases: list[Case] = []
    for name in ("bed3.bb", "bed12.bb", "bigbed_extended.bigendian.bb", "bigbedtest.bb",
                 "bigPsl.bb"):
        path = UCSC / name
        if path.exists():
            cases.append({"x.bb": _read(path)})
    rng = random.Random(7)

    def ours(d: str) -> dict[str, str]:
        from bioformats_ext.bbi.write import BigBedWriter

        path = os.path.join(d, "o.bb")
        with BigBedWriter(path, dict(CONTIGS), bed_type="bed6", extra_index=["name"],
                          block_size=4, items_per_slot=8) as w:
            w.write_records(bed_lines(rng, 300))
        return {"x.bb": path}

    cases.append(_in_tmp(ours))

    def theirs(d: str) -> dict[str, str]:
        import pybigtools

        path = os.path.join(d, "p.bb")
        bb = pybigtools.open(path, "w")
        bb.write(dict(CONTIGS), [(c, s, e, r or "") for c, s, e, r in bed_lines(rng, 200, 3)])
        return {"x.bb": path}

    try:
        cases.append(_in_tmp(theirs))
    except Exception:  # pragma: no cover - pybigtools API differences
        pass
    return cases


def vcf_seeds() -> list[Case]:
    rng = random.Random(11)
    cases: list[Case] = []

    def ours(index: str) -> Callable[[str], dict[str, str]]:
        def build(d: str) -> dict[str, str]:
            from bioformats_ext.vcf import VcfWriter

            path = os.path.join(d, "o.vcf.gz")
            with VcfWriter(path, VCF_HEADER, index=index) as w:
                w.write_many(vcf_lines(rng, 240))
            return {"x.vcf.gz": path, f"x.vcf.gz.{index}": f"{path}.{index}"}
        return build

    cases.append(_in_tmp(ours("tbi")))
    cases.append(_in_tmp(ours("csi")))

    def htslib(d: str) -> dict[str, str]:
        import pysam

        plain = os.path.join(d, "h.vcf")
        with open(plain, "w") as fh:
            fh.write(VCF_HEADER + "".join(vcf_lines(rng, 150)))
        out = pysam.tabix_index(plain, preset="vcf", force=True, keep_original=True)
        return {"x.vcf.gz": out, "x.vcf.gz.tbi": out + ".tbi"}

    cases.append(_in_tmp(htslib))

    def bgzf2(d: str) -> dict[str, str]:
        from bioformats_ext.vcf import VcfWriter

        path = os.path.join(d, "o.vcf.bgz2")
        with VcfWriter(path, VCF_HEADER, compression="bgzf2") as w:
            w.write_many(vcf_lines(rng, 200))
        return {"x.vcf.gz": path}

    cases.append(_in_tmp(bgzf2))
    return cases


def bam_seeds() -> list[Case]:
    rng = random.Random(13)
    cases: list[Case] = []

    def ours(index: str) -> Callable[[str], dict[str, str]]:
        def build(d: str) -> dict[str, str]:
            from bioformats_ext.bam import BamWriter

            path = os.path.join(d, "o.bam")
            with BamWriter(path, sam_header(), index=index) as w:
                w.write_many(sam_lines(rng, 150))
            return {"x.bam": path, f"x.bam.{index}": f"{path}.{index}"}
        return build

    cases.append(_in_tmp(ours("bai")))
    cases.append(_in_tmp(ours("csi")))

    def htslib(d: str) -> dict[str, str]:
        import pysam

        sam = os.path.join(d, "h.sam")
        with open(sam, "w") as fh:
            fh.write(sam_header() + "".join(sam_lines(rng, 120)))
        bam = os.path.join(d, "h.bam")
        pysam.view("-b", "-o", bam, sam, catch_stdout=False)
        pysam.index(bam)
        return {"x.bam": bam, "x.bam.bai": bam + ".bai"}

    cases.append(_in_tmp(htslib))
    return cases


def bgzf2_seeds() -> list[Case]:
    rng = random.Random(17)

    def build(d: str) -> dict[str, str]:
        from bioformats_ext.bgzf2 import Bgzf2Writer

        path = os.path.join(d, "o.bgz2")
        with Bgzf2Writer(path, block_size=700, references=CONTIGS[:2]) as w:
            for i in range(60):
                line = f"chr1\t{i * 100}\t{i * 100 + 50}\trec{i}\n".encode()
                w.write_record(line)
                w.push(0, i * 100, i * 100 + 50)
        return {"x.bgz2": path}

    cases = []
    try:
        cases.append(_in_tmp(build))
    except Exception:
        pass

    def plain(d: str) -> dict[str, str]:
        from bioformats_ext.bgzf2 import Bgzf2Writer

        path = os.path.join(d, "p.bgz2")
        with Bgzf2Writer(path, block_size=500) as w:
            w.write(bytes(rng.randrange(256) for _ in range(3000)))
        return {"x.bgz2": path}

    cases.append(_in_tmp(plain))
    return cases


def bgzf_seeds() -> list[Case]:
    rng = random.Random(19)

    def build(d: str) -> dict[str, str]:
        import pysam

        plain = os.path.join(d, "t.txt")
        with open(plain, "w") as fh:
            for i in range(400):
                fh.write(f"line {i} " + "x" * rng.randint(0, 300) + "\n")
        pysam.tabix_compress(plain, plain + ".gz", force=True)
        return {"x.gz": plain + ".gz"}

    return [_in_tmp(build)]


def text_seeds() -> dict[str, list[bytes]]:
    """Plain text inputs for the writer targets (VCF lines and SAM lines)."""
    rng = random.Random(23)
    return {"vcf": [(VCF_HEADER + "".join(vcf_lines(rng, 60))).encode()],
            "sam": [(sam_header() + "".join(sam_lines(rng, 45))).encode()]}
