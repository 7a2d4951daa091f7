"""Benchmark: SAM text or records → BAM + BAI with BamWriter vs htslib (samtools/pysam), in process.

    python benchmarks/bam_write.py [--reads N] [--quick] [--repeat R] [--skip-threads]

One process, same input for everyone (N × 100 bp reads on 3 chromosomes, sorted, SAM cached under
benchmarks/_work/). Times are CPU seconds of this process (``time.process_time``; the peers run
in process through pysam, so the figure is comparable on a loaded machine) and wall seconds;
each method's best of R alternating rounds. Printed ratios (ours ÷ peer, < 1 means faster):

1. SAM text → BAM + BAI, one thread, deflate level 6, against ``samtools view -b --write-index``.
   pysam's htslib is linked to zlib, whose deflate is ~3× slower than the libdeflate we use, so
   a second ratio compares with htslib as it would run with libdeflate: ``samtools view -u
   --write-index`` (parse, encode, index; level-0 blocks) plus libdeflate-6 compressing the same
   uncompressed BAM in 0xff00-byte blocks. That model counts one CRC32 pass twice (zlib's over
   the ``-u`` level-0 blocks, and libdeflate's in the compression cost), so it is also printed
   less zlib's CRC32 of the payload ("CRC counted once", the stricter one). When a ``samtools``
   whose htslib uses libdeflate is on PATH (Debian's, bioconda's) the real thing is measured
   too, in a subprocess (CPU from ``getrusage``, less its start-up).
2. Records (no text) → BAM + BAI: our ``BamRecord`` objects and pysam ``AlignedSegment`` objects
   against pysam writing the same segments plus ``samtools index`` (and the libdeflate model:
   ``wb0`` + index + libdeflate-6). With libdeflate that peer's index pass must inflate the
   compressed file it wrote, which the level-0 file of the model does not, and both of its
   zlib CRC32 passes would be libdeflate's: the "two-pass model" adds libdeflate's inflate of
   our BAM and removes two zlib CRC32 passes; the system ``samtools index`` of our BAM, when
   available, measures that index pass for real.
3. Co-indexing overhead: CPU of ``index='bai'`` ÷ ``index=None`` − 1, and the index work itself
   (sort checks, pushes, finish, serialisation) timed inside the writer.
4. Threads: wall time of ``threads=2`` vs ``threads=1`` (needs two idle cores to show the
   pipeline's gain; the load average is printed next to it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "_work")
sys.path.insert(0, os.path.dirname(HERE))
CHROMS = [("chr1", 120_000_000), ("chr2", 80_000_000), ("chr3", 50_000_000)]


def make_sam(n: int) -> str:
    """N sorted 100 bp reads as SAM text (cached)."""
    os.makedirs(WORK, exist_ok=True)
    path = os.path.join(WORK, f"reads_{n}.sam")
    if os.path.exists(path):
        return path
    rng = np.random.default_rng(42)
    header = "@HD\tVN:1.6\tSO:coordinate\n" + "".join(f"@SQ\tSN:{c}\tLN:{n_}\n" for c, n_ in CHROMS)
    counts = [n // 2, n // 3, n - n // 2 - n // 3]
    bases = np.frombuffer(b"ACGT", np.uint8)
    tmp = path + ".tmp"
    with open(tmp, "w") as out:
        out.write(header)
        k = 0
        for (chrom, length), count in zip(CHROMS, counts):
            pos = np.sort(rng.integers(1, length - 200, count))
            for lo in range(0, count, 100_000):
                m = min(100_000, count - lo)
                seqs = bases[rng.integers(0, 4, (m, 100))].view("S100").ravel()
                quals = (rng.integers(0, 40, (m, 100)) + 33).astype(np.uint8).view("S100").ravel()
                flags = rng.choice([0, 16, 99, 147, 83, 163], m)
                nm = rng.integers(0, 4, m)
                rows = []
                for i in range(m):
                    k += 1
                    rows.append(f"read{k}\t{flags[i]}\t{chrom}\t{pos[lo + i]}\t60\t100M\t=\t"
                                f"{pos[lo + i] + 150}\t250\t{seqs[i].decode()}\t{quals[i].decode()}"
                                f"\tNM:i:{nm[i]}\tAS:i:{100 - nm[i]}\tRG:Z:grp1\n")
                out.write("".join(rows))
    os.replace(tmp, path)
    return path


def timed(func) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) of ``func()``."""
    c, t = time.process_time(), time.perf_counter()
    func()
    return time.process_time() - c, time.perf_counter() - t


def alternate(funcs: dict, repeat: int) -> dict[str, tuple[float, float]]:
    """Best (CPU, wall) of each named function over ``repeat`` alternating rounds."""
    best: dict[str, list[float]] = {k: [float("inf"), float("inf")] for k in funcs}
    for _ in range(repeat):
        for key, func in funcs.items():
            cpu, wall = timed(func)
            best[key][0] = min(best[key][0], cpu)
            best[key][1] = min(best[key][1], wall)
    return {k: (v[0], v[1]) for k, v in best.items()}


def index_work(run) -> float:
    """CPU seconds spent in index work during ``run()`` (sort checks, pushes, finish,
    serialisation), timed by wrapping exactly those calls."""
    from bioformats_ext.index import IndexBuilder

    spent = [0.0]
    names = ("check", "push_many", "finish", "write_bai", "write_csi")
    originals = {name: getattr(IndexBuilder, name) for name in names}

    def wrap(original):
        def timed_call(*a, **k):
            c = time.process_time()
            try:
                return original(*a, **k)
            finally:
                spent[0] += time.process_time() - c
        return timed_call

    for name, original in originals.items():
        setattr(IndexBuilder, name, wrap(original))
    try:
        run()
    finally:
        for name, original in originals.items():
            setattr(IndexBuilder, name, original)
    return spent[0]


def _payload_blocks(bam_path: str) -> list[bytes]:
    """The uncompressed content of ``bam_path`` in 0xff00-byte blocks (as htslib blocks it)."""
    from bioformats_ext.bgzf import BgzfReader
    from bioformats_ext.bgzf.blocks import MAX_BLOCK_DATA

    data = BgzfReader(bam_path).read()
    return [data[p:p + MAX_BLOCK_DATA] for p in range(0, len(data), MAX_BLOCK_DATA)]


def libdeflate_cost(bam_path: str) -> float:
    """CPU seconds for libdeflate level 6 to compress ``bam_path``'s uncompressed content in
    BGZF-sized blocks (what htslib linked to libdeflate spends on compression)."""
    from bioformats_ext.bgzf.blocks import pack_block
    from bioformats_ext.compression import deflate_codec

    blocks = _payload_blocks(bam_path)
    codec = deflate_codec("libdeflate", 6)
    c = time.process_time()
    for block in blocks:
        pack_block(block, codec)
    return time.process_time() - c


def zlib_crc_cost(bam_path: str) -> float:
    """CPU seconds of zlib's CRC32 over the payload's blocks: what pysam's zlib htslib spends per
    pass over level-0 blocks (``-u``/``wb0`` writing, or reading them back in ``samtools
    index``), which an htslib with libdeflate spends in ``libdeflate_crc32`` instead (already in
    :func:`libdeflate_cost`). The model counted it twice."""
    import zlib

    blocks = _payload_blocks(bam_path)
    c = time.process_time()
    for block in blocks:
        zlib.crc32(block)
    return time.process_time() - c


def libdeflate_inflate_cost(bam_path: str) -> float:
    """CPU seconds for libdeflate to inflate and CRC-check ``bam_path``'s blocks: what the
    ``samtools index`` pass of a libdeflate htslib spends reading the compressed file back (the
    level-0 ``wb0`` file of the model needs no inflate)."""
    import deflate

    from bioformats_ext.bgzf.blocks import parse_header

    raw = open(bam_path, "rb").read()
    blocks, pos = [], 0
    while pos < len(raw):
        size = parse_header(raw, pos, pos)
        isize = int.from_bytes(raw[pos + size - 4:pos + size], "little")
        blocks.append((raw[pos + 18:pos + size - 8], isize))
        pos += size
    c = time.process_time()
    for cdata, isize in blocks:
        if isize:
            deflate.crc32(deflate.deflate_decompress(cdata, isize))
    return time.process_time() - c


def system_samtools() -> str | None:
    """A ``samtools`` on PATH whose htslib uses libdeflate (e.g. Debian's or bioconda's), else
    None: it measures the real thing the model stands for, in a subprocess."""
    import subprocess

    exe = shutil.which("samtools")
    if exe is None:
        return None
    try:
        info = subprocess.run([exe, "--version"], capture_output=True).stdout
    except OSError:
        return None
    return exe if b"libdeflate=yes" in info else None


def child_cpu(cmd: list[str], repeat: int) -> float:
    """Best CPU seconds (user + system) of a subprocess, less that of ``samtools --version``
    (process start-up and library loading)."""
    import resource
    import subprocess

    def once(args: list[str]) -> float:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime

    start = min(once([cmd[0], "--version"]) for _ in range(repeat))
    return max(min(once(cmd) for _ in range(repeat)) - start, 0.0)


def thread_split(run) -> tuple[float, float]:
    """(CPU s of the calling thread, CPU s spent compressing blocks on pool threads) of
    ``run()``: how the work of a ``threads=2`` write divides between the pipeline's stages."""
    import threading

    from bioformats_ext.bgzf import writer as bgzf_writer

    original = bgzf_writer.pack_block
    spent: list[float] = []
    lock = threading.Lock()

    def pack(data, codec):
        c = time.thread_time()
        try:
            return original(data, codec)
        finally:
            if threading.current_thread() is not threading.main_thread():
                with lock:
                    spent.append(time.thread_time() - c)

    from bioformats_ext import compression

    result = compression.BlockCompressor._result
    waits = [0.0, 0, 0]  # wall s the caller waited, blocks it waited for, blocks

    def timed_result(self, future, data):
        busy = not future.done()
        c = time.perf_counter()
        try:
            return result(self, future, data)
        finally:
            waits[2] += 1
            if busy:
                waits[0] += time.perf_counter() - c
                waits[1] += 1

    bgzf_writer.pack_block = pack
    compression.BlockCompressor._result = timed_result  # type: ignore[method-assign]
    try:
        c = time.thread_time()
        run()
        main_cpu = time.thread_time() - c
    finally:
        bgzf_writer.pack_block = original
        compression.BlockCompressor._result = result  # type: ignore[method-assign]
    thread_split.waits = waits  # type: ignore[attr-defined]
    return main_cpu, sum(spent)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 reads, 2 rounds")
    parser.add_argument("--repeat", type=int, default=3, help="alternating rounds (best reported)")
    parser.add_argument("--skip-threads", action="store_true", help="skip the threads=2 rows")
    args = parser.parse_args(argv)
    n = 100_000 if args.quick else args.reads
    repeat = 2 if args.quick else args.repeat

    import pysam

    from bioformats_ext.bam import BamWriter
    from bioformats_ext.bam import open as bam_open
    from bioformats_ext.index import read_index

    load0 = os.getloadavg()
    sam = make_sam(n)
    with open(sam, "rb") as handle:
        data = handle.read()
    header_text = b"".join(ln + b"\n" for ln in data.split(b"\n") if ln.startswith(b"@")).decode()
    lines = [ln for ln in data.split(b"\n") if ln and not ln.startswith(b"@")]
    del data
    out = os.path.join(WORK, "out")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    p = lambda name: os.path.join(out, name)  # noqa: E731

    def ours(records, name, index="bai", threads=1):
        def run():
            with BamWriter(p(name), header_text, index=index, threads=threads) as writer:
                writer.write_many(records)
        return run

    def samtools_view(level0: bool):
        opts = ["-u"] if level0 else []
        target = p("st0.bam" if level0 else "st.bam")
        return lambda: pysam.samtools.view("-b", *opts, "--write-index", "--no-PG", "-o",
                                           f"{target}##idx##{target}.bai", sam, catch_stdout=False)

    ours(lines[:2000], "warm.bam")()  # imports, caches
    t = alternate({"st": samtools_view(False), "st0": samtools_view(True),
                   "bai": ours(lines, "ours.bam"), "none": ours(lines, "none.bam", None)}, repeat)
    rounds = max(repeat, 3)
    deflate = min(libdeflate_cost(p("ours.bam")) for _ in range(rounds))
    crc = min(zlib_crc_cost(p("ours.bam")) for _ in range(rounds))
    inflate = min(libdeflate_inflate_cost(p("ours.bam")) for _ in range(rounds))
    model = t["st0"][0] + deflate
    model_1crc = model - crc  # -u's zlib CRC pass is replaced, not added to, by libdeflate's

    # records, no text: ours from BamReader, pysam's AlignedSegments
    ours_records = list(bam_open(p("ours.bam")).fetch(until_eof=True))  # BamRecord objects
    with pysam.AlignmentFile(p("ours.bam")) as bam:
        segments = list(bam.fetch(until_eof=True))
        pysam_header = bam.header

    def pysam_write(level0: bool):
        target = p("ps0.bam" if level0 else "ps.bam")

        def run():
            with pysam.AlignmentFile(target, "wb0" if level0 else "wb", header=pysam_header) as fh:
                write = fh.write
                for seg in segments:
                    write(seg)
            pysam.samtools.index(target)
        return run

    rec_funcs = {"ps": pysam_write(False), "ps0": pysam_write(True),
                 "seg": ours(segments, "seg.bam"), "rec": ours(ours_records, "rec.bam")}
    r = alternate(rec_funcs, repeat)
    rec_model = r["ps0"][0] + deflate
    # two passes (write, then samtools index reads the file back): with libdeflate the index
    # pass inflates what the write compressed; both zlib CRC passes over level-0 blocks go
    rec_model_2pass = rec_model + inflate - 2 * crc
    samtools = system_samtools()
    real: dict[str, float] = {}
    if samtools is not None:
        target = p("sys.bam")
        real["sam"] = child_cpu([samtools, "view", "-b", "--write-index", "--no-PG", "-o",
                                 f"{target}##idx##{target}.bai", sam], repeat)
        real["index"] = child_cpu([samtools, "index", "-o", p("sys_ours.bai"), p("ours.bam")],
                                  repeat)

    idx_cpu = index_work(ours(lines, "probe.bam"))
    shutil.copy(p("ours.bam"), p("check.bam"))
    pysam.samtools.index(p("check.bam"))
    same_bai = read_index(p("ours.bam.bai")).refs == read_index(p("check.bam.bai")).refs

    size = os.path.getsize(p("ours.bam")) / 1e6
    print(f"\nSAM → BAM + BAI, {n:,} × 100 bp reads, level 6, best of {repeat} alternating rounds; "
          f"load average {load0[0]:.1f} (cores: {os.cpu_count()})")
    print(f"co-produced BAI equals samtools index of the same file: {same_bai}; BAM {size:.1f} MB\n")
    print(f"{'method':58s} {'CPU s':>7s} {'wall s':>7s}")
    rows = [("samtools view -b --write-index (pysam, zlib-6)", *t["st"]),
            ("samtools view -u --write-index (no compression)", *t["st0"]),
            ("libdeflate-6 on the same BAM payload (0xff00 blocks)", deflate, deflate),
            ("zlib CRC32 of that payload (one pass over level-0 blocks)", crc, crc),
            ("libdeflate inflate + CRC32 of our BAM (index pass)", inflate, inflate),
            ("  = htslib with libdeflate (model: -u + libdeflate)", model, float("nan")),
            ("  = same, CRC counted once (model - zlib CRC)", model_1crc, float("nan"))]
    if "sam" in real:
        rows.append(("  system samtools view -b --write-index (libdeflate)", real["sam"],
                     float("nan")))
    rows += [("BamWriter(index='bai'), SAM bytes lines", *t["bai"]),
             ("BamWriter(index=None), SAM bytes lines", *t["none"]),
             ("pysam AlignedSegments: pysam write + samtools index", *r["ps"]),
             ("pysam AlignedSegments: level 0 (wb0) + samtools index", *r["ps0"]),
             ("  = htslib with libdeflate (model: wb0 + libdeflate)", rec_model, float("nan")),
             ("  = two-pass model (+ inflate in index pass - 2 zlib CRC)", rec_model_2pass,
              float("nan"))]
    if "index" in real:
        rows.append(("  system samtools index of our BAM (libdeflate)", real["index"],
                     float("nan")))
    rows += [("BamWriter(index='bai'), pysam AlignedSegments", *r["seg"]),
             ("BamWriter(index='bai'), our BamRecords", *r["rec"])]
    for name, cpu, wall in rows:
        print(f"{name:58s} {cpu:7.3f} {wall:7.3f}")
    print()
    print(f"SAM text, CPU ours/samtools view -b --write-index (zlib): {t['bai'][0] / t['st'][0]:.2f}x"
          "  (target <= 1.2x)")
    print(f"SAM text, CPU ours/htslib+libdeflate model:            {t['bai'][0] / model:.2f}x"
          f"; CRC counted once {t['bai'][0] / model_1crc:.2f}x"
          + (f"; system samtools {t['bai'][0] / real['sam']:.2f}x" if "sam" in real else "")
          + "  (target <= 1.2x)")
    print(f"our records, CPU ours/pysam write+index (zlib):         {r['rec'][0] / r['ps'][0]:.2f}x"
          f"; vs libdeflate model {r['rec'][0] / rec_model:.2f}x, two-pass model "
          f"{r['rec'][0] / rec_model_2pass:.2f}x  (target <= 1.0x)")
    print(f"pysam segments, CPU ours/pysam write+index (zlib):      {r['seg'][0] / r['ps'][0]:.2f}x"
          f"; vs libdeflate model {r['seg'][0] / rec_model:.2f}x, two-pass model "
          f"{r['seg'][0] / rec_model_2pass:.2f}x  (target <= 1.0x)")
    print(f"co-indexing overhead, CPU bai/none - 1:                 "
          f"{100 * (t['bai'][0] / t['none'][0] - 1):+.1f}%  (target <= 5%)")
    print(f"index work inside BamWriter(index='bai'):               {idx_cpu:.3f} CPU s = "
          f"{100 * idx_cpu / t['none'][0]:.1f}% of the unindexed write")
    if not args.skip_threads:
        th = alternate({"1": ours(lines, "t1.bam"), "2": ours(lines, "t2.bam", threads=2)}, repeat)
        load = os.getloadavg()
        main_cpu, pool_cpu = thread_split(ours(lines, "t3.bam", threads=2))
        print(f"threads=2 vs threads=1 (wall): {th['1'][1] / th['2'][1]:.2f}x faster "
              f"(1 thread {th['1'][1]:.2f} s wall / {th['1'][0]:.2f} s CPU, 2 threads "
              f"{th['2'][1]:.2f} s wall / {th['2'][0]:.2f} s CPU); load average {load[0]:.1f}: "
              f"target >= 1.6x needs two idle cores")
        print(f"threads=2 pipeline: main thread (parse, encode, index, write) {main_cpu:.2f} CPU s, "
              f"compressing threads {pool_cpu:.2f} CPU s -> on two idle cores at most "
              f"{(main_cpu + pool_cpu) / max(main_cpu, (main_cpu + pool_cpu) / 2, 1e-9):.2f}x "
              f"(if they overlap fully); the main thread waited {thread_split.waits[0]:.2f} s "
              f"(for {thread_split.waits[1]} of {thread_split.waits[2]} blocks, while "
              f"compressing others itself)")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
