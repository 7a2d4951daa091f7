"""The vectorised VCF path of ``index_tabix`` (issue 17 item 3) indexes exactly as htslib.

VCF lines of every kind the batch rule must hand to the exact per-line rule (INFO/END, SVLEN
with ``<DEL>``, gVCF ``<*>`` with FORMAT/LEN, CRLF endings, 4-column lines, long POS, contig
names of equal length) are indexed by ``index_tabix`` and by ``pysam.tabix_index``; the index
content must be equal, and our TBI must be byte-identical to the per-line path's.
"""

from __future__ import annotations

import gzip
import random
import shutil

import pytest

pysam = pytest.importorskip("pysam")

from bioformats_ext.index import read_index  # noqa: E402
from bioformats_ext.index.tabix_conf import parse_lines  # noqa: E402
from bioformats_ext.tabix import indexer  # noqa: E402
from bioformats_ext.vcf.end_rule import needs_rule, tabix_interval  # noqa: E402

HEADER = ("##fileformat=VCFv4.2\n" + "".join(f"##contig=<ID={c},length=300000000>\n"
                                              for c in ("chr1", "chr2", "chrX", "c10"))
          + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n")


def _lines(rng: random.Random, with_comment: bool) -> list[str]:
    out = []
    for chrom in ("chr1", "chr2", "chrX", "c10"):
        pos = 1
        for i in range(3000):
            pos += rng.randrange(0, 40_000)
            ref = rng.choice(["A", "CT", "GATTACA", "N" * rng.randrange(1, 30)])
            kind = rng.randrange(12)
            alt, info, fmt, sample = "C", f"DP={i}", "GT", "0/1"
            if kind == 0:
                info = f"DP={i};END={pos + rng.randrange(-5, 90_000)}"
            elif kind == 1:
                alt, info = "<DEL>", f"SVLEN=-{rng.randrange(1, 70_000)};DP=3"
            elif kind == 2:
                alt, fmt, sample = "<*>", "GT:LEN", f"0/0:{rng.randrange(1, 5000)}"
            line = f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t{info}\t{fmt}\t{sample}"
            if kind == 3:
                line = f"{chrom}\t{pos}\t.\t{ref}"  # 4 columns: the per-line rule
            end = "\r\n" if kind == 4 else "\n"
            out.append(line + end)
            if with_comment and i == 1500:
                out.append("#a comment line in the middle\n")
    out.append("c10\t299999999\t.\tACGT\tA\t.\t.\t.\tGT\t0\n")  # 9-digit POS
    return out


def _per_line(conf, batch, a, b, first_lineno):
    lines = batch.lines[a:b]
    names, begs, ends = parse_lines(conf, lines, first_lineno)
    for i, ln in enumerate(lines):
        if needs_rule(ln):
            names[i], begs[i], ends[i] = tabix_interval(ln, first_lineno + i)
    return names, begs, ends


@pytest.mark.parametrize("with_comment", [False, True])
@pytest.mark.parametrize("csi", [False, True])
def test_index_tabix_vcf_equals_htslib(tmp_path, monkeypatch, with_comment, csi):
    plain = tmp_path / "x.vcf"
    plain.write_text(HEADER + "".join(_lines(random.Random(17), with_comment)))
    gz = str(plain) + ".gz"
    pysam.tabix_compress(str(plain), gz, force=True)
    theirs = str(tmp_path / "h.vcf.gz")
    shutil.copy(gz, theirs)
    pysam.tabix_index(theirs, preset="vcf", csi=csi, force=True)
    ext = "csi" if csi else "tbi"

    calls = []
    vectorised = indexer._vcf_batch
    monkeypatch.setattr(indexer, "_vcf_batch", lambda *a: calls.append(1) or vectorised(*a))
    ours = indexer.index_tabix(gz, "vcf", csi=csi, out=str(tmp_path / f"ours.{ext}"))
    assert calls or with_comment  # the vectorised path really ran
    ref, mine = read_index(f"{theirs}.{ext}"), read_index(ours)
    assert mine.names == ref.names and mine.n_no_coor == ref.n_no_coor
    for tid, (r, o) in enumerate(zip(ref.refs, mine.refs)):
        assert (o.bins, o.linear, o.loffsets) == (r.bins, r.linear, r.loffsets), tid

    monkeypatch.setattr(indexer, "_vcf_batch", _per_line)
    old = indexer.index_tabix(gz, "vcf", csi=csi, out=str(tmp_path / f"old.{ext}"))
    assert gzip.decompress(open(old, "rb").read()) == gzip.decompress(open(ours, "rb").read())
