"""BGZF vs BGZF2 on a BAM payload and a VCF payload: write speed, size, decompression, region fetches.

    python benchmarks/bgzf2.py            # 1,000,000 reads / 1,000,000 VCF lines
    python benchmarks/bgzf2.py --quick    # 100,000 of each
    python benchmarks/bgzf2.py --reads 300000 --lines 200000
    python benchmarks/bgzf2.py --levels 0 --blocks 256000 --repeat 3   # the default, best of 3

Payloads (cached under ``benchmarks/_work/``):

* BAM: uncompressed BAM bytes (header + records) of synthetic 150 bp paired reads encoded by
  pysam (``"wbu"``, then un-BGZF'd): reads sampled from a random genome with ~1% mismatches,
  some soft clips and indels, NovaSeq-binned qualities, Illumina-style names, NM/AS/XS/MC/RG
  tags, coordinate-sorted, 1% unmapped reads at the end.
* VCF: a VCF 4.2 text with two samples, mostly SNVs plus indels, sorted.

Rows:

* ``BGZF <codec>``: :class:`~bioformats_ext.bgzf.BgzfWriter` on the payload as a stream
  (container only, no index), 1 and 2 threads; decompression with
  :class:`~bioformats_ext.bgzf.BgzfReader` using the same deflate backend.
* ``BGZF zlib6 +CSI``: the same with records written one by one and a CSI built through
  :class:`~bioformats_ext.index.builder.IndexBuilder`; region fetches via the CSI.
* ``BGZF2 zstd<level> <block>`` (``default`` = level 0, the writer's default parameter set,
  ``codec.BGZF2_TUNED``): :class:`~bioformats_ext.bgzf2.Bgzf2Writer` writing every record
  with its coordinates (``write_records``), so its write time *includes* building the embedded
  index; decompression and 1,000 region fetches through :class:`~bioformats_ext.bgzf2.Bgzf2Reader`.

Region fetches return the container bytes that may hold the region (record filtering is the
same for both and left out). Ratios are against ``BGZF zlib6`` with 1 thread; the closing
table compares every BGZF2 row with ``BGZF libdeflate6`` (wall and CPU time), the issue-17
target for the default.
"""

from __future__ import annotations

import argparse
import array
import io
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

from bioformats_ext.bgzf import BgzfReader, BgzfWriter
from bioformats_ext.bgzf2 import Bgzf2Reader, Bgzf2Writer
from bioformats_ext.compression import available_deflate_backends

WORK = Path(__file__).parent / "_work"
LEVELS = (0, 1, 3, 5, 7)  # 0 = BGZF2's default (codec.BGZF2_TUNED), not a zstd level
BLOCKS = (64_000, 256_000, 1_000_000)
N_FETCH = 1000


# --------------------------------------------------------------------------- payloads

def _genome(n_reads: int) -> list[tuple[str, int]]:
    human = [248, 242, 198, 190, 181, 171, 159, 145, 138, 134, 135, 133, 114, 107, 102, 90,
             83, 80, 59, 64, 47, 51, 156, 57]
    total = n_reads * 150 // 3          # about 3x coverage
    scale = total / sum(human)
    names = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"]
    return [(n, max(10_000, int(h * scale))) for n, h in zip(names, human)] + [("chrM", 16_569)]


def make_bam_payload(n_reads: int) -> Path:
    import pysam

    path = WORK / f"bgzf2_bam_{n_reads}.bam.raw"
    if path.exists():
        return path
    rng = np.random.default_rng(1)
    refs = _genome(n_reads)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": n, "LN": l} for n, l in refs],
              "RG": [{"ID": "rg1", "SM": "sample1", "PL": "ILLUMINA"}],
              "PG": [{"ID": "bwa", "PN": "bwa", "VN": "0.7.17"}]}
    genome = {n: rng.integers(0, 4, l, dtype=np.uint8) for n, l in refs}
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    n_unmapped = n_reads // 100
    n_mapped = n_reads - n_unmapped
    lengths = np.array([l for _, l in refs], dtype=np.int64)
    tid = np.sort(rng.choice(len(refs), n_mapped, p=lengths / lengths.sum()))
    pos = (rng.random(n_mapped) * (lengths[tid] - 400)).astype(np.int64)
    order = np.lexsort((pos, tid))
    tid, pos = tid[order], pos[order]
    qual_values = np.array([2, 12, 23, 37], dtype=np.uint8)
    tmp = WORK / "bgzf2_tmp.bam"
    with pysam.AlignmentFile(str(tmp), "wbu", header=header) as out:
        for i in range(n_reads):
            a = pysam.AlignedSegment(out.header)
            a.query_name = (f"A00{123 + i % 3}:8:H2LKJDSXY:{1 + i % 4}:{1101 + i % 500}:"
                            f"{rng.integers(1000, 32000)}:{rng.integers(1000, 37000)}")
            q = qual_values[rng.choice(4, 150, p=[0.01, 0.04, 0.1, 0.85])]
            if i < n_mapped:
                name = refs[tid[i]][0]
                ref = genome[name][pos[i]:pos[i] + 160]
                kind = rng.random()
                if kind < 0.9:
                    cigar, seq, span = "150M", ref[:150].copy(), 150
                elif kind < 0.95:
                    clip = int(rng.integers(5, 40))
                    cigar = f"{clip}S{150 - clip}M"
                    seq = np.concatenate((rng.integers(0, 4, clip, dtype=np.uint8),
                                          ref[:150 - clip]))
                    span = 150 - clip
                elif kind < 0.975:
                    cigar, span = "70M2I78M", 148
                    seq = np.concatenate((ref[:70], rng.integers(0, 4, 2, dtype=np.uint8),
                                          ref[70:148]))
                else:
                    cigar, span = "60M3D90M", 153
                    seq = np.concatenate((ref[:60], ref[63:153]))
                nm = int(rng.binomial(150, 0.01))
                if nm:
                    where = rng.integers(0, 150, nm)
                    seq[where] = (seq[where] + 1) % 4
                reverse = bool(rng.integers(0, 2))
                a.flag = (83 if reverse else 99) if i % 2 else (163 if reverse else 147)
                a.reference_id = int(tid[i])
                a.reference_start = int(pos[i])
                a.mapping_quality = 60 if rng.random() < 0.9 else int(rng.integers(0, 60))
                a.cigarstring = cigar
                a.next_reference_id = int(tid[i])
                a.next_reference_start = int(pos[i]) + int(rng.integers(-400, 400))
                a.template_length = int(rng.integers(-500, 500))
                a.query_sequence = bases[seq].tobytes().decode()
                a.query_qualities = array.array("B", q.tobytes())
                a.set_tags([("NM", nm), ("MC", "150M"), ("AS", 150 - 5 * nm),
                            ("XS", int(rng.integers(0, 100))), ("RG", "rg1")])
            else:
                a.flag = 77 if i % 2 else 141
                a.reference_id = -1
                a.reference_start = -1
                a.query_sequence = bases[rng.integers(0, 4, 150)].tobytes().decode()
                a.query_qualities = array.array("B", q.tobytes())
                a.set_tags([("RG", "rg1")])
            out.write(a)
    # gzip.decompress is quadratic on many members; BGZF blocks decode one by one.
    raw = b"".join(data for _, data in BgzfReader(str(tmp)).iter_blocks())
    tmp.unlink()
    path.write_bytes(raw)
    return path


def bam_records(raw: bytes):
    """(header_len, record end offsets, tid, beg, end, mapped) by walking the BAM records."""
    import struct

    l_text = struct.unpack_from("<i", raw, 4)[0]
    pos = 8 + l_text
    n_ref = struct.unpack_from("<i", raw, pos)[0]
    pos += 4
    for _ in range(n_ref):
        l_name = struct.unpack_from("<i", raw, pos)[0]
        pos += 4 + l_name + 4
    header_len = pos
    ends, tids, begs, stops, mapped = [], [], [], [], []
    fixed = struct.Struct("<iiiBBHHHi")
    consumes = np.array([1, 0, 1, 1, 0, 0, 0, 1, 1], dtype=np.int64)
    n = len(raw)
    while pos < n:
        size, tid, beg, l_name, _, _, n_cigar, flag, _ = fixed.unpack_from(raw, pos)
        cig = np.frombuffer(raw, "<u4", n_cigar, pos + 36 + l_name)
        span = int(((cig >> 4) * consumes[cig & 0xF]).sum()) if n_cigar else 0
        tids.append(tid)
        begs.append(beg)
        stops.append(beg + max(span, 1))
        mapped.append(not flag & 4)
        pos += 4 + size
        ends.append(pos)
    return header_len, np.array(ends), np.array(tids), np.array(begs), np.array(stops), \
        np.array(mapped)


def make_vcf_payload(n_lines: int) -> Path:
    path = WORK / f"bgzf2_vcf_{n_lines}.vcf"
    if path.exists():
        return path
    rng = random.Random(2)
    refs = _genome(n_lines * 3)
    lines = ["##fileformat=VCFv4.2", "##source=synthetic"]
    lines += [f"##contig=<ID={n},length={l}>" for n, l in refs]
    lines += ['##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">',
              '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">',
              '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
              '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
              '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
              '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
              '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Likelihoods">',
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNA12878\tNA12891"]
    total = sum(l for _, l in refs)
    for name, length in refs:
        n = max(1, n_lines * length // total)
        positions = sorted(rng.sample(range(1, length), min(n, length - 1)))
        for p in positions:
            r = rng.random()
            ref = rng.choice("ACGT")
            alt = rng.choice([b for b in "ACGT" if b != ref])
            if r > 0.9:
                ref += "".join(rng.choice("ACGT") for _ in range(rng.randint(1, 6)))
            elif r > 0.8:
                alt += "".join(rng.choice("ACGT") for _ in range(rng.randint(1, 6)))
            dp = rng.randint(10, 60)
            ad = rng.randint(0, dp)
            gts = []
            for _ in range(2):
                gt = rng.choice(["0/1", "1/1", "0/0", "0/1"])
                gts.append(f"{gt}:{dp - ad},{ad}:{dp}:{rng.randint(20, 99)}:"
                           f"{rng.randint(0, 900)},{rng.randint(0, 90)},{rng.randint(0, 900)}")
            rs = f"rs{rng.randint(1, 900_000_000)}" if rng.random() < 0.6 else "."
            lines.append(f"{name}\t{p}\t{rs}\t{ref}\t{alt}\t{rng.uniform(20, 3000):.2f}\tPASS\t"
                         f"DP={dp};AF={ad / dp:.3f}\tGT:AD:DP:GQ:PL\t{gts[0]}\t{gts[1]}")
    path.write_text("\n".join(lines) + "\n")
    return path


def vcf_records(raw: bytes, names: dict[str, int]):
    header_len = raw.rfind(b"\n#CHROM")
    header_len = raw.index(b"\n", header_len + 1) + 1
    body = raw[header_len:]
    lines = body.split(b"\n")[:-1]
    lens = np.fromiter((len(l) + 1 for l in lines), np.int64, len(lines))
    ends = header_len + np.cumsum(lens)
    cols = [l.split(b"\t", 4) for l in lines]
    tids = np.array([names[c[0].decode()] for c in cols])
    begs = np.array([int(c[1]) - 1 for c in cols])
    stops = begs + np.array([len(c[3]) for c in cols])
    return header_len, ends, tids, begs, stops, np.ones(len(lines), bool)


# --------------------------------------------------------------------------- runs

REPEAT = 1


def best(func, *args):
    """Fastest of ``REPEAT`` runs as ``(wall s, CPU s)``, each the minimum on its own: the
    machine is shared, the minimum is the least disturbed. CPU time is this process's (all
    threads), the steadier figure under load for one-thread runs."""
    runs = [func(*args) for _ in range(REPEAT)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def _clock():
    return time.perf_counter(), time.process_time()


def _since(start):
    return time.perf_counter() - start[0], time.process_time() - start[1]


def _mbps(n: int, seconds: float) -> float:
    return n / seconds / 1e6


def bgzf_stream(raw: bytes, path: str, backend: str, threads: int):
    t = _clock()
    with BgzfWriter(path, level=6, backend=backend, threads=threads) as w:
        view = memoryview(raw)
        for i in range(0, len(raw), 1 << 22):
            w.write(view[i:i + (1 << 22)])
    return _since(t)


def bgzf_read(path: str, backend: str):
    t = _clock()
    n = sum(len(d) for _, d in BgzfReader(path, backend=backend).iter_blocks())
    dt = _since(t)
    assert n > 0
    return dt


def bgzf_indexed(raw, recs, path, n_refs) -> tuple[float, object]:
    from bioformats_ext.index.builder import IndexBuilder
    from bioformats_ext.index.reader import read_index
    from bioformats_ext.index.serialize import write_csi

    header_len, ends, tids, begs, stops, mapped = recs
    starts = np.concatenate(([header_len], ends[:-1])).tolist()
    t = time.perf_counter()
    w = BgzfWriter(path, level=6, backend="zlib", threads=1)
    w.write(raw[:header_len])
    w.flush()
    builder = IndexBuilder.csi(14, None, max_ref_len=1 << 29, n_refs=n_refs,
                               offset0=w.tell())
    voff = np.empty(len(ends), np.int64)
    write, tell = w.write_record, w.tell
    for i, (a, b) in enumerate(zip(starts, ends.tolist())):
        write(raw[a:b])
        voff[i] = tell()
    builder.push_many(tids, begs, stops, voff, mapped)
    final = w.close()
    builder.finish(final)
    buf = io.BytesIO()
    write_csi(builder, buf, n_refs=n_refs)
    dt = time.perf_counter() - t
    return dt, read_index(buf.getvalue())


def bgzf2_write(raw, recs, path, level, block, threads, refs):
    header_len, ends, tids, begs, stops, mapped = recs
    starts = np.concatenate(([header_len], ends[:-1])).tolist()
    records = [raw[a:b] for a, b in zip(starts, ends.tolist())]
    t = _clock()
    with Bgzf2Writer(path, level=level, block_size=block, threads=threads,
                     references=refs) as w:
        w.write(raw[:header_len])
        w.flush()
        step = 65536
        for k in range(0, len(records), step):
            w.write_records(records[k:k + step], tids[k:k + step], begs[k:k + step],
                            stops[k:k + step], mapped[k:k + step])
    return _since(t)


def bgzf2_read(path: str, threads: int = 1):
    t = _clock()
    n = sum(len(d) for d in Bgzf2Reader(path, threads=threads).iter_frames())
    dt = _since(t)
    assert n > 0
    return dt


def regions(refs, rng, n=N_FETCH, width=2000):
    lengths = np.array([l for _, l in refs], dtype=np.float64)
    out = []
    for _ in range(n):
        tid = int(rng.choice(len(refs), p=lengths / lengths.sum()))
        beg = int(rng.integers(0, max(1, refs[tid][1] - width)))
        out.append((tid, beg, beg + width))
    return out


def fetch_bgzf2(path, queries) -> tuple[float, float]:
    reader = Bgzf2Reader(path)
    names = [r.name for r in reader.references]
    t = time.perf_counter()
    got = sum(len(reader.fetch(names[tid], beg, end)) for tid, beg, end in queries)
    return (time.perf_counter() - t) / len(queries) * 1e3, got / len(queries) / 1e3


def fetch_bgzf(path, index, queries) -> tuple[float, float]:
    reader = BgzfReader(path)
    t = time.perf_counter()
    got = 0
    for tid, beg, end in queries:
        chunks = index.query(tid, beg, end)
        if chunks:
            got += sum(map(len, reader.read_ranges(chunks)))
    return (time.perf_counter() - t) / len(queries) * 1e3, got / len(queries) / 1e3


def run_payload(label, raw, recs, refs, rows, quick_matrix, levels=LEVELS, blocks=BLOCKS):
    n = len(raw)
    path = str(WORK / "bgzf2_bench.out")
    rng = np.random.default_rng(5)
    queries = regions(refs, rng)
    base = {}
    print(f"\n{label}: {n / 1e6:.1f} MB uncompressed, {len(recs[1]):,} records", flush=True)
    for backend in ["zlib"] + [b for b in available_deflate_backends() if b != "zlib"]:
        t1 = best(bgzf_stream, raw, path, backend, 1)
        size = os.path.getsize(path)
        t2 = best(bgzf_stream, raw, path, backend, 2)
        dec = best(bgzf_read, path, backend)
        row = dict(payload=label, fmt="BGZF", codec=f"{backend}6" if backend != "isal"
                   else "isal3", block="64K", size=size, w1=_mbps(n, t1[0]), w2=_mbps(n, t2[0]),
                   dec=_mbps(n, dec[0]), dec2=None, fetch=None, fetch_kb=None,
                   w1c=_mbps(n, t1[1]), decc=_mbps(n, dec[1]))
        if backend == "zlib":
            base = row
        rows.append(row)
        print(_fmt(row, base), flush=True)
    t, index = bgzf_indexed(raw, recs, path, len(refs))
    ms, kb = fetch_bgzf(path, index, queries)
    row = dict(payload=label, fmt="BGZF+CSI", codec="zlib6", block="64K",
               size=os.path.getsize(path), w1=_mbps(n, t), w2=None, dec=None, dec2=None, fetch=ms,
               fetch_kb=kb, w1c=None, decc=None)
    rows.append(row)
    print(_fmt(row, base), flush=True)
    for level in levels:
        for block in blocks:
            if quick_matrix and (level, block) not in ((0, 256_000), (1, 256_000),
                                                       (3, 1_000_000), (5, 256_000)):
                continue
            t1 = best(bgzf2_write, raw, recs, path, level, block, 1, refs)
            size = os.path.getsize(path)
            t2 = best(bgzf2_write, raw, recs, path, level, block, 2, refs)
            dec = best(bgzf2_read, path)
            dec2 = best(bgzf2_read, path, 2)
            ms, kb = fetch_bgzf2(path, queries)
            row = dict(payload=label, fmt="BGZF2", codec=f"zstd{level}" if level else "default",
                       block=f"{block // 1000}K" if block < 1_000_000 else "1M", size=size,
                       w1=_mbps(n, t1[0]), w2=_mbps(n, t2[0]), dec=_mbps(n, dec[0]),
                       dec2=_mbps(n, dec2[0]), fetch=ms,
                       fetch_kb=kb, w1c=_mbps(n, t1[1]), decc=_mbps(n, dec[1]))
            rows.append(row)
            print(_fmt(row, base), flush=True)
    os.unlink(path)


HEAD = (f"{'payload':7} {'format':8} {'codec':10} {'block':>5} {'size MB':>8} {'xsize':>6} "
        f"{'wr1 MB/s':>9} {'x':>5} {'wr2 MB/s':>9} {'x':>5} {'dec MB/s':>9} {'x':>5} "
        f"{'dec2 MB/s':>9} "
        f"{'fetch ms':>8} {'KB/fetch':>8} {'wr1 CPU':>8} {'dec CPU':>8}")


def _fmt(r, base) -> str:
    def num(v, fmt="9.1f"):
        return format(v, fmt) if v is not None else " " * int(fmt.split(".")[0])

    def ratio(v, b):
        return f"{v / b:5.2f}" if v is not None and b else "     "

    return (f"{r['payload']:7} {r['fmt']:8} {r['codec']:10} {r['block']:>5} "
            f"{r['size'] / 1e6:8.1f} {ratio(r['size'], base.get('size')):>6} "
            f"{num(r['w1'])} {ratio(r['w1'], base.get('w1'))} {num(r['w2'])} "
            f"{ratio(r['w2'], base.get('w1'))} {num(r['dec'])} {ratio(r['dec'], base.get('dec'))} "
            f"{num(r['dec2'])} "
            f"{num(r['fetch'], '8.2f')} {num(r['fetch_kb'], '8.0f')} "
            f"{num(r.get('w1c'), '8.1f')} {num(r.get('decc'), '8.1f')}")


def verdict(rows: list[dict]) -> None:
    """Each BGZF2 setting against BGZF with libdeflate 6 (the fastest BGZF default): size,
    write and read speed (one thread; wall and CPU), and whether it beats it on all three."""
    print("\nBGZF2 vs BGZF libdeflate6, one thread (ratios > 1 mean BGZF2 is better; "
          "size: libdeflate / BGZF2)")
    print(f"{'payload':7} {'codec':8} {'block':>5} {'size':>6} {'write':>6} {'wr CPU':>6} "
          f"{'read':>6} {'rd CPU':>6}  beats on all three (CPU)")
    for label in dict.fromkeys(r["payload"] for r in rows):
        ref = next((r for r in rows if r["payload"] == label and r["codec"] == "libdeflate6"),
                   None)
        if ref is None:
            continue
        for r in rows:
            if r["payload"] != label or r["fmt"] != "BGZF2":
                continue
            ratios = (ref["size"] / r["size"], r["w1"] / ref["w1"], r["w1c"] / ref["w1c"],
                      r["dec"] / ref["dec"], r["decc"] / ref["decc"])
            wins = ratios[0] >= 1 and ratios[2] > 1 and ratios[4] > 1
            print(f"{label:7} {r['codec']:8} {r['block']:>5} "
                  + " ".join(f"{x:6.2f}" for x in ratios) + f"  {'yes' if wins else 'no'}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reads", type=int, default=1_000_000, help="BAM reads (default 1,000,000)")
    p.add_argument("--lines", type=int, default=None, help="VCF lines (default = --reads)")
    p.add_argument("--quick", action="store_true", help="100,000 of each and a smaller matrix")
    p.add_argument("--full-matrix", action="store_true", help="all configs even with --quick")
    p.add_argument("--levels", type=int, nargs="+", default=LEVELS, help="zstd levels")
    p.add_argument("--blocks", type=int, nargs="+", default=BLOCKS, help="BGZF2 frame sizes")
    p.add_argument("--repeat", type=int, default=1, help="report the best of N timings")
    args = p.parse_args(argv)
    global REPEAT
    REPEAT = max(1, args.repeat)
    if args.quick:
        args.reads = 100_000
    lines = args.lines or args.reads
    WORK.mkdir(parents=True, exist_ok=True)
    print("preparing payloads (cached in benchmarks/_work/) ...", file=sys.stderr, flush=True)
    bam_raw = make_bam_payload(args.reads).read_bytes()
    vcf_path = make_vcf_payload(lines)
    vcf_raw = vcf_path.read_bytes()
    bam_refs = _genome(args.reads)
    vcf_refs = _genome(lines * 3)
    bam_recs = bam_records(bam_raw)
    vcf_recs = vcf_records(vcf_raw, {n: i for i, (n, _) in enumerate(vcf_refs)})
    print(f"{len(bam_recs[1]):,} BAM records, {len(vcf_recs[1]):,} VCF records; "
          f"{N_FETCH} random {2000} bp region fetches per file", flush=True)
    print("x = ratio to BGZF zlib6 with 1 thread (size: smaller is better; speeds: bigger)")
    print("wr = write MB/s of uncompressed input with 1 / 2 threads; BGZF2 includes its index")
    print("dec = full decompression MB/s (BGZF: same inflate backend as the writer); "
          "dec2 = BGZF2 reader with 2 threads")
    print(HEAD)
    rows: list[dict] = []
    t = time.perf_counter()
    quick_matrix = args.quick and not args.full_matrix
    for label, raw, recs, refs in (("BAM", bam_raw, bam_recs, bam_refs),
                                   ("VCF", vcf_raw, vcf_recs, vcf_refs)):
        run_payload(label, raw, recs, refs, rows, quick_matrix, args.levels, args.blocks)
    verdict(rows)
    print(f"\ntotal benchmark time {time.perf_counter() - t:.0f} s; load average "
          f"{os.getloadavg()} (cores: {os.cpu_count()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
