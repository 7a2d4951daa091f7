"""Benchmark: reading BAM with bioformats_ext (columns, records, Bio.Align) vs pysam / Biopython.

    python benchmarks/bam_read.py [--reads N] [--align-reads M] [--fetches K]

One process, same files for everyone: N × 100 bp sorted reads written by our BamWriter (cached
under benchmarks/_work/, with a BAI). Prints CPU seconds (``time.process_time``: robust on a
shared machine) and ratios, with the load average.

1. columnar pos/mapq/flag of every read (``fetch_columns``) vs pysam iterating the same attributes;
2. record iteration touching ``query_name``, ``reference_start``, ``cigartuples`` vs pysam;
3. ``Bio.Align.parse(x, "bam")`` vs Biopython's ``"sam"`` parser on the same M records as SAM;
4. K random 10 kb fetches (records touched: ``reference_start``) vs pysam.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from bam_write import CHROMS, WORK, make_sam  # noqa: E402


WALL: dict[str, float] = {}


def cpu(func) -> tuple[float, object]:
    """CPU seconds of the whole process (helper threads included) and the result; the wall
    seconds are kept in WALL["last"]."""
    c, w = time.process_time(), time.perf_counter()
    result = func()
    WALL["last"] = time.perf_counter() - w
    return time.process_time() - c, result


def make_bam(sam_path: str, n: int, limit: int | None = None) -> tuple[str, str]:
    """BAM (+ .bai) of the first ``limit`` records of ``sam_path`` (all by default), and the
    matching SAM text file."""
    from bioformats_ext.bam import BamWriter

    tag = f"{n}" if limit is None else f"{n}_first{limit}"
    bam = os.path.join(WORK, f"read_{tag}.bam")
    sam = sam_path if limit is None else os.path.join(WORK, f"read_{tag}.sam")
    if os.path.exists(bam) and os.path.exists(bam + ".bai") and os.path.exists(sam):
        return bam, sam
    header, lines = [], []
    with open(sam_path, "rb") as handle:
        for line in handle:
            if line.startswith(b"@"):
                header.append(line)
            elif limit is None or len(lines) < limit:
                lines.append(line)
            else:
                break
    if limit is not None:
        with open(sam, "wb") as out:
            out.write(b"".join(header) + b"".join(lines))
    with BamWriter(bam, b"".join(header).decode(), index="bai", threads=2) as writer:
        writer.write_many(lines)
    return bam, sam


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reads", type=int, default=1_000_000)
    ap.add_argument("--align-reads", type=int, default=100_000)
    ap.add_argument("--fetches", type=int, default=1000)
    args = ap.parse_args()
    import pysam
    from Bio import Align

    import bioformats_ext  # noqa: F401  (registers "bam" for Bio.Align)
    import bioformats_ext.bam as B

    sam_path = make_sam(args.reads)
    bam, _ = make_bam(sam_path, args.reads)
    small_bam, small_sam = make_bam(sam_path, args.reads, args.align_reads)
    print(f"# bam_read: {args.reads:,} x 100 bp reads ({os.path.getsize(bam) / 1e6:.0f} MB BAM); "
          f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    rows = []

    walls: list[float] = []

    def report(what: str, ours: float, theirs: float, peer: str) -> None:
        rows.append((what, ours, theirs, peer))
        w_ours, w_theirs = walls[-2], walls[-1]
        print(f"{what:<50} CPU ours {ours:6.2f} s  {peer} {theirs:6.2f} s  "
              f"{theirs / ours if ours else float('inf'):5.2f}x | wall {w_ours:6.2f} s vs "
              f"{w_theirs:6.2f} s  {w_theirs / w_ours if w_ours else float('inf'):5.2f}x",
              flush=True)

    def timed(func):
        t, result = cpu(func)
        walls.append(WALL["last"])
        return t, result

    # 1. columns
    def ours_columns():
        total = 0
        with B.open(bam) as f:
            for cols in f.fetch_columns(until_eof=True):
                total += int(cols.pos.sum()) + int(cols.mapq.sum()) + int(cols.flag.sum())
        return total

    def pysam_columns():
        total = 0
        with pysam.AlignmentFile(bam) as f:
            for r in f.fetch(until_eof=True):
                total += r.reference_start + r.mapping_quality + r.flag
        return total

    t_ours, a = timed(ours_columns)
    t_theirs, b = timed(pysam_columns)
    assert a == b
    report("columns: pos+mapq+flag of every read", t_ours, t_theirs, "pysam")

    # 2. records
    def ours_records():
        n = 0
        with B.open(bam) as f:
            for r in f:
                n += len(r.query_name) + r.reference_start + len(r.cigartuples)
        return n

    def pysam_records():
        n = 0
        with pysam.AlignmentFile(bam) as f:
            for r in f.fetch(until_eof=True):
                n += len(r.query_name) + r.reference_start + len(r.cigartuples)
        return n

    t_ours, a = timed(ours_records)
    t_theirs, b = timed(pysam_records)
    assert a == b
    report("records: query_name, reference_start, cigartuples", t_ours, t_theirs, "pysam")

    # 3. Bio.Align (parsers imported and warmed up first)
    next(iter(Align.parse(small_bam, "bam")))
    next(iter(Align.parse(small_sam, "sam")))
    t_ours, a = timed(lambda: sum(1 for _ in Align.parse(small_bam, "bam")))
    t_theirs, b = timed(lambda: sum(1 for _ in Align.parse(small_sam, "sam")))
    assert a == b == args.align_reads
    report(f"Bio.Align.parse bam vs sam ({args.align_reads:,} reads)", t_ours, t_theirs,
           "Biopython")

    # 4. random fetches
    rng = random.Random(1)
    queries = []
    for _ in range(args.fetches):
        name, length = rng.choice(CHROMS)
        start = rng.randrange(0, length - 10_000)
        queries.append((name, start, start + 10_000))

    def ours_fetch():
        n = 0
        with B.open(bam) as f:
            for q in queries:
                for r in f.fetch(*q):
                    n += r.reference_start
        return n

    def pysam_fetch():
        n = 0
        with pysam.AlignmentFile(bam) as f:
            for q in queries:
                for r in f.fetch(*q):
                    n += r.reference_start
        return n

    t_ours, a = timed(ours_fetch)
    t_theirs, b = timed(pysam_fetch)
    assert a == b
    report(f"{args.fetches:,} random 10 kb fetches", t_ours, t_theirs, "pysam")
    print(f"# load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
