"""Per-frame metadata frames (``Bgzf2Writer(frame_metadata=True)``): zstd, pzstd and seekable
readers still decode the file; a reader streaming from a pipe skips frames outside a region
without decompressing them; split/concat keep the layout; old files stay readable."""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest

from bioformats_ext.bgzf2 import Bgzf2Reader, Bgzf2Writer, concat, split
from bioformats_ext.bgzf2.stream import FRAME_META_MAGIC, StreamStats, stream_frames
from bioformats_ext.errors import FormatError
from helpers.intervals import big_and_small, interval_records

REFS = big_and_small(30)


def records(seed=3, unplaced=20):
    """Big contig + 30 tiny ones; 0.3 % of the payloads are bigger than a 2000-byte block."""
    _, recs = interval_records(seed, REFS, per_ref=500, few=(3, 3), many_above=10_000,
                               spread=2.0, max_span=299, max_payload=39, huge_rate=0.003,
                               unplaced=unplaced)
    return [(tid, beg, end, line) for tid, beg, end, _, line in recs]


def write(path, recs, batch: bool, **options):
    with Bgzf2Writer(path, references=REFS, block_size=2000, **options) as w:
        w.write(b"#header\n")
        if batch:
            w.write_records([r[3] for r in recs], [r[0] for r in recs], [r[1] for r in recs],
                            [r[2] for r in recs], mapped=[r[0] >= 0 for r in recs])
        else:
            for tid, beg, end, line in recs:
                w.write_record(line)
                w.push(tid, beg, end, mapped=tid >= 0)
    return b"#header\n" + b"".join(r[3] for r in recs)


@pytest.fixture(scope="module", params=[True, False], ids=["batch", "per-record"])
def files(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("fm")
    recs = records()
    payload = write(d / "meta.bgzf2", recs, request.param, frame_metadata=True)
    write(d / "plain.bgzf2", recs, request.param)
    return d / "meta.bgzf2", d / "plain.bgzf2", payload


def test_layout_and_index(files):
    meta, plain, payload = files
    with Bgzf2Reader(meta) as r, Bgzf2Reader(plain) as p:
        assert r.frame_stride == 3 and p.frame_stride == 2
        assert r.read() == payload
        assert r.n_frames == p.n_frames
        for key in ("item_frame", "item_tid", "item_start", "item_end", "item_aligned",
                    "item_unaligned"):
            assert getattr(r.index, key).tolist() == getattr(p.index, key).tolist()
        assert r.index.metadata == p.index.metadata
        for reg in [("big", 100_000, 120_000), ("s4", 0, 2000), ("*", None, None)]:
            assert r.fetch(*reg) == p.fetch(*reg)
        # a metadata frame directly precedes every pzstd frame, and says what the index says
        t = r.seek_table
        raw = meta.read_bytes()
        for i in range(r.n_frames):
            off = int(t.offsets[1 + 3 * i])
            assert int.from_bytes(raw[off:off + 4], "little") == FRAME_META_MAGIC


@pytest.mark.skipif(not shutil.which("zstd") or not shutil.which("pzstd"),
                    reason="zstd/pzstd command-line tools not installed")
def test_zstd_and_pzstd_decode(files):
    meta, _, payload = files
    subprocess.run(["zstd", "-tq", str(meta)], check=True)
    assert subprocess.run(["zstd", "-dc", str(meta)], check=True,
                          capture_output=True).stdout == payload
    assert subprocess.run(["pzstd", "-dc", "-p", "2", str(meta)], check=True,
                          capture_output=True).stdout == payload


def test_seekable_readers(files):
    meta, _, payload = files
    pyzstd = pytest.importorskip("pyzstd")
    indexed_zstd = pytest.importorskip("indexed_zstd")
    rng = random.Random(0)
    spans = [(rng.randrange(len(payload)), rng.randrange(1, 40_000)) for _ in range(30)]
    with pyzstd.SeekableZstdFile(str(meta)) as f:
        assert f.read() == payload
        for a, n in spans:
            f.seek(a)
            assert f.read(n) == payload[a:a + n]
    f = indexed_zstd.IndexedZstdFile(str(meta))
    try:
        for a, n in spans:
            f.seek(a)
            assert f.read(n) == payload[a:a + n]
    finally:
        f.close()


def pipe(path):
    """A non-seekable stream of the file: the stdout of ``cat``."""
    return subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE)


@pytest.mark.parametrize("region", [("big", 300_000, 301_000), ("big", 0, 1_000_000),
                                    ("s17", 0, 2000), ("*", 0, None), ("nope", 0, 10)])
def test_streaming_skips_frames_outside_the_region(files, region):
    meta, plain, _ = files
    contig, start, stop = region
    with Bgzf2Reader(meta) as r:
        try:
            frames = r.frames_for(contig, start, stop)
        except Exception:
            frames = []
        want = [(i, r.read_frame(i)) for i in frames]
        n = r.n_frames
    proc = pipe(meta)
    stats = StreamStats()
    got = list(stream_frames(proc.stdout, contig, start, stop, stats=stats))
    proc.wait()
    assert got == want
    assert stats.frames == n and stats.decoded == len(want) and stats.skipped == n - len(want)
    # without metadata frames every frame has to be decoded (still correct, just slower)
    proc = pipe(plain)
    stats = StreamStats()
    every = list(stream_frames(proc.stdout, contig, start, stop, stats=stats))
    proc.wait()
    assert stats.decoded == n and [f for f in every if f[0] in set(frames)] == want


def test_split_concat_keep_metadata(files, tmp_path):
    meta, _, payload = files
    shards = split(meta, 3, str(tmp_path / "p{i}.bgzf2"))
    for s in shards:
        with Bgzf2Reader(s) as r:
            assert r.frame_stride == 3
    concat(shards, tmp_path / "whole.bgzf2")
    assert (tmp_path / "whole.bgzf2").read_bytes() == meta.read_bytes()
    with pytest.raises(FormatError, match="per-frame"):
        concat([shards[0], files[1]], tmp_path / "mixed.bgzf2")


def test_concat_renumbers_metadata_of_shards_with_other_references(tmp_path):
    """Shards whose reference lists differ: the merged ids are written into the metadata
    frames, so streaming by name still finds the right frames."""
    a, b = tmp_path / "a.bgzf2", tmp_path / "b.bgzf2"
    with Bgzf2Writer(a, references=[("x", 1000)], frame_metadata=True, block_size=50) as w:
        for p in range(0, 900, 100):
            w.write_record(f"x\t{p}\n".encode())
            w.push(0, p, p + 10)
    with Bgzf2Writer(b, references=[("y", 1000)], frame_metadata=True, block_size=50) as w:
        for p in range(0, 900, 100):
            w.write_record(f"y\t{p}\n".encode())
            w.push(0, p, p + 10)
    concat([a, b], tmp_path / "ab.bgzf2")
    with Bgzf2Reader(tmp_path / "ab.bgzf2") as r:
        assert [x.name for x in r.references] == ["x", "y"]
        want = r.fetch("y", 200, 450)
    with open(tmp_path / "ab.bgzf2", "rb") as f:
        got = b"".join(d for _, d in stream_frames(f, "y", 200, 450))
    assert got == want and b"y\t200" in got and b"x\t" not in got
    subprocess.run(["zstd", "-tq", str(tmp_path / "ab.bgzf2")], check=True)


def test_corrupt_metadata_frame_is_a_format_error(files, tmp_path):
    meta, _, _ = files
    data = bytearray(meta.read_bytes())
    with Bgzf2Reader(meta) as r:
        off = int(r.seek_table.offsets[1])
    data[off + 8:off + 12] = b"\xff\xfe\x00\x00"   # not key\0value\0 pairs any more
    bad = tmp_path / "bad.bgzf2"
    bad.write_bytes(bytes(data))
    with open(bad, "rb") as f, pytest.raises(FormatError):
        list(stream_frames(f, "big", 0, 10))
    with open(bad, "rb") as f:   # truncated stream: a typed error too
        cut = tmp_path / "cut.bgzf2"
        cut.write_bytes(f.read()[:off + 200])
    with open(cut, "rb") as f, pytest.raises(FormatError):
        list(stream_frames(f))
