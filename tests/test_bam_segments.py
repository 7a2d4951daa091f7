"""pysam ``AlignedSegment`` objects written by ``BamWriter`` through htslib's own ``bam_write1``
(bam/pysam_records.py): records byte-identical to pysam writing the same segments (every tag
type, CG tags of 70,001-op CIGARs, unmapped and unplaced reads, segments built with setters),
the index equal to ``samtools index``, the SAM-text route for batches the binary route does
not take, and typed, numbered errors."""

from __future__ import annotations

import array
import gzip
import zlib

import pytest

pysam = pytest.importorskip("pysam")

from bioformats_ext.bam import BamHeader, BamWriter  # noqa: E402
from bioformats_ext.bam import pysam_records  # noqa: E402
from bioformats_ext.bam import writer as bam_writer  # noqa: E402
from bioformats_ext.bam.pysam_records import SegmentEncoder, unwrap_stored  # noqa: E402
from bioformats_ext.bgzf.blocks import EOF_BLOCK  # noqa: E402
from bioformats_ext.errors import RecordError, SortOrderError  # noqa: E402

from helpers import SAM_REFS as REFS  # noqa: E402
from helpers import index_content, random_sam  # noqa: E402


@pytest.fixture(scope="module")
def sam_data():
    return random_sam(23, 1200)


def _pysam_records(path, header, segments) -> bytes:
    """The record bytes pysam (htslib) writes for ``segments``."""
    with pysam.AlignmentFile(str(path), "wbu", header=header) as out:
        for segment in segments:
            out.write(segment)
    raw = gzip.open(str(path)).read()
    return raw[len(BamHeader.from_text(str(header)).encode()):]


def _our_records(path, header_text: str) -> bytes:
    return gzip.open(str(path)).read()[len(BamHeader.from_text(header_text).encode()):]


def _no_text_route(monkeypatch):
    """Fail the test if any segment goes through SAM text."""
    def refuse(record):
        raise AssertionError(f"SAM text route taken for {type(record).__name__}")
    monkeypatch.setattr(bam_writer, "to_sam_bytes", refuse)


@pytest.mark.parametrize("batch_size", [7, 8192])
def test_segments_byte_identical_to_pysam_and_index_to_samtools(tmp_path, sam_data, monkeypatch,
                                                                batch_size):
    header, lines = sam_data
    h = pysam.AlignmentHeader.from_text(header)
    segments = [pysam.AlignedSegment.fromstring(ln, h) for ln in lines]
    _no_text_route(monkeypatch)
    monkeypatch.setattr(BamWriter, "batch_size", batch_size)
    path = tmp_path / "s.bam"
    with BamWriter(str(path), header, index="bai") as writer:
        writer.write_many(segments)
    assert _our_records(path, header) == _pysam_records(tmp_path / "p.bam", h, segments)
    assert max(len(seg.cigartuples or ()) for seg in segments) > 0xFFFF  # CG tags exercised
    copy = tmp_path / "copy.bam"
    copy.write_bytes(path.read_bytes())
    pysam.index(str(copy))
    assert index_content(str(path) + ".bai") == index_content(str(copy) + ".bai")


def test_segments_built_with_setters(tmp_path, monkeypatch):
    header = pysam.AlignmentHeader.from_references([n for n, _ in REFS], [ln for _, ln in REFS])
    segments = []
    for i in range(300):
        a = pysam.AlignedSegment(header)
        a.query_name = f"q{i}"
        a.reference_id = i % 2 * 3  # chr1, then chr3 (sorted below)
        a.reference_start = 10 * i
        a.mapping_quality = 60
        a.cigarstring = f"{5 + i % 7}M{i % 3}I{5}M" if i % 5 else "4S8M"
        a.query_sequence = "ACGTN"[i % 5] * a.infer_query_length()
        a.query_qualities = pysam.qualitystring_to_array("I" * a.infer_query_length())
        a.flag = 16 if i % 3 == 0 else 0
        a.set_tag("NM", i - 150)
        a.set_tag("XB", array.array("f", [1.5, -2.0]))
        a.set_tag("RG", "g1")
        segments.append(a)
    segments.sort(key=lambda s: (s.reference_id, s.reference_start))
    _no_text_route(monkeypatch)
    path = tmp_path / "b.bam"
    with BamWriter(str(path), str(header), index="csi") as writer:
        writer.write_many(segments)
    assert _our_records(path, str(header)) == _pysam_records(tmp_path / "p.bam", header, segments)


def test_other_references_go_through_text(tmp_path, sam_data):
    """A writer header whose references differ (here: another order) cannot take the segments'
    reference ids as they are: they are re-encoded from their SAM text, names re-mapped."""
    header, lines = sam_data
    h = pysam.AlignmentHeader.from_text(header)
    segments = [pysam.AlignedSegment.fromstring(ln, h) for ln in lines]
    reordered = [REFS[3], REFS[0], REFS[1], REFS[2]]
    assert SegmentEncoder([n for n, _ in reordered], [ln for _, ln in reordered]) \
        .encode(segments[:10]) is None
    path = tmp_path / "r.bam"
    with BamWriter(str(path), reordered) as writer:
        writer.write_many(segments)
    with pysam.AlignmentFile(str(path)) as bam:
        assert [a.to_string() for a in bam.fetch(until_eof=True)] == lines


def test_mixed_batches_and_single_writes(tmp_path, sam_data):
    header, lines = sam_data
    h = pysam.AlignmentHeader.from_text(header)
    segments = [pysam.AlignedSegment.fromstring(ln, h) for ln in lines[:300]]
    path = tmp_path / "m.bam"
    with BamWriter(str(path), header, index="bai") as writer:
        writer.write_many(segments[:100])
        for seg in segments[100:150]:
            writer.write(seg)
        writer.write_many([x if k % 2 else lines[150 + k] for k, x in enumerate(segments[150:])])
    assert _our_records(path, header) == _pysam_records(tmp_path / "p.bam", h, segments)


def test_unsorted_segments_raise_numbered_error(tmp_path, sam_data):
    header, lines = sam_data
    h = pysam.AlignmentHeader.from_text(header)
    segments = [pysam.AlignedSegment.fromstring(ln, h) for ln in lines[:400]]
    segments[250], segments[251] = segments[251], segments[250]
    if segments[250].reference_start == segments[251].reference_start:
        pytest.skip("swapped records at the same position")
    with pytest.raises(SortOrderError, match="252|251"):
        with BamWriter(str(tmp_path / "u.bam"), header, index="bai") as writer:
            writer.write_many(segments)
    assert not list(tmp_path.iterdir())


def test_position_beyond_reference_is_a_numbered_record_error(tmp_path):
    header = pysam.AlignmentHeader.from_references(["chr1"], [1000])
    segments = []
    for i, pos in enumerate([10, 20, 5000, 30]):
        a = pysam.AlignedSegment(header)
        a.query_name, a.reference_id, a.reference_start = f"r{i}", 0, pos
        a.cigarstring, a.query_sequence = "4M", "ACGT"
        segments.append(a)
    with pytest.raises(RecordError, match=r"line 3\b.*r2") as info:
        with BamWriter(str(tmp_path / "x.bam"), str(header)) as writer:
            writer.write_many(segments)
    assert info.value.record == 3
    assert not list(tmp_path.iterdir())


def test_segments_without_header_or_mixed_headers_leave_the_binary_route():
    """The route needs one header object whose references are the writer's for the batch."""
    refs = (["chr1", "chr2"], [1000, 1000])
    headers = [pysam.AlignmentHeader.from_references(*refs) for _ in range(2)]

    def segment(header, i):
        a = pysam.AlignedSegment(header)
        a.query_name, a.reference_id, a.reference_start = f"r{i}", 0, 5 + i
        a.cigarstring, a.query_sequence = "4M", "ACGT"
        return a

    encoder = SegmentEncoder(*refs)
    one = encoder.encode([segment(headers[0], i) for i in range(3)])
    assert one is not None and len(one) == 3 and one.beg.tolist() == [5, 6, 7]
    assert encoder.encode([segment(headers[0], 0), segment(headers[1], 1)]) is None
    assert encoder.encode([pysam.AlignedSegment()]) is None
    encoder.close()


def test_unwrap_stored_accepts_level0_only():
    payload = b"BAM\x01" + bytes(range(256)) * 300
    blocks = []
    for p in range(0, len(payload), 0xFF00):
        chunk = payload[p:p + 0xFF00]
        c = zlib.compressobj(0, zlib.DEFLATED, -15)
        body = c.compress(chunk) + c.flush()
        size = 18 + len(body) + 8
        head = b"\x1f\x8b\x08\x04\0\0\0\0\0\xff\x06\0BC\x02\0" + (size - 1).to_bytes(2, "little")
        tail = zlib.crc32(chunk).to_bytes(4, "little") + len(chunk).to_bytes(4, "little")
        blocks.append(head + body + tail)
    stored = b"".join(blocks) + EOF_BLOCK
    assert unwrap_stored(memoryview(stored), len(payload)) == payload
    tail = len(payload) - 0xFF00  # starts at the second block
    assert unwrap_stored(memoryview(stored), tail) == payload[0xFF00:]
    assert unwrap_stored(memoryview(stored), tail + 1) is None  # not at a block start
    compressed = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = compressed.compress(payload[:1000]) + compressed.flush()
    head = b"\x1f\x8b\x08\x04\0\0\0\0\0\xff\x06\0BC\x02\0" + (26 + len(body) - 1).to_bytes(2, "little")
    block = head + body + zlib.crc32(payload[:1000]).to_bytes(4, "little") + (1000).to_bytes(4, "little")
    assert unwrap_stored(memoryview(block), 1000) is None
    assert pysam_records.unwrap_stored(memoryview(b"not bgzf at all, no"), 0) is None
