"""Benchmark: second-pass ``index_tabix`` on a VCF.gz vs ``pysam.tabix_index`` (htslib tabix).

    python benchmarks/tabix_index.py [--lines N] [--repeat R]

One process, alternating rounds (load drift hits everyone alike), best CPU and wall time of R:
- ``index_tabix`` as it is (VCF intervals vectorised over each batch: ``vcf.intervals``);
- "per-line" = the previous hot path (``parse_lines`` splitting every line + ``needs_rule``),
  patched back in for the before/after ratio;
- ``pysam.tabix_index(preset="vcf")``.
Prints the ratios (issue 17 target: <= 1.5x tabix), whether the TBI content equals tabix's,
and the load average. Input: the VCF of ``benchmarks/vcf_write.py`` (cached in _work/).
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from vcf_write import WORK, make_vcf  # noqa: E402

from bioformats_ext.tabix import indexer  # noqa: E402


def _per_line(conf, batch, a, b, first_lineno):
    """The hot path before issue 17: every line split in Python."""
    from bioformats_ext.index.tabix_conf import parse_lines
    from bioformats_ext.vcf.end_rule import needs_rule, tabix_interval

    lines = batch.lines[a:b]
    names, begs, ends = parse_lines(conf, lines, first_lineno)
    for i, ln in enumerate(lines):
        if needs_rule(ln):
            names[i], begs[i], ends[i] = tabix_interval(ln, first_lineno + i)
    return names, begs, ends


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=3)
    opts = ap.parse_args()
    import pysam

    src = make_vcf(opts.lines)
    gz = os.path.join(WORK, f"tabix_bench_{opts.lines}.vcf.gz")
    if not os.path.exists(gz):
        pysam.tabix_compress(src, gz, force=True)
    theirs = os.path.join(WORK, "tabix_bench_htslib.vcf.gz")
    shutil.copy(gz, theirs)
    ours_tbi, before_tbi = gz + ".ours.tbi", gz + ".before.tbi"
    vectorised = indexer._vcf_batch

    def ours():
        indexer.index_tabix(gz, "vcf", out=ours_tbi)

    def before():
        indexer._vcf_batch = _per_line
        try:
            indexer.index_tabix(gz, "vcf", out=before_tbi)
        finally:
            indexer._vcf_batch = vectorised

    def htslib():
        pysam.tabix_index(theirs, preset="vcf", force=True)

    runs = {"index_tabix (vectorised)": ours, "index_tabix (per-line, before)": before,
            "pysam.tabix_index": htslib}
    cpu = {k: float("inf") for k in runs}
    wall = dict(cpu)
    load0 = os.getloadavg()[0]
    ours()  # warm up imports and the page cache
    for _ in range(opts.repeat):
        for name, run in runs.items():
            c, t = time.process_time(), time.perf_counter()
            run()
            cpu[name] = min(cpu[name], time.process_time() - c)
            wall[name] = min(wall[name], time.perf_counter() - t)
    load1 = os.getloadavg()[0]
    from bioformats_ext.index import read_index

    ref = read_index(theirs + ".tbi")
    same = [read_index(p).refs == ref.refs and read_index(p).names == ref.names
            for p in (ours_tbi, before_tbi)]
    raw = [gzip.decompress(open(p, "rb").read()) for p in (ours_tbi, before_tbi)]
    mb = os.path.getsize(gz) / 1e6
    print(f"index_tabix vs tabix: {opts.lines:,} VCF lines ({mb:.1f} MB bgzipped), best of "
          f"{opts.repeat} alternating rounds; load average {load0:.1f} -> {load1:.1f}")
    print(f"{'method':34s} {'CPU s':>7s} {'wall s':>7s} {'CPU vs tabix':>13s} {'wall vs tabix':>14s}")
    h_cpu, h_wall = cpu["pysam.tabix_index"], wall["pysam.tabix_index"]
    for name in runs:
        print(f"{name:34s} {cpu[name]:7.3f} {wall[name]:7.3f} {cpu[name] / h_cpu:12.2f}x "
              f"{wall[name] / h_wall:13.2f}x")
    print(f"TBI content (names, bins, chunks, linear index) equals tabix's: vectorised {same[0]}, "
          f"per-line {same[1]}; vectorised and per-line TBI byte-identical: {raw[0] == raw[1]}")
    print(f"speed-up of the change (CPU): {cpu['index_tabix (per-line, before)'] / cpu['index_tabix (vectorised)']:.2f}x")
    split = _split(ours)
    print("where index_tabix's CPU goes (one run, each call timed by wrapping it): " + ", ".join(
        f"{k} {v:.3f} s" for k, v in split.items()))
    print(f"index_tabix / tabix (issue 17 target <= 1.5): CPU "
          f"{cpu['index_tabix (vectorised)'] / h_cpu:.2f}x, wall "
          f"{wall['index_tabix (vectorised)'] / h_wall:.2f}x")


def _split(run) -> dict:
    """CPU of the VCF interval rule vs the index builder's finish and save within ``run()``."""
    from bioformats_ext.index import IndexBuilder

    spent = {"intervals": 0.0, "IndexBuilder.push_many": 0.0, "IndexBuilder.finish": 0.0,
             "IndexBuilder.save": 0.0}
    targets = [(indexer, "_vcf_batch", "intervals"),
               (IndexBuilder, "push_many", "IndexBuilder.push_many"),
               (IndexBuilder, "finish", "IndexBuilder.finish"),
               (IndexBuilder, "save", "IndexBuilder.save")]
    saved = []
    for owner, name, label in targets:
        original = getattr(owner, name)
        saved.append((owner, name, original))

        def timed(*a, _original=original, _label=label, **k):
            c = time.process_time()
            try:
                return _original(*a, **k)
            finally:
                spent[_label] += time.process_time() - c

        setattr(owner, name, timed)
    c = time.process_time()
    try:
        run()
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
    spent["total"] = time.process_time() - c
    return spent


if __name__ == "__main__":
    main()
