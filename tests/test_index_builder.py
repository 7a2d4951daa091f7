"""IndexBuilder state machine: push_many == push, block-numbered offsets, typed errors, reader checks."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bioformats_ext.bgzf import BgzfWriter
from bioformats_ext.errors import BioformatsError, FormatError, RecordError, SortOrderError, TruncatedFileError
from bioformats_ext.index import IndexBuilder, read_index
from bioformats_ext.index.builder import csi_depth_for, tabix_csi_depth


def _with_unplaced(recs, off, unplaced):
    """``recs`` followed by ``unplaced`` unplaced records, and the stream's final voffset."""
    for _ in range(unplaced):
        off += 100
        recs.append((-1, -1, 0, off, False))
    return recs, off + 7


def _stream(draw_tids, rng, n, unplaced):
    """A sorted record stream: (tid, beg, end, voffset, mapped)."""
    recs = []
    off = 1 << 16
    for tid in draw_tids:
        pos = 0
        for _ in range(n):
            pos += int(rng.integers(0, 40_000))
            length = int(rng.choice([0, 1, 100, 20_000, 300_000]))
            off += int(rng.integers(1, 30_000))
            recs.append((tid, pos, pos + length, off, bool(rng.random() > 0.1)))
    return _with_unplaced(recs, off, unplaced)


def _build(recs, final, cuts, fmt="bai", scalar_first=0):
    b = IndexBuilder.bai(10, offset0=1 << 16) if fmt == "bai" else IndexBuilder.csi(12, depth=6, offset0=1 << 16)
    for r in recs[:scalar_first]:
        b.push(*r)
    rest = recs[scalar_first:]
    bounds = [0] + sorted(set(c % (len(rest) + 1) for c in cuts)) + [len(rest)]
    for lo, hi in zip(bounds, bounds[1:]):
        if hi > lo:
            cols = list(zip(*rest[lo:hi]))
            b.push_many(*[np.array(c) for c in cols])
    return b.finish(final)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=1, max_size=4, unique=True), st.integers(0, 2**31),
       st.integers(1, 60), st.integers(0, 5), st.lists(st.integers(0, 10_000), max_size=5),
       st.sampled_from(["bai", "csi"]))
def test_push_many_equals_push(tids, seed, n, unplaced, cuts, fmt):
    rng = np.random.default_rng(seed)
    recs, final = _stream(sorted(tids), rng, n, unplaced)
    one = _build(recs, final, [], fmt, scalar_first=len(recs))
    many = _build(recs, final, cuts, fmt, scalar_first=int(rng.integers(0, len(recs) + 1)))
    assert one.refs == many.refs
    assert one.n_no_coor == many.n_no_coor == unplaced
    a, b = io.BytesIO(), io.BytesIO()
    (one.write_bai if fmt == "bai" else one.write_csi)(a)
    (many.write_bai if fmt == "bai" else many.write_csi)(b)
    assert a.getvalue() == b.getvalue()


def test_block_numbered_offsets_resolve_at_finish():
    """A threaded writer feeds tell_block() values; finish(block_addresses=...) gives real offsets."""
    rng = np.random.default_rng(1)
    bodies = [rng.bytes(int(rng.integers(50, 3000))) for _ in range(3000)]
    pos = np.cumsum(rng.integers(0, 300, len(bodies)))
    real = IndexBuilder.bai(1)
    lazy = IndexBuilder.bai(1)
    buf = io.BytesIO()
    w = BgzfWriter(buf, threads=2, backend="zlib")
    for body, p in zip(bodies, pos.tolist()):
        w.write_record(body)
        real.push(0, p, p + 100, w.tell())
        lazy.push(0, p, p + 100, w.tell_block())
    eof = w.close()
    real.finish(eof)
    lazy.finish(w.eof_block, block_addresses=w.block_addresses())
    assert lazy.refs == real.refs and lazy.final_voffset == eof


def test_sort_errors_are_typed():
    b = IndexBuilder.bai(3)
    b.push(0, 100, 200, 1 << 16)
    with pytest.raises(SortOrderError) as e:
        b.push(0, 50, 60, 2 << 16)
    assert (e.value.tid, e.value.pos, e.value.record) == (0, 50, 2)  # 1-based record numbers
    assert str(e.value).startswith("record 2: position 50 after 100 on reference 0")
    b = IndexBuilder.bai(3)
    b.push_many([0, 0, 1, 1], [5, 9, 0, 3], [6, 10, 1, 4], [10, 20, 30, 40])
    with pytest.raises(SortOrderError) as e:
        b.push_many([1, 1, 0], [7, 8, 1], [9, 9, 2], [50, 60, 70])      # back to reference 0
    assert (e.value.tid, e.value.record) == (0, 7)
    with pytest.raises(SortOrderError):
        b2 = IndexBuilder.bai(3)
        b2.push_many([0, 0], [10, 3], [11, 4], [1, 2])
    with pytest.raises(SortOrderError, match="unplaced"):
        b3 = IndexBuilder.bai(3)
        b3.push(-1, -1, 0, 5)
        b3.push(0, 1, 2, 6)
    with pytest.raises(RecordError, match="end"):
        IndexBuilder.bai(1).push(0, 10, 5, 1)
    with pytest.raises(RecordError, match="cannot be stored"):
        IndexBuilder.bai(1).push_many([0], [1 << 29], [(1 << 29) + 5], [1])
    b4 = IndexBuilder.bai(1)
    with pytest.raises(RecordError, match="finish"):
        b4.write_bai(io.BytesIO())
    b4.finish(0)
    with pytest.raises(RecordError):
        b4.push(0, 1, 2, 3)
    IndexBuilder.csi(14, depth=7).push(0, 1 << 33, (1 << 33) + 10, 1)  # CSI with depth fits


def test_csi_depth_rules():
    assert csi_depth_for(248_956_422) == 5       # samtools on hg38
    assert csi_depth_for(4_000_000) == 3
    assert csi_depth_for((1 << 29) - 256) == 5 and csi_depth_for((1 << 29) - 255) == 6
    assert tabix_csi_depth(14, 5_000_000) == 6   # tabix/bcftools start at 6 ...
    assert tabix_csi_depth(14) == 8              # ... and assume 100 Gbp without contig lengths


def _sample_bai() -> bytes:
    b = IndexBuilder.bai(2, offset0=100)
    for i in range(50):
        b.push(0, i * 1000, i * 1000 + 50, 100 + (i + 1) * 5000)
    b.finish(1 << 30)
    out = io.BytesIO()
    b.write_bai(out)
    return out.getvalue()


def test_reader_rejects_bad_files():
    good = _sample_bai()
    idx = read_index(good)
    assert idx.format == "bai" and idx.n_refs == 2 and idx.mapped(0) == 50
    with pytest.raises(FormatError, match="magic"):
        read_index(b"BAM\1" + good[4:])
    for cut in (6, 12, 40, len(good) - 20):
        with pytest.raises((TruncatedFileError, FormatError)):
            read_index(good[:cut])
    absurd = good[:4] + struct.pack("<i", 10**9) + good[8:]
    with pytest.raises(FormatError, match="absurd"):
        read_index(absurd)
    neg = good[:8] + struct.pack("<i", -3) + good[12:]
    with pytest.raises(FormatError, match="absurd"):
        read_index(neg)
    # absurd chunk count in the first bin
    bad_chunks = good[:16] + struct.pack("<i", 10**8) + good[20:]
    with pytest.raises(FormatError, match="absurd"):
        read_index(bad_chunks)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 400))
def test_reader_never_crashes_untyped(noise, at):
    good = _sample_bai()
    data = good[:at] + noise + good[at + len(noise):]
    try:
        read_index(data)
    except BioformatsError:
        pass


def test_tabix_names_and_empty_refs():
    b = IndexBuilder.tbi("bed")
    for name, s in (("chrX", 5), ("chrX", 9), ("chr2", 1)):
        b.push(b.tid_for(name), s, s + 10, s * 100)
    b.finish(10 << 16)
    out = io.BytesIO()
    b.write_tbi(out)
    idx = read_index(out.getvalue())
    assert idx.names == ["chrX", "chr2"] and idx.tabix.col_end == 3
    assert idx.query("chr2", 0, 100) and idx.query("chrX", 20_000, 30_000) == []
    v = IndexBuilder.tbi("vcf")
    v.push(1, 5, 6, 100)
    v.finish(200)
    out = io.BytesIO()
    v.write_tbi(out, names=["a", "b", "c"])
    assert read_index(out.getvalue()).names == ["b"]   # VCF: only references holding records


def _sorted_records(rng, tids, n, p_long, unplaced):
    """Sorted (tid, beg, end, voffset, mapped) records, mostly within one 16 kb window
    (the common leaf-bin case); ``p_long`` of them span windows; zero-length ones at 0."""
    recs = []
    off = 1 << 16
    for tid in tids:
        pos = 0
        for k in range(n):
            pos += int(rng.choice([0, 1, 700, 5_000, 40_000])) if k else int(rng.choice([0, 0, 2]))
            if rng.random() < p_long:
                length = int(rng.choice([20_000, 300_000, 3_000_000]))
            else:
                length = int(rng.choice([0, 1, 3]))
            off += int(rng.integers(1, 30_000))
            recs.append((tid, pos, pos + length, off, bool(rng.random() > 0.1)))
    return _with_unplaced(recs, off, unplaced)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=1, max_size=4, unique=True), st.integers(0, 2**31),
       st.integers(1, 300), st.sampled_from([0.0, 0.01, 0.3]), st.integers(0, 3),
       st.lists(st.integers(0, 10_000), max_size=4), st.sampled_from(["bai", "csi", "tbi"]),
       st.sampled_from(["int64", "int32", "list"]), st.booleans())
def test_checked_push_many_equals_push(tids, seed, n, p_long, unplaced, cuts, fmt, kind,
                                       with_mapped):
    """The writers' order — ``check`` a batch, write it, ``push_many`` the same arrays (which
    reuses the check's reference-change rows and takes the leaf-bin path) — builds the index
    that scalar pushes build, for every column type and with records spanning bins."""
    rng = np.random.default_rng(seed)
    recs, final = _sorted_records(rng, sorted(tids), n, p_long, unplaced)

    def make():
        if fmt == "bai":
            return IndexBuilder.bai(10, offset0=1 << 16)
        if fmt == "tbi":
            return IndexBuilder.tbi("bed", offset0=1 << 16)
        return IndexBuilder.csi(12, depth=7, offset0=1 << 16)

    one = make()
    for r in recs:
        one.push(*(r if with_mapped else r[:4]))
    one.finish(final)
    many = make()
    bounds = [0] + sorted(set(c % (len(recs) + 1) for c in cuts)) + [len(recs)]
    for lo, hi in zip(bounds, bounds[1:]):
        if hi <= lo:
            continue
        t, b, e, v, m = (list(c) for c in zip(*recs[lo:hi]))
        if kind != "list":
            t, b, e = (np.array(c, dtype=kind) for c in (t, b, e))
        many.check(t, b, e)
        many.push_many(t, b, e, np.array(v), np.array(m) if with_mapped else None)
    many.finish(final)
    assert one.refs == many.refs
    assert one.n_no_coor == many.n_no_coor == unplaced
    if fmt != "tbi":
        a, b = io.BytesIO(), io.BytesIO()
        (one.write_bai if fmt == "bai" else one.write_csi)(a)
        (many.write_bai if fmt == "bai" else many.write_csi)(b)
        assert a.getvalue() == b.getvalue()


def test_checked_push_many_sort_error_names_the_record():
    """An unsorted batch fails in ``check`` (before anything is written) with the typed,
    1-based error, and a later ``push_many`` of unchecked records still checks them."""
    b = IndexBuilder.bai(2)
    b.check(np.array([0, 0, 0]), np.array([10, 20, 30]), np.array([11, 21, 31]))
    b.push_many(np.array([0, 0, 0]), np.array([10, 20, 30]), np.array([11, 21, 31]),
                np.array([100, 200, 300]))
    with pytest.raises(SortOrderError) as info:
        b.check(np.array([0, 0, 0]), np.array([40, 35, 50]), np.array([41, 36, 51]))
    assert info.value.record == 5
    assert "position 35 after 40" in str(info.value)
    with pytest.raises(SortOrderError) as info:
        b.push_many(np.array([0, 1, 0]), np.array([40, 1, 50]), np.array([41, 2, 51]),
                    np.array([400, 500, 600]))
    assert info.value.record == 6
    assert b.n_records == 3


@pytest.mark.parametrize("ascending", [True, False])
def test_sort_chunks_equals_three_key_sort(ascending):
    """finish's one-key stable sort gives lexsort's (reference, bin, start) order when starts
    ascend (pushes in file order); otherwise it takes lexsort itself."""
    from bioformats_ext.index.refs import sort_chunks

    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(0, 300))
        ct = rng.integers(-1, 4, n)
        cb = rng.integers(0, 37449, n) // int(rng.choice([1, 5000]))
        cu = np.cumsum(rng.integers(0, 3, n)) if ascending else rng.integers(0, 50, n)
        cv = cu + rng.integers(0, 9, n)
        order = np.lexsort((cu, cb, ct))
        got = sort_chunks(ct, cb, cu, cv, 37449)
        for a, b in zip(got, (ct[order], cb[order], cu[order], cv[order])):
            assert a.tolist() == b.tolist()
