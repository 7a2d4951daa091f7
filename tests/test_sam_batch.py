"""The vectorised SAM batch encoder (bam/sam_batch.py) against htslib through pysam: records
byte-identical to ``bam_write1`` for every tag type and integer range, odd and even sequences,
``*`` fields, unmapped and unplaced reads, CG tags of long CIGARs (per-line fallback), any batch
split, CRLF line ends; bad lines inside a large batch still raise the numbered error."""

from __future__ import annotations

import gzip
import re

import pytest

pysam = pytest.importorskip("pysam")

from bioformats_ext.bam import BamHeader, BamWriter  # noqa: E402
from bioformats_ext.bam.encode import SamEncoder  # noqa: E402
from bioformats_ext.bam.sam_batch import encode_lines  # noqa: E402
from bioformats_ext.bam.sam_fields import EncodedBatch  # noqa: E402
from bioformats_ext.errors import RecordError  # noqa: E402

from helpers import SAM_REFS as REFS  # noqa: E402
from helpers import random_sam  # noqa: E402


def _htslib_records(tmp_path, header_text: str, lines: list[str]) -> bytes:
    h = pysam.AlignmentHeader.from_text(header_text)
    path = str(tmp_path / "p.bam")
    with pysam.AlignmentFile(path, "wbu", header=h) as out:
        for line in lines:
            out.write(pysam.AlignedSegment.fromstring(line, h))
    raw = gzip.open(path).read()
    return raw[len(BamHeader.from_text(str(h)).encode()):]


def _header_text() -> str:
    return "@HD\tVN:1.6\tSO:unsorted\n" + "".join(f"@SQ\tSN:{n}\tLN:{ln}\n" for n, ln in REFS)


TAG_LINES = [
    # integer boundaries of every htslib integer type
    *(f"i{k}\t0\tchr1\t{10 + k}\t60\t4M\t*\t0\t0\tACGT\tIIII\tXi:i:{v}"
      for k, v in enumerate([-2147483648, -32769, -32768, -129, -128, -1, 0, 1, 255, 256,
                             65535, 65536, 2147483647, 4294967295])),
    "t1\t0\tchr1\t100\t60\t4M\t*\t0\t0\tACGT\tIIII\tXA:A:q\tXZ:Z:\tXz:Z:with space\tXH:H:1AE3",
    "t2\t0\tchr1\t100\t60\t4M\t*\t0\t0\tACGT\tIIII\tXf:f:3.25\tXg:f:-1e-3\tXa:i:7\tXb:Z:x",
    "t3\t16\tchr1\t101\t60\t2S2M\t=\t50\t-51\tACGT\t!#%'\tXB:B:c,-128,127\tXC:B:C,0,255"
    "\tXs:B:s,-32768,32767\tXS:B:S,65535\tXI:B:i,-2147483648,1\tXu:B:I,4294967295\tXF:B:f,1.5",
    "t4\t0\tchr1\t102\t60\t3M\t*\t0\t0\tACG\tIII",                  # odd length
    "t5\t0\tchr1\t102\t60\t5H3M2I1D4M5H\tchr2\t7\t0\tacgtNRYKM\t*",  # lower case, IUPAC, no QUAL
    "t6\t0\tchr1\t103\t0\t*\t*\t0\t0\t*\t*",                        # no CIGAR: becomes unmapped
    "t7\t4\tchr1\t103\t0\t*\t=\t103\t0\tA\t#",                      # placed unmapped, 1 base
    "t8\t0\tchr1\t104\t255\t1M1000000N1M\t*\t0\t0\tAC\tII\tNM:i:0",  # spans many bins
    "t9\t0\tchr1\t105\t60\t10M\t*\t0\t0\tACGTACGTAC\tIIIIIIIIII\t",  # trailing tab: no tags
    "u1\t4\t*\t0\t0\t*\t*\t0\t0\tACGTN\t*",
    "u2\t4\t*\t0\t0\t*\t*\t0\t0\t*\t*\tRG:Z:g1",
]


def test_every_tag_type_and_shape_byte_identical(tmp_path):
    header = _header_text()
    lines = TAG_LINES
    expected = _htslib_records(tmp_path, header, lines)
    enc = SamEncoder(BamHeader.from_text(header))
    batch = encode_lines(enc._tids, [ln.encode() for ln in lines])
    assert isinstance(batch, EncodedBatch), batch  # no line left to the per-line encoder
    assert batch.data == expected
    assert enc.encode([ln.encode() for ln in lines]).data == expected


@pytest.mark.parametrize("seed", [3, 4])
def test_random_sam_any_batch_split(tmp_path, seed):
    header, lines = random_sam(seed, 600)
    expected = _htslib_records(tmp_path, header, lines)
    enc = SamEncoder(BamHeader.from_text(header))
    raw = [ln.encode() for ln in lines]
    # only the two 70,001-op CIGARs leave the vectorised path (their CG tag is per line)
    marks = encode_lines(enc._tids, raw)
    assert marks is not None and not isinstance(marks, EncodedBatch)
    assert [i for i, m in enumerate(marks) if m] == \
        [i for i, ln in enumerate(lines) if len(re.findall("[MIDNSHP=X]", ln.split("\t")[5])) > 0xFFFF]
    for size in (1, 7, 256, len(raw)):
        data = b"".join(enc.encode(raw[i:i + size], i).data for i in range(0, len(raw), size))
        assert data == expected, size


def test_crlf_and_newline_terminated_lines(tmp_path):
    header, lines = random_sam(5, 200, huge=False)
    enc = SamEncoder(BamHeader.from_text(header))
    plain = enc.encode([ln.encode() for ln in lines]).data
    assert enc.encode([ln.encode() + b"\r\n" for ln in lines]).data == plain
    assert enc.encode([ln.encode() + b"\n" for ln in lines]).data == plain
    assert plain == _htslib_records(tmp_path, header, lines)


@pytest.mark.parametrize("bad,message", [
    ("r\t0\tchr1\t5\t0\t4M\t*\t0\t0\tACGT\tIII", "lengths"),
    ("r\t0\tchrX\t5\t0\t4M\t*\t0\t0\tACGT\tIIII", "not in the header"),
    ("r\t0\tchr1\t5\t0\t4M4\t*\t0\t0\tACGT\tIIII", "CIGAR"),
    ("r\t0\tchr1\t5\t0\t4M\t*\t0\t0\tACGT\tIIII\tXi:i:4294967296", "range"),
    ("r\t0\tchr1\t5\t0\t4M\t*\t0\t0\tACGT\tIIII\tXA:A:long", "A tag"),
    ("r\t0\tchr1\t5\t0\t4M\t*\t0\t0\tACGT\tIIII\tXf:f:x", "could not convert"),
    ("r\t0\tchr1\t5\t0\t4M\t*\t0\t0\tACGT", "columns"),
])
def test_bad_line_inside_a_large_batch_is_numbered(tmp_path, bad, message):
    good = "g\t0\tchr1\t5\t0\t4M\t*\t0\t0\tACGT\tIIII"
    lines = [good] * 3000 + [bad] + [good] * 2000
    with pytest.raises(RecordError, match=message) as info:
        with BamWriter(str(tmp_path / "e.bam"), REFS) as writer:
            writer.write_many(lines)
    assert "3000" in str(info.value) or "3001" in str(info.value)
    assert not (tmp_path / "e.bam").exists()


def test_writer_batches_equal_samtools_view(tmp_path):
    """BamWriter's file (several batches) decompresses to what ``samtools view -b`` writes."""
    header, lines = random_sam(8, 3000, huge=False)
    sam = tmp_path / "in.sam"
    sam.write_text(header + "".join(ln + "\n" for ln in lines))
    pysam.samtools.view("-b", "--no-PG", "-o", str(tmp_path / "st.bam"), str(sam), catch_stdout=False)
    ours = str(tmp_path / "ours.bam")
    with BamWriter(ours, header) as writer:
        writer.batch_size = 1000
        writer.write_many(lines)
    assert gzip.open(ours).read() == gzip.open(tmp_path / "st.bam").read()


def test_records_objects_and_lines_mixed(tmp_path):
    """Our BamRecords (copied as stored, in runs and one by one), pysam AlignedSegments and SAM
    lines in one write give the same file as the SAM lines alone."""
    from bioformats_ext.bam import open as bam_open

    header, lines = random_sam(9, 800, huge=False)
    first = str(tmp_path / "lines.bam")
    with BamWriter(first, header, index="bai") as writer:
        writer.write_many(lines)
    ours = list(bam_open(first).fetch(until_eof=True))
    with pysam.AlignmentFile(first) as bam:
        segments = list(bam.fetch(until_eof=True))
    mixed = [ours[i] if i % 3 == 0 else segments[i] if i % 3 == 1 else lines[i]
             for i in range(len(lines))]
    mixed[100:400] = ours[100:400]          # a run from one decoded batch
    for name, items in (("mixed.bam", mixed), ("records.bam", ours), ("segments.bam", segments)):
        path = str(tmp_path / name)
        with BamWriter(path, header, index="bai") as writer:
            writer.batch_size = 256
            writer.write_many(items)
        assert open(path, "rb").read() == open(first, "rb").read(), name
        assert open(path + ".bai", "rb").read() == open(first + ".bai", "rb").read(), name


def test_long_reads_next_to_short_ones(tmp_path):
    """Sequences and qualities of 65,535 bytes and more (copied one by one, not as rows) next
    to ordinary reads in one batch."""
    import random

    rng = random.Random(2)
    header = _header_text()
    lines = []
    for k, n in enumerate([100, 65535, 70001, 65535, 3, 131072, 100]):
        seq = "".join(rng.choice("ACGT") for _ in range(n))
        qual = "".join(chr(rng.randint(33, 73)) for _ in range(n)) if k != 2 else "*"
        lines.append(f"L{k}\t0\tchr1\t{1000 + k}\t60\t{n}M\t*\t0\t0\t{seq}\t{qual}\tXZ:Z:{'z' * k}")
    expected = _htslib_records(tmp_path, header, lines)
    enc = SamEncoder(BamHeader.from_text(header))
    assert isinstance(encode_lines(enc._tids, [ln.encode() for ln in lines], enc._scratch),
                      EncodedBatch)
    assert enc.encode([ln.encode() for ln in lines]).data == expected


def test_mutated_lines_match_the_per_line_encoder():
    """Random byte-level damage to valid lines: the batch path and the per-line encoder agree
    on every batch (same bytes, or the same numbered RecordError)."""
    import random

    header, lines = random_sam(12, 150, huge=False)
    enc = SamEncoder(BamHeader.from_text(header))
    rng = random.Random(7)
    alphabet = b"\t\r\n:-+*=0123456789MIDNSHPX" + bytes(range(65, 91)) + b"\x00 ,."
    for trial in range(300):
        batch = [ln.encode() for ln in rng.sample(lines, 12)]
        for _ in range(rng.randint(1, 3)):
            k = rng.randrange(len(batch))
            line = bytearray(batch[k])
            at = rng.randrange(len(line) + 1)
            action = rng.randrange(3)
            if action == 0:
                line[at:at] = bytes([rng.choice(alphabet)])
            elif action == 1:
                del line[at:at + rng.randint(1, 4)]
            else:
                line[at:at + 1] = bytes([rng.choice(alphabet)])
            batch[k] = bytes(line)
        try:
            expected: object = enc._checked(batch, 100)
            expected = (expected.data, expected.sizes.tolist())
        except RecordError as exc:
            expected = str(exc)
        try:
            got: object = enc.encode(batch, 100)
            got = (got.data, got.sizes.tolist())
        except RecordError as exc:
            got = str(exc)
        assert got == expected, (trial, batch)


def _uniform_lines(n: int) -> list[str]:
    ints = [-2147483648, -32769, -32768, -129, -128, -1, 0, 1, 255, 256, 65535, 65536,
            2147483647, 4294967295]
    return [f"c{i}\t0\tchr1\t{10 + i}\t60\t4M\t*\t0\t0\tACGT\tIIII\tNM:i:{ints[i % len(ints)]}"
            f"\tXA:A:{'ACGT='[i % 5]}\tRG:Z:{'g' * (i % 4)}\tAS:i:{i}" for i in range(n)]


def test_uniform_tag_columns_byte_identical(tmp_path, monkeypatch):
    """Lines that all carry the same tags take the column route (bam/sam_tags.py): every integer
    type and sign within one column, empty and longer Z values, A values; a column whose type
    changes on one line sends the batch to the per-tag route, with the same bytes."""
    from bioformats_ext.bam import sam_tags

    emitted = []
    emit = sam_tags.UniformTags.emit
    monkeypatch.setattr(sam_tags.UniformTags, "emit",
                        lambda self, out, at: (emitted.append(len(at)), emit(self, out, at)))
    header = _header_text()
    lines = _uniform_lines(3000)
    batch = SamEncoder(BamHeader.from_text(header)).encode([ln.encode() for ln in lines])
    assert b"".join(batch.records) == _htslib_records(tmp_path, header, lines)
    assert emitted == [3000]
    lines[1234] = lines[1234].replace("RG:Z:", "RG:i:7\tXX:Z:")
    batch = SamEncoder(BamHeader.from_text(header)).encode([ln.encode() for ln in lines])
    assert b"".join(batch.records) == _htslib_records(tmp_path, header, lines)
    assert emitted == [3000]


@pytest.mark.parametrize("bad, message", [("NM:i:4294967296", "out of range"),
                                          ("NM:i:12x", "invalid literal"),
                                          ("XA:A:qq", "A tag")])
def test_uniform_columns_bad_value_is_numbered(tmp_path, bad, message):
    lines = _uniform_lines(5000)
    field = bad.split(":")[0]
    lines[3210] = "\t".join(bad if f.startswith(field + ":") else f
                            for f in lines[3210].split("\t"))
    with pytest.raises(RecordError, match=message) as info:
        with BamWriter(str(tmp_path / "e.bam"), REFS) as writer:
            writer.write_many(lines)
    assert info.value.record == 3211
    assert not (tmp_path / "e.bam").exists()


@pytest.mark.parametrize("tail", ["AS", "AS:i", "A", ""])
def test_uniform_columns_short_last_field_at_end_of_batch(tmp_path, tail):
    """A tag field shorter than its ``TG:T:`` prefix on the batch's last line (found by the
    fuzzer: the column check read past the joined text)."""
    lines = _uniform_lines(50)
    lines[-1] = lines[-1].rsplit("\t", 1)[0] + "\t" + tail
    with pytest.raises(RecordError) as info:
        with BamWriter(str(tmp_path / "e.bam"), REFS) as writer:
            writer.write_many(lines)
    assert info.value.record == 50


def test_reference_names_of_every_length(tmp_path):
    """RNAME / RNEXT runs compared as words (up to 16 bytes) or byte rows (longer): names that
    differ only in their first or last byte, of 1 to 28 bytes, in runs and alone."""
    names = ["x", "y", "chr1", "chrEmpty", "chrEmptz", "NC_000001.11", "MC_000001.11",
             "chrUn_KI270302v1", "chrUn_KI270302v2", "a_very_long_reference_name_1",
             "b_very_long_reference_name_1"]
    header = "".join(f"@SQ\tSN:{n}\tLN:100000\n" for n in names)
    lines = []
    for k, name in enumerate(names):
        for j in range(1 + 3 * (k % 3)):
            mate = names[(k + j) % len(names)] if j % 2 else "="
            lines.append(f"r{k}_{j}\t0\t{name}\t{10 + j}\t60\t4M\t{mate}\t{20 + j}\t0\tACGT\tIIII")
    batch = SamEncoder(BamHeader.from_text(header)).encode([ln.encode() for ln in lines])
    assert b"".join(batch.records) == _htslib_records(tmp_path, header, lines)
