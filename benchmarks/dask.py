"""Dask reading partitioned by our indexes: 2 worker processes vs 1 process, HTTP costs, peers.

Data (made once under benchmarks/_work/dask/, by htslib through pysam):

* a VCF.gz with ``--records`` records (default 1,000,000) on one large contig plus 500 small
  ones, bgzipped and TBI-indexed by pysam;
* a BAM with ``--reads`` reads (default 2,000,000), from SAM text through ``samtools view``,
  BAI-indexed (needs ``bioformats_ext.bam.columns``; skipped without it).

Measured:

1. ``read_*(...).compute()`` with the same partitions in one process (Dask's default local
   scheduler for DataFrames, ``"threads"``; and ``"sync"``, one thread, for reference) and on
   a ``distributed.LocalCluster(n_workers=2, threads_per_worker=1)``: the speed-up, printed
   as a ``SPEED-UP`` line per file (target >= 1.6x on 2 cores).
2. Over loopback HTTP (``tests/loopback.py``): requests and bytes per partition (one
   coalesced GET per partition is the design) against the plan's estimate.
3. ``to_pandas`` throughput of our serial reader of the same columns vs oxbow (when installed):
   VCF.gz, the same calls as BCF (by bcftools), BAM. polars-bio is not measured: installing
   it here would replace the environment's pyarrow with an older one.

The machine has 2 cores shared with other work: the load average is printed with the numbers.

    python benchmarks/dask.py [--quick] [--records N] [--reads N] [--target 16MiB] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "dask"
# this file is named dask.py: keep its folder off sys.path so ``import dask`` finds the library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))  # the test-only loopback server


REPEAT = 2  # runs per speed-up case (--repeat); the best wall time is kept


def load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def make_vcf(path: Path, n: int) -> Path:
    import pysam

    gz = Path(str(path) + ".gz")
    if gz.exists() and Path(str(gz) + ".tbi").exists():
        return gz
    rng = random.Random(1)
    small = [(f"scaffold{i}", 20_000) for i in range(500)]
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr1,length=250000000>"]
    lines += [f"##contig=<ID={c},length={n}>" for c, n in small]
    lines += ['##INFO=<ID=DP,Number=1,Type=Integer,Description="d">',
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    n_small = min(n // 10, 5 * len(small))
    step = 250_000_000 // max(1, n - n_small)
    pos = 0
    bases = "ACGT"
    with open(path, "w") as out:
        out.write("\n".join(lines) + "\n")
        buf = []
        for i in range(n - n_small):
            pos += rng.randrange(1, 2 * step)
            buf.append(f"chr1\t{pos}\trs{i}\t{rng.choice(bases)}\t{rng.choice(bases)}\t"
                       f"{rng.randrange(100)}\tPASS\tDP={rng.randrange(200)}\n")
            if len(buf) >= 100_000:
                out.write("".join(buf))
                buf.clear()
        for k in range(n_small):
            c = small[k % len(small)][0]
            buf.append(f"{c}\t{1000 + k // len(small) * 100}\tx{k}\tA\tG\t.\tPASS\tDP=1\n")
        buf.sort(key=lambda ln: (ln.split("\t", 1)[0] != "chr1",))
        out.write("".join(buf))
    # small contigs were appended per contig in round-robin order: sort them by (contig, pos)
    text = path.read_text().splitlines(keepends=True)
    head = [ln for ln in text if ln.startswith("#")]
    body = [ln for ln in text if not ln.startswith("#")]
    order = {"chr1": -1, **{c: i for i, (c, _) in enumerate(small)}}
    body.sort(key=lambda ln: (order[ln.split("\t", 1)[0]], int(ln.split("\t", 2)[1])))
    path.write_text("".join(head + body))
    return Path(pysam.tabix_index(str(path), preset="vcf", force=True))


def make_bcf(vcf: Path) -> Path:
    """The VCF.gz as BCF, by bcftools, CSI-indexed by bcftools."""
    import pysam.bcftools

    bcf = Path(str(vcf)[:-len(".vcf.gz")] + ".bcf")
    if not (bcf.exists() and Path(str(bcf) + ".csi").exists()):
        pysam.bcftools.view("-Ob", "-o", str(bcf), str(vcf), catch_stdout=False)
        pysam.bcftools.index(str(bcf))
    return bcf


def make_bam(path: Path, n: int) -> Path:
    import pysam

    if path.exists() and Path(str(path) + ".bai").exists():
        return path
    rng = random.Random(2)
    sam = path.with_suffix(".sam")
    refs = [("chr1", 250_000_000)] + [(f"ctg{i}", 50_000) for i in range(200)]
    with open(sam, "w") as out:
        out.write("@HD\tVN:1.6\tSO:coordinate\n")
        out.write("".join(f"@SQ\tSN:{c}\tLN:{n}\n" for c, n in refs))
        step = 250_000_000 // n
        pos = 1
        seq = "ACGTTGCAAGGCTTAACCGTAGCATGCAATCGGATCCATGACGTTGCAAGGCTTAACCGTAGCATGCAATCGGATCCATGA"
        qual = "I" * len(seq)
        buf = []
        for i in range(n):
            pos += rng.randrange(0, 2 * step + 1)
            buf.append(f"r{i}\t{rng.choice((0, 16, 99, 147))}\tchr1\t{pos}\t60\t{len(seq)}M\t=\t"
                       f"{pos + 150}\t{200}\t{seq}\t{qual}\tNM:i:{rng.randrange(4)}\n")
            if len(buf) >= 100_000:
                out.write("".join(buf))
                buf.clear()
        out.write("".join(buf))
        out.write("".join(f"u{i}\t4\t*\t0\t0\t*\t*\t0\t0\t{seq}\t{qual}\n" for i in range(n // 100)))
    pysam.samtools.view("-b", "-o", str(path), str(sam), catch_stdout=False)
    pysam.samtools.index(str(path))
    sam.unlink()
    return path


def timed(fn, repeat: int = 2, before=None, cpu=time.process_time) -> tuple[float, object]:
    """Best wall time of ``repeat`` runs (and the result); the CPU time (``cpu`` clock) of
    that best run is left in ``timed.cpu``."""
    best = float("inf")
    out = None
    for _ in range(repeat):
        out = None  # drop the previous result first: its memory would count against this run
        if before is not None:
            before()
        c = cpu()
        t = time.perf_counter()
        out = fn()
        wall = time.perf_counter() - t
        if wall < best:
            best, timed.cpu = wall, cpu() - c  # type: ignore[attr-defined]
    return best, out


def speedup(name: str, make_ddf, rows: list, floors: list, client, direct) -> None:
    """The same partitions computed three ways: in one process with Dask's default local
    scheduler for DataFrames (``"threads"``, as many threads as cores, i.e. what
    ``read_*(...).compute()`` does without a cluster), in one process on one thread
    (``"sync"``, a one-core reference), and on the 2-worker cluster. ``compute()`` ships every
    row back to the client; ``compute(concatenate=False)`` joins the partitions on the client
    instead of on a worker (one transfer instead of two); ``direct_to_workers`` repeats
    ``compute()`` with a client that fetches results from the workers itself (``direct``,
    ``Client(..., direct_to_workers=True)``) instead of through the scheduler, which for a
    ``LocalCluster`` lives in this process, so every byte crosses loopback twice more;
    ``decode+len`` reduces on the workers
    (``map_partitions(len)``), so only decoding is measured; ``persist()`` decodes into the
    memory of the one process or of the workers and keeps the rows there (no transfer).
    Last, the bytes of the whole table are gathered from the workers as plain numpy arrays
    (one per partition): the transfer floor of any ``compute()`` that returns every row."""
    ddf = make_ddf()

    def settle() -> None:
        """Wait until the scheduler has forgotten the last run's tasks: results still held
        by a worker would otherwise be reused by the next run (same keys), skipping decoding."""
        for _ in range(500):
            if client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0:
                return
            time.sleep(0.01)

    def persist(sch):
        """Decode every partition into the memory of whoever runs it (this process, or the
        workers) and keep it there: the Dask idiom for a table that later work reduces.
        Returns the persisted collection and the scheduler that holds it."""
        if sch in ("threads", "sync"):
            return ddf.persist(scheduler=sch), "sync"
        from distributed import futures_of, wait

        kept = client.persist(ddf)
        with client.as_current():
            wait(futures_of(kept))
        return kept, client

    def rows_of(out) -> int:
        kept, sch = out
        return int(kept.map_partitions(len).compute(scheduler=sch).sum())

    cases = [("compute()", lambda sch: ddf.compute(scheduler=sch), len),
             ("compute(concatenate=False)",
              lambda sch: ddf.compute(scheduler=sch, concatenate=False), len),
             ("compute(), direct_to_workers", lambda sch: ddf.compute(
                 scheduler=direct if sch is client else sch), len),
             ("compute(concatenate=False), direct_to_workers", lambda sch: ddf.compute(
                 scheduler=direct if sch is client else sch, concatenate=False), len),
             ("decode+len", lambda sch: ddf.map_partitions(len).compute(scheduler=sch).sum(),
              int),
             ("persist()", persist, rows_of)]
    def cpu_all() -> float:
        """CPU seconds of this process (client + scheduler) and of both workers."""
        return time.process_time() + sum(client.run(time.process_time).values())

    for label, run, size in cases:
        t_thr, out = timed(lambda: run("threads"), REPEAT)
        c_thr = timed.cpu  # type: ignore[attr-defined]
        n = size(out)
        out = None
        t_sync, _ = timed(lambda: run("sync"), REPEAT)
        t_two, out2 = timed(lambda: run(client), REPEAT, before=settle, cpu=cpu_all)
        c_two = timed.cpu  # type: ignore[attr-defined]
        assert size(out2) == n, (label, size(out2), n)
        out2 = None
        rows.append((f"{name} {label}", ddf.npartitions, n, t_thr, t_sync, t_two, c_thr, c_two,
                     load()))
    nbytes = int(ddf.compute(scheduler="sync").memory_usage(deep=True).sum())
    floors.append((name, nbytes, transfer_floor(client, nbytes, ddf.npartitions),
                   rows[-len(cases)][3], rows[-len(cases)][5]))


def pickle_cost() -> None:
    """Why a pandas frame costs more to ship than its bytes: pickling a ``string[pyarrow]``
    column copies it (pandas' ``ArrowExtensionArray.__getstate__`` combines chunks), while the
    same ``pyarrow.StringArray`` pickles as zero-copy protocol-5 buffers."""
    import pickle

    import numpy as np
    import pandas as pd
    import pyarrow as pa

    n = 2_000_000
    data = np.full(n * 100, ord("A"), np.uint8)
    offsets = np.arange(0, n * 100 + 1, 100, dtype=np.int32)
    array = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    series = pd.Series(pd.arrays.ArrowStringArray(array))
    for what, obj in (("pyarrow.StringArray", array), ("pandas string[pyarrow] Series", series)):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            pickle.dumps(obj, protocol=5, buffer_callback=lambda b: None)
            times.append(time.perf_counter() - t)
        print(f"PICKLE {what}, {n:,} x 100-byte strings ({len(data) / 1e6:.0f} MB): first "
              f"{times[0]:.3f} s, then {min(times[1:]):.3f} s (protocol 5, out-of-band buffers;"
              f" a copy goes to fresh pages the first time)")


def transfer_floor(client, nbytes: int, parts: int) -> float:
    """Best time of two gathers of ``nbytes`` held on the workers as ``parts`` numpy arrays."""
    import numpy as np
    from distributed import wait

    best = float("inf")
    for _ in range(2):
        futs = client.map(lambda i, k=nbytes // parts: np.ones(k, np.uint8), range(parts),
                          pure=False)
        with client.as_current():
            wait(futs)
        t = time.perf_counter()
        client.gather(futs)
        best = min(best, time.perf_counter() - t)
        futs = None
    return best


def http_costs(name: str, path: Path, reader, target: str, rows: list) -> None:
    from loopback import RangeServer

    files = {path.name: path.read_bytes()}
    for ext in (".tbi", ".bai", ".csi"):
        if Path(str(path) + ext).exists():
            files[path.name + ext] = Path(str(path) + ext).read_bytes()
    from bioformats_ext.dask import plan

    parts = plan(path, target_bytes=target)
    with RangeServer(files) as srv:
        ddf = reader(srv.url(path.name), target_bytes=target)
        srv.clear_log()
        t = time.perf_counter()
        ddf.compute(scheduler="sync")
        dt = time.perf_counter() - t
        gets = srv.requests("GET")
        got = 0
        for r in gets:
            a, _, b = (r.range or "bytes=0-0")[6:].partition("-")
            got += int(b) - int(a) + 1 if b else 0
    est = sum(p.estimated_bytes for p in parts)
    hull = sum(p.nbytes for p in parts)
    rows.append((name, len(parts), len(gets), len(gets) / len(parts), hull / len(parts) / 1e6,
                 est / len(parts) / 1e6, got, dt))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--reads", type=int, default=2_000_000)
    ap.add_argument("--target", default="2MiB")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=2, help="runs per case; the best is kept")
    args = ap.parse_args()
    global REPEAT
    REPEAT = args.repeat
    if args.quick:
        args.records, args.reads, args.target = 100_000, 200_000, "1MiB"
    WORK.mkdir(parents=True, exist_ok=True)
    from distributed import Client, LocalCluster

    from bioformats_ext.dask import read_bam, read_vcf

    print(f"# {load()} before making data")
    vcf = make_vcf(WORK / f"calls{args.records}.vcf", args.records)
    try:
        import bioformats_ext.bam.columns  # noqa: F401
        bam: Path | None = make_bam(WORK / f"reads{args.reads}.bam", args.reads)
    except ImportError:
        bam = None
        print("# BAM skipped: bioformats_ext.bam.columns is not available")
    rows: list = []
    floors: list = []
    import dask

    # distributed starts workers with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc mmap and
    # unmap every large array: our decoders allocate tens of MB per partition, and that
    # setting alone doubled the CPU time of a BAM partition on a worker (docs/scaling.md).
    # ``None`` unsets it, so workers run with the same allocator as the one-process runs.
    cfg = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
    with dask.config.set(cfg), LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=40) as cluster, \
            Client(cluster, set_as_default=False) as client, \
            Client(cluster, set_as_default=False, direct_to_workers=True) as direct:
        speedup(f"read_vcf {args.records:,} rec", lambda: read_vcf(vcf, target_bytes=args.target),
                rows, floors, client, direct)
        if bam is not None:
            speedup(f"read_bam {args.reads:,} reads",
                    lambda: read_bam(bam, target_bytes=args.target), rows, floors, client,
                    direct)
    print("\n\"1 process\" = the same read in this process with Dask's default local scheduler"
          " (threads); \"sync\" = one thread; \"2 workers\" = LocalCluster(n_workers=2,"
          " threads_per_worker=1). Speed-up = 1 process / 2 workers.")
    print("CPU: of this process for \"1 process\"; of this process (client and scheduler) plus "
          "both workers for \"2 workers\".")
    print("\n| dataset | partitions | rows | 1 process s | sync s | 2 workers s | speed-up "
          "| vs sync | CPU 1 process s | CPU 2 workers s | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, p, n, t_thr, t_sync, t_two, c_thr, c_two, ld in rows:
        print(f"| {name} | {p} | {n:,} | {t_thr:.2f} | {t_sync:.2f} | {t_two:.2f} | "
              f"{t_thr / t_two:.2f}x | {t_sync / t_two:.2f}x | {c_thr:.2f} | {c_two:.2f} | {ld} |")

    print("\n| dataset | table MB | gather the same bytes as numpy arrays s | compute() 1 process s "
          "| compute() 2 workers s | 1 process / gather floor |")
    print("|---|---|---|---|---|---|")
    for name, nbytes, floor, t_thr, t_two in floors:
        print(f"| {name} | {nbytes / 1e6:.0f} | {floor:.2f} | {t_thr:.2f} | {t_two:.2f} | "
              f"{t_thr / floor:.2f}x |")
    pickle_cost()
    notes = {" compute()": "target >= 1.6x", " persist()": "rows decoded into the workers' memory",
             " compute(), direct_to_workers": "target >= 1.6x; the client gathers from the "
                                              "workers itself"}
    print()
    for name, p, n, t_thr, t_sync, t_two, _c1, _c2, ld in rows:
        note = next((v for k, v in notes.items() if name.endswith(k)), None)
        if note is not None:
            print(f"SPEED-UP {name}: 2 worker processes vs 1 process = {t_thr / t_two:.2f}x "
                  f"({note}; vs one thread {t_sync / t_two:.2f}x; {ld})")

    http: list = []
    http_costs("VCF.gz", vcf, read_vcf, args.target, http)
    if bam is not None:
        http_costs("BAM", bam, read_bam, args.target, http)
    print("\n| over HTTP | partitions | GETs | GETs/partition | MB fetched/partition "
          "| MB planned/partition | MB estimated/partition | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for name, p, g, gp, hull, est, got, dt in http:
        print(f"| {name} | {p} | {g} | {gp:.2f} | {got / p / 1e6:.2f} | {hull:.2f} | {est:.2f} "
              f"| {dt:.2f} |")

    peers: list = []
    oxbow = None
    try:
        import oxbow
    except ImportError:
        print("# oxbow not installed: peer comparison skipped")

    def peer(what: str, who: str, fn) -> None:
        """Best wall time of 2 runs and the CPU time of that run (all threads)."""
        t, df = timed(fn)
        peers.append((what, who, len(df), t, timed.cpu))  # type: ignore[attr-defined]

    # ours: the serial read (one thread, ``scheduler="sync"``) in batches of --target
    # compressed bytes, concatenated into one frame, as the peers return one
    target = args.target
    peer("VCF.gz fixed fields", "bioformats_ext (1 thread)",
         lambda: read_vcf(vcf, target_bytes=target).compute(scheduler="sync"))
    if oxbow is not None:
        peer("VCF.gz fixed fields", "oxbow",
             lambda: oxbow.from_vcf(str(vcf), info_fields=[], samples=[]).to_pandas())
    bcf = make_bcf(vcf)
    peer("BCF fixed fields", "bioformats_ext (1 thread)",
         lambda: read_vcf(bcf, target_bytes=target).compute(scheduler="sync"))
    if oxbow is not None:
        peer("BCF fixed fields", "oxbow",
             lambda: oxbow.from_bcf(str(bcf), info_fields=[], samples=[]).to_pandas())
    if bam is not None:
        peer("BAM all fields", "bioformats_ext (1 thread)",
             lambda: read_bam(bam, target_bytes=target).compute(scheduler="sync"))
        if oxbow is not None:
            peer("BAM all fields", "oxbow",
                 lambda: oxbow.from_bam(str(bam), tag_defs=[]).to_pandas())
    print(f"\n| to_pandas | reader | rows | seconds | CPU s | Mrows/s |  ({load()})")
    print("|---|---|---|---|---|---|")
    for what, who, n, t, c in peers:
        print(f"| {what} | {who} | {n:,} | {t:.2f} | {c:.2f} | {n / t / 1e6:.2f} |")
    ours = {what: (t, c) for what, who, _, t, c in peers if who.startswith("bioformats_ext")}
    for what, who, _, t, c in peers:
        if who == "oxbow":
            print(f"TO_PANDAS {what}: bioformats_ext / oxbow throughput = {t / ours[what][0]:.2f}x "
                  f"wall, {c / ours[what][1]:.2f}x CPU ({load()})")

if __name__ == "__main__":
    main()
