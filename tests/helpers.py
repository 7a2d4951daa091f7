"""Shared test data and helpers: random SAM / VCF generators, index comparisons.

One module instead of a copy per test file (the suite puts ``tests/`` on ``sys.path``, so test
files import it as ``helpers``). Generators are seeded and return text as the writers take it.
"""

from __future__ import annotations

import random

from bioformats_ext.index import read_index

# -- SAM ----------------------------------------------------------------------------------------

SAM_REFS = [("chr1", 3_000_000), ("chr2", 200_000), ("chrEmpty", 5000), ("chr3", 70_000_000)]


def rand_tags(rng):
    out = []
    if rng.random() < 0.7:
        out.append(f"NM:i:{rng.choice([0, 1, 200, 255, 256, 65535, 65536, 4294967295, -1, -128, -129, -32768, -32769, -2147483648])}")
    if rng.random() < 0.3: out.append(f"XA:A:{rng.choice('ACGT=')}")
    if rng.random() < 0.3: out.append(f"XF:f:{rng.choice(['1.5', '-0.25', '3.125', '0', '1e+10'])}")
    if rng.random() < 0.3: out.append("XZ:Z:" + rng.choice(["hello world", "", "a:b:c"]))
    if rng.random() < 0.2: out.append("XH:H:" + rng.choice(["1AE301", "", "FF"]))
    if rng.random() < 0.3:
        sub = rng.choice("cCsSiIf")
        lo, hi = {"c": (-128, 127), "C": (0, 255), "s": (-32768, 32767), "S": (0, 65535), "i": (-2**31, 2**31-1), "I": (0, 2**32-1), "f": (0, 0)}[sub]
        k = rng.randrange(0, 6)
        vals = [rng.choice(["1.5", "-2", "0.125"]) for _ in range(k)] if sub == "f" else [str(rng.randint(lo, hi)) for _ in range(k)]
        out.append("XB:B:" + sub + "".join("," + v for v in vals))
    return out

def rand_cigar(rng, huge=False):
    if huge:
        n = 70000
        ops = [(1, "M") if i % 2 == 0 else (1, "I") for i in range(n)] + [(5, "M")]
    else:
        ops = []
        if rng.random() < 0.2: ops.append((rng.randint(1, 5), "H"))
        if rng.random() < 0.3: ops.append((rng.randint(1, 10), "S"))
        ops.append((rng.randint(1, 60), rng.choice("M=X")))
        for _ in range(rng.randrange(0, 4)):
            op = rng.choice("IDNP")
            length = rng.choice([1, 3, 50, 100_000]) if op in "DN" else rng.randint(1, 5)
            ops.append((length, op))
            ops.append((rng.randint(1, 40), rng.choice("M=X")))
        if rng.random() < 0.3: ops.append((rng.randint(1, 10), "S"))
        if rng.random() < 0.2: ops.append((rng.randint(1, 5), "H"))
    qlen = sum(n for n, op in ops if op in "MIS=X")
    rlen = sum(n for n, op in ops if op in "MDN=X")
    return "".join(f"{n}{op}" for n, op in ops), qlen, rlen

def random_sam(seed=1, n=400, refs=SAM_REFS, huge=True):
    """Coordinate-sorted SAM exercising htslib's edge cases (every tag type, B arrays, huge
    CIGARs, placed unmapped mates, unplaced reads last): ``(header, lines)``."""
    rng = random.Random(seed)
    header = "@HD\tVN:1.6\tSO:coordinate\n" + "".join(f"@SQ\tSN:{r}\tLN:{l}\n" for r, l in refs) + "@RG\tID:g1\tSM:s\n@CO\tcomment here\n"
    recs = []
    used = [r for r in refs if r[0] != "chrEmpty"]
    for i in range(n):
        tid = rng.randrange(len(used))
        name, length = used[tid]
        pos = rng.randint(1, min(length, 2_000_000) - 1000)
        huge_one = huge and i in (5, 7)
        cig, qlen, rlen = rand_cigar(rng, huge_one)
        flag = rng.choice([0, 16, 1 | 2 | 32 | 64, 1 | 16 | 128, 256, 2048])
        seq = "".join(rng.choice("ACGTN") for _ in range(qlen)) if rng.random() < 0.9 or huge_one else "*"
        qual = "".join(chr(rng.randint(33, 73)) for _ in range(qlen)) if seq != "*" and rng.random() < 0.9 else "*"
        mapq = rng.choice([0, 30, 60, 255])
        rnext, pnext = rng.choice([("*", 0), ("=", pos + 100), ("chr2", 5)])
        if rnext == name: rnext = "="
        tlen = rng.choice([0, 250, -250])
        fields = [f"r{i}", str(flag), name, str(pos), str(mapq), cig, rnext, str(pnext), str(tlen), seq, qual] + rand_tags(rng)
        recs.append(((refs.index(used[tid]), pos), fields))
        if rng.random() < 0.1:  # placed unmapped mate
            f2 = [f"u{i}", str(4 | 1 | 8 if rng.random() < 0.5 else 4), name, str(pos), "0", "*", "=", str(pos), "0", "ACGT", "IIII"] + rand_tags(rng)
            recs.append(((refs.index(used[tid]), pos), f2))
    recs.sort(key=lambda r: r[0])
    lines = ["\t".join(f) for _, f in recs]
    for i in range(20):
        lines.append("\t".join([f"unplaced{i}", "4", "*", "0", "0", "*", "*", "0", "0", "ACGTN"[: 1 + i % 5], "*"] + rand_tags(rng)))
    return header, lines


# -- VCF ----------------------------------------------------------------------------------------

VCF_CONTIGS = [("1", 5_000_000), ("2", 300_000), ("unused", 1000), ("X", 1_000_000)]


def random_vcf(seed: int = 1, n: int = 3000):
    """Sorted VCF with ##contig lengths, multi-base REF and INFO/END: ``(header, lines)``."""
    rng = random.Random(seed)
    header = ["##fileformat=VCFv4.2"]
    header += [f"##contig=<ID={c},length={n_}>" for c, n_ in VCF_CONTIGS]
    header += ['##INFO=<ID=END,Number=1,Type=Integer,Description="End, with, commas">',
               '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">',
               '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
               "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT",
                          "S1", "S2"])]
    used = [c for c in VCF_CONTIGS if c[0] != "unused"]
    rows = []
    for i in range(n):
        c, length = rng.choice(used)
        pos = rng.randint(1, min(length, 4_000_000) - 2000)
        ref = "".join(rng.choice("ACGT") for _ in range(rng.choice([1, 1, 1, 3, 20, 300])))
        info = [f"DP={rng.randint(1, 99)}"]
        if rng.random() < 0.1:
            info.append(f"END={pos + rng.choice([10, 5000, 100_000])}")
        rows.append(((used.index((c, length)), pos),
                     [c, str(pos), f"v{i}", ref, rng.choice(["A", "T", "<DEL>", "G,C"]),
                      rng.choice(["50", "."]), "PASS", ";".join(info), "GT", "0/1", "1|1"]))
    rows.sort(key=lambda r: r[0])
    return "\n".join(header) + "\n", ["\t".join(f) for _, f in rows]


TYPED_INFO = [
    '##INFO=<ID=DP,Number=1,Type=Integer,Description="depth">',
    '##INFO=<ID=AF,Number=A,Type=Float,Description="allele freq, with a comma, inside">',
    '##INFO=<ID=DB,Number=0,Type=Flag,Description="dbSNP">',
    '##INFO=<ID=NOTE,Number=1,Type=String,Description="text">',
    '##INFO=<ID=CNT,Number=.,Type=Integer,Description="counts">',
]


def _typed_info(rng, n_alts: int) -> str:
    """One INFO value per header type (Integer, Number=A Float with missing values, Flag,
    String, Number=. list), each present or absent at random."""
    info = []
    if rng.random() < 0.8:
        info.append(f"DP={rng.randrange(100)}")
    if rng.random() < 0.7:
        info.append("AF=" + ",".join(rng.choice(["0.5", "0.25", "."]) for _ in range(n_alts)))
    if rng.random() < 0.3:
        info.append("DB")
    if rng.random() < 0.3:
        info.append(f"NOTE=n{rng.randrange(9)}")
    if rng.random() < 0.4:
        info.append("CNT=" + ",".join(str(rng.randrange(9)) for _ in range(rng.randrange(1, 4))))
    return ";".join(info) or "."


def walk_vcf(contigs, counts, *, seed: int = 1, start: int = 0, steps=None, min_step: int = 0,
             refs=("A", "AT", "GATTACA"), alts=("G",), max_alts: int = 1, quals=("50",),
             info: str | None = "DP", end_rate: float = 0.0, samples=()):
    """Sorted VCF walking each contig from ``start`` by random steps: ``(header, lines)``.

    ``counts[i]`` records at most on ``contigs[i]`` (the walk stops past the contig end);
    each step is ``randint(min_step, steps[i])`` (default ``2 * length // count``), so
    ``start=0, min_step=0`` can give POS 0 and repeated positions. ``info`` is ``"DP"``,
    ``"typed"`` (:data:`TYPED_INFO`: every INFO type) or ``None``; ``end_rate`` of the
    records become ``<DEL>`` with ``INFO/END`` up to 50 kb further (long records).
    """
    rng = random.Random(seed)
    header = ["##fileformat=VCFv4.2"] + [f"##contig=<ID={c},length={n}>" for c, n in contigs]
    if end_rate:
        header.append('##INFO=<ID=END,Number=1,Type=Integer,Description="End">')
    if info == "DP":
        header.append('##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">')
    elif info == "typed":
        header += TYPED_INFO
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    if samples:
        header.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
        columns += ["FORMAT", *samples]
    header.append("\t".join(columns))
    lines = []
    for i, ((name, length), count) in enumerate(zip(contigs, counts)):
        step = steps[i] if steps is not None else max(1, 2 * length // max(count, 1))
        pos = start
        for _ in range(count):
            pos += rng.randint(min_step, step)
            if pos > length:
                break
            ref = rng.choice(refs)
            alt = ",".join(rng.sample(alts, rng.randint(1, max_alts)))
            qual = rng.choice(quals)
            if end_rate and rng.random() < end_rate:
                alt, value = "<DEL>", f"END={min(length, pos + rng.randint(100, 50_000))}"
            elif info == "DP":
                value = f"DP={rng.randint(1, 500)}"
            elif info == "typed":
                value = _typed_info(rng, alt.count(",") + 1)
            else:
                value = "."
            fields = [name, str(pos), ".", ref, alt, qual, "PASS", value]
            if samples:
                fields += ["GT"] + ["0/1"] * len(samples)
            lines.append("\t".join(fields))
    return "\n".join(header) + "\n", lines


# -- indexes ------------------------------------------------------------------------------------

def index_content(path: str) -> tuple:
    """What an index says (not how its bytes are laid out), for comparing with htslib's."""
    ix = read_index(path)
    return (ix.names, ix.tabix, ix.min_shift, ix.depth, ix.n_no_coor,
            [(r.bins, r.linear, r.loffsets) for r in ix.refs])


def assert_same_index(ref, ours) -> None:
    """Two loaded indexes (``read_index``) hold the same content, reference by reference."""
    assert ours.format == ref.format
    assert (ours.min_shift, ours.depth) == (ref.min_shift, ref.depth)
    assert ours.n_refs == ref.n_refs
    assert ours.n_no_coor == ref.n_no_coor
    assert ours.names == ref.names and ours.tabix == ref.tabix
    assert ours.aux == ref.aux
    for tid, (r, o) in enumerate(zip(ref.refs, ours.refs)):
        assert o.bins == r.bins, f"tid {tid}: bins differ"
        assert o.linear == r.linear, f"tid {tid}: linear index differs"
        assert o.loffsets == r.loffsets, f"tid {tid}: loffsets differ"
