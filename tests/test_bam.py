"""BamWriter / BamReader against htslib (through pysam): encoding, round trips, co-produced
BAI/CSI content, fetch, sort errors, BGZF2 mode."""

from __future__ import annotations

import gzip
import io
import os
import random
import shutil

import pytest

pysam = pytest.importorskip("pysam")

from bioformats_ext.bam import BamHeader, BamReader, BamWriter  # noqa: E402
from bioformats_ext.bam.encode import SamEncoder  # noqa: E402
from bioformats_ext.errors import FormatError, RecordError, SortOrderError  # noqa: E402
from bioformats_ext.index import read_index  # noqa: E402


from helpers import SAM_REFS as REFS  # noqa: E402
from helpers import index_content, random_sam  # noqa: E402


@pytest.fixture(scope="module")
def sam_data():
    return random_sam(11, 1500)


def _files(directory) -> list[str]:
    return sorted(os.listdir(directory))


def test_records_byte_identical_to_htslib(tmp_path, sam_data):
    header, lines = sam_data
    h = pysam.AlignmentHeader.from_text(header)
    with pysam.AlignmentFile(str(tmp_path / "p.bam"), "wbu", header=h) as out:
        for line in lines:
            out.write(pysam.AlignedSegment.fromstring(line, h))
    raw = gzip.open(tmp_path / "p.bam").read()
    ours = BamHeader.from_text(header).encode()
    assert raw.startswith(ours)
    batch = SamEncoder(BamHeader.from_text(header)).encode([ln.encode() for ln in lines])
    assert b"".join(batch.records) == raw[len(ours):]
    # the huge records really exercise the CG tag and multi-block records
    assert max(len(r) for r in batch.records) > 0x10000


@pytest.mark.parametrize("index", [None, "bai", "csi"])
def test_pysam_reads_back_identical(tmp_path, sam_data, index):
    header, lines = sam_data
    path = str(tmp_path / "out.bam")
    with BamWriter(path, header, index=index) as writer:
        writer.write_many(lines[:100])
        for line in lines[100:110]:
            writer.write(line)
        writer.write_many(line.encode() for line in lines[110:])
    with pysam.AlignmentFile(path, check_sq=False) as bam:
        assert str(bam.header).rstrip("\n").split("\n") == header.rstrip("\n").split("\n")
        got = [a.to_string() for a in bam.fetch(until_eof=True)]
    assert got == lines
    expected = [] if index is None else [f"out.bam.{index}"]
    assert _files(tmp_path) == ["out.bam"] + expected
    assert list(BamReader(path)) == lines


@pytest.mark.parametrize("index,threads", [("bai", 1), ("csi", 1), ("bai", 2)])
def test_index_equals_samtools_index(tmp_path, sam_data, index, threads):
    header, lines = sam_data
    ours = str(tmp_path / "ours.bam")
    with BamWriter(ours, header, index=index, threads=threads) as writer:
        writer.write_many(lines)
    os.mkdir(tmp_path / "ref")
    theirs = str(tmp_path / "ref" / "ours.bam")
    shutil.copy(ours, theirs)
    pysam.samtools.index(*(["-c"] if index == "csi" else []), theirs)
    assert index_content(f"{ours}.{index}") == index_content(f"{theirs}.{index}")
    # pysam with our index == pysam with its own; our reader == pysam
    rng = random.Random(5)
    mine = BamReader(ours)
    with pysam.AlignmentFile(ours, index_filename=f"{ours}.{index}") as a, \
            pysam.AlignmentFile(theirs, index_filename=f"{theirs}.{index}") as b:
        for _ in range(60):
            name, length = rng.choice(REFS)
            start = rng.randrange(0, min(length, 2_100_000))
            end = start + rng.choice([1, 50, 5000, 200_000])
            expected = [x.to_string() for x in b.fetch(name, start, end)]
            assert [x.to_string() for x in a.fetch(name, start, end)] == expected
            assert list(mine.fetch(name, start, end)) == expected
        assert list(mine.fetch("chrEmpty")) == []
        assert list(mine.fetch("chr2")) == [x.to_string() for x in b.fetch("chr2")]


def test_csi_depth_grows_for_long_references(tmp_path):
    refs = [("big", 2_100_000_000), ("small", 1000)]
    header = "".join(f"@SQ\tSN:{n}\tLN:{n_}\n" for n, n_ in refs)
    lines = [f"r{i}\t0\tbig\t{p}\t60\t10M\t*\t0\t0\tACGTACGTAC\t*" for i, p in
             enumerate([5, 1000, 600_000_000, 2_000_000_000])]
    path = str(tmp_path / "x.bam")
    with BamWriter(path, header, index="csi") as writer:
        writer.write_many(lines)
    shutil.copy(path, tmp_path / "y.bam")
    pysam.samtools.index("-c", str(tmp_path / "y.bam"))
    assert index_content(path + ".csi") == index_content(str(tmp_path / "y.bam.csi"))
    assert read_index(path + ".csi").depth == 6
    assert list(BamReader(path).fetch("big", 1_999_999_990, 2_000_000_001)) == [lines[3]]
    with pytest.raises(RecordError):  # BAI cannot hold positions >= 2^29
        with BamWriter(str(tmp_path / "z.bam"), header, index="bai") as writer:
            writer.write_many(lines)


@pytest.mark.parametrize("case", ["tid", "pos", "unplaced"])
def test_sort_error_names_record_and_leaves_no_files(tmp_path, sam_data, case):
    header, lines = sam_data
    placed = [ln for ln in lines if ln.split("\t")[2] != "*"]
    if case == "tid":
        bad = placed[-1:] + placed[:3]
        culprit = 1
    elif case == "pos":
        bad = [placed[10], placed[3]]
        culprit = 1
    else:
        bad = [lines[-1], placed[0]]
        culprit = 1
    path = tmp_path / "bad.bam"
    with pytest.raises(SortOrderError) as info:
        with BamWriter(str(path), header, index="bai") as writer:
            writer.write_many(bad[:culprit])
            writer.write_many(bad[culprit:])
    assert info.value.record == culprit + 1  # 1-based
    assert str(info.value).startswith(f"record {culprit + 1}: ")
    assert bad[culprit].split("\t")[0] in str(info.value)
    assert _files(tmp_path) == []
    # without an index, unsorted input is fine
    with BamWriter(str(path), header) as writer:
        writer.write_many(bad)
    assert _files(tmp_path) == ["bad.bam"]


def test_header_forms_and_record_objects(tmp_path, sam_data):
    header, lines = sam_data
    h = pysam.AlignmentHeader.from_text(header)
    segments = [pysam.AlignedSegment.fromstring(ln, h) for ln in lines[:200]]
    forms = [header, header.encode(), h, h.to_dict(), REFS]
    for i, form in enumerate(forms):
        path = str(tmp_path / f"h{i}.bam")
        with BamWriter(path, form, index="bai") as writer:
            writer.write_many(segments)
        with pysam.AlignmentFile(path) as bam:
            assert [(s["SN"], s["LN"]) for s in bam.header.to_dict()["SQ"]] == REFS
            assert [a.to_string() for a in bam.fetch(until_eof=True)] == lines[:200]


def test_file_object_target_with_index_path(tmp_path, sam_data):
    header, lines = sam_data
    buf, ibuf = io.BytesIO(), io.BytesIO()
    with BamWriter(buf, header, index="bai", index_path=ibuf) as writer:
        writer.write_many(lines)
    (tmp_path / "f.bam").write_bytes(buf.getvalue())
    (tmp_path / "f.bam.bai").write_bytes(ibuf.getvalue())
    shutil.copy(tmp_path / "f.bam", tmp_path / "g.bam")
    pysam.samtools.index(str(tmp_path / "g.bam"))
    assert index_content(str(tmp_path / "f.bam.bai")) == index_content(str(tmp_path / "g.bam.bai"))
    assert list(BamReader(buf.getvalue())) == lines


@pytest.mark.parametrize("line,message", [
    ("r\t0\tchrZ\t5\t0\t4M\t*\t0\t0\tACGT\t*", "not in the header"),
    ("r\t0\tchr1\t5\t0\t4Q\t*\t0\t0\tACGT\t*", "CIGAR"),
    ("r\t0\tchr1\t5\t0\t5M\t*\t0\t0\tACGT\t*", "lengths"),
    ("r\t0\tchr1\t5\t0\t4M\t*\t0\t0\tACGT\tII", "lengths"),
    ("r\t0\tchr1\t5\t256\t4M\t*\t0\t0\tACGT\tIIII", "range"),
    ("r\t0\tchr1\tx\t0\t4M\t*\t0\t0\tACGT\tIIII", "invalid literal"),
    ("r\t0\tchr1\t5\t0\t4M\t*\t0\t0\tACGT\t*\tXX:i:99999999999", "range"),
    ("r\t0\tchr1\t5\t0\t4M\t*\t0\t0\tACGT\t*\tXX:q:1", "tag type"),
    ("r\t0\tchr1\t5\t0\t4M", "columns"),
])
def test_bad_records_raise_typed_errors(tmp_path, line, message):
    with pytest.raises(RecordError, match=message):
        with BamWriter(str(tmp_path / "e.bam"), REFS, index="bai") as writer:
            writer.write("r0\t0\tchr1\t1\t0\t4M\t*\t0\t0\tACGT\t*")
            writer.write(line)
    assert _files(tmp_path) == []


def test_mapped_read_without_cigar_becomes_unmapped_like_htslib(tmp_path):
    line = "r\t0\tchr1\t5\t0\t*\t*\t0\t0\tACGT\t*"
    path = str(tmp_path / "u.bam")
    with BamWriter(path, REFS) as writer:
        writer.write(line)
    h = pysam.AlignmentHeader.from_references([n for n, _ in REFS], [n for _, n in REFS])
    expected = pysam.AlignedSegment.fromstring(line, h).to_string()
    assert list(BamReader(path)) == [expected]


def test_truncated_bam_raises(tmp_path, sam_data):
    header, lines = sam_data
    path = tmp_path / "t.bam"
    with BamWriter(str(path), header) as writer:
        writer.write_many(lines[:300])
    data = path.read_bytes()
    (tmp_path / "cut.bam").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError):
        list(BamReader(str(tmp_path / "cut.bam")))
    with pytest.raises(FormatError):
        BamReader(b"not a bam file at all")


def test_bgzf2_self_indexed_bam(tmp_path, sam_data):
    header, lines = sam_data
    path = str(tmp_path / "x.bam")
    with BamWriter(path, header, compression="bgzf2") as writer:
        writer.write_many(lines)
    assert _files(tmp_path) == ["x.bam"]
    reader = BamReader(path)
    assert reader.container == "bgzf2"
    assert list(reader) == lines
    h = pysam.AlignmentHeader.from_text(header)
    segments = [pysam.AlignedSegment.fromstring(ln, h) for ln in lines]
    rng = random.Random(9)
    for _ in range(40):
        name, length = rng.choice(REFS)
        start = rng.randrange(0, min(length, 2_100_000))
        end = start + rng.choice([1, 500, 50_000, 500_000])
        expected = [ln for ln, s in zip(lines, segments)
                    if s.reference_name == name and s.reference_start < end
                    and (s.reference_end if not s.is_unmapped and s.reference_end else
                         s.reference_start + 1) > start]
        assert list(reader.fetch(name, start, end)) == expected
    with pytest.raises(SortOrderError):
        with BamWriter(str(tmp_path / "y.bam"), header, compression="bgzf2") as writer:
            writer.write_many(lines[::-1])
    assert _files(tmp_path) == ["x.bam"]


def test_write_alignment_objects(tmp_path, sam_data):
    from Bio import Align

    header = "".join(f"@SQ\tSN:{n}\tLN:{n_}\n" for n, n_ in REFS)
    lines = ["a\t0\tchr1\t100\t60\t5M2D5M\t*\t0\t0\tACGTAACGTA\tIIIIIIIIII",
             "b\t16\tchr2\t7\t60\t3S4M\t*\t0\t0\tTTTACGT\t*"]
    (tmp_path / "in.sam").write_text(header + "".join(ln + "\n" for ln in lines))
    alignments = list(Align.parse(str(tmp_path / "in.sam"), "sam"))
    path = str(tmp_path / "x.bam")
    with BamWriter(path, header, index="bai") as writer:
        for alignment in alignments:
            writer.write(alignment)
    formatted = [Align.sam.AlignmentWriter(None).format_alignment(a).rstrip("\n") for a in alignments]
    with pysam.AlignmentFile(path) as bam:
        h = bam.header
        assert [a.to_string() for a in bam.fetch(until_eof=True)] == \
            [pysam.AlignedSegment.fromstring(f, h).to_string() for f in formatted]


@pytest.mark.parametrize("line", [
    "e1\t0\tchr1\t10\t60\t8M\t*\t0\t0\tacgtnRYK\t*",            # lower case, IUPAC
    "e2\t0\tchr1\t10\t60\t4M\t*\t0\t0\t=A=C\t!!!!",              # '=' bases, quality 0
    "e3\t0\tchr1\t10\t60\t5H4M5H\t*\t0\t0\t*\t*",                # no SEQ with hard clips
    "e4\t4\tchr1\t10\t0\t*\t=\t10\t0\t*\t*\tXB:B:S\tXf:B:f,1e-05,3.5",  # empty B array, float B
    "e5\t0\tchr1\t1\t60\t3P4M\t*\t0\t0\tACGT\t*\tXi:i:-2147483648\tXI:i:4294967295",
])
def test_edge_records_byte_identical_to_htslib(tmp_path, line):
    h = pysam.AlignmentHeader.from_references([n for n, _ in REFS], [n for _, n in REFS])
    with pysam.AlignmentFile(str(tmp_path / "p.bam"), "wbu", header=h) as out:
        out.write(pysam.AlignedSegment.fromstring(line, h))
    raw = gzip.open(tmp_path / "p.bam").read()
    header = BamHeader.from_text(str(h))
    assert SamEncoder(header).encode([line.encode()]).data == raw[len(header.encode()):]


def test_corrupt_records_raise_format_errors_only(sam_data):
    from bioformats_ext.bam.decode import record_span, record_to_sam

    header, lines = sam_data
    bh = BamHeader.from_text(header)
    records = [r[4:] for r in SamEncoder(bh).encode([ln.encode() for ln in lines[:200]]).records]
    rng = random.Random(3)
    for _ in range(3000):
        rec = bytearray(rng.choice(records))
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(rec))
            rec[i] = rng.randrange(256)
        if rng.random() < 0.3:
            del rec[rng.randrange(len(rec)):]
        for func in (lambda r: record_to_sam(r, bh.names), record_span):
            try:
                func(bytes(rec))
            except FormatError:
                pass
