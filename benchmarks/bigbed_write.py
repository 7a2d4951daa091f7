"""bigBed writing: ours vs Biopython's writer and pybigtools, side by side in one process.

    python benchmarks/bigbed_write.py            # 200,000 BED12 records + 2,000,000 streaming
    python benchmarks/bigbed_write.py --quick    # 20,000 records + 200,000 streaming

Rows:
* ``Align.write`` from a list of Alignment objects: ours vs Biopython's ``Bio.Align.bigbed``
  writer (target: >= 10x faster);
* ``bedtobigbed`` from the BED file (our bulk path) vs pybigtools writing the same records
  (target: no slower);
* output sizes;
* a streaming write of a generator of many records, in a subprocess, with its peak RSS
  (target: <= 300 MB).

Records come from ``bigbed_data.make_records`` (fixed seed, transcript-like BED12).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bigbed_data import WORK, chrom_sizes, make_records, write_bed  # noqa: E402


_CPU: dict = {}


def _time(func, repeat: int = 1, key: str | None = None) -> float:
    """Best wall time of ``repeat`` runs (CPU time of all threads of that run in ``_CPU``)."""
    best = float("inf")
    for _ in range(repeat):
        cpu = time.process_time()
        start = time.perf_counter()
        func()
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best = elapsed
            if key:
                _CPU[key] = time.process_time() - cpu
    return best


def _alignments(records):
    from Bio import Align

    text = io.StringIO("".join(f"{c}\t{s}\t{e}\t{r}\n" for c, s, e, r in records))
    return list(Align.parse(text, "bed"))


def _targets(records):
    from Bio.Seq import Seq
    from Bio.SeqRecord import SeqRecord

    used = {c for c, _, _, _ in records}
    return [SeqRecord(Seq(None, length=size), id=name) for name, size in chrom_sizes().items()
            if name in used]


def _biopython_write(path, alignments, targets) -> None:
    from Bio.Align import bigbed as bio_bigbed

    class _List(list):  # Biopython's writer wants .targets on the alignments
        pass

    data = _List(alignments)
    data.targets = targets
    with open(path, "wb") as out:
        bio_bigbed.AlignmentWriter(out, bedN=12, targets=targets).write(data)


def _ours_align_write(path, alignments, targets, compress=True) -> None:
    from bioformats_ext.align.bigbed_writer import AlignmentWriter

    AlignmentWriter(path, bedN=12, targets=targets, compress=compress).write(alignments)


def _ours_bulk(path, bed, compress=True) -> None:
    from bioformats_ext.bbi.write import write

    write(bed, chrom_sizes(), path, bed_type="bed12", compress=compress)


def _pybigtools(path, records) -> None:
    import pybigtools

    pybigtools.open(str(path), "w").write(chrom_sizes(), iter(records))


_STREAM = r"""
import json, resource, sys, time
sys.path.insert(0, {here!r})
from bigbed_data import chrom_sizes, make_records
from bioformats_ext.bbi.write import write
start = time.perf_counter()
n = write(make_records({n}, seed=2), chrom_sizes(), {path!r}, bed_type="bed12")
elapsed = time.perf_counter() - start
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent across exec.
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")]
peak = int(hwm[0].split()[1]) / 1024 if hwm else \
    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"n": n, "seconds": elapsed, "peak_rss_mb": peak}}))
"""


def _stream(n: int, path: Path) -> dict:
    code = _STREAM.format(here=str(HERE), n=n, path=str(path))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _same_records(a: Path, b: Path, normalise_score: bool = False) -> bool:
    from bioformats_ext import bigbed

    def records(path):
        for chrom, start, end, rest in bigbed.open(path).records():
            if normalise_score:
                fields = rest.split("\t")
                fields[1] = str(int(float(fields[1])))
                rest = "\t".join(fields)
            yield chrom, start, end, rest

    return list(records(a)) == list(records(b))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (20k / 200k records)")
    parser.add_argument("-n", type=int, default=None, help="records for the comparisons")
    parser.add_argument("--stream", type=int, default=None, help="records for the RSS run")
    parser.add_argument("--skip-biopython", action="store_true",
                        help="skip Biopython's (slow) writer")
    args = parser.parse_args(argv)
    n = args.n or (20_000 if args.quick else 200_000)
    n_stream = args.stream or (200_000 if args.quick else 2_000_000)
    WORK.mkdir(exist_ok=True)
    records = list(make_records(n, seed=1))
    bed = WORK / f"write_{n}.bed"
    if not bed.exists():
        write_bed(bed, records)
    alignments = _alignments(records)
    targets = _targets(records)
    out = {name: WORK / f"write_{n}.{name}.bb" for name in ("ours_align", "biopython", "ours_bulk",
                                                             "pybigtools", "stream")}
    rows = []
    load_before = os.getloadavg()[0]
    t_ours_align = _time(lambda: _ours_align_write(out["ours_align"], alignments, targets),
                         repeat=3, key="align")
    if args.skip_biopython:
        t_bio = float("nan")
    else:
        t_bio = _time(lambda: _biopython_write(out["biopython"], alignments, targets),
                      key="biopython")
    rows.append(("Align.write, list of Alignment", "ours", t_ours_align, "Biopython", t_bio))
    fast = WORK / f"write_{n}.fast.bb"
    t_fast = _time(lambda: _ours_align_write(fast, alignments, targets, "libdeflate"), repeat=3)
    rows.append(("  same, compress='libdeflate'", "ours", t_fast, "Biopython", t_bio))
    t_bulk = _time(lambda: _ours_bulk(out["ours_bulk"], bed), repeat=2)
    t_pbt = _time(lambda: _pybigtools(out["pybigtools"], records), repeat=2)
    rows.append(("bedtobigbed from BED file", "ours", t_bulk, "pybigtools", t_pbt))
    t_bulk_fast = _time(lambda: _ours_bulk(fast, bed, "libdeflate"), repeat=2)
    rows.append(("  same, compress='libdeflate'", "ours", t_bulk_fast, "pybigtools", t_pbt))
    fast.unlink()

    print(f"bigBed writing, {n:,} BED12 records (fixed seed); best of runs, seconds")
    print(f"{'task':34} {'ours':>9} {'other':>11} {'':>10} {'speed-up':>9}")
    for task, _, mine, other_name, other in rows:
        ratio = other / mine if mine and other == other else float("nan")
        print(f"{task:34} {mine:9.2f} {other:11.2f} {other_name:>10} {ratio:8.1f}x")
    if "align" in _CPU:
        print(f"  Align.write CPU time, all threads: ours {_CPU['align']:.2f} s"
              + (f", Biopython {_CPU['biopython']:.2f} s" if "biopython" in _CPU else "")
              + f" (compression runs on threads: on a busy machine wall ~ CPU); "
              f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print()
    print("output sizes (bytes):")
    for name in ("ours_align", "ours_bulk", "biopython", "pybigtools"):
        path = out[name]
        if path.exists() and not (name == "biopython" and args.skip_biopython):
            print(f"  {name:12} {path.stat().st_size:>12,}")
    same = _same_records(out["ours_align"], out["ours_bulk"])
    print(f"  ours (Align.write) and ours (bulk) hold the same records: {same}")
    if out["biopython"].exists() and not args.skip_biopython:
        print(f"  ours (Align.write) and Biopython's file hold the same records (Biopython "
              f"writes the parser's float scores as '463.0', we write '463'): "
              f"{_same_records(out['ours_align'], out['biopython'], normalise_score=True)}")
    print()
    result = _stream(n_stream, out["stream"])
    print(f"streaming write of a {result['n']:,}-record generator (subprocess): "
          f"{result['seconds']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB, "
          f"file {out['stream'].stat().st_size:,} bytes")
    for path in out.values():
        if path.exists() and path.name.endswith(".stream.bb"):
            os.unlink(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
