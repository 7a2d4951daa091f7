"""BGZF2 writer/reader: round trips checked by independent zstd readers, region queries
checked against a linear scan, and typed errors for damaged files."""

from __future__ import annotations

import io
import os
import random
import shutil
import struct
import subprocess

import pytest

from bioformats_ext.bgzf2 import Bgzf2Reader, Bgzf2Writer, is_bgzf2
from bioformats_ext.bgzf2.frames import EMPTY_CHECKSUM
from bioformats_ext.errors import (FormatError, SortOrderError, TruncatedFileError,
                                   UnknownReferenceError)
from bioformats_ext.io.source import BytesSource
from helpers.intervals import interval_records

zstandard = pytest.importorskip("zstandard")


def make_records(seed: int, n_refs: int = 6, per_ref: int = 400, unplaced: int = 50,
                 long_every: int = 97, huge: int = 2):
    """Many small contigs (several per frame with small blocks), long intervals that contain
    many later ones, unmapped-but-placed records, unplaced records at the end, and a few
    records bigger than a frame."""
    return interval_records(seed, n_refs=n_refs, per_ref=per_ref, unplaced=unplaced,
                            long_every=long_every, huge_rate=0.004 if huge else 0.0,
                            max_huge=huge, unmapped_rate=0.05)


def write_records(target, references, records, **options):
    with Bgzf2Writer(target, references=references, **options) as writer:
        writer.write(b"#header line\n")
        for tid, beg, end, mapped, line in records:
            writer.write_record(line)
            writer.push(tid, beg, end, mapped=mapped)
    return writer


def payload(records) -> bytes:
    return b"#header line\n" + b"".join(r[4] for r in records)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    references, records = make_records(7)
    path = tmp_path_factory.mktemp("bgzf2") / "recs.txt.zst"
    write_records(path, references, records, block_size=4096)
    return path, references, records


def test_layout_and_roundtrip_with_zstandard(dataset):
    path, _, records = dataset
    data = path.read_bytes()
    assert is_bgzf2(data[:12])
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
    assert reader.read() == payload(records)
    # Frame sequence: header, (pzstd, data)*, index, seek table - walk it with zstandard alone.
    pos, kinds = 0, []
    while pos < len(data):
        magic = struct.unpack_from("<I", data, pos)[0]
        if 0x184D2A50 <= magic <= 0x184D2A5F:
            kinds.append(hex(magic))
            pos += 8 + struct.unpack_from("<I", data, pos + 4)[0]
        else:
            params = zstandard.get_frame_parameters(data[pos:pos + 18])
            assert params.content_size > 0 and params.has_checksum
            kinds.append("zstd")
            pos += struct.unpack_from("<I", data, pos - 4)[0]   # the pzstd frame said so
    assert kinds[0] == "0x184d2a5b" and kinds[-2] == "0x184d2a5b" and kinds[-1] == "0x184d2a5e"
    assert kinds[1:-2] == ["0x184d2a50", "zstd"] * ((len(kinds) - 3) // 2)


def test_pyzstd_seekable_random_seeks(dataset):
    pyzstd = pytest.importorskip("pyzstd")
    path, _, records = dataset
    want = payload(records)
    rng = random.Random(3)
    with pyzstd.SeekableZstdFile(path) as f:
        assert f.read() == want
        for _ in range(200):
            a = rng.randrange(len(want))
            n = rng.randint(1, 20_000)       # frames are 4 KB: most reads cross frames
            f.seek(a)
            assert f.read(n) == want[a:a + n]


def test_indexed_zstd(dataset):
    indexed_zstd = pytest.importorskip("indexed_zstd")
    path, _, records = dataset
    want = payload(records)
    f = indexed_zstd.IndexedZstdFile(str(path))
    assert f.read(len(want) + 10) == want
    for a in (0, 1, 4095, 4096, 50_000, len(want) - 3):
        f.seek(a)
        assert f.read(9000) == want[a:a + 9000]


@pytest.mark.skipif(shutil.which("zstd") is None, reason="zstd command not installed")
def test_zstd_command(dataset):
    path, _, records = dataset
    assert subprocess.run(["zstd", "-q", "-t", str(path)]).returncode == 0
    out = subprocess.run(["zstd", "-q", "-dc", str(path)], capture_output=True, check=True)
    assert out.stdout == payload(records)


def test_reader_stream_seek_and_lines(dataset):
    path, references, records = dataset
    want = payload(records)
    rng = random.Random(5)
    with Bgzf2Reader(path) as reader:
        assert reader.size == len(want)
        assert reader.read() == want
        for _ in range(100):
            a = rng.randrange(len(want))
            n = rng.randint(0, 30_000)
            reader.seek(a)
            assert reader.read(n) == want[a:a + n]
            assert reader.tell() == min(len(want), a + n)
        reader.seek(0)
        assert list(reader) == want.splitlines(keepends=True)
        assert b"".join(reader.iter_frames()) == want
        assert [r.name for r in reader.references] == [n for n, _ in references]
        assert [r.length for r in reader.references] == [n for _, n in references]
        assert reader.content_head == want[:64]
        mapped = sum(1 for r in records if r[3])
        assert reader.metadata["nrec_mapped"] == str(mapped)
        assert reader.metadata["nrec_unmapped"] == str(len(records) - mapped)
        assert reader.index.sorted and reader.index.aligned


def _overlapping(records, tid, beg, end):
    return [r[4] for r in records if r[0] == tid and r[1] < end and max(r[2], r[1] + 1) > beg]


def test_fetch_equals_linear_scan(dataset):
    path, references, records = dataset
    rng = random.Random(11)
    reader = Bgzf2Reader(path)
    frames_with_many_refs = [i for i in range(reader.n_frames) if reader.index.frame_flags[i] & 4]
    assert frames_with_many_refs, "test data should produce multi-reference frames"
    for _ in range(300):
        tid = rng.randrange(len(references))
        name, length = references[tid]
        beg = rng.randrange(length)
        end = beg + rng.randint(1, length // 3 + 1)
        lines = reader.fetch(name, beg, end).splitlines(keepends=True)
        got = [l for l in lines if l.startswith(name.encode() + b"\t")
               and int(l.split(b"\t")[1]) < end and max(int(l.split(b"\t")[2]),
                                                       int(l.split(b"\t")[1]) + 1) > beg]
        assert got == _overlapping(records, tid, beg, end)
    # whole references, and the unplaced records
    for tid, (name, _) in enumerate(references):
        text = reader.fetch(name)
        assert all(line in text for line in _overlapping(records, tid, 0, 1 << 40))
    unplaced = reader.fetch("*")
    assert all(r[4] in unplaced for r in records if r[0] == -1)


def test_frames_for_matches_brute_force(dataset):
    """The NCList answer equals a scan over per-frame hulls recomputed from the data."""
    path, references, records = dataset
    reader = Bgzf2Reader(path)
    hulls = []   # (frame, tid, beg, end) recomputed by parsing every frame
    names = {n: i for i, (n, _) in enumerate(references)}
    offset = 0
    starts = []
    for i, data in enumerate(reader.iter_frames()):
        starts.append(offset)
        offset += len(data)
    want = payload(records)
    pos = len(b"#header line\n")
    for tid, beg, end, mapped, line in records:
        first = max(j for j, s in enumerate(starts) if s <= pos)
        last = max(j for j, s in enumerate(starts) if s <= pos + len(line) - 1)
        assert want[pos:pos + len(line)] == line
        for f in range(first, last + 1):
            hulls.append((f, tid, beg, max(end, beg + 1)))
        pos += len(line)
    rng = random.Random(2)
    for _ in range(200):
        tid = rng.randrange(len(references))
        length = references[tid][1]
        beg = rng.randrange(length)
        end = beg + rng.randint(1, 5000)
        expect = sorted({f for f, t, b, e in hulls if t == tid and b < end and e > beg})
        assert reader.frames_for(references[tid][0], beg, end) == expect
        assert reader.frames_for(names[references[tid][0]], beg, end) == expect


def test_huge_records_get_their_own_frame(dataset):
    path, _, records = dataset
    reader = Bgzf2Reader(path)
    big = [r for r in records if len(r[4]) > 4096]
    assert big
    frames = [reader.read_frame(i) for i in range(reader.n_frames)]
    for r in big:
        assert r[4] in frames
    # Every frame starts at a record boundary (write_record keeps records whole).
    for data in frames[1:]:
        assert data.split(b"\t", 1)[0] in {f"ctg{i}".encode() for i in range(10)} | {b"*"}


def test_threads_give_identical_output(tmp_path):
    references, records = make_records(3, per_ref=300)
    one = tmp_path / "one.zst"
    two = tmp_path / "two.zst"
    write_records(one, references, records, block_size=2000, threads=1)
    write_records(two, references, records, block_size=2000, threads=3)
    assert one.read_bytes() == two.read_bytes()
    with Bgzf2Reader(two, threads=2) as reader:
        assert reader.read() == payload(records)
        name = references[0][0]
        assert reader.fetch(name) == Bgzf2Reader(one).fetch(name)


@pytest.mark.parametrize("batch", [1, 7, 1000])
def test_write_records_batch_equals_per_record(batch):
    references, records = make_records(13, per_ref=200)
    one = io.BytesIO()
    write_records(one, references, records, block_size=3000)
    two = io.BytesIO()
    with Bgzf2Writer(two, references=references, block_size=3000) as w:
        w.write(b"#header line\n")
        for k in range(0, len(records), batch):
            part = records[k:k + batch]
            w.write_records([r[4] for r in part], [r[0] for r in part], [r[1] for r in part],
                            [r[2] for r in part], [r[3] for r in part])
    assert one.getvalue() == two.getvalue()
    with pytest.raises(SortOrderError):
        Bgzf2Writer(io.BytesIO()).write_records([b"a", b"b"], [0, 0], [5, 4], [6, 5])


def test_stream_writes_and_records_spanning_frames(tmp_path):
    """Records written with write() may cross frame boundaries; push covers every frame."""
    rng = random.Random(9)
    buf = io.BytesIO()
    writer = Bgzf2Writer(buf, block_size=1000, references=[("c", 10_000_000)], level=1,
                         checksums=False)
    records = []
    pos = 0
    for k in range(300):
        pos += rng.randint(0, 50_000)
        line = f"c\t{pos}\t{pos + 10}\t{'N' * rng.randint(0, 2500)}\n".encode()
        writer.write(line[:7])
        writer.write(line[7:])
        writer.push(0, pos, pos + 10, voffset=writer.tell())
        records.append((0, pos, pos + 10, True, line))
    writer.close()
    data = buf.getvalue()
    assert zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data),
                                                      read_across_frames=True).read() \
        == b"".join(r[4] for r in records)
    reader = Bgzf2Reader(data)
    assert reader.seek_table.checksums is None
    for tid, beg, end, _, line in records[::7]:
        run = list(reader.fetch_runs("c", beg, end))
        assert any(line in chunk for _, chunk in run)


def test_long_references_use_64_bit_coordinates(tmp_path):
    big = 6_000_000_000
    path = tmp_path / "long.zst"
    with Bgzf2Writer(path, references=[("small", 1000), ("huge", big)]) as w:
        for beg in (10, 5_000_000_000, 5_900_000_000):
            w.write_record(f"huge\t{beg}\n".encode())
            w.push(1, beg, beg + 100)
    reader = Bgzf2Reader(path)
    assert reader.references[1].long and not reader.references[0].long
    assert reader.references[1].length == big
    assert reader.fetch("huge", 5_000_000_050, 5_000_000_051) == \
        b"huge\t10\nhuge\t5000000000\nhuge\t5900000000\n"
    assert reader.frames_for("huge", 5_000_000_100, 5_899_999_999) == [0]
    assert reader.frames_for("huge", 5_900_000_100, 6_000_000_000) == []
    assert reader.frames_for("small") == []


def test_unsorted_unaligned_and_no_references():
    buf = io.BytesIO()
    with Bgzf2Writer(buf, sorted=False, metadata={"format": "lines", "k": "v"},
                     block_size=64) as w:
        for tid, beg in ((2, 50), (0, 10), (2, 5), (1, 7)):
            w.write_record(f"{tid}:{beg}\n".encode())
            w.push(tid, beg, beg + 1)
    reader = Bgzf2Reader(buf.getvalue())
    assert [r.name for r in reader.references] == ["0", "1", "2"]
    assert not reader.index.sorted
    assert reader.metadata["k"] == "v" and reader.metadata["nrec_mapped"] == "4"
    assert reader.fetch(2, 0, 100) == b"2:50\n0:10\n2:5\n1:7\n"
    buf = io.BytesIO()
    with Bgzf2Writer(buf, aligned=False) as w:
        w.write(b"just bytes" * 1000)
    reader = Bgzf2Reader(buf.getvalue())
    assert reader.read() == b"just bytes" * 1000
    assert not reader.index.aligned and reader.references == []


def test_empty_file():
    buf = io.BytesIO()
    Bgzf2Writer(buf).close()
    reader = Bgzf2Reader(buf.getvalue())
    assert reader.read() == b"" and reader.n_frames == 0 and reader.content_head == b""


def test_sort_order_and_reference_errors():
    w = Bgzf2Writer(io.BytesIO(), references=[("a", 100), ("b", 100)])
    w.write_record(b"x")
    w.push(1, 10, 20)
    with pytest.raises(SortOrderError):
        w.write_record(b"y")
        w.push(0, 5, 6)
    with pytest.raises(UnknownReferenceError):
        w.push(5, 1, 2)
    w.abort()


def test_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "out.zst"
    with pytest.raises(RuntimeError):
        with Bgzf2Writer(path) as w:
            w.write(b"data" * 100_000)
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []
    with Bgzf2Writer(path) as w:
        w.write(b"ok")
    assert os.listdir(tmp_path) == ["out.zst"]


def test_request_counts():
    references, records = make_records(4, per_ref=200)
    buf = io.BytesIO()
    write_records(buf, references, records, block_size=3000)
    source = BytesSource(buf.getvalue())
    reader = Bgzf2Reader(source)
    assert source.stats.requests <= 2
    for tid, (name, length) in enumerate(references):
        source.stats.reset()
        frames = reader.frames_for(name, length // 3, length // 2)
        runs = sum(1 for i, f in enumerate(frames) if i == 0 or frames[i - 1] != f - 1)
        reader.fetch(name, length // 3, length // 2)
        assert source.stats.requests == runs


def test_large_index_needs_second_tail_read(tmp_path):
    """A seek table + index bigger than the first tail read still opens in two reads."""
    buf = io.BytesIO()
    n = 12_000
    with Bgzf2Writer(buf, block_size=16, references=[("c", 10 ** 9)], level=1,
                     checksums=False) as w:
        for k in range(n):
            w.write_record(b"r%015d" % k)
            w.push(0, k * 10, k * 10 + 5)
    source = BytesSource(buf.getvalue())
    reader = Bgzf2Reader(source)
    assert reader.n_frames == n
    assert source.stats.requests <= 2
    assert reader.fetch("c", 55_000, 55_001) == b"r%015d" % 5500


# --------------------------------------------------------------------------- bad input

@pytest.fixture(scope="module")
def small_file():
    references, records = make_records(1, n_refs=3, per_ref=60, huge=0)
    buf = io.BytesIO()
    write_records(buf, references, records, block_size=1500)
    return buf.getvalue(), payload(records)


def read_everything(data: bytes) -> bytes:
    reader = Bgzf2Reader(data)
    out = reader.read()
    for ref in reader.references:
        reader.fetch(ref.name, 0, ref.length)
    reader.content_head
    return out


def test_rejects_other_formats(tmp_path, small_file):
    plain = zstandard.ZstdCompressor().compress(b"hello" * 100)
    with pytest.raises(FormatError, match="plain zstd"):
        Bgzf2Reader(plain)
    import gzip
    with pytest.raises(FormatError, match="GZIP-compressed"):
        Bgzf2Reader(gzip.compress(b"hello"))
    pyzstd = pytest.importorskip("pyzstd")
    seekable = io.BytesIO()
    with pyzstd.SeekableZstdFile(seekable, "w", max_frame_content_size=100) as f:
        f.write(b"x" * 1000)
    with pytest.raises(FormatError, match="BGZF2 index"):
        Bgzf2Reader(seekable.getvalue())
    with pytest.raises(FormatError):
        Bgzf2Reader(b"")


def test_truncation_is_typed(small_file):
    data, _ = small_file
    for cut in (1, 5, 9, 20, 100, len(data) // 2, len(data) - 13):
        with pytest.raises(FormatError):
            read_everything(data[:-cut])
    with pytest.raises(FormatError):
        read_everything(data[: len(data) // 2])


def _seek_table_entries(data: bytes):
    n, desc, _ = struct.unpack_from("<IBI", data, len(data) - 9)
    width = 12 if desc & 0x80 else 8
    start = len(data) - 9 - n * width
    return start, width, n


def test_wrong_seek_table_sizes(small_file):
    data, _ = small_file
    start, width, n = _seek_table_entries(data)
    # Move one byte from data frame 0 to data frame 1: the total still adds up.
    bad = bytearray(data)
    c0, c1 = (struct.unpack_from("<I", bad, start + width * k)[0] for k in (2, 4))
    struct.pack_into("<I", bad, start + width * 2, c0 - 1)
    struct.pack_into("<I", bad, start + width * 4, c1 + 1)
    with pytest.raises(FormatError, match="frame 0"):
        read_everything(bytes(bad))
    # Wrong decompressed size.
    bad = bytearray(data)
    d0 = struct.unpack_from("<I", bad, start + width * 2 + 4)[0]
    struct.pack_into("<I", bad, start + width * 2 + 4, d0 + 1)
    with pytest.raises(FormatError, match="content size"):
        read_everything(bytes(bad))
    # Wrong frame count.
    bad = bytearray(data)
    struct.pack_into("<I", bad, len(bad) - 9, n + 1)
    with pytest.raises(FormatError):
        read_everything(bytes(bad))
    # Wrong checksum in the table.
    bad = bytearray(data)
    bad[start + width * 2 + 8] ^= 1
    with pytest.raises(FormatError, match="checksum"):
        read_everything(bytes(bad))


def test_bad_frame_checksum_and_data(small_file):
    data, _ = small_file
    start, width, _ = _seek_table_entries(data)
    header, pz, c0 = (struct.unpack_from("<I", data, start + width * k)[0] for k in range(3))
    frame0 = header + pz
    bad = bytearray(data)
    bad[frame0 + c0 - 1] ^= 0x40           # the frame's own checksum
    with pytest.raises(FormatError, match="checksum"):
        read_everything(bytes(bad))
    bad = bytearray(data)
    bad[frame0 + c0 // 2] ^= 0x55          # compressed payload
    with pytest.raises(FormatError):
        read_everything(bytes(bad))


def test_corrupt_index_frame(small_file):
    data, _ = small_file
    start, width, n = _seek_table_entries(data)
    index_size = struct.unpack_from("<I", data, start + width * (n - 1))[0]
    index_start = start - 8 - index_size
    for where in (0, 4, 8, 9, index_size // 2, index_size - 8, index_size - 1):
        bad = bytearray(data)
        bad[index_start + where] ^= 0x21
        with pytest.raises(FormatError):
            read_everything(bytes(bad))


def test_index_frame_compressed_and_plain(small_file):
    data, _ = small_file
    start, width, n = _seek_table_entries(data)
    index_size = struct.unpack_from("<I", data, start + width * (n - 1))[0]
    assert data[start - 8 - index_size + 8] == 1          # big index: zstd-compressed
    buf = io.BytesIO()
    with Bgzf2Writer(buf) as w:
        w.write_record(b"a")
    tiny = buf.getvalue()
    start, width, n = _seek_table_entries(tiny)
    index_size = struct.unpack_from("<I", tiny, start + width * (n - 1))[0]
    assert tiny[start - 8 - index_size + 8] == 0          # tiny index: stored plain
    assert Bgzf2Reader(tiny).read() == b"a"


def test_skippable_checksum_constant():
    frame = zstandard.ZstdCompressor(write_checksum=True).compress(b"")
    assert struct.unpack("<I", frame[-4:])[0] == EMPTY_CHECKSUM


def test_random_damage_never_untyped(small_file):
    """Hypothesis: any truncation or byte flip gives a typed error or the original bytes."""
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import given, settings, strategies as st

    data, want = small_file

    @settings(max_examples=150, deadline=None, derandomize=True)
    @given(st.integers(0, len(data) - 1), st.integers(1, 255), st.booleans())
    def check(pos, xor, truncate):
        damaged = data[:pos] if truncate else data[:pos] + bytes([data[pos] ^ xor]) + data[pos + 1:]
        try:
            out = read_everything(damaged)
        except (FormatError, TruncatedFileError, UnknownReferenceError):
            return
        assert out == want

    check()


def test_default_setting_frames(tmp_path):
    """Level 0 (the default) is the measured parameter set, not zstd's level 3: frames decode
    with pyzstd (another libzstd binding), need no window larger than the frame, and differ
    from what zstd level 3 would write for the same bytes."""
    pyzstd = pytest.importorskip("pyzstd")
    from bioformats_ext.codec import BGZF2_DEFAULT_LEVEL, zstd_compressor

    rng = random.Random(5)
    text = "".join(f"chr1\t{i * 7}\t.\t{rng.choice('ACGT')}\t{rng.choice('ACGT')}\t50\tPASS\t"
                   f"DP={rng.randint(1, 99)}\tGT\t0/1\n" for i in range(1, 20_000)).encode()
    path = tmp_path / "x.txt.zst"
    with Bgzf2Writer(path, block_size=100_000) as writer:
        assert writer.level == BGZF2_DEFAULT_LEVEL == 0
        writer.write(text)
    reader = Bgzf2Reader(path)
    assert b"".join(reader.iter_frames()) == text
    frame = zstd_compressor().compress(text[:100_000])
    assert pyzstd.decompress(frame) == text[:100_000]
    assert zstandard.get_frame_parameters(frame).window_size <= 100_000
    assert frame != zstandard.ZstdCompressor(level=3, write_checksum=True,
                                             write_content_size=True).compress(text[:100_000])
    data = path.read_bytes()
    assert pyzstd.decompress(data[data.index(frame[:4], 40):]).startswith(text[:100_000])
