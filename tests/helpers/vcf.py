"""Random VCF text: seeded, sorted, returned as ``(header, lines)`` the writers take."""

from __future__ import annotations

import random
from pathlib import Path

VCF_CONTIGS = [("1", 5_000_000), ("2", 300_000), ("unused", 1000), ("X", 1_000_000)]



TYPED_VCF_CONTIGS = [("1", 3_000_000), ("2", 800_000), ("empty", 5000), ("big", 1_200_000_000)]


def typed_vcf(seed: int, n: int, n_samples: int = 3, version: str = "4.2") -> tuple[str, list[str]]:
    """Every Number/Type, missing values, multi-allelic, symbolic/breakend/gVCF alleles,
    END/SVLEN/LEN, a contig longer than TBI's 2^29 limit."""
    rng = random.Random(seed)
    h = [f"##fileformat=VCFv{version}"]
    h += [f"##contig=<ID={c},length={n_}>" for c, n_ in TYPED_VCF_CONTIGS]
    h += ['##FILTER=<ID=q10,Description="Quality below 10">',
          '##FILTER=<ID=s50,Description="Less than 50% of samples">',
          '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">',
          '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">',
          '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">',
          '##INFO=<ID=RC,Number=R,Type=Integer,Description="Per allele">',
          '##INFO=<ID=GI,Number=.,Type=Float,Description="Per genotype">',
          '##INFO=<ID=V3,Number=3,Type=Integer,Description="Three">',
          '##INFO=<ID=VAR,Number=.,Type=Float,Description="Any">',
          '##INFO=<ID=DB,Number=0,Type=Flag,Description="dbSNP">',
          '##INFO=<ID=NOTE,Number=1,Type=String,Description="Text">',
          '##INFO=<ID=CH,Number=1,Type=Character,Description="One char">',
          '##INFO=<ID=END,Number=1,Type=Integer,Description="End">',
          '##INFO=<ID=SVLEN,Number=A,Type=Integer,Description="SV length">',
          '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="SV type">',
          '##ALT=<ID=DEL,Description="Deletion">',
          '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
          '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Quality">',
          '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Depths">',
          '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Likelihoods">',
          '##FORMAT=<ID=GL,Number=G,Type=Float,Description="Likelihoods">',
          '##FORMAT=<ID=FT,Number=1,Type=String,Description="Filter">',
          '##FORMAT=<ID=LEN,Number=1,Type=Integer,Description="gVCF block length">',
          '##FORMAT=<ID=HQ,Number=2,Type=Integer,Description="Haplotype qualities">']
    samples = [f"S{i}" for i in range(n_samples)]
    h.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT",
                        *samples]))
    rows = []
    used = [c for c in TYPED_VCF_CONTIGS if c[0] != "empty"]
    for i in range(n):
        tid = rng.randrange(len(used))
        name, length = used[tid]
        if name == "big":
            pos = rng.choice([rng.randint(1, 1000), rng.randint(600_000_000, 1_100_000_000)])
        else:
            pos = rng.randint(1, length - 5000)
        ref = "".join(rng.choice("ACGT") for _ in range(rng.choice([1, 1, 1, 2, 5, 40])))
        kind = rng.random()
        info = []
        if kind < 0.1:
            alts = ["<DEL>"]
            sv = rng.randint(50, 3000)
            info += [f"SVLEN=-{sv}", "SVTYPE=DEL"]
            if rng.random() < 0.5:
                info.append(f"END={pos + sv}")
        elif kind < 0.18:
            alts = ["<*>"]
        elif kind < 0.22:
            alts = [rng.choice([f"{ref[0]}]1:{rng.randint(1, 99999)}]", f"[2:{rng.randint(1, 9999)}[{ref[0]}",
                                "<DUP:TANDEM>", "."])]
        else:
            alts = rng.sample(["A", "C", "G", "T", "AT", "GCC", "<INS>"], rng.choice([1, 1, 2, 3]))
        n_alt = 0 if alts == ["."] else len(alts)
        n_gt = (n_alt + 1) * (n_alt + 2) // 2
        def num(k, lo=-150, hi=70000):  # noqa: E306
            return ",".join(rng.choice([str(rng.randint(lo, hi)), str(rng.randint(0, 100)), "."])
                            for _ in range(k))
        if rng.random() < 0.8:
            info.append(f"DP={rng.choice([str(rng.randint(0, 300)), '.', str(rng.randint(-200, 40000))])}")
        if n_alt and rng.random() < 0.5:
            info.append("AF=" + ",".join(rng.choice([f"{rng.random():.4g}", ".", "1e-07"])
                                         for _ in range(n_alt)))
            info.append("AC=" + num(n_alt))
        if rng.random() < 0.3:
            info.append("RC=" + num(n_alt + 1))
        if rng.random() < 0.2:
            info.append("GI=" + ",".join(f"{rng.uniform(-5, 5):.3f}" for _ in range(n_gt)))
        if rng.random() < 0.2:
            info.append("V3=" + num(3, -2_000_000_000, 2_000_000_000))
        if rng.random() < 0.2:
            info.append("VAR=" + ",".join(f"{rng.uniform(-1e6, 1e6):.2f}"
                                          for _ in range(rng.randint(1, 5))))
        if rng.random() < 0.3:
            info.append("DB")
        if rng.random() < 0.2:
            info.append("NOTE=" + rng.choice(["hello", "a b", "x,y", "."]))
        if rng.random() < 0.1:
            info.append("CH=" + rng.choice("XYZ"))
        rng.shuffle(info)
        fmt = ["GT"] + rng.sample(["GQ", "AD", "PL", "GL", "FT", "HQ"], rng.randint(0, 4))
        if alts == ["<*>"]:
            fmt.append("LEN")
        cells = []
        for _ in samples:
            ploidy = rng.choice([1, 2, 2, 2, 3])
            sep = rng.choice("/|")
            gt = sep.join(rng.choice([str(rng.randint(0, n_alt)), "."]) for _ in range(ploidy))
            vals = {"GT": gt, "GQ": num(1, -200, 40000), "AD": num(n_alt + 1), "PL": num(n_gt),
                    "GL": ",".join(rng.choice([f"{rng.uniform(-9, 0):.2f}", "."]) for _ in range(n_gt)),
                    "FT": rng.choice(["PASS", "q10", ".", "LowQual;x"]), "HQ": num(2),
                    "LEN": str(rng.randint(1, 2000))}
            cell = [vals[k] for k in fmt]
            if len(cell) > 1 and rng.random() < 0.2:  # drop trailing fields
                cell = cell[:rng.randint(1, len(cell))]
            cells.append(":".join(cell))
        qual = rng.choice([".", str(rng.randint(0, 999)), f"{rng.uniform(0, 100):.2f}"])
        flt = rng.choice(["PASS", ".", "q10", "q10;s50"])
        rows.append(((tid, pos), "\t".join([name, str(pos), rng.choice([f"rs{i}", "."]), ref,
                                            ",".join(alts), qual, flt, ";".join(info) or ".",
                                            ":".join(fmt), *cells])))
    rows.sort(key=lambda r: r[0])
    return "\n".join(h) + "\n", [r for _, r in rows]


DASK_HEADER_INFO = ['##INFO=<ID=DP,Number=1,Type=Integer,Description="depth">',
               '##INFO=<ID=END,Number=1,Type=Integer,Description="end">',
               '##FORMAT=<ID=GT,Number=1,Type=String,Description="genotype">']


def vcf_lines(contigs: list[tuple[str, int, int]], seed: int = 1) -> list[str]:
    """Header + sorted records: ``(name, length, n_records)`` per contig; some long (INFO/END)
    and some with QUAL '.'."""
    rng = random.Random(seed)
    lines = ["##fileformat=VCFv4.2"] + [f"##contig=<ID={c},length={n}>" for c, n, _ in contigs]
    lines += DASK_HEADER_INFO + ["#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2"]
    k = 0
    for name, length, count in contigs:
        positions = sorted(rng.randrange(1, length + 1) for _ in range(count))
        for pos in positions:
            ref = rng.choice(["A", "C", "GT", "TTA"])
            info = f"DP={rng.randrange(100)}"
            if rng.random() < 0.05:
                info += f";END={pos + rng.randrange(1, 3000)}"
            qual = rng.choice([".", str(rng.randrange(100)), "3.5"])
            lines.append(f"{name}\t{pos}\tv{k}\t{ref}\tG\t{qual}\tPASS\t{info}\tGT\t0/1\t1/1")
            k += 1
    return lines


def write_vcf_gz(path: Path, contigs: list[tuple[str, int, int]], seed: int = 1,
                 csi: bool = False) -> Path:
    """``path`` (``x.vcf``) bgzipped and indexed by htslib (pysam.tabix_index)."""
    import pysam

    path.write_text("\n".join(vcf_lines(contigs, seed)) + "\n")
    out = pysam.tabix_index(str(path), preset="vcf", force=True, csi=csi)
    return Path(out)


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


