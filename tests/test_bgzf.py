"""BGZF writer and reader against gzip, pysam's BGZFile and samtools; corruption gives typed errors."""

from __future__ import annotations

import gzip
import io
import os
import random

import pytest
from hypothesis import given, settings, strategies as st

from bioformats_ext.bgzf import EOF_BLOCK, MAX_BLOCK_DATA, BgzfReader, BgzfWriter
from bioformats_ext.compression import available_deflate_backends
from bioformats_ext.errors import FormatError, TruncatedFileError

pysam = pytest.importorskip("pysam")
from helpers import tiled_bam  # noqa: E402


def _records(seed=0, n=3000):
    rng = random.Random(seed)
    return [rng.randbytes(rng.randrange(1, 400)).hex().encode() + b"\n" for _ in range(n)]


def _write(records, **kw):
    buf = io.BytesIO()
    w = BgzfWriter(buf, **kw)
    starts = []
    for r in records:
        w.write_record(r)
        starts.append(w.tell() - len(r))  # where the record starts (records < a block never straddle)
    end = w.close()
    return buf.getvalue(), starts, end


@pytest.mark.parametrize("backend", available_deflate_backends())
def test_roundtrip_gzip_and_pysam(backend, tmp_path):
    recs = _records(1)
    data, offsets, eof = _write(recs, backend=backend)
    assert gzip.decompress(data) == b"".join(recs)
    assert data.endswith(EOF_BLOCK) and eof == (len(data) - len(EOF_BLOCK)) << 16
    path = tmp_path / "x.gz"
    path.write_bytes(data)
    with pysam.BGZFile(str(path), "rb") as fh:     # htslib reads it and agrees on offsets
        for i in (0, 1, 500, 2999):
            fh.seek(offsets[i])
            assert fh.readline() == recs[i].rstrip(b"\n")  # BGZFile.readline drops the newline
    r = BgzfReader(data)
    assert r.has_eof_marker
    for i in range(0, len(recs), 97):
        r.seek(offsets[i])
        assert r.readline() == recs[i]
        assert r.tell() == (offsets[i + 1] if i + 1 < len(recs) else eof)


def test_offsets_agree_with_pysam_reading(tmp_path):
    """tell() after each line equals htslib's bgzf_tell, including at block ends."""
    recs = _records(2, 2000)
    data, offsets, eof = _write(recs)
    path = tmp_path / "y.gz"
    path.write_bytes(data)
    ours = BgzfReader(str(path))
    theirs = pysam.BGZFile(str(path), "rb")
    ends = []
    for rec in recs:
        assert ours.readline() == rec and theirs.readline() == rec.rstrip(b"\n")
        assert ours.tell() == theirs.tell()
        ends.append(ours.tell())
    assert ends == offsets[1:] + [eof]   # a record ends (reader's view) where the next starts (writer's)
    assert any(v & 0xFFFF == 0 for v in ends[:-1])     # block-end normalisation was exercised


def test_records_do_not_straddle_blocks():
    recs = _records(3, 2000)
    data, offsets, _ = _write(recs)
    r = BgzfReader(data)
    for off, rec in zip(offsets, recs):
        within = off & 0xFFFF
        assert within + len(rec) <= MAX_BLOCK_DATA
    blocks = list(r.iter_blocks())
    assert all(len(d) <= MAX_BLOCK_DATA for _, d in blocks)
    assert b"".join(d for _, d in blocks) == b"".join(recs)
    # a record larger than a block is split, and the next record starts a fresh block
    big = os.urandom(150_000)
    buf = io.BytesIO()
    w = BgzfWriter(buf)
    w.write_record(b"head")
    w.write_record(big)
    assert w.tell() & 0xFFFF == 150_000 - MAX_BLOCK_DATA * 2  # "head" flushed first, then split
    w.write_record(b"tail")
    w.close()
    data2 = buf.getvalue()
    assert gzip.decompress(data2) == b"head" + big + b"tail"


def test_threads_give_identical_bytes_and_offsets():
    recs = _records(4, 4000)
    single, o1, e1 = _write(recs, backend="zlib")
    multi, o2, e2 = _write(recs, backend="zlib", threads=2)
    assert single == multi and o1 == o2 and e1 == e2
    # tell_block() + block_addresses(): the non-blocking path gives the same offsets
    buf = io.BytesIO()
    w = BgzfWriter(buf, backend="zlib", threads=2)
    tb = []
    for r in recs:
        w.write_record(r)
        tb.append(w.tell_block() - len(r))
    resolved = w.resolve(tb)
    w.close()
    assert resolved.tolist() == o1


def test_samtools_reads_our_bgzf_bam(tmp_path):
    """A BAM whose BGZF layer is ours (bytes from pysam, recompressed) is valid for samtools."""
    src = tmp_path / "src.bam"
    tiled_bam(src, 50, ref=("c", 1000), seq="ACGT" * 5)
    raw = BgzfReader(str(src)).read()
    with BgzfWriter(str(tmp_path / "ours.bam"), threads=2) as w:
        w.write(raw)
    assert pysam.samtools.view("-c", str(tmp_path / "ours.bam")).strip() == "50"
    pysam.samtools.quickcheck(str(tmp_path / "ours.bam"))


def test_atomic_path_writes(tmp_path):
    target = tmp_path / "out.gz"
    with pytest.raises(RuntimeError):
        with BgzfWriter(str(target)) as w:
            w.write(b"partial")
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []
    w = BgzfWriter(str(target))
    w.write(b"x")
    w.abort()
    assert os.listdir(tmp_path) == []
    with BgzfWriter(str(target)) as w:
        w.write(b"ok")
    assert os.listdir(tmp_path) == ["out.gz"] and gzip.decompress(target.read_bytes()) == b"ok"


def _corrupt(data: bytes, pos: int, value: int) -> bytes:
    b = bytearray(data)
    b[pos] = value
    return bytes(b)


def test_corruption_raises_typed_errors():
    data, _, _ = _write(_records(5, 300))
    first_size = int.from_bytes(data[16:18], "little") + 1
    crc_pos = first_size - 8
    with pytest.raises(FormatError, match="CRC32"):
        BgzfReader(_corrupt(data, crc_pos, data[crc_pos] ^ 0xFF)).read()
    with pytest.raises(FormatError):
        BgzfReader(_corrupt(data, first_size - 4, data[first_size - 4] ^ 1)).read()  # ISIZE
    with pytest.raises(FormatError):
        BgzfReader(_corrupt(data, 20, data[20] ^ 0xFF)).read()                       # deflate data
    with pytest.raises(FormatError, match="magic"):
        BgzfReader(_corrupt(data, 0, 0)).read()
    with pytest.raises(TruncatedFileError):
        BgzfReader(data[: first_size + 100]).read()
    with pytest.raises(TruncatedFileError):
        list(BgzfReader(data[: first_size + 10]).iter_blocks())
    with pytest.raises(FormatError):
        BgzfReader(data).seek((0 << 16) | 0xFFFF)     # past the end of the block
    with pytest.raises(FormatError):
        BgzfReader(gzip.compress(b"gzip but not bgzf")).read()
    assert not BgzfReader(data[:-28]).has_eof_marker
    assert BgzfReader(data[:-28]).read().endswith(b"\n")   # still readable without the marker


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=3000), max_size=60), st.sampled_from([1, 2]))
def test_hypothesis_roundtrip(chunks, threads):
    buf = io.BytesIO()
    w = BgzfWriter(buf, backend="zlib", threads=threads)
    offs = []
    for c in chunks:
        offs.append(w.tell())
        w.write_record(c)
        if len(offs) % 7 == 0:
            w.flush()
    w.close()
    r = BgzfReader(buf.getvalue())
    assert r.read() == b"".join(chunks)
    for off, c in zip(offs, chunks):
        r.seek(off)
        assert r.read(len(c)) == c


def test_read_ranges_one_request():
    recs = _records(6, 3000)
    data, offs, eof = _write(recs)
    from bioformats_ext.io.source import BytesSource

    src = BytesSource(data)
    r = BgzfReader(src)
    ranges = [(offs[10], offs[20]), (offs[1000], offs[2500]), (offs[2990], eof)]
    src.stats.reset()
    got = r.read_ranges(ranges)
    assert src.stats.requests == len(ranges)  # one read_many (BytesSource serves each range)
    assert got == [b"".join(recs[10:20]), b"".join(recs[1000:2500]), b"".join(recs[2990:])]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_write_records_batches_equal_write_record(threads, kind):
    """write_records (whole blocks compressed straight from the caller's buffer) lays out
    blocks and reports record ends exactly as write_record one by one: records that fill a
    block exactly, records larger than a block, batches ending mid-block; a caller's mutable
    buffer may be reused after the call, even while threads compress."""
    rng = random.Random(7)
    sizes = [rng.randrange(1, 3000) for _ in range(400)]
    sizes[50:53] = [MAX_BLOCK_DATA - 100, 100, 70_000]  # exactly full, then one over a block
    sizes[200] = 2 * MAX_BLOCK_DATA + 5
    recs = [rng.randbytes(n) for n in sizes]
    ref = io.BytesIO()
    w = BgzfWriter(ref, backend="zlib")
    ends: list[int] = []
    for r in recs:
        w.write_record(r)
        ends.append(w.tell_block())
    w.close()
    for i, end in enumerate(ends[:-1]):  # htslib's bgzf_flush_try + hts_idx_amend_last: a
        if end & 0xFFFF and (end & 0xFFFF) + sizes[i + 1] > MAX_BLOCK_DATA:  # record followed
            ends[i] = ((end >> 16) + 1) << 16  # by a flush ends at the next block's start
    if ends[-1] & 0xFFFF:  # sam_idx_save: the flush at close moves the last record's end too
        ends[-1] = ((ends[-1] >> 16) + 1) << 16
    buf = io.BytesIO()
    w = BgzfWriter(buf, backend="zlib", threads=threads)
    got, amended = [], {}
    w.on_amend = lambda end: amended.__setitem__(len(got) - 1, end)
    cuts = [0, 1, 37, 52, 53, 54, 199, 201, 202, 330, 400]
    for lo, hi in zip(cuts, cuts[1:]):
        data = kind(b"".join(recs[lo:hi])) if kind is not memoryview else \
            memoryview(bytearray(b"".join(recs[lo:hi])))
        got.extend(w.write_records(data, [len(r) for r in recs[lo:hi]]).tolist())
        if isinstance(data, (bytearray, memoryview)):
            data[:] = bytes(len(data))  # the caller reuses its buffer
    w.close()
    for i, end in amended.items():
        got[i] = end
    assert buf.getvalue() == ref.getvalue()
    assert got == ends
