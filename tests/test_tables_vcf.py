"""VCF text → Arrow: fixed fields and header-typed INFO columns equal pysam's parse."""

from __future__ import annotations

import random

import pytest

pa = pytest.importorskip("pyarrow")
pysam = pytest.importorskip("pysam")

from bioformats_ext.errors import RecordError  # noqa: E402
from bioformats_ext.tables.vcf import info_types, vcf_text_to_arrow  # noqa: E402

HEADER = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=1000000>
##contig=<ID=chr2,length=1000000>
##INFO=<ID=DP,Number=1,Type=Integer,Description="depth">
##INFO=<ID=AF,Number=A,Type=Float,Description="allele freq, with a comma, inside">
##INFO=<ID=DB,Number=0,Type=Flag,Description="dbSNP">
##INFO=<ID=NOTE,Number=1,Type=String,Description="text">
##INFO=<ID=CNT,Number=.,Type=Integer,Description="counts">
##FORMAT=<ID=GT,Number=1,Type=String,Description="genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1
"""


def make(path, n=400, seed=0):
    rng = random.Random(seed)
    lines = []
    for chrom in ("chr1", "chr2"):
        pos = 0
        for _ in range(n):
            pos += rng.randrange(1, 500)
            alts = rng.sample(["A", "C", "G", "T"], rng.randrange(1, 3))
            info = []
            if rng.random() < 0.8:
                info.append(f"DP={rng.randrange(100)}")
            if rng.random() < 0.7:
                info.append("AF=" + ",".join(rng.choice(["0.5", "0.25", "."]) for _ in alts))
            if rng.random() < 0.3:
                info.append("DB")
            if rng.random() < 0.3:
                info.append(f"NOTE=n{rng.randrange(9)}")
            if rng.random() < 0.4:
                info.append("CNT=" + ",".join(str(rng.randrange(9)) for _ in range(rng.randrange(1, 4))))
            qual = rng.choice([".", "30", "7.5"])
            lines.append(f"{chrom}\t{pos}\t.\tN\t{','.join(alts)}\t{qual}\tPASS\t"
                         f"{';'.join(info) or '.'}\tGT\t0/1\n")
    path.write_text(HEADER + "".join(lines))
    return (HEADER + "".join(lines)).encode()


def test_fixed_fields_and_typed_info_equal_pysam(tmp_path):
    text = make(tmp_path / "x.vcf")
    types = info_types(HEADER)
    assert types["AF"] == ("A", "Float") and types["DB"] == ("0", "Flag")
    table = vcf_text_to_arrow(text, ["S1"], None, info=types)
    rows = table.to_pylist()
    with pysam.VariantFile(str(tmp_path / "x.vcf")) as f:
        recs = list(f)
    assert len(rows) == len(recs)
    for row, rec in zip(rows, recs):
        assert (row["CHROM"], row["POS"], row["REF"], row["ALT"]) == \
            (rec.chrom, rec.pos, rec.ref, ",".join(rec.alts))
        assert row["QUAL"] == rec.qual
        info = rec.info
        assert row["INFO/DP"] == info.get("DP")
        assert row["INFO/DB"] == ("DB" in info)
        assert row["INFO/NOTE"] == info.get("NOTE")
        assert row["INFO/AF"] == (list(info["AF"]) if "AF" in info else None)
        assert row["INFO/CNT"] == (list(info["CNT"]) if "CNT" in info else None)
    assert table.schema.field("INFO/AF").type == pa.list_(pa.float64())
    assert table.schema.field("INFO/DB").type == pa.bool_()


def test_region_and_errors(tmp_path):
    text = make(tmp_path / "x.vcf", 50)
    table = vcf_text_to_arrow(text, ["S1"], ["CHROM", "POS"], region=("chr2", 1000, 5000))
    assert all(c == "chr2" and 1000 < p <= 5000 for c, p in zip(*(c.to_pylist()
                                                                   for c in table.columns)))
    with pytest.raises(RecordError):
        vcf_text_to_arrow(b"chr1\t12x\t.\tA\tC\t.\t.\t.\n", [], None)
    with pytest.raises(RecordError):
        vcf_text_to_arrow(b"chr1\t12\t.\tA\tC\t.\n", [], None)
    with pytest.raises(RecordError):
        vcf_text_to_arrow(b"chr1\t12\t.\tA\tC\t.\t.\tDP=x\n", [], None,
                          info={"DP": ("1", "Integer")})
