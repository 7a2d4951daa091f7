"""VCF text → Arrow: fixed fields and header-typed INFO columns equal pysam's parse."""

from __future__ import annotations

import pytest

pa = pytest.importorskip("pyarrow")
pysam = pytest.importorskip("pysam")

from bioformats_ext.errors import RecordError  # noqa: E402
from bioformats_ext.tables.vcf import info_types, vcf_text_to_arrow  # noqa: E402
from helpers import walk_vcf  # noqa: E402


def make(path, n=400, seed=0):
    """Multi-allelic records carrying every INFO type (incl. missing Number=A values)."""
    header, lines = walk_vcf([("chr1", 1_000_000), ("chr2", 1_000_000)], [n, n], seed=seed,
                             min_step=1, steps=[499, 499], refs=("N",), alts="ACGT",
                             max_alts=2, quals=(".", "30", "7.5"), info="typed",
                             samples=("S1",))
    text = header + "".join(line + "\n" for line in lines)
    path.write_text(text)
    return text.encode()


def test_fixed_fields_and_typed_info_equal_pysam(tmp_path):
    text = make(tmp_path / "x.vcf")
    types = info_types(text.decode())
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
