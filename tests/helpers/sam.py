"""Random SAM / BAM data exercising htslib's edge cases."""

from __future__ import annotations

import array
import random
import shutil
from pathlib import Path

SAM_REFS = [("chr1", 3_000_000), ("chr2", 200_000), ("chrEmpty", 5000), ("chr3", 70_000_000)]


def rand_tags(rng, biopython: bool = False):
    """Optional tags of every SAM type; ``biopython=True`` keeps to what Biopython's "sam"
    parser reads (no H or B arrays, no spaces or empty Z values)."""
    out = []
    if rng.random() < 0.7:
        out.append(f"NM:i:{rng.choice([0, 1, 200, 255, 256, 65535, 65536, 4294967295, -1, -128, -129, -32768, -32769, -2147483648])}")
    if rng.random() < 0.3: out.append(f"XA:A:{rng.choice('ACGT=')}")
    if rng.random() < 0.3: out.append(f"XF:f:{rng.choice(['1.5', '-0.25', '3.125', '0', '1e+10'])}")
    if rng.random() < 0.3:
        out.append("XZ:Z:" + rng.choice(["hello", "a:b:c"] if biopython else ["hello world", "", "a:b:c"]))
    if biopython:
        return out
    if rng.random() < 0.2: out.append("XH:H:" + rng.choice(["1AE301", "", "FF"]))
    if rng.random() < 0.3:
        sub = rng.choice("cCsSiIf")
        lo, hi = {"c": (-128, 127), "C": (0, 255), "s": (-32768, 32767), "S": (0, 65535), "i": (-2**31, 2**31-1), "I": (0, 2**32-1), "f": (0, 0)}[sub]
        k = rng.randrange(0, 6)
        vals = [rng.choice(["1.5", "-2", "0.125"]) for _ in range(k)] if sub == "f" else [str(rng.randint(lo, hi)) for _ in range(k)]
        out.append("XB:B:" + sub + "".join("," + v for v in vals))
    return out

def rand_cigar(rng, huge=False, padding=True):
    """``(cigar, query length, reference length)``: clips, every op (``P`` unless
    ``padding=False``), 100 kb D/N; ``huge`` gives 70,001 ops (BAM stores them in a CG tag)."""
    if huge:
        n = 70000
        ops = [(1, "M") if i % 2 == 0 else (1, "I") for i in range(n)] + [(5, "M")]
    else:
        ops = []
        if rng.random() < 0.2: ops.append((rng.randint(1, 5), "H"))
        if rng.random() < 0.3: ops.append((rng.randint(1, 10), "S"))
        ops.append((rng.randint(1, 60), rng.choice("M=X")))
        for _ in range(rng.randrange(0, 4)):
            op = rng.choice("IDNP" if padding else "IDN")
            length = rng.choice([1, 3, 50, 100_000]) if op in "DN" else rng.randint(1, 5)
            ops.append((length, op))
            ops.append((rng.randint(1, 40), rng.choice("M=X")))
        if rng.random() < 0.3: ops.append((rng.randint(1, 10), "S"))
        if rng.random() < 0.2: ops.append((rng.randint(1, 5), "H"))
    qlen = sum(n for n, op in ops if op in "MIS=X")
    rlen = sum(n for n, op in ops if op in "MDN=X")
    return "".join(f"{n}{op}" for n, op in ops), qlen, rlen

def random_sam(seed=1, n=400, refs=SAM_REFS, huge=True, biopython=False, unplaced=20):
    """Coordinate-sorted SAM exercising htslib's edge cases (every tag type, B arrays, huge
    CIGARs, placed unmapped mates, ``unplaced`` reads last): ``(header, lines)``.

    A reference named ``chrEmpty`` gets no reads. ``biopython=True`` keeps to what
    Biopython's "sam" parser reads (no padding, no H/B tags, no spaces in Z tags, no @CO, mates on
    the same reference); ``huge``
    adds two reads with 70,001 CIGAR operations."""
    rng = random.Random(seed)
    header = "@HD\tVN:1.6\tSO:coordinate\n" + "".join(f"@SQ\tSN:{r}\tLN:{l}\n" for r, l in refs) + "@RG\tID:g1\tSM:s\n" + ("" if biopython else "@CO\tcomment here\n")
    recs = []
    used = [r for r in refs if r[0] != "chrEmpty"]
    for i in range(n):
        tid = rng.randrange(len(used))
        name, length = used[tid]
        pos = rng.randint(1, min(length, 2_000_000) - 1000)
        huge_one = huge and i in (5, 7)
        cig, qlen, rlen = rand_cigar(rng, huge_one, padding=not biopython)
        flag = rng.choice([0, 16, 1 | 2 | 32 | 64, 1 | 16 | 128, 256, 2048])
        seq = "".join(rng.choice("ACGTN") for _ in range(qlen)) if rng.random() < 0.9 or huge_one else "*"
        qual = "".join(chr(rng.randint(33, 73)) for _ in range(qlen)) if seq != "*" and rng.random() < 0.9 else "*"
        mapq = rng.choice([0, 30, 60, 255])
        mates = [("*", 0), ("=", pos + 100)] + ([] if biopython else [("chr2", 5)])
        rnext, pnext = rng.choice(mates)
        if rnext == name: rnext = "="
        tlen = rng.choice([0, 250, -250])
        fields = [f"r{i}", str(flag), name, str(pos), str(mapq), cig, rnext, str(pnext), str(tlen), seq, qual] + rand_tags(rng, biopython)
        recs.append(((refs.index(used[tid]), pos), fields))
        if rng.random() < 0.1:  # placed unmapped mate
            f2 = [f"u{i}", str(4 | 1 | 8 if rng.random() < 0.5 else 4), name, str(pos), "0", "*", "=", str(pos), "0", "ACGT", "IIII"] + rand_tags(rng, biopython)
            recs.append(((refs.index(used[tid]), pos), f2))
    recs.sort(key=lambda r: r[0])
    lines = ["\t".join(f) for _, f in recs]
    for i in range(unplaced):
        lines.append("\t".join([f"unplaced{i}", "4", "*", "0", "0", "*", "*", "0", "0", "ACGTN"[: 1 + i % 5], "*"] + rand_tags(rng, biopython)))
    return header, lines


def write_bam(path: Path, n_big: int = 4000, n_small: int = 120, unplaced: int = 50,
              seed: int = 2, csi: bool = False) -> Path:
    """A coordinate-sorted BAM written and indexed by pysam (htslib): one huge contig, many
    small ones, placed unmapped mates, unplaced reads at the end, a few typed tags."""
    import array

    import pysam

    rng = random.Random(seed)
    refs = [("chr1", 50_000_000)] + [(f"ctg{i}", 3000) for i in range(n_small)]
    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": n, "LN": ln} for n, ln in refs], "RG": [{"ID": "g1"}]}
    reads = []
    for tid, (name, length) in enumerate(refs):
        for _ in range(n_big if tid == 0 else rng.randrange(0, 4)):
            pos = rng.randrange(0, length - 200)
            reads.append((tid, pos))
    reads.sort()
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for k, (tid, pos) in enumerate(reads):
            a = pysam.AlignedSegment(out.header)
            a.query_name = f"r{k}"
            length = rng.randrange(1, 120)
            a.query_sequence = "".join(rng.choice("ACGTN") for _ in range(length))
            a.reference_id = tid
            a.reference_start = pos
            if rng.random() < 0.05:  # placed, unmapped (mate's position)
                a.flag = 4 | 1
            else:
                a.flag = rng.choice([0, 16, 99, 147, 256])
                a.mapping_quality = rng.randrange(0, 61)
                m = rng.randrange(1, length + 1)
                a.cigarstring = f"{m}M{length - m}S" if m < length else f"{m}M"
            if rng.random() < 0.8:
                a.query_qualities = array.array("B", [rng.randrange(0, 41) for _ in range(length)])
            a.next_reference_id = tid
            a.next_reference_start = pos + rng.randrange(0, 300)
            a.template_length = rng.randrange(-500, 500)
            a.set_tag("NM", rng.randrange(0, 5))
            a.set_tag("RG", "g1")
            if rng.random() < 0.5:
                a.set_tag("XS", rng.uniform(0, 1), "f")
            out.write(a)
        for k in range(unplaced):
            a = pysam.AlignedSegment(out.header)
            a.query_name = f"u{k}"
            a.query_sequence = "ACGT" * rng.randrange(1, 10)
            a.flag = 4
            a.reference_id = -1
            a.reference_start = -1
            a.next_reference_id = -1
            a.next_reference_start = -1
            a.set_tag("NM", 0)
            a.set_tag("RG", "g1")
            out.write(a)
    pysam.index(str(path), *(["-c"] if csi else []))
    return path


# -- htslib test corpus and pysam-written BAMs --------------------------------------------------

HTSLIB_DATA = Path(__file__).resolve().parents[1] / "data" / "htslib"
CORPUS = sorted(p.name for p in HTSLIB_DATA.iterdir())


def to_bam(name: str, tmp: Path) -> Path:
    """The corpus file as BAM (SAM converted by pysam; BAM copied)."""
    import pysam

    src = HTSLIB_DATA / name
    out = tmp / (name.rsplit(".", 1)[0] + ".bam")
    if name.endswith(".bam"):
        shutil.copy(src, out)
        return out
    with pysam.AlignmentFile(str(src), "r", check_sq=False) as f, \
            pysam.AlignmentFile(str(out), "wb", header=f.header) as o:
        for rec in f.fetch(until_eof=True):
            o.write(rec)
    return out


EVERY_TAG_REFS = [("chr1", 3_000_000_000), ("chr2", 250_000), ("chrM", 16_569)]


def every_tag_bam(path: Path, n: int = 3000, seed: int = 7, refs=None) -> None:
    """Every tag type, long CIGARs (CG), records larger than a BGZF block, placed and unplaced
    unmapped reads; chr1 is 3 Gbp long with reads beyond 2 Gbp (CSI territory; BAM positions
    stop at 2**31 - 1)."""
    refs = refs or EVERY_TAG_REFS
    import pysam

    rng = random.Random(seed)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": n_, "LN": l} for n_, l in refs],
              "RG": [{"ID": "g1", "SM": "s1"}], "CO": ["generated for tests"]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        recs = []
        for i in range(n):
            tid = rng.choice([0, 0, 1, 2])
            pos = rng.randrange(2_000_000_000, 2_147_000_000) if tid == 0 else \
                rng.randrange(0, refs[tid][1] - 2000)
            recs.append((tid, pos, i))
        recs.sort()
        for tid, pos, i in recs:
            a = pysam.AlignedSegment(out.header)
            a.query_name = f"read{i}"
            length = rng.choice([50, 100, 151])
            if i % 500 == 0:
                length = 70_000  # one record bigger than a BGZF block
            a.query_sequence = "".join(rng.choice("ACGTN") for _ in range(length))
            a.reference_id = tid
            a.reference_start = pos
            kind = rng.random()
            if kind < 0.08:
                a.flag = 4 | 1 | 64  # placed unmapped (mate's position)
                a.next_reference_id, a.next_reference_start = tid, pos
            else:
                a.flag = rng.choice([0, 16, 99, 147, 256, 2048 | 16, 1024, 512])
                if length == 70_000 and i % 1000 == 0:  # > 65535 operations: stored via CG
                    a.cigartuples = [(0, 1), (2, 1)] * 35_000 + [(0, length - 35_000)]
                else:
                    soft = rng.randrange(0, 5)
                    mid = length - soft
                    ops = (([(5, 3)] if rng.random() < 0.2 else []) + ([(4, soft)] if soft else [])
                           + [(0, mid // 2), (rng.choice([1, 2, 3]), 2),
                              (rng.choice([0, 7, 8]), mid - mid // 2)])
                    a.cigartuples = fix_query_length(ops, length)
                a.mapping_quality = rng.choice([0, 30, 60, 255])
                a.next_reference_id = rng.choice([-1, tid])
                a.next_reference_start = pos + 200 if a.next_reference_id >= 0 else -1
                a.template_length = rng.choice([0, 300, -300])
            if rng.random() < 0.8:
                a.query_qualities = array.array("B", [rng.randrange(0, 60) for _ in range(length)])
            tags = [("NM", rng.randrange(0, 300)), ("XA", "Q", "A"), ("Xc", -5, "c"), ("XC", 200, "C"),
                    ("Xs", -3000, "s"), ("XS", 60000, "S"), ("Xi", -70000, "i"), ("XI", 4_000_000_000, "I"),
                    ("XF", 0.1, "f"), ("XZ", "hello world", "Z"), ("XH", "1AE3FF", "H"),
                    ("MM", "C+m,0,1;", "Z"), ("ML", array.array("B", [10, 200]), None),
                    ("Bc", array.array("b", [-1, 2]), None), ("Bs", array.array("h", [-300, 2]), None),
                    ("BS", array.array("H", [60000]), None), ("Bi", array.array("i", [-2**31, 5]), None),
                    ("BI", array.array("I", [2**32 - 1]), None), ("Bf", array.array("f", [1.5, -0.25]), None),
                    ("Be", array.array("i", []), None), ("RG", "g1", "Z"), ("AS", rng.randrange(200), "i")]
            for tag in tags:
                if rng.random() < 0.7:
                    a.set_tag(*tag) if len(tag) == 3 and tag[2] else a.set_tag(tag[0], tag[1])
            out.write(a)
        for i in range(40):  # unplaced unmapped reads at the end
            a = pysam.AlignedSegment(out.header)
            a.query_name = f"unplaced{i}"
            a.flag = 4
            a.reference_id = -1
            a.reference_start = -1
            a.query_sequence = "ACGT" * (i + 1) if i % 3 else None
            out.write(a)


def fix_query_length(ops, length):
    qlen = sum(n for op, n in ops if op in (0, 1, 4, 7, 8))
    op, n = ops[-1]
    ops[-1] = (op, n + length - qlen)
    return ops


def bam_stream(path) -> tuple[bytes, int]:
    """A BAM's uncompressed stream and the offset where its records start (after the header),
    read with public APIs rather than a reader's internals."""
    from bioformats_ext.bam.scan import parse_header
    from bioformats_ext.bgzf import BgzfReader

    raw = BgzfReader(str(path)).read()
    return raw, parse_header(raw).end


def bam_record_bytes(path) -> bytes:
    """The uncompressed record section of a BAM (everything after the header)."""
    raw, start = bam_stream(path)
    return raw[start:]


def tiled_bam(path, n: int, *, ref: tuple[str, int] = ("chr1", 100_000), step: int = 10,
              seq: str = "A" * 50) -> str:
    """A small sorted BAM written by pysam: ``n`` identical-length mapped reads ``step`` bases
    apart on one reference (for tests about the container or progress, not the records)."""
    import pysam

    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": ref[0], "LN": ref[1]}]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i in range(n):
            a = pysam.AlignedSegment(out.header)
            a.query_name, a.reference_id, a.reference_start = f"r{i}", 0, i * step
            a.query_sequence, a.cigarstring = seq, f"{len(seq)}M"
            out.write(a)
    return str(path)


def binned_bam(path, seed, lengths, n=2500, level=None, extra_big=False):
    """A sorted BAM written by pysam for index tests: references ``chr1..`` of ``lengths``
    (the third stays empty unless longer than 10 Mb), placed unmapped reads, spliced reads
    spanning many bins, reads beyond 2**29 on references that long (CSI), 15 unplaced reads
    last; ``extra_big`` adds a record > 64 KiB and one with > 65535 CIGAR operations."""
    import pysam

    rng = random.Random(seed)
    names = [f"chr{i + 1}" for i in range(len(lengths))]
    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": nm, "LN": ln} for nm, ln in zip(names, lengths)]}
    used = [t for t, ln in enumerate(lengths) if ln > 10_000_000 or t != 2]  # ref 3 stays empty
    recs = []
    for i in range(n):
        tid = rng.choice(used)
        lo = lengths[tid] - 200_000 if lengths[tid] > (1 << 29) and rng.random() < 0.5 else 0
        recs.append((tid, rng.randrange(lo, lengths[tid] - 100_000), rng.random(), i))
    if extra_big:
        recs.append((0, 5000, 2.0, n))      # > 64 KiB record
        recs.append((0, 7000, 3.0, n + 1))  # > 65535 CIGAR operations (CG tag)
    recs.sort()
    mode = "wb" if level is None else f"wb{level}"
    with pysam.AlignmentFile(path, mode, header=header) as out:
        for tid, pos, kind, i in recs:
            a = pysam.AlignedSegment(out.header)
            a.query_name = f"r{i}"
            a.reference_id, a.reference_start, a.mapping_quality = tid, pos, 30
            seq = "".join(rng.choice("ACGT") for _ in range(60))
            if kind == 2.0:
                a.query_sequence = "ACGT" * 20000
                a.cigarstring = "80000M"
            elif kind == 3.0:
                a.query_sequence = "A" * 66000
                a.cigarstring = "1M1I" * 33000 + "10D"
            elif kind < 0.05:
                a.flag = 4                     # placed unmapped
                a.query_sequence = seq
            elif kind < 0.1:
                a.query_sequence = seq
                a.cigarstring = f"30M{rng.randrange(10_000, 300_000)}N30M"  # spans many bins
            else:
                a.flag = 16 if kind > 0.6 else 0
                a.query_sequence = seq
                a.cigarstring = "20M2I18M3D20M" if kind > 0.8 else "60M"
            out.write(a)
        for j in range(15):                    # unplaced unmapped at the end
            a = pysam.AlignedSegment(out.header)
            a.query_name, a.flag, a.reference_id, a.reference_start = f"u{j}", 4, -1, -1
            a.query_sequence = "ACGTACGTAC"
            out.write(a)
    return path
