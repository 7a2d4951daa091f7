"""Benchmark: IndexBuilder throughput, index_bam vs samtools index, BGZF compression speed.

    python benchmarks/index.py [--reads N] [--quick]

One process, competitors side by side, one table with ratios:
- ``IndexBuilder.push_many`` records/s (target >= 5 M/s) and the cost of one scalar ``push``;
- ``index_bam`` on an N-read BAM (made once with pysam/samtools, cached under benchmarks/_work/)
  vs ``pysam.samtools.index`` (single-threaded; target <= 1.0x its time in process), BAI and CSI,
  wall and CPU seconds, with the default 2 inflating threads and with 1, and whether the index
  content equals samtools'; also
  on the same BAM cut into random-size blocks (records split across blocks);
- BGZF compression MB/s of ``BgzfWriter`` per deflate backend, 1 and 2 threads, vs pysam's
  ``BGZFile`` (htslib) writing the same bytes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "_work")
sys.path.insert(0, os.path.dirname(HERE))

from bioformats_ext.bgzf import BgzfReader, BgzfWriter  # noqa: E402
from bioformats_ext.compression import available_deflate_backends  # noqa: E402
from bioformats_ext.bam import index_bam  # noqa: E402
from bioformats_ext.index import IndexBuilder, read_index  # noqa: E402
from _timing import best  # noqa: E402

CHROMS = [("chr1", 120_000_000), ("chr2", 80_000_000), ("chr3", 50_000_000)]


def make_bam(n: int) -> str:
    """N sorted 100 bp reads (some unmapped, some spliced) as BAM, cached."""
    import pysam

    os.makedirs(WORK, exist_ok=True)
    bam = os.path.join(WORK, f"index_reads_{n}.bam")
    if os.path.exists(bam):
        return bam
    rng = np.random.default_rng(7)
    sam = bam[:-4] + ".sam"
    bases = np.frombuffer(b"ACGT", np.uint8)
    counts = [n // 2, n // 3, n - n // 2 - n // 3]
    with open(sam, "w") as out:
        out.write("@HD\tVN:1.6\tSO:coordinate\n")
        out.write("".join(f"@SQ\tSN:{c}\tLN:{ln}\n" for c, ln in CHROMS))
        k = 0
        for (chrom, length), count in zip(CHROMS, counts):
            pos = np.sort(rng.integers(1, length - 100_000, count))
            for lo in range(0, count, 100_000):
                m = min(100_000, count - lo)
                seqs = bases[rng.integers(0, 4, (m, 100))].view("S100").ravel()
                quals = (rng.integers(0, 40, (m, 100)) + 33).astype(np.uint8).view("S100").ravel()
                kind = rng.random(m)
                rows = []
                for i in range(m):
                    k += 1
                    flag, cigar = (4, "*") if kind[i] < 0.02 else (0, "50M2000N50M") if kind[i] < 0.05 else (
                        16 if kind[i] > 0.5 else 0, "100M")
                    rows.append(f"r{k}\t{flag}\t{chrom}\t{pos[lo + i]}\t60\t{cigar}\t*\t0\t0\t"
                                f"{seqs[i].decode()}\t{quals[i].decode()}\n")
                out.write("".join(rows))
        for j in range(1000):
            out.write(f"u{j}\t4\t*\t0\t0\t*\t*\t0\t0\tACGTACGTAC\tIIIIIIIIII\n")
    pysam.samtools.view("-b", "-o", bam + ".tmp", sam, catch_stdout=False)
    os.replace(bam + ".tmp", bam)
    os.remove(sam)
    return bam


def make_reblocked(bam: str) -> str:
    """The same BAM cut into blocks of random size (records split across blocks, as some other
    writers do): index_bam's block-start speculation fails here and it walks record by record."""
    from bioformats_ext.bgzf.blocks import EOF_BLOCK, MAX_BLOCK_DATA, pack_block
    from bioformats_ext.compression import deflate_codec

    out = bam[:-4] + ".reblocked.bam"
    if os.path.exists(out):
        return out
    data = BgzfReader(bam).read()
    codec = deflate_codec("auto", 6)
    rng = np.random.default_rng(3)
    with open(out + ".tmp", "wb") as fh:
        p = 0
        while p < len(data):
            n = int(rng.integers(1000, MAX_BLOCK_DATA + 1))
            fh.write(pack_block(data[p:p + n], codec))
            p += n
        fh.write(EOF_BLOCK)
    os.replace(out + ".tmp", out)
    return out




def alternate(funcs, repeat=2, cpu=None):
    """Best wall time of each function, running them in turn ``repeat`` times; when ``cpu`` is a
    list, the best CPU time (this process, all threads) of each is appended to it."""
    times = [[] for _ in funcs]
    cpus = [[] for _ in funcs]
    for _ in range(repeat):
        for f, ts, cs in zip(funcs, times, cpus):
            t, c = time.perf_counter(), time.process_time()
            f()
            ts.append(time.perf_counter() - t)
            cs.append(time.process_time() - c)
    if cpu is not None:
        cpu.extend(min(cs) for cs in cpus)
    return [min(ts) for ts in times]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 reads, one repeat")
    args = ap.parse_args(argv)
    n = 100_000 if args.quick else args.reads
    repeat = 1 if args.quick else 2
    import pysam

    rows = []
    load0 = os.getloadavg()[0]

    # 1. push_many / push throughput on synthetic sorted records
    rng = np.random.default_rng(1)
    tids = np.repeat(np.arange(3), [n // 2, n // 3, n - n // 2 - n // 3])
    begs = np.concatenate([np.sort(rng.integers(0, 100_000_000, c)) for c in np.bincount(tids)])
    ends = begs + 100
    voffs = np.cumsum(rng.integers(1, 300, n)).astype(np.int64) + (1 << 16)
    mapped = rng.random(n) > 0.02

    def many():
        b = IndexBuilder.bai(3, offset0=1 << 16)
        for lo in range(0, n, 262_144):
            b.push_many(tids[lo:lo + 262_144], begs[lo:lo + 262_144], ends[lo:lo + 262_144],
                        voffs[lo:lo + 262_144], mapped[lo:lo + 262_144])
        b.finish(int(voffs[-1]) + 1)

    t_many = best(many, repeat, clock=time.process_time)
    m = min(n, 200_000)
    tl, bl, el, vl, ml = (x[:m].tolist() for x in (tids, begs, ends, voffs, mapped))

    def scalar():
        b = IndexBuilder.bai(3, offset0=1 << 16)
        push = b.push
        for i in range(m):
            push(tl[i], bl[i], el[i], vl[i], ml[i])
        b.finish(vl[-1] + 1)

    t_scalar = best(scalar, repeat, clock=time.process_time)
    rows.append(("IndexBuilder.push_many (incl. finish)", f"{n / t_many / 1e6:.1f} M rec/s", "target >= 5 M/s"))
    rows.append(("IndexBuilder.push (scalar, incl. finish)", f"{t_scalar / m * 1e6:.2f} us/rec",
                 f"{m / t_scalar / 1e6:.2f} M rec/s"))

    # 2. index_bam vs samtools index (alternating runs, so load drift hits both alike)
    bam = make_bam(n)
    size_mb = os.path.getsize(bam) / 1e6
    for csi in (False, True):
        ext = "csi" if csi else "bai"
        out_ours = os.path.join(WORK, f"ours.{ext}")
        out_sam = os.path.join(WORK, f"samtools.{ext}")
        sam_args = (["-c"] if csi else []) + [bam, out_sam]
        cpu: list[float] = []
        t_ours, t_one, t_sam = alternate([lambda: index_bam(bam, csi=csi, out=out_ours),
                                          lambda: index_bam(bam, csi=csi, out=out_ours, threads=1),
                                          lambda: pysam.samtools.index(*sam_args)], repeat + 1, cpu)
        label = f"index_bam {ext.upper()} ({n:,} reads, {size_mb:.0f} MB)"
        rows.append((label, f"{t_ours:.2f} s wall",
                     f"samtools {t_sam:.2f} s -> {t_ours / t_sam:.2f}x wall (target <= 1.0x)"))
        rows.append(("  CPU (all threads)", f"{cpu[0]:.2f} s CPU",
                     f"samtools {cpu[2]:.2f} s -> {cpu[0] / cpu[2]:.2f}x CPU"))
        rows.append(("  same, threads=1 (one inflating thread)", f"{t_one:.2f} s wall",
                     f"{t_one / t_sam:.2f}x samtools wall; CPU {cpu[1]:.2f} s = "
                     f"{cpu[1] / cpu[2]:.2f}x"))
        mine, theirs = read_index(out_ours), read_index(out_sam)
        same = mine.refs == theirs.refs and mine.n_no_coor == theirs.n_no_coor
        rows.append((f"  {ext.upper()} content equals samtools'", str(same), ""))

    # records split across blocks: no speculation possible, record-by-record walk
    split = make_reblocked(bam)
    out_ours, out_sam = os.path.join(WORK, "ours_split.bai"), os.path.join(WORK, "samtools_split.bai")
    t_ours, t_sam = alternate([lambda: index_bam(split, out=out_ours),
                               lambda: pysam.samtools.index(split, out_sam)], repeat + 1)
    mine, theirs = read_index(out_ours), read_index(out_sam)
    same = mine.refs == theirs.refs and mine.n_no_coor == theirs.n_no_coor
    rows.append(("index_bam BAI, records split across blocks", f"{t_ours:.2f} s",
                 f"samtools {t_sam:.2f} s -> {t_ours / t_sam:.2f}x; content equal: {same}"))

    # 3. BGZF compression
    data = BgzfReader(bam).read(64 << 20)
    mb = len(data) / 1e6

    def compress(backend, threads):
        w = BgzfWriter(os.path.join(WORK, "c.gz"), backend=backend, threads=threads)
        w.write(data)
        w.close()

    def htslib():
        with pysam.BGZFile(os.path.join(WORK, "h.gz"), "wb") as fh:
            fh.write(data)

    t_h = best(htslib, repeat)
    rows.append((f"BGZF htslib (pysam.BGZFile), {mb:.0f} MB", f"{mb / t_h:.0f} MB/s", "reference"))
    for backend in available_deflate_backends():
        for threads in (1, 2):
            t = best(lambda: compress(backend, threads), repeat)
            rows.append((f"BgzfWriter {backend}, {threads} thread{'s' if threads > 1 else ''}",
                         f"{mb / t:.0f} MB/s", f"{t_h / t:.2f}x htslib speed"))

    rows.append(("load average (1 min) at the end", f"{os.getloadavg()[0]:.1f}",
                 f"at the start {load0:.1f}; cores: {os.cpu_count()}"))
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    print(f"{'benchmark'.ljust(w1)}  {'result'.ljust(w2)}  comparison")
    print("-" * (w1 + w2 + 40))
    for a, b, c in rows:
        print(f"{a.ljust(w1)}  {b.ljust(w2)}  {c}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
