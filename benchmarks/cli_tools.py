"""Benchmark: the htslib-style commands against htslib (pysam) in the same process.

    python benchmarks/cli_tools.py [--records N] [--quick]

- ``bgzip`` (ours, text layout and ``--binary``, 1 and 2 threads) vs ``pysam.tabix_compress``
  on the same VCF text: MB/s of input and the ratio;
- ``tabix FILE REGION...`` query mode (ours, in-process ``cli.main``) vs ``pysam.TabixFile``
  opened and fetched for the same 200 random regions (both include loading the index, as one
  tabix run does): lines/s and the ratio (speed: > 1 means ours is faster), by wall clock
  and by CPU time; outputs are compared line for line.
Prints the load average next to the numbers (the machine is shared).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import pysam  # noqa: E402

from bioformats_ext.cli import main  # noqa: E402
from _timing import best  # noqa: E402


def make_vcf(path: str, n: int) -> None:
    rng = random.Random(7)
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr1,length=250000000>",
             "##contig=<ID=chr2,length=240000000>",
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2"]
    for chrom, length in (("chr1", 250_000_000), ("chr2", 240_000_000)):
        pos = 0
        for _ in range(n // 2):
            pos += rng.randint(1, 2 * length // n)
            lines.append(f"{chrom}\t{pos}\trs{pos}\tA\tG\t{rng.randint(1, 99)}\tPASS\t"
                         f"DP={rng.randint(1, 500)};AF=0.{rng.randint(1, 99)}\tGT:DP\t0/1:12\t1/1:30")
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")




class _Out(io.BytesIO):
    @property
    def buffer(self):
        return self


def run_cli(argv) -> bytes:
    out = _Out()
    with contextlib.redirect_stdout(out):  # type: ignore[type-var]
        assert main(argv) == 0
    return out.getvalue()


def main_bench() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--records", type=int, default=400_000)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    n = 50_000 if args.quick else args.records
    repeat = 2 if args.quick else 3
    work = tempfile.mkdtemp(prefix="bfx-cli-bench-")
    vcf = os.path.join(work, "calls.vcf")
    make_vcf(vcf, n)
    mb = os.path.getsize(vcf) / 1e6
    print(f"input: {n:,} VCF records, {mb:.1f} MB; load average {os.getloadavg()}")
    ref = os.path.join(work, "ref.vcf.gz")
    t_ref = best(lambda: pysam.tabix_compress(vcf, ref, force=True), repeat)
    print(f"{'bgzip':32s} {'MB/s':>8s} {'vs htslib':>10s}")
    print(f"{'pysam.tabix_compress (htslib)':32s} {mb / t_ref:8.1f} {1.0:10.2f}")
    for label, extra in (("ours, text layout, 1 thread", []), ("ours, --binary, 1 thread", ["--binary"]),
                         ("ours, text layout, -@ 2", ["-@", "2"])):
        out = os.path.join(work, "ours.vcf.gz")
        t = best(lambda: _compress(vcf, out, extra), repeat)
        print(f"{label:32s} {mb / t:8.1f} {t_ref / t:10.2f}")
    pysam.tabix_index(ref, preset="vcf", force=True)
    rng = random.Random(3)
    regions = []
    for _ in range(200):
        chrom = rng.choice(["chr1", "chr2"])
        beg = rng.randint(1, 230_000_000)
        regions.append(f"{chrom}:{beg}-{beg + rng.randint(1_000, 200_000)}")

    def theirs():  # like one tabix run: open (index load) + the queries
        with pysam.TabixFile(ref) as tbx:
            return [line for r in regions for line in tbx.fetch(region=r)]

    want = theirs()
    got = run_cli(["tabix", ref, *regions]).decode().splitlines()
    assert got == want, "tabix output differs from pysam"
    t_ref = best(theirs, repeat)
    t = best(lambda: run_cli(["tabix", ref, *regions]), repeat)
    c_ref = best(theirs, repeat, clock=time.process_time)
    c = best(lambda: run_cli(["tabix", ref, *regions]), repeat, clock=time.process_time)
    print(f"\n{'tabix query (200 regions)':32s} {'lines/s':>10s} {'vs htslib':>10s} "
          f"{'CPU s':>8s} {'CPU vs htslib':>14s}")
    print(f"{'pysam.TabixFile open + fetch':32s} {len(want) / t_ref:10.0f} {1.0:10.2f} "
          f"{c_ref:8.3f} {1.0:14.2f}")
    print(f"{'ours (bioformats-ext tabix)':32s} {len(want) / t:10.0f} {t_ref / t:10.2f} "
          f"{c:8.3f} {c_ref / c:14.2f}")
    print(f"({len(want):,} lines; identical output; load average {os.getloadavg()})")


def _compress(src: str, out: str, extra: list[str]) -> None:
    with open(out, "wb") as handle, contextlib.redirect_stdout(_Wrap(handle)):  # type: ignore[type-var]
        assert main(["bgzip", "-c", *extra, src]) == 0


class _Wrap:
    def __init__(self, handle):
        self.buffer = handle

    def write(self, text):  # pragma: no cover - text output is not used
        return len(text)

    def flush(self):
        self.buffer.flush()


if __name__ == "__main__":
    main_bench()
