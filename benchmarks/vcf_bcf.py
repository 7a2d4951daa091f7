"""Benchmark: BCF writing (+ CSI), reading and region fetches, bioformats_ext vs pysam/htslib.

    python benchmarks/vcf_bcf.py [--records N] [--quick] [--repeat R]

One process, same input for everyone: N sorted VCF records (1 sample, GT + 5 INFO keys, 2
contigs; cached under benchmarks/_work/). Write: both start from the same uncompressed VCF
text file on disk and write BGZF at the default level 6. Ours hands the open binary file to
``BcfWriter(index="csi").write_many`` (read in chunks, encoded a batch at a time, CSI built in
the same pass); pysam parses it with ``VariantFile`` and writes ``VariantFile(..., "wb")``,
then ``bcftools index``. The "2 threads" row gives both writers a second thread for BGZF
compression (``threads=2``): CPU time stays about the same, wall time is what it buys. The
"uncompressed" row (ours ``level=0``, pysam mode ``"wb0"``: BGZF blocks stored, as ``-Ou``) leaves deflate out, comparing
parsing + encoding + indexing alone (pysam's htslib deflates with zlib, ours with libdeflate,
both at level 6, so the compressed rows include that difference).
Read: every record, touching ``pos``, ``info["DP"]`` and the sample's ``GT``. Fetch: 1,000
random regions (1 bp – 100 kbp) through the CSI, counting records. CPU seconds of this process
(all its threads) and wall seconds, best of R runs by CPU; ratio = ours / pysam. The load
average is printed because the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "_work")
CONTIGS = [("1", 248_956_422), ("2", 242_193_529)]


def make_vcf(n: int) -> str:
    os.makedirs(WORK, exist_ok=True)
    path = os.path.join(WORK, f"bcfbench_{n}.vcf")
    if os.path.exists(path):
        return path
    rng = np.random.default_rng(11)
    header = ["##fileformat=VCFv4.2"] + [f"##contig=<ID={c},length={n_}>" for c, n_ in CONTIGS]
    header += ['##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">',
               '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">',
               '##INFO=<ID=MQ,Number=1,Type=Float,Description="Mapping quality">',
               '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">',
               '##INFO=<ID=DB,Number=0,Type=Flag,Description="dbSNP">',
               '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
               "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1"]
    tmp = path + ".tmp"
    with open(tmp, "w") as out:
        out.write("\n".join(header) + "\n")
        k = 0
        for (chrom, length), count in zip(CONTIGS, [n // 2, n - n // 2]):
            pos = np.sort(rng.integers(1, length - 100, count))
            refs = rng.choice(["A", "C", "G", "T"], count)
            alts = rng.choice(["C", "G", "T", "AT"], count)
            dps = rng.integers(5, 400, count)
            gts = rng.choice(["0/1", "1/1", "0|1", "./."], count)
            rows = []
            for i in range(count):
                k += 1
                db = ";DB" if dps[i] % 3 == 0 else ""
                rows.append(f"{chrom}\t{pos[i]}\trs{k}\t{refs[i]}\t{alts[i]}\t{dps[i] % 90}\tPASS\t"
                            f"DP={dps[i]};AF=0.{dps[i] % 97:02d};MQ={dps[i] % 60}.5;AC={dps[i] % 3}"
                            f"{db}\tGT\t{gts[i]}\n")
            out.write("".join(rows))
    os.replace(tmp, path)
    return path


def timed(func):
    c, t = time.process_time(), time.perf_counter()
    result = func()
    return time.process_time() - c, time.perf_counter() - t, result


def best(func, repeat):
    runs = [timed(func) for _ in range(repeat)]
    return min(runs, key=lambda r: r[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 records")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    n = 100_000 if args.quick else args.records

    import pysam
    from pysam import bcftools

    from bioformats_ext import vcf

    source = make_vcf(n)
    ours = os.path.join(WORK, f"bcfbench_{n}.ours.bcf")
    theirs = os.path.join(WORK, f"bcfbench_{n}.pysam.bcf")

    def write_ours(threads=1, level=None, path=ours):
        with open(source, "rb") as fh:
            header = []
            for line in fh:
                header.append(line)
                if line.startswith(b"#CHROM"):
                    break
            with vcf.BcfWriter(path, b"".join(header), index="csi", threads=threads,
                               level=level) as w:
                w.write_many(fh)

    def write_pysam(threads=1, mode="wb", path=theirs):
        with pysam.VariantFile(source) as inp, \
                pysam.VariantFile(path, mode, header=inp.header, threads=threads) as out:
            for rec in inp:
                out.write(rec)
        bcftools.index("-c", "-f", path)

    def read_ours():
        total = 0
        with vcf.open(ours) as f:
            for rec in f:
                total += rec.pos + (rec.info["DP"] or 0)
                gt = rec.samples[0]["GT"]
                total += gt[0] or 0
        return total

    def read_pysam():
        total = 0
        with pysam.VariantFile(theirs) as f:
            for rec in f:
                total += rec.pos + (rec.info["DP"] or 0)
                gt = rec.samples[0]["GT"]
                total += gt[0] or 0
        return total

    rng = np.random.default_rng(5)
    regions = []
    for _ in range(1000):
        name, length = CONTIGS[int(rng.integers(0, len(CONTIGS)))]
        start = int(rng.integers(0, length - 100_000))
        regions.append((name, start, start + int(rng.choice([1, 1000, 100_000]))))

    def fetch_ours():
        with vcf.open(ours) as f:
            return sum(1 for r in regions for _ in f.fetch(*r))

    def fetch_pysam():
        with pysam.VariantFile(theirs) as f:
            return sum(1 for r in regions for _ in f.fetch(*r))

    load = os.getloadavg()
    print(f"records: {n:,}  load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}  "
          f"cores: {os.cpu_count()}")
    rows = []
    for label, a, b in [("write BCF + CSI", write_ours, write_pysam),
                        ("write BCF + CSI, 2 threads", lambda: write_ours(2),
                         lambda: write_pysam(2)),
                        ("write uncompressed BCF + CSI (no deflate)",
                         lambda: write_ours(level=0, path=ours + ".u.bcf"),
                         lambda: write_pysam(mode="wb0", path=theirs + ".u.bcf")),
                        ("read pos, info[DP], GT", read_ours, read_pysam),
                        ("fetch 1,000 regions", fetch_ours, fetch_pysam)]:
        oc, ow, ores = best(a, args.repeat)
        pc, pw, pres = best(b, args.repeat)
        if label.startswith("read") or label.startswith("fetch"):
            assert ores == pres, (label, ores, pres)
        rows.append((label, oc, pc, oc / pc, ow, pw))
        if label == "write BCF + CSI":
            sizes = (os.path.getsize(ours), os.path.getsize(theirs))
    print("| task | bioformats_ext CPU s | pysam CPU s | CPU ratio | ours wall s | pysam wall s "
          "| wall ratio |")
    print("|---|---|---|---|---|---|---|")
    for label, oc, pc, ratio, ow, pw in rows:
        print(f"| {label} | {oc:.2f} | {pc:.2f} | {ratio:.2f}x | {ow:.2f} | {pw:.2f} "
              f"| {ow / pw:.2f}x |")
    print(f"BCF sizes (level 6): ours {sizes[0]:,} bytes, pysam {sizes[1]:,} bytes")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(HERE))
    sys.exit(main())
