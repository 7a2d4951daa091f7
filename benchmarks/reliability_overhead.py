"""Benchmark: what the issue-11 checks cost on the hot paths, measured in one process.

    python benchmarks/reliability_overhead.py [--lines N] [--repeat R]

* ``VcfWriter`` validation (``vcf/validate.check_vcf_lines``: columns, POS, REF, END, contigs)
  as a share of writing the same lines with ``VcfWriter(index="tbi")``, and pysam's
  ``tabix_compress`` + ``tabix_index`` on the same lines for scale.
* bigBed full scan (``BigBedFile.records()``) of a file written here, with the start > end and
  record-count checks in place, against pyBigWig's ``entries`` on the same file.

CPU seconds of this process, best of R runs; the load average is printed next to the numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from _timing import best as _best  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))



def best(func, repeat: int) -> float:
    return _best(func, repeat, clock=time.process_time)  # CPU time: the machine is shared


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    import numpy as np
    import pyBigWig
    import pysam

    from bioformats_ext.bbi.write import BigBedWriter
    from bioformats_ext.bigbed import BigBedFile
    from bioformats_ext.vcf import VcfWriter
    from bioformats_ext.vcf.validate import check_vcf_lines

    rng = np.random.default_rng(3)
    n = args.lines
    header = ("##fileformat=VCFv4.2\n##contig=<ID=1,length=248956422>\n"
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n")
    pos = np.cumsum(rng.integers(1, 200, n)).tolist()
    lines = [f"1\t{p}\t.\tA\tG\t50\tPASS\tDP={p % 97}\tGT\t0/1\n".encode() for p in pos]
    contigs = {b"1"}
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "x.vcf.gz")

        def write() -> None:
            with VcfWriter(out, header, index="tbi") as w:
                w.write_many(lines)

        def validate() -> None:
            for i in range(0, n, 16384):
                check_vcf_lines(lines[i:i + 16384], contigs, 4 + i)

        def htslib() -> None:
            plain = os.path.join(d, "h.vcf")
            with open(plain, "wb") as fh:
                fh.write(header.encode())
                fh.writelines(lines)
            pysam.tabix_index(plain, preset="vcf", force=True)

        t_write, t_check, t_hts = (best(f, args.repeat) for f in (write, validate, htslib))
        print(f"VCF, {n} lines: VcfWriter(tbi) {t_write:.3f} s CPU, of which validation "
              f"{t_check:.3f} s ({100 * t_check / t_write:.1f}%); pysam tabix_compress+index "
              f"{t_hts:.3f} s (ratio ours/pysam {t_write / t_hts:.2f})")

        bb = os.path.join(d, "x.bb")
        starts = np.sort(rng.integers(0, 200_000_000, n))
        with BigBedWriter(bb, {"chr1": 248_956_422}, bed_type="bed4") as w:
            w.write_records([("chr1", int(s), int(s) + 100, f"n{i}")
                             for i, s in enumerate(starts.tolist())])

        def ours() -> None:
            for _ in BigBedFile(bb).records():
                pass

        def theirs() -> None:
            f = pyBigWig.open(bb)
            f.entries("chr1", 0, 248_956_422)
            f.close()

        t_ours, t_theirs = best(ours, args.repeat), best(theirs, args.repeat)
        print(f"bigBed full scan, {n} records: ours {t_ours:.3f} s CPU, pyBigWig "
              f"{t_theirs:.3f} s (ratio ours/pyBigWig {t_ours / t_theirs:.2f})")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
