"""bgzf2.split / bgzf2.concat: frames copied verbatim, index and seek table rebuilt.

concat(split(x)) is byte-identical to x; every shard and every concatenation decodes with
zstd, pyzstd's SeekableZstdFile and indexed_zstd to the right slice of the payload; region
queries on shards and on the concatenation agree with the original."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bioformats_ext.bgzf2 import Bgzf2Reader, Bgzf2Writer, concat, split
from bioformats_ext.errors import FormatError
from helpers.intervals import big_and_small, interval_records


def make(path, seed=1, unplaced=30, block_size=1500, references=None):
    """One big contig and 40 tiny ones (3 records each), written in one batch."""
    refs, recs = interval_records(seed, references or big_and_small(40), per_ref=600,
                                  few=(3, 3), many_above=10_000, spread=2.0, max_span=199,
                                  max_payload=39, unplaced=unplaced)
    lines = [r[4] for r in recs]
    with Bgzf2Writer(path, references=refs, block_size=block_size,
                     metadata={"tabix": "x"}) as w:
        w.write(b"#header\n")
        w.write_records(lines, [r[0] for r in recs], [r[1] for r in recs],
                        [r[2] for r in recs], mapped=[r[3] for r in recs])
    return b"#header\n" + b"".join(lines)


def payload(path) -> bytes:
    with Bgzf2Reader(path) as r:
        return r.read()


def third_party_decode(path) -> list[bytes]:
    outs = []
    if shutil.which("zstd"):
        outs.append(subprocess.run(["zstd", "-dc", str(path)], check=True,
                                   capture_output=True).stdout)
        subprocess.run(["zstd", "-tq", str(path)], check=True)
    pyzstd = pytest.importorskip("pyzstd")
    with pyzstd.SeekableZstdFile(str(path)) as f:
        outs.append(f.read())
    indexed_zstd = pytest.importorskip("indexed_zstd")
    f = indexed_zstd.IndexedZstdFile(str(path))
    outs.append(f.read())
    f.close()
    return outs


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    path = tmp_path_factory.mktemp("split") / "x.bgzf2"
    data = make(path)
    return path, data


@pytest.mark.parametrize("parts", [1, 3, 7, [0, 2, 5, 15]])
def test_split_concat_round_trip(original, tmp_path, parts):
    path, data = original
    shards = split(path, parts, str(tmp_path / "part{i}.bgzf2"))
    pieces = [payload(s) for s in shards]
    assert b"".join(pieces) == data
    with Bgzf2Reader(path) as whole:
        n = whole.n_frames
        counts = whole.index.counts()
        meta = whole.index.metadata
    total = 0
    for s, piece in zip(shards, pieces):
        for out in third_party_decode(s):
            assert out == piece
        with Bgzf2Reader(s) as r:
            assert r.index.metadata["tabix"] == "x"
            total += r.n_frames
    assert total == n
    merged = tmp_path / "merged.bgzf2"
    concat(shards, merged)
    assert merged.read_bytes() == path.read_bytes()
    with Bgzf2Reader(merged) as r:
        assert r.index.counts() == counts and r.index.metadata == meta
    for out in third_party_decode(merged):
        assert out == data


def test_shards_answer_region_queries(original, tmp_path):
    path, _ = original
    shards = split(path, 4, [tmp_path / f"s{i}" for i in range(4)])
    with Bgzf2Reader(path) as whole:
        for ref, a, b in [("big", 0, 1_000_000), ("big", 300_000, 310_000), ("s7", 0, 2000),
                          ("*", None, None)]:
            want = whole.fetch(ref, a, b)
            got = b""
            for s in shards:
                with Bgzf2Reader(s) as r:
                    got += r.fetch(ref, a, b)
            assert got == want, ref


def test_concat_checks(original, tmp_path):
    path, data = original
    a, b = split(path, 2, str(tmp_path / "p{i}"))
    concat([b, a], tmp_path / "swapped")
    with Bgzf2Reader(tmp_path / "swapped") as r:
        assert not r.index.sorted
        assert r.read() == payload(b) + payload(a)
    other = tmp_path / "other.bgzf2"
    make(other, references=[("big", 5000)])
    with pytest.raises(FormatError, match="references differ"):
        concat([a, other], tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    with pytest.raises(ValueError):
        split(path, 0, str(tmp_path / "q{i}"))
    with pytest.raises(ValueError):
        split(path, 3, [tmp_path / "only-one"])
