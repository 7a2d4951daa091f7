"""BAM columns → Arrow equal to pysam, including a long CIGAR stored in a CG tag, absent
qualities, unplaced reads and typed tags (needs ``bioformats_ext.bam.columns``)."""

from __future__ import annotations

import array

import pytest

pa = pytest.importorskip("pyarrow")
pysam = pytest.importorskip("pysam")
columns_mod = pytest.importorskip("bioformats_ext.bam.columns")

from bioformats_ext.bam.reader import BamReader  # noqa: E402
from bioformats_ext.tables.bam import columns_to_arrow, tag_types  # noqa: E402
from helpers import bam_record_bytes  # noqa: E402


def test_columns_equal_pysam(tmp_path):
    path = tmp_path / "x.bam"
    header = {"HD": {"VN": "1.6", "SO": "unsorted"}, "SQ": [{"SN": "chr1", "LN": 10_000_000}]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for k in range(50):
            a = pysam.AlignedSegment(out.header)
            a.query_name = f"q{k}"
            n = 1 + k % 7
            a.query_sequence = "ACGTN"[k % 5] * n
            a.reference_id, a.reference_start = 0, 100 * k
            a.cigarstring = f"{n}M" if k % 3 else f"1S{n - 1}M" if n > 1 else "1M"
            a.mapping_quality = k
            if k % 4:
                a.query_qualities = array.array("B", [k % 40] * n)
            a.set_tag("NM", k)
            if k % 2:
                a.set_tag("ZF", k / 4, "f")
            out.write(a)
        long = pysam.AlignedSegment(out.header)   # > 65535 operations: htslib moves it to CG
        long.query_name = "long"
        long.query_sequence = "A" * 35_000
        long.reference_id, long.reference_start = 0, 20_000
        long.cigarstring = "1M1D" * 35_000
        out.write(long)
        u = pysam.AlignedSegment(out.header)
        u.query_name, u.query_sequence, u.flag = "u", "ACG", 4
        u.reference_id = u.reference_start = u.next_reference_id = u.next_reference_start = -1
        out.write(u)
    reader = BamReader(path)
    raw = bam_record_bytes(path)
    cols = columns_mod.decode_columns(raw)
    names = reader.header.names
    tags = tag_types(cols, ["NM", "ZF"])
    assert tags == {"NM": "int64", "ZF": "float64"}
    rows = columns_to_arrow(cols, names, tags=tags).to_pylist()
    with pysam.AlignmentFile(str(path), check_sq=False) as f:
        recs = list(f.fetch(until_eof=True))
    assert len(rows) == len(recs)
    for row, r in zip(rows, recs):
        assert row["qname"] == r.query_name and row["flag"] == r.flag
        assert row["rname"] == r.reference_name and row["pos"] == r.reference_start + 1
        assert row["end"] == r.reference_end and row["mapq"] == r.mapping_quality
        assert row["cigar"] == (r.cigarstring or "*")
        assert row["seq"] == r.query_sequence
        assert row["qual"] == (None if r.query_qualities is None
                               else pysam.qualities_to_qualitystring(r.query_qualities))
        assert row["NM"] == (r.get_tag("NM") if r.has_tag("NM") else None)
        # ZF is a float32 ('f') tag: compared at approx's 1e-6, i.e. float32 precision
        assert row["ZF"] == (pytest.approx(r.get_tag("ZF")) if r.has_tag("ZF") else None)
    sub = columns_to_arrow(cols, names, ["qname", "cigar"], sel=[len(recs) - 2])
    assert sub.to_pylist() == [{"qname": "long", "cigar": "1M1D" * 35_000}]


def test_tag_columns_every_aux_type_equal_pysam(tmp_path):
    """Tags walked as columns (every aux type, several fields per record, tags absent in some
    records) equal pysam's values; B arrays take the per-record path with the same result."""
    from bioformats_ext.tables import bam as tables_bam

    path = tmp_path / "tags.bam"
    header = {"HD": {"VN": "1.6"}, "SQ": [{"SN": "chr1", "LN": 100_000}]}
    values = {"XC": (-100, "c"), "XU": (200, "C"), "XS": (-30000, "s"), "XT": (60000, "S"),
              "XI": (-2_000_000_000, "i"), "XJ": (4_000_000_000, "I"), "XF": (1.5, "f"),
              "XA": ("q", "A"), "XZ": ("some text", "Z"), "XH": ("1AE301", "H")}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for k in range(60):
            a = pysam.AlignedSegment(out.header)
            a.query_name, a.query_sequence = f"r{k}", "ACGT"
            a.reference_id, a.reference_start, a.cigarstring = 0, k, "4M"
            for j, (tag, (v, kind)) in enumerate(values.items()):
                if (k + j) % 3:
                    a.set_tag(tag, v if not isinstance(v, int) else v - (k % 20 if v < 0 else 0), kind)
            if k % 2:
                a.set_tag("XB", array.array("h", [k, -k, 7]))
            out.write(a)
    cols = columns_mod.decode_columns(bam_record_bytes(path))
    tags = tag_types(cols, [*values, "XB"])
    assert tags["XI"] == "int64" and tags["XZ"] == "string" and tags["XB"] == "list<int64>"
    aux = tables_bam._aux_walk(cols, list(tags))
    assert aux is not None and len(aux["XZ"][0]) == 40
    rows = columns_to_arrow(cols, ["chr1"], ["qname", *tags], tags).to_pylist()
    with pysam.AlignmentFile(str(path), check_sq=False) as f:
        recs = list(f.fetch(until_eof=True))
    for row, r in zip(rows, recs):
        for tag in values:
            want = r.get_tag(tag) if r.has_tag(tag) else None
            assert row[tag] == (pytest.approx(want) if isinstance(want, float) else want), tag
        assert row["XB"] == (list(r.get_tag("XB")) if r.has_tag("XB") else None)


def test_corrupt_aux_falls_back_to_the_typed_error(tmp_path):
    from bioformats_ext.errors import BioformatsError
    from bioformats_ext.tables import bam as tables_bam

    path = tmp_path / "c.bam"
    header = {"HD": {"VN": "1.6"}, "SQ": [{"SN": "chr1", "LN": 1000}]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for k in range(3):
            a = pysam.AlignedSegment(out.header)
            a.query_name, a.query_sequence = f"r{k}", "ACGT"
            a.reference_id, a.reference_start, a.cigarstring = 0, k, "4M"
            a.set_tag("NM", k, "i")
            out.write(a)
    raw = bytearray(bam_record_bytes(path))
    cols = columns_mod.decode_columns(bytes(raw))
    raw[int(cols.aux_start[1]) + 2] = ord("q")   # an aux type letter that does not exist
    cols = columns_mod.decode_columns(bytes(raw))
    assert tables_bam._aux_walk(cols, ["NM"]) is None
    with pytest.raises(BioformatsError):
        columns_to_arrow(cols, ["chr1"], ["NM"], {"NM": "int64"})
