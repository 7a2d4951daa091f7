"""BAI/CSI for BAM files: our index equals samtools' by content, and pysam fetches with it.

Random BAMs are generated with pysam (several references, an empty one, placed and unplaced
unmapped reads, long spliced reads spanning many bins, a record larger than a BGZF block, a read
with > 65535 CIGAR operations (stored with the CG tag), and for CSI reads beyond 2**29).
Each file is indexed three ways — ``pysam.samtools.index``, our :func:`index_bam`, and a pure
``IndexBuilder.push`` replay of offsets read by pysam — and the three are compared.
"""

from __future__ import annotations

import io
import os
import random
import shutil

import numpy as np
import pytest

pysam = pytest.importorskip("pysam")

from bioformats_ext.bam.scan import parse_header, record_starts, scan_fields  # noqa: E402
from bioformats_ext.bgzf import BgzfReader  # noqa: E402
from bioformats_ext.errors import RecordError  # noqa: E402
from bioformats_ext.bam import index_bam  # noqa: E402
from bioformats_ext.index import IndexBuilder, read_index  # noqa: E402
from helpers import assert_same_index, binned_bam  # noqa: E402


@pytest.fixture(scope="module")
def bams(tmp_path_factory):
    d = tmp_path_factory.mktemp("bam")
    return {
        "plain": binned_bam(str(d / "plain.bam"), 1, [3_000_000, 800_000, 500_000, 2_000_000], extra_big=True),
        "level0": binned_bam(str(d / "level0.bam"), 2, [1_500_000, 400_000, 300_000, 900_000], level=0),
    }


@pytest.fixture(scope="module")
def big_bam(tmp_path_factory):
    d = tmp_path_factory.mktemp("bigbam")
    return binned_bam(str(d / "big.bam"), 3, [(1 << 30) + 5_000_000, 1_000_000, 100_000, 600_000], n=800)


def _end(r):
    return r.reference_end if (r.reference_end and not r.is_unmapped) else r.reference_start + 1


def replay_bgzf(path, builder):
    """push() replay with offsets from OUR BgzfReader.tell() and a per-record struct decode."""
    import struct

    r = BgzfReader(path)
    head = r.read(12)
    l_text = struct.unpack_from("<i", head, 4)[0]
    r.read(l_text - 4)
    (n_ref,) = struct.unpack("<i", r.read(4))
    for _ in range(n_ref):
        (l_name,) = struct.unpack("<i", r.read(4))
        r.read(l_name + 4)
    builder.restart_at(r.tell())
    while True:
        size = r.read(4)
        if not size:
            break
        body = r.read(struct.unpack("<i", size)[0])
        tid, pos, l_name, _, _, n_cigar, flag = struct.unpack_from("<iiBBHHH", body)
        cigar = struct.unpack_from(f"<{n_cigar}I", body, 32 + l_name)
        rlen = sum(c >> 4 for c in cigar if (c & 15) in (0, 2, 3, 7, 8))
        end = pos + (rlen if rlen and not flag & 4 else 1)
        builder.push(tid, pos, end, r.tell(), not flag & 4)
    builder.finish((os.path.getsize(path) - 28) << 16)
    return builder


def replay(path, builder_factory):
    """Pure push() replay with offsets from pysam's bgzf_tell (independent of our scanner)."""
    f = pysam.AlignmentFile(path)
    b = builder_factory(f)
    for r in f:
        end = r.reference_end if (r.reference_end and not r.is_unmapped) else r.reference_start + 1
        b.push(r.reference_id, r.reference_start, end, f.tell(), not r.is_unmapped)
    size = os.path.getsize(path)
    b.finish((size - 28) << 16)
    return b


@pytest.mark.parametrize("name", ["plain", "level0"])
def test_bai_matches_samtools(bams, name, tmp_path):
    path = bams[name]
    pysam.samtools.index(path, str(tmp_path / "ref.bai"))
    ref = read_index(str(tmp_path / "ref.bai"))
    assert sum(len(r.bins) for r in ref.refs) > 10  # the data exercise real binning
    ours = read_index(index_bam(path, out=str(tmp_path / "ours.bai")))
    assert_same_index(ref, ours)
    b = replay(path, lambda f: IndexBuilder.bai(f.nreferences, offset0=f.tell()))
    buf = io.BytesIO()
    b.write_bai(buf)
    assert_same_index(ref, read_index(buf.getvalue()))
    buf = io.BytesIO()
    replay_bgzf(path, IndexBuilder.bai(4)).write_bai(buf)
    assert_same_index(ref, read_index(buf.getvalue()))
    assert ours.refs[2].bins == {} and ours.refs[2].linear == []  # the empty reference
    meta = ref.refs[0].bins[37450]
    assert ours.mapped(0) == meta[1][0] and ours.unmapped(0) == meta[1][1] > 0


def test_csi_matches_samtools(bams, tmp_path):
    path = bams["plain"]
    pysam.samtools.index("-c", path, str(tmp_path / "ref.csi"))
    ref = read_index(str(tmp_path / "ref.csi"))
    ours = read_index(index_bam(path, csi=True, out=str(tmp_path / "ours.csi")))
    assert_same_index(ref, ours)
    lengths = pysam.AlignmentFile(path).lengths
    b = replay(path, lambda f: IndexBuilder.csi(14, max_ref_len=max(lengths), offset0=f.tell(),
                                                  n_refs=f.nreferences))
    buf = io.BytesIO()
    b.write_csi(buf)
    assert_same_index(ref, read_index(buf.getvalue()))


def test_csi_min_shift_and_big_positions(big_bam, tmp_path):
    for m in (14, 12):
        pysam.samtools.index("-c", "-m", str(m), big_bam, str(tmp_path / f"ref{m}.csi"))
        ref = read_index(str(tmp_path / f"ref{m}.csi"))
        ours = read_index(index_bam(big_bam, csi=True, min_shift=m, out=str(tmp_path / f"o{m}.csi")))
        assert ref.depth > 5
        assert_same_index(ref, ours)
    # pysam fetches beyond 2**29 through our CSI
    copy = str(tmp_path / "big.bam")
    shutil.copy(big_bam, copy)
    index_bam(copy, csi=True)
    f = pysam.AlignmentFile(copy)
    everything = list(pysam.AlignmentFile(big_bam).fetch(until_eof=True))
    for s, e in (((1 << 30) + 4_700_000, (1 << 30) + 4_850_000), (1000, 200_000)):
        got = [r.query_name for r in f.fetch("chr1", s, e)]
        want = [r.query_name for r in everything if r.reference_id == 0
                and r.reference_start < e and _end(r) > s]
        assert got == want and (s < 1 << 29 or got)
    with pytest.raises(RecordError, match="cannot be stored"):
        index_bam(big_bam, out=str(tmp_path / "x.bai"))
    assert not os.path.exists(tmp_path / "x.bai")
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def test_pysam_fetch_with_our_index(bams, tmp_path):
    src = bams["plain"]
    path = str(tmp_path / "copy.bam")
    shutil.copy(src, path)
    index_bam(path)
    assert os.path.exists(path + ".bai")
    pysam.samtools.index(src, str(tmp_path / "theirs.bai"))
    ours_f = pysam.AlignmentFile(path)
    theirs_f = pysam.AlignmentFile(src, index_filename=str(tmp_path / "theirs.bai"))
    rng = random.Random(7)
    checked = 0
    for _ in range(25):
        tid = rng.choice([0, 1, 3])
        name, ln = ours_f.references[tid], ours_f.lengths[tid]
        s = rng.randrange(0, ln)
        e = s + rng.randrange(1, 300_000)
        a = [r.query_name for r in ours_f.fetch(name, s, e)]
        b = [r.query_name for r in theirs_f.fetch(name, s, e)]
        assert a == b
        checked += len(a)
    assert checked > 0
    assert ours_f.mapped == theirs_f.mapped and ours_f.unmapped == theirs_f.unmapped


def test_query_matches_reader_view(bams, tmp_path):
    """Our .query chunks hold exactly the records overlapping the region (checked with pysam)."""
    path = bams["level0"]
    idx = read_index(index_bam(path, out=str(tmp_path / "q.bai")))
    f = pysam.AlignmentFile(path)
    reader = BgzfReader(path)
    header = parse_header(reader.read(1 << 20))
    everything = list(f.fetch(until_eof=True))
    rng = random.Random(3)
    for _ in range(15):
        tid = rng.choice([0, 1, 3])
        s = rng.randrange(0, f.lengths[tid])
        e = s + rng.randrange(1, 200_000)
        chunks = idx.query(tid, s, e)
        got = set()
        for data in reader.read_ranges(chunks):
            starts, stop = record_starts(data, 0)
            assert stop == len(data)  # chunks begin and end on record boundaries
            if len(starts):
                fl = scan_fields(data, starts, len(header.names))
                for i in np.flatnonzero((fl.ref_id == tid) & (fl.pos < e) & (fl.end > s)):
                    st = int(fl.start[i])
                    ln = int(fl.l_read_name[i])
                    got.add(bytes(data[st + 36: st + 36 + ln - 1]).decode())
        want = {r.query_name for r in everything if r.reference_id == tid
                and r.reference_start < e and _end(r) > s}
        assert got == want


def test_scanner_fields_match_pysam(bams):
    path = bams["plain"]
    reader = BgzfReader(path)
    data = reader.read()
    header = parse_header(data)
    starts, stop = record_starts(data, header.end)
    assert stop == len(data)
    fl = scan_fields(data, starts, len(header.names))
    recs = list(pysam.AlignmentFile(path).fetch(until_eof=True))
    assert len(recs) == len(starts)
    assert fl.ref_id.tolist() == [r.reference_id for r in recs]
    assert fl.pos.tolist() == [r.reference_start for r in recs]
    assert fl.flag.tolist() == [r.flag for r in recs]
    want_end = [r.reference_end if (r.reference_end and not r.is_unmapped) else r.reference_start + 1
                for r in recs]
    assert fl.end.tolist() == want_end
    assert fl.n_cigar.max() <= 65535 and any(len(r.cigartuples or ()) > 65535 for r in recs)  # CG placeholder


def test_cli_index(bams, tmp_path):
    from bioformats_ext.cli import main

    path = str(tmp_path / "c.bam")
    shutil.copy(bams["plain"], path)
    assert main(["index", "-c", path]) == 0
    pysam.samtools.index("-c", path, str(tmp_path / "ref.csi"))
    assert_same_index(read_index(str(tmp_path / "ref.csi")), read_index(path + ".csi"))
    assert main(["index", path, str(tmp_path / "named.bai")]) == 0
    assert read_index(str(tmp_path / "named.bai")).format == "bai"
    bad = tmp_path / "bad.bam"
    bad.write_bytes(open(path, "rb").read()[:5000])   # truncated: typed error, exit code 1
    assert main(["index", str(bad)]) == 1
    assert not os.path.exists(str(bad) + ".bai")


def _reblock(src: str, dst: str, seed: int) -> None:
    """Rewrite a BAM's BGZF stream in random-size blocks, so records straddle block boundaries
    (as some writers do): the record walk can no longer assume blocks start records."""
    from bioformats_ext.bgzf import EOF_BLOCK, MAX_BLOCK_DATA, pack_block
    from bioformats_ext.compression import deflate_codec

    data = b"".join(d for _, d in BgzfReader(src).iter_blocks())
    rng = random.Random(seed)
    codec = deflate_codec("zlib", 1)
    with open(dst, "wb") as out:
        pos = 0
        while pos < len(data):
            n = rng.choice([rng.randint(1, 300), rng.randint(300, MAX_BLOCK_DATA)])
            out.write(pack_block(data[pos:pos + n], codec))
            pos += n
        out.write(EOF_BLOCK)


@pytest.mark.parametrize("csi", [False, True])
def test_records_straddling_blocks_match_samtools(bams, tmp_path, csi):
    path = str(tmp_path / "reblocked.bam")
    _reblock(bams["plain"], path, seed=11)
    ext = "csi" if csi else "bai"
    args = ["-c"] if csi else []
    pysam.samtools.index(*args, path, str(tmp_path / f"ref.{ext}"))
    ref = read_index(str(tmp_path / f"ref.{ext}"))
    for threads in (1, 2):
        ours = read_index(index_bam(path, csi=csi, out=str(tmp_path / f"ours{threads}.{ext}"),
                                    threads=threads))
        assert_same_index(ref, ours)


def test_walk_records_equals_sequential_walk_for_any_hints(bams):
    from bioformats_ext.bam.scan import walk_records

    data = b"".join(d for _, d in BgzfReader(bams["plain"]).iter_blocks())
    first = parse_header(data).end
    expected, expected_next = record_starts(data, first)
    rng = random.Random(5)
    true_starts = expected.tolist()
    for trial in range(20):
        kind = trial % 3
        if kind == 0:      # good hints: a sample of true starts
            hints = sorted(rng.sample(true_starts, 50))
        elif kind == 1:    # bad hints: random offsets
            hints = sorted(rng.sample(range(first + 1, len(data)), 50))
        else:              # mixed
            hints = sorted(set(rng.sample(true_starts, 25))
                           | set(rng.sample(range(first + 1, len(data)), 25)))
        limit = len(data) - rng.randint(0, 5000)
        got, got_next = walk_records(bytearray(data), first, np.array(hints, dtype=np.int64), limit)
        want, want_next = record_starts(data, first, limit)
        assert got.tolist() == want.tolist() and got_next == want_next
    assert expected_next <= len(data)
