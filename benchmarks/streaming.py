"""Benchmark: bigBed region queries stream in bounded windows (issue 17).

    python benchmarks/streaming.py [--base N]

Writes bigBeds of 1x / 4x / 16x ``N`` records on one chromosome (cached under benchmarks/_work/),
then, each in a fresh process, iterates ``records("chr1")`` and prints peak RSS above the
process's RSS after opening the file, plus the bytes and requests the FIRST record cost. "before"
emulates the old reader (the whole chromosome's blocks fetched up front: one unbounded window).
Runs with the block cache off (``block_cache=0``) and with the default 64 MB cache.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, "_work")

CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from bioformats_ext import bigbed
from bioformats_ext.bbi import reader as R
path, window, cache = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if window:
    R.FIRST_WINDOW = R.WINDOW_BYTES = R.CACHED_QUERY_BYTES = window
def rss_kb(key="VmRSS:"):  # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork + exec
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1])
opts = {} if cache < 0 else {"block_cache": cache}
f = bigbed.open(path, **opts)
base = rss_kb()
it = f.records("chr1")
s = f.source.stats
b0, r0 = s.bytes_fetched, s.requests
next(it)
first = (s.bytes_fetched - b0, s.requests - r0)
n = 1 + sum(1 for _ in it)
peak = rss_kb("VmHWM:")
print(json.dumps({"n": n, "first_bytes": first[0], "first_requests": first[1],
                  "peak_over_open_mb": (peak - base) / 1024, "data_mb": s.bytes_fetched / 2**20}))
"""


def make(path: str, n: int) -> None:
    import numpy as np

    sys.path.insert(0, ROOT)
    from bioformats_ext.bbi.write import write

    rng = np.random.default_rng(n)
    size = 25 * n
    starts = np.sort(rng.integers(0, size - 1000, n)).tolist()
    recs = ((("chr1", s, s + 50 + i % 500, f"item{i}\t{i % 1000}\t{'+-'[i & 1]}"))
            for i, s in enumerate(starts))
    write(recs, {"chr1": size}, path + ".tmp", bed_type="bed6")
    os.replace(path + ".tmp", path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", type=int, default=50_000)
    opts = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.1f} (cores: {os.cpu_count()})")
    print(f"{'input':>6s} {'records':>9s} {'file MB':>8s} {'reader':>7s} {'cache':>6s} "
          f"{'1st-record bytes':>17s} {'reqs':>5s} {'peak RSS over open MB':>22s}")
    for mult in (1, 4, 16):
        n = opts.base * mult
        path = os.path.join(WORK, f"stream_{n}.bb")
        if not os.path.exists(path):
            make(path, n)
        mb = os.path.getsize(path) / 2**20
        for label, window in (("before", 1 << 40), ("after", 0)):
            for cache in (0, -1):
                out = subprocess.run([sys.executable, "-c", CHILD, ROOT, path, str(window), str(cache)],
                                     capture_output=True, text=True, check=True).stdout
                r = json.loads(out)
                assert r["n"] == n, r
                print(f"{mult:>5d}x {n:>9d} {mb:8.1f} {label:>7s} {'off' if cache == 0 else '64MB':>6s} "
                      f"{r['first_bytes']:>17,d} {r['first_requests']:>5d} {r['peak_over_open_mb']:>22.1f}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
