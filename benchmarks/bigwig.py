"""bigWig benchmark: bioformats_ext.bigwig against pyBigWig (C) and pybigtools (Rust).

Reading (same process, same file, warm OS cache; each reader opened fresh):
  * values over 1,000 random 100 kb windows;
  * stats(nBins=100) over the same 1,000 windows (zoom levels, as pyBigWig chooses them);
  * values of a whole chromosome.
Writing: a bedGraph of N intervals (default 10M), ours vs pybigtools' writer, each in a child
process so that its peak RSS can be reported (time is measured inside the child).

    python benchmarks/bigwig.py [--intervals 10000000] [--windows 1000]

Ratios are ours / best peer for time (< 1 means we are faster). Load average is printed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bioformats_ext import bigwig  # noqa: E402

warnings.simplefilter("ignore")
CHROMS = {f"chr{i}": 60_000_000 - i * 5_000_000 for i in range(1, 9)}


def make_bedgraph(path: Path, n: int, seed: int = 1) -> dict[str, int]:
    """Coverage-like bedGraph spread over every chromosome: runs averaging 60% of the mean
    step, contiguous 70% of the time, gaps otherwise."""
    rng = np.random.default_rng(seed)
    total = sum(CHROMS.values())
    with open(path, "w") as out:
        for chrom, size in CHROMS.items():
            k = int(n * size / total)
            step = size / k
            width = rng.integers(1, max(2, int(1.2 * step)), k)
            gap = np.where(rng.random(k) < 0.3, rng.integers(1, max(2, int(2.6 * step)), k), 0)
            starts = np.cumsum(gap + np.concatenate([[0], width[:-1]]))
            ends = starts + width
            keep = ends <= size
            starts, ends = starts[keep], ends[keep]
            vals = np.round(rng.gamma(2.0, 3.0, len(starts)), 3)
            lines = np.char.add(np.char.add(np.char.add(chrom + "\t", starts.astype(str)),
                                            np.char.add("\t", ends.astype(str))),
                                np.char.add("\t", vals.astype(str)))
            out.write("\n".join(lines.tolist()))
            out.write("\n")
    return CHROMS


def _hwm_kib() -> int:
    """Peak resident set of this process (VmHWM; unlike ru_maxrss it does not inherit the
    parent's peak across fork + exec)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _rss_child(func, args, queue) -> None:
    base = _hwm_kib()
    t = time.perf_counter()
    func(*args)
    elapsed = time.perf_counter() - t
    queue.put((elapsed, _hwm_kib(), base))


def in_child(func, *args) -> tuple[float, float, float]:
    """(seconds, peak RSS MiB, RSS MiB before the call) of ``func(*args)`` run in a fresh child process."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_rss_child, args=(func, args, queue))
    proc.start()
    elapsed, peak, base = queue.get()
    proc.join()
    return elapsed, peak / 1024, base / 1024


def write_ours(bedgraph: str, sizes: dict[str, int], out: str) -> None:
    bigwig.write(bedgraph, sizes, out)


def write_ours_isal(bedgraph: str, sizes: dict[str, int], out: str) -> None:
    bigwig.write(bedgraph, sizes, out, compress="isal")


def write_pybigtools(bedgraph: str, sizes: dict[str, int], out: str) -> None:
    import pybigtools

    def items():
        with open(bedgraph) as handle:
            for line in handle:
                c, s, e, v = line.split("\t")
                yield c, int(s), int(e), float(v)

    pybigtools.open(out, "w").write(sizes, items())


def timed(label: str, func, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t)
    print(f"  {label:<28s} {best:8.3f} s")
    return best


def read_benchmarks(path: Path, nwin: int) -> list[tuple[str, float, float]]:
    import pyBigWig
    import pybigtools

    rng = np.random.default_rng(7)
    names = list(CHROMS)
    wins = []
    for _ in range(nwin):
        c = names[int(rng.integers(len(names)))]
        a = int(rng.integers(0, CHROMS[c] - 100_000))
        wins.append((c, a, a + 100_000))
    rows = []

    print(f"values over {nwin} random 100 kb windows")
    def ours_values():
        with bigwig.open(path) as bw:
            for w in wins:
                bw.values(*w)

    def pbw_values():
        bw = pyBigWig.open(str(path))
        for w in wins:
            bw.values(*w, numpy=True)
        bw.close()

    def pbt_values():
        bw = pybigtools.open(str(path))
        for w in wins:
            bw.values(*w)

    o = timed("bioformats_ext", ours_values, 2)
    p = timed("pyBigWig", pbw_values, 2)
    t = timed("pybigtools", pbt_values, 2)
    rows.append(("values, 1,000 x 100 kb", o, min(p, t)))

    print(f"stats(nBins=100) over the same {nwin} windows")
    def ours_stats():
        with bigwig.open(path) as bw:
            for w in wins:
                bw.stats(*w, nBins=100, numpy=True)

    def pbw_stats():
        bw = pyBigWig.open(str(path))
        for w in wins:
            bw.stats(*w, nBins=100, numpy=True)
        bw.close()

    def pbt_stats():
        bw = pybigtools.open(str(path))
        for w in wins:
            bw.values(*w, bins=100, summary="mean")

    o = timed("bioformats_ext", ours_stats, 2)
    p = timed("pyBigWig", pbw_stats, 2)
    t = timed("pybigtools", pbt_stats, 2)
    rows.append(("stats(nBins=100), 1,000 windows", o, min(p, t)))

    chrom = names[0]
    print(f"values of a whole chromosome ({chrom}, {CHROMS[chrom]:,} bases)")
    o = timed("bioformats_ext", lambda: bigwig.open(path).values(chrom), 2)
    p = timed("pyBigWig", lambda: pyBigWig.open(str(path)).values(chrom, 0, CHROMS[chrom],
                                                                   numpy=True), 2)
    t = timed("pybigtools", lambda: pybigtools.open(str(path)).values(chrom), 2)
    rows.append(("values, whole chromosome", o, min(p, t)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--intervals", type=int, default=10_000_000)
    ap.add_argument("--windows", type=int, default=1000)
    ap.add_argument("--skip-write", action="store_true")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        bg = tmpd / "in.bedGraph"
        t = time.perf_counter()
        sizes = make_bedgraph(bg, args.intervals)
        with open(bg) as handle:
            n = sum(1 for _ in handle)
        print(f"bedGraph: {n:,} intervals, {bg.stat().st_size / 1e6:.0f} MB "
              f"(made in {time.perf_counter() - t:.1f} s)")
        rows: list[tuple[str, float, float]] = []
        ours_bw = tmpd / "ours.bw"
        if not args.skip_write:
            print(f"writing {n:,} bedGraph intervals (child processes; time, peak RSS)")
            results = {}
            for label, func, out in (("bioformats_ext (zlib)", write_ours, ours_bw),
                                     ("bioformats_ext (isal)", write_ours_isal,
                                      tmpd / "isal.bw"),
                                     ("pybigtools", write_pybigtools, tmpd / "pbt.bw")):
                elapsed, peak, base = in_child(func, str(bg), sizes, str(out))
                results[label] = (elapsed, peak)
                print(f"  {label:<28s} {elapsed:8.2f} s   peak RSS {peak:7.0f} MiB "
                      f"(after imports {base:4.0f})   "
                      f"{out.stat().st_size / 1e6:6.1f} MB")
            rows.append(("write bedGraph (zlib)", results["bioformats_ext (zlib)"][0],
                         results["pybigtools"][0]))
            rows.append(("write bedGraph (isal)", results["bioformats_ext (isal)"][0],
                         results["pybigtools"][0]))
        else:
            write_ours(str(bg), sizes, str(ours_bw))
        rows += read_benchmarks(ours_bw, args.windows)
    print(f"load average after: {os.getloadavg()}")
    print()
    print(f"{'benchmark':<34s} {'ours s':>9s} {'best peer s':>12s} {'ratio':>7s}")
    for label, ours, peer in rows:
        print(f"{label:<34s} {ours:9.3f} {peer:12.3f} {ours / peer:7.2f}")


if __name__ == "__main__":
    main()
