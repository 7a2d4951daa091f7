"""Benchmark: reading BAM with bioformats_ext (columns, records, Bio.Align) vs pysam / Biopython.

    python benchmarks/bam_read.py [--reads N] [--align-reads M] [--fetches K]

One process, same files for everyone: N × 100 bp sorted reads written by our BamWriter (cached
under benchmarks/_work/, with a BAI). Prints CPU seconds (``time.process_time`` of the whole
process, helper threads included: robust on a shared machine) and wall seconds, both ratios
(``peer / ours``: > 1 means we are faster), the issue's target, and the load average.

1. columnar pos/mapq/flag of every read (``fetch_columns``) vs pysam iterating the same
   attributes (target: >= 2x faster);
2. record iteration touching ``query_name``, ``reference_start``, ``cigartuples`` vs pysam
   (target: at most 2x pysam's time, i.e. ratio >= 0.5);
3. ``Bio.Align.parse(x, "bam")`` vs Biopython's ``"sam"`` parser on the same M records as SAM,
   every alignment fully built by both (target: >= 3x faster); the first alignments of both
   are checked equal first;
4. K random 10 kb fetches (records touched: ``reference_start``) vs pysam (no target).

``--repeat R`` runs each timing R times (interleaved with the peer's) and keeps the fastest.
"""

from __future__ import annotations

import argparse
import itertools
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


def _alignment_key(alignment) -> dict:
    """Every attribute of an Alignment as plain values (sequences by content or length)."""
    import numpy as np
    from Bio.Seq import UndefinedSequenceError

    def record(rec):
        if rec is None:
            return None
        try:
            seq = bytes(rec.seq)
        except UndefinedSequenceError:
            seq = ("undefined", len(rec.seq))
        return (rec.id, rec.name, rec.description, seq, sorted(rec.annotations.items()),
                sorted((k, list(v)) for k, v in rec.letter_annotations.items()))

    out = {}
    for name, value in vars(alignment).items():
        if name == "sequences":
            value = [record(r) for r in value]
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, bytearray):
            value = bytes(value)
        out[name] = value
    return out


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
    ap.add_argument("--repeat", type=int, default=1)
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

    def compare(what: str, ours, theirs, peer: str, target: float | None) -> None:
        """Time ``ours`` and ``theirs`` (interleaved, fastest of --repeat each) and print."""
        best: dict[str, tuple[float, float]] = {}
        results = {}
        for _ in range(args.repeat):
            for name, func in (("ours", ours), ("theirs", theirs)):
                t, result = cpu(func)
                old = best.get(name, (float("inf"), float("inf")))
                best[name] = (min(old[0], t), min(old[1], WALL["last"]))
                results[name] = result
        assert results["ours"] == results["theirs"], (what, results)
        (c_ours, w_ours), (c_theirs, w_theirs) = best["ours"], best["theirs"]
        c_ratio, w_ratio = c_theirs / c_ours, w_theirs / w_ours
        goal = ""
        if target is not None:
            goal = (f"  target >= {target:g}x: CPU {'met' if c_ratio >= target else 'MISSED'}, "
                    f"wall {'met' if w_ratio >= target else 'MISSED'}")
        print(f"{what:<50} CPU ours {c_ours:6.2f} s  {peer} {c_theirs:6.2f} s  ratio "
              f"{c_ratio:5.2f}x | wall {w_ours:6.2f} s vs {w_theirs:6.2f} s  ratio {w_ratio:5.2f}x{goal}", flush=True)

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

    compare("columns: pos+mapq+flag of every read", ours_columns, pysam_columns, "pysam", 2.0)

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

    compare("records: query_name, reference_start, cigartuples", ours_records, pysam_records,
            "pysam", 0.5)

    # 3. Bio.Align: like with like (equal objects, every one built), parsers warmed up first
    check = 2000
    for x, y in zip(itertools.islice(Align.parse(small_bam, "bam"), check),
                    itertools.islice(Align.parse(small_sam, "sam"), check)):
        assert _alignment_key(x) == _alignment_key(y), (x, y)

    def count(path: str, fmt: str) -> int:
        return sum(1 for _ in Align.parse(path, fmt))

    compare(f"Bio.Align.parse bam vs sam ({args.align_reads:,} reads)",
            lambda: count(small_bam, "bam"), lambda: count(small_sam, "sam"), "Biopython", 3.0)

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

    compare(f"{args.fetches:,} random 10 kb fetches", ours_fetch, pysam_fetch, "pysam", None)
    print(f"# load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
