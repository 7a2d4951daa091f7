"""Fixed-seed, transcript-like BED12 records over hg38-like chromosomes (benchmark input).

Shared by ``bigbed_read.py`` and the writer benchmark::

    from bigbed_data import make_records, chrom_sizes, bed12_declaration, cached_bigbed
    records = list(make_records(200_000, seed=1))   # sorted (chrom, start, end, rest) tuples

``rest`` is the tab-separated BED12 tail (name ... chromStarts) as a str. Generated files are
cached under ``benchmarks/_work/`` (git-ignored).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np

WORK = Path(__file__).resolve().parent / "_work"

# hg38 primary assembly sizes (chr1..chr22, chrX, chrY).
_HG38 = {
    "chr1": 248956422, "chr2": 242193529, "chr3": 198295559, "chr4": 190214555,
    "chr5": 181538259, "chr6": 170805979, "chr7": 159345973, "chr8": 145138636,
    "chr9": 138394717, "chr10": 133797422, "chr11": 135086622, "chr12": 133275309,
    "chr13": 114364328, "chr14": 107043718, "chr15": 101991189, "chr16": 90338345,
    "chr17": 83257441, "chr18": 80373285, "chr19": 58617616, "chr20": 64444167,
    "chr21": 46709983, "chr22": 50818468, "chrX": 156040895, "chrY": 57227415,
}


def chrom_sizes() -> dict[str, int]:
    """Chromosome name -> size, in the (lexicographic) order bigBed files sort them."""
    return {name: _HG38[name] for name in sorted(_HG38)}


def make_records(n: int = 200_000, seed: int = 1) -> Iterator[tuple[str, int, int, str]]:
    """``n`` sorted BED12 transcript-like records: 1-12 exons, introns, CDS, both strands."""
    rng = np.random.default_rng(seed)
    sizes = chrom_sizes()
    names = list(sizes)
    weights = np.array([sizes[c] for c in names], float)
    per_chrom = rng.multinomial(n, weights / weights.sum())
    serial = 0
    for chrom, count in zip(names, per_chrom.tolist()):
        if not count:
            continue
        starts = np.sort(rng.integers(0, sizes[chrom] - 2_000_000, count))
        nblocks = rng.integers(1, 13, count)
        total = int(nblocks.sum())
        exon = rng.integers(50, 400, total)
        gap = rng.integers(80, 20_000, total)
        first = np.cumsum(nblocks) - nblocks            # index of each record's first exon
        step = exon + gap
        step_cum = np.cumsum(step) - step               # running sum before each exon
        rel = step_cum - np.repeat(step_cum[first], nblocks)
        last = first + nblocks - 1
        length = rel[last] + exon[last]
        ends = starts + length
        thick_start = starts + (rng.random(count) * (length // 4)).astype(np.int64)
        thick_end = np.maximum(thick_start, ends - (rng.random(count) * (length // 4)).astype(np.int64))
        minus = rng.random(count) < 0.5
        score = rng.integers(0, 1001, count)
        exon_l = exon.tolist()
        rel_l = rel.tolist()
        for i, (s, e, ts, te, m, sc, f, k) in enumerate(zip(
                starts.tolist(), ends.tolist(), thick_start.tolist(), thick_end.tolist(),
                minus.tolist(), score.tolist(), first.tolist(), nblocks.tolist())):
            serial += 1
            rest = (f"tx{serial}\t{sc}\t{'-' if m else '+'}\t{ts}\t{te}\t0\t{k}\t"
                    + ",".join(map(str, exon_l[f:f + k])) + ",\t"
                    + ",".join(map(str, rel_l[f:f + k])) + ",")
            yield chrom, s, e, rest


def bed12_declaration():
    """The autoSql declaration for plain BED12 (for writers that need one)."""
    from bioformats_ext.bbi.autosql import bed_declaration

    return bed_declaration(12)


def write_bed(path: Path, records) -> None:
    with open(path, "w") as out:
        for chrom, start, end, rest in records:
            out.write(f"{chrom}\t{start}\t{end}\t{rest}\n")


def cached_bigbed(n: int = 200_000, seed: int = 1, writer: str = "biopython") -> Path:
    """A ``.bb`` of :func:`make_records` built with ``writer`` (``biopython`` or ``pybigtools``),
    cached under ``benchmarks/_work``."""
    WORK.mkdir(exist_ok=True)
    path = WORK / f"bed12_{n}_{seed}.{writer}.bb"
    if path.exists():
        return path
    tmp = path.with_name(f"{path.stem}.tmp-{os.getpid()}.bb")
    records = list(make_records(n, seed))
    try:
        if writer == "pybigtools":
            import pybigtools

            pybigtools.open(str(tmp), "w").write(chrom_sizes(), iter(records))
        elif writer == "biopython":
            _write_with_biopython(tmp, records)
        else:
            raise ValueError(f"unknown writer {writer!r}")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _write_with_biopython(path: Path, records) -> None:
    """Biopython's own bigBed writer (``Bio.Align.bigbed``), fed BED12 text via its BED parser."""
    import io

    from Bio import Align
    from Bio.Align import bigbed as bio_bigbed
    from Bio.Seq import Seq
    from Bio.SeqRecord import SeqRecord

    text = io.StringIO("".join(f"{c}\t{s}\t{e}\t{r}\n" for c, s, e, r in records))
    alignments = Align.parse(text, "bed")
    targets = [SeqRecord(Seq(None, length=size), id=name) for name, size in chrom_sizes().items()]
    used = {c for c, _, _, _ in records}
    targets = [t for t in targets if t.id in used]
    alignments = list(alignments)

    class _List(list):
        pass

    data = _List(alignments)
    data.targets = targets
    with open(path, "wb") as out:
        bio_bigbed.AlignmentWriter(out, bedN=12, targets=targets).write(data)
