"""The streaming bigBed writer (bioformats_ext.bbi.write) against UCSC-made files and readers.

The strongest check: rewriting the records of a UCSC bedToBigBed file (or its .bed source) gives
the same bytes. Independent readers (pyBigWig, pybigtools, Biopython) must read back what we
wrote, and zoom levels / total summary are checked against per-base coverage computed here.
"""

from __future__ import annotations

import io
import os
import zlib

import numpy as np
import pytest

from bioformats_ext import bigbed
from bioformats_ext.bbi.format import layouts
from bioformats_ext.bbi.header import Header, TotalSummary, ZoomLevel
from bioformats_ext.bbi.write import BigBedWriter, write
from bioformats_ext.errors import (BioformatsError, RecordError, SortOrderError,
                                   UnknownReferenceError)

from helpers.bigbed import FIXTURES, UCSC

# bedToBigBed's coverage range tree gives zero-length items no bases (kent src/lib/rangeTree.c,
# bedToBigBed.c), as in bigbedtest.bb, and so do we by default. bigbedtest.psl.bb (same records)
# counts them as one base, Biopython's writer's convention: we match it with zero_length_bases=1.
ONE_BASE_ZERO_LENGTH = {"bigbedtest.psl.bb"}
LITTLE = [p for p in FIXTURES if "bigendian" not in p.name]


def _as_text(raw: bytes, header: Header) -> str:
    return raw[header.autoSqlOffset:header.totalSummaryOffset - 1].decode()


def _rewrite(path, **kwargs) -> bytes:
    raw = path.read_bytes()
    f = bigbed.open(path)
    h = f.header
    out = io.BytesIO()
    n = write(list(f.records()), f.chroms, out, autosql=_as_text(raw, h),
              bed_type=h.definedFieldCount, extra_index=f.extra_index_fields,
              compress=h.compressed, **kwargs)
    assert n == len(f)
    return out.getvalue()


def _zoom_records(data: bytes) -> list[list[tuple]]:
    header = Header.parse(data)
    dt = layouts(header.byteorder).zoom_record_dtype
    levels = []
    for z in ZoomLevel.parse_all(data, header):
        body = data[z.dataOffset + 4:z.indexOffset]
        out = b""
        while body:
            d = zlib.decompressobj()
            out += d.decompress(body)
            body = d.unused_data
        levels.append((z.reductionLevel, np.frombuffer(out, dt).tolist()))
    return levels


@pytest.mark.parametrize("path", LITTLE, ids=lambda p: p.name)
def test_rewrite_ucsc_file_is_byte_identical(path):
    raw = path.read_bytes()
    if path.name in ONE_BASE_ZERO_LENGTH:
        assert _rewrite(path, zero_length_bases=1) == raw
        mine = _rewrite(path)
        h = Header.parse(raw)
        # Data and its index identical; only the coverage of zero-length items differs.
        assert mine[h.fullDataOffset:h.fullIndexOffset] == raw[h.fullDataOffset:h.fullIndexOffset]
        return
    mine = _rewrite(path)
    assert mine == raw


def test_big_endian_fixture_rewrites_to_same_content():
    big = UCSC / "bigbed_extended.bigendian.bb"
    little = UCSC / "bigbed_extended.littleendian.bb"
    f = bigbed.open(big)
    out = io.BytesIO()
    write(list(f.records()), f.chroms, out, autosql=f.autosql,
          bed_type=f.header.definedFieldCount, extra_index=f.extra_index_fields)
    ours = bigbed.open(io.BytesIO(out.getvalue()))
    assert list(ours.records()) == list(bigbed.open(little).records())
    assert ours.chroms == f.chroms
    assert ours.total_summary == f.total_summary
    assert _zoom_records(out.getvalue()) == _zoom_records(little.read_bytes())
    for name in f.extra_index_fields:
        for _, _, _, rest in f.records():
            value = rest.split("\t")[ours.autosql.index_of(name) - 3]
            assert list(ours.find(name, value)) == list(f.find(name, value))


def _sorted_bed(path) -> bytes:
    lines = [line for line in path.read_bytes().split(b"\n") if line.strip()]
    lines.sort(key=lambda line: (line.split()[0], int(line.split()[1])))
    return b"\n".join(lines) + b"\n"


BED_SOURCES = [p for p in sorted(UCSC.glob("*.bed")) if p.with_suffix(".bb").exists()
               and p.stem != "psl_34_005"]  # its .bed has other names than its .bb


@pytest.mark.parametrize("bed", BED_SOURCES, ids=lambda p: p.name)
def test_bed_source_gives_ucsc_file(bed, tmp_path):
    ucsc = bed.with_suffix(".bb")
    raw = ucsc.read_bytes()
    h = Header.parse(raw)
    src = tmp_path / bed.name
    src.write_bytes(_sorted_bed(bed))
    out = tmp_path / "out.bb"
    write(src, bigbed.open(ucsc).chroms, out, autosql=_as_text(raw, h),
          bed_type=f"bed{h.definedFieldCount}")
    mine = out.read_bytes()
    assert mine == raw
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


# -- independent readers ------------------------------------------------------------------------
def _records(n=3000, seed=7):
    rng = np.random.default_rng(seed)
    sizes = {"chr1": 2_000_000, "chr10": 900_000, "chr2": 1_500_000, "chrM": 60_000}
    out = []
    for chrom in sorted(sizes):
        k = n // 4
        starts = np.sort(rng.integers(0, sizes[chrom] - 20_000, k))
        lengths = rng.integers(0, 15_000, k)
        lengths[rng.random(k) < 0.05] = 0  # some zero-length items
        for i, (s, ln) in enumerate(zip(starts.tolist(), lengths.tolist())):
            e = s + ln
            score = int(rng.integers(0, 1001))
            strand = "+-."[i % 3]
            out.append((chrom, s, e, f"{chrom}_item{i}\t{score}\t{strand}"))
    return out, sizes


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    records, sizes = _records()
    path = tmp_path_factory.mktemp("bb") / "six.bb"
    n = write(records, sizes, path, extra_index=["name"])
    assert n == len(records)
    return path, records, sizes


def test_read_back_with_our_reader(written):
    path, records, sizes = written
    f = bigbed.open(path)
    assert f.chroms == sizes
    assert list(f.records()) == records
    assert f.header.definedFieldCount == 6 and f.header.fieldCount == 6
    assert str(f.autosql) == str(bigbed.open(path).autosql)
    chrom, start, end, rest = records[100]
    assert (chrom, start, end, rest) in list(f.records(chrom, start, end + 1))


def test_read_back_with_pybigwig(written):
    pyBigWig = pytest.importorskip("pyBigWig")
    path, records, sizes = written
    bw = pyBigWig.open(str(path))
    assert bw.isBigBed()
    assert bw.chroms() == sizes
    got = []
    for chrom in sorted(sizes):
        for s, e, rest in bw.entries(chrom, 0, sizes[chrom]) or []:
            got.append((chrom, s, e, rest))
    assert sorted(got) == sorted(records)
    bw.close()


def test_read_back_with_pybigtools(written):
    pybigtools = pytest.importorskip("pybigtools")
    path, records, sizes = written
    bb = pybigtools.open(str(path))
    got = []
    for chrom in sorted(sizes):
        got.extend(_pbt(chrom, r) for r in bb.records(chrom))
    assert sorted(got) == sorted(records)
    # region queries through the R-tree lose nothing
    chrom, start, end, _ = records[len(records) // 2]
    expected = [r for r in records if r[0] == chrom and r[1] < end + 5000 and r[2] > start]
    region = [_pbt(chrom, r) for r in bb.records(chrom, start, end + 5000)]
    assert set(expected) <= set(region)


def _pbt(chrom, record):
    """pybigtools splits the rest into fields; join them back."""
    return (chrom, record[0], record[1], "\t".join(record[2:]))


def test_read_back_with_biopython(written):
    from Bio.Align import bigbed as bio_bigbed

    path, records, sizes = written
    alignments = bio_bigbed.AlignmentIterator(str(path))
    assert [t.id for t in alignments.targets] == sorted(sizes)
    got = [(a.target.id, int(a.coordinates[0, 0]), int(a.coordinates[0, -1]), a.query.id)
           for a in alignments]
    assert got == [(c, s, e, r.split("\t")[0]) for c, s, e, r in records]


def test_extra_index_lookup(written):
    path, records, _ = written
    f = bigbed.open(path)
    assert f.extra_index_fields == ["name"]
    for rec in (records[0], records[1234], records[-1]):
        name = rec[3].split("\t")[0]
        assert list(f.find("name", name)) == [rec]


def _per_base_depth(records, sizes):
    """Depth per base; zero-length items cover nothing (bedToBigBed's coverage range tree)."""
    depth = {c: np.zeros(sizes[c] + 1, np.int64) for c in sizes}
    for c, s, e, _ in records:
        if e == s:
            continue
        depth[c][s] += 1
        depth[c][e] -= 1
    return {c: np.cumsum(d)[:-1] for c, d in depth.items()}


def test_total_summary_and_zooms_match_per_base_coverage(written):
    path, records, sizes = written
    data = path.read_bytes()
    f = bigbed.open(path)
    depth = _per_base_depth(records, sizes)
    covered = np.concatenate([d[d > 0] for d in depth.values()])
    summary = TotalSummary.parse(data, f.header.totalSummaryOffset)
    assert summary.basesCovered == len(covered)
    # A zero-length item is a zero-size range of depth 1, or 1 + the depth around it (kent's range
    # tree), so it can only lower min to 1 or raise max by one; without any, min/max are exact.
    point_at = {c: np.array(sorted(s for cc, s, e, _ in records if cc == c and s == e), np.int64)
                for c in sizes}
    points = any(len(v) for v in point_at.values())
    if points:
        assert summary.minVal in (covered.min(), 1)
        assert covered.max() <= summary.maxVal <= covered.max() + 1
    else:
        assert summary.minVal == covered.min() and summary.maxVal == covered.max()
    assert summary.sumData == covered.sum()
    assert summary.sumSquares == (covered.astype(float) ** 2).sum()
    names = sorted(sizes)
    levels = _zoom_records(data)
    assert levels, "a non-empty file always has a zoom level"
    reductions = [lv for lv, _ in levels]
    assert all(b == 4 * a for a, b in zip(reductions, reductions[1:]))
    assert reductions[0] >= max(10, int(sum(e - s for _, s, e, _ in records) / len(records)))
    for reduction, recs in levels:
        assert sum(r[3] for r in recs) == len(covered)
        for chrom, start, end, valid, lo, hi, total, squares in recs:
            d = depth[names[chrom]][start:end]
            assert end - start <= reduction
            assert valid == int((d > 0).sum())
            if valid:
                pts = point_at[names[chrom]]
                near = np.count_nonzero((pts >= start) & (pts <= end))
                if near:  # see the total summary above: zero-size ranges bend min/max by one
                    assert lo in (d[d > 0].min(), 1)
                    assert d.max() <= hi <= d.max() + 1
                else:
                    assert lo == d[d > 0].min() and hi == d.max()
                assert total == np.float32(d.sum())
                assert squares == np.float32((d.astype(float) ** 2).sum())
        # summaries tile the coverage in order without overlapping
        keys = [(c, s, e) for c, s, e, *_ in recs]
        assert keys == sorted(keys)
        assert all(a[2] <= b[1] for a, b in zip(keys, keys[1:]) if a[0] == b[0])


def test_zoom_level_count_rules(tmp_path):
    # Dense, overlapping items over a whole chromosome: several zoom levels, each 4x coarser
    # and strictly smaller than the one before; at most 10.
    records = [("chrA", s, s + 50, None) for s in range(0, 400_000, 7)]
    out = io.BytesIO()
    write(records, {"chrA": 400_100}, out)
    levels = _zoom_records(out.getvalue())
    counts = [len(r) for _, r in levels]
    assert 2 <= len(levels) <= 10
    assert all(b < a for a, b in zip(counts, counts[1:]))


# -- layout / targets --------------------------------------------------------------------------
def test_empty_input_gives_valid_file(tmp_path):
    path = tmp_path / "empty.bb"
    assert write([], {"chr1": 1000}, path) == 0
    f = bigbed.open(path)
    assert len(f) == 0 and list(f.records()) == [] and f.chroms == {}
    assert f.header.zoomLevels == 0
    pyBigWig = pytest.importorskip("pyBigWig")
    bw = pyBigWig.open(str(path))
    assert bw.isBigBed()
    bw.close()
    pybigtools = pytest.importorskip("pybigtools")
    bb = pybigtools.open(str(path))
    assert list(bb.records("chr1")) == [] if "chr1" in bb.chroms() else bb.chroms() == {}
    # (Biopython's reader cannot read any empty bigBed: it indexes the first R-tree child.)


class _Pipe:
    """A write-only, non-seekable sink."""

    def __init__(self):
        self.chunks = []

    def write(self, data):
        self.chunks.append(bytes(data))
        return len(data)


def test_pipe_target_needs_no_seek():
    path = UCSC / "bed12.bb"
    f = bigbed.open(path)
    pipe = _Pipe()
    raw = path.read_bytes()
    write(list(f.records()), f.chroms, pipe, autosql=_as_text(raw, f.header), bed_type=12)
    assert b"".join(pipe.chunks) == raw


def test_generator_input_and_chrom_sizes_file(tmp_path):
    sizes = tmp_path / "chrom.sizes"
    sizes.write_text("chr2\t5000\nchr1\t9000\n")
    gen = ((c, s, s + 10, f"n{s}") for c in ("chr1", "chr2") for s in range(0, 1000, 100))
    out = io.BytesIO()
    assert write(gen, sizes, out) == 20
    f = bigbed.open(io.BytesIO(out.getvalue()))
    assert f.chroms == {"chr1": 9000, "chr2": 5000}  # only used chromosomes, as UCSC
    assert f.header.definedFieldCount == 4


def test_uncompressed_and_small_blocks(tmp_path):
    records, sizes = _records(800, seed=3)
    out = io.BytesIO()
    write(records, sizes, out, compress=False, block_size=4, items_per_slot=16)
    f = bigbed.open(io.BytesIO(out.getvalue()))
    assert f.header.uncompressBufSize == 0
    assert list(f.records()) == records
    chrom, start, end, _ = records[333]
    expected = [r for r in records if r[0] == chrom and r[1] < end and r[2] > start]
    got = list(f.records(chrom, start, end))
    assert set(expected) <= set(got)


def test_bytes_rest_and_none_rest():
    out = io.BytesIO()
    write([("c", 1, 5, None), ("c", 2, 6, None)], {"c": 10}, out)
    assert list(bigbed.open(io.BytesIO(out.getvalue())).records()) == [
        ("c", 1, 5, None), ("c", 2, 6, None)] or \
        [r[:3] for r in bigbed.open(io.BytesIO(out.getvalue())).records()] == [("c", 1, 5),
                                                                              ("c", 2, 6)]


# -- validation ----------------------------------------------------------------------------------
def _fails(records, sizes=None, exc=BioformatsError, **kwargs):
    sizes = sizes or {"chr1": 1000, "chr2": 1000}
    with pytest.raises(exc) as info:
        write(records, sizes, io.BytesIO(), **kwargs)
    return info.value


def test_unsorted_start_is_sort_order_error():
    err = _fails([("chr1", 10, 20, None), ("chr1", 5, 30, None)], exc=SortOrderError)
    assert err.record == 2 and str(err).startswith("record 2: position 5 after 10 on chr1")


def test_chromosome_seen_twice_is_sort_order_error():
    err = _fails([("chr1", 1, 2, None), ("chr2", 1, 2, None), ("chr1", 3, 4, None)],
                 exc=SortOrderError)
    assert err.record == 3 and "chr1 appears again" in str(err)


def test_unknown_chromosome():
    err = _fails([("chr1", 1, 2, None), ("chrZ", 1, 2, None)], exc=UnknownReferenceError)
    assert "record 2" in str(err) and "chrZ" in str(err)


def test_end_beyond_chromosome_and_start_after_end():
    err = _fails([("chr1", 1, 2000, None)], exc=RecordError)
    assert err.record == 1 and "bigger than chr1 size" in str(err)
    err = _fails([("chr1", 1, 2, None), ("chr1", 9, 3, None)], exc=RecordError)
    assert err.record == 2 and "end 3 is before start 9" in str(err)


def test_bed_column_checks():
    base = "x\t500\t+\t10\t20\t0\t2\t4,5,\t0,5,"
    ok = [("chr1", 10, 20, base)]
    write(ok, {"chr1": 100}, io.BytesIO())
    bad = {
        "score": "x\t1001\t+\t10\t20\t0\t2\t4,5,\t0,5,",
        "strand": "x\t5\t*\t10\t20\t0\t2\t4,5,\t0,5,",
        "thickStart": "x\t5\t+\t5\t20\t0\t2\t4,5,\t0,5,",
        "thickEnd": "x\t5\t+\t10\t25\t0\t2\t4,5,\t0,5,",
        "blockSizes": "x\t5\t+\t10\t20\t0\t3\t4,5,\t0,5,",
        "blocks": "x\t5\t+\t10\t20\t0\t2\t4,4,\t0,5,",
        "first": "x\t5\t+\t10\t20\t0\t2\t4,5,\t1,5,",
        "overlap": "x\t5\t+\t10\t20\t0\t2\t6,5,\t0,5,",
        "color": "x\t5\t+\t10\t20\t300,0,0\t2\t4,5,\t0,5,",
        "integer": "x\tfive\t+\t10\t20\t0\t2\t4,5,\t0,5,",
        "fields": "x\t5\t+\t10\t20\t0\t2\t4,5,",
    }
    for what, rest in bad.items():
        err = _fails([ok[0], ("chr1", 10, 20, rest)], sizes={"chr1": 100}, exc=RecordError)
        assert err.record == 2, what
    err = _fails([("chr1", 1, 5, "n" * 256)], exc=RecordError)
    assert "too long" in str(err)


def test_bed_file_errors_name_the_line(tmp_path):
    bed = tmp_path / "in.bed"
    bed.write_text("# comment\nchr1\t1\t5\tx\n\nchr1\t0\t5\ty\n")
    with pytest.raises(SortOrderError) as info:
        write(bed, {"chr1": 100}, tmp_path / "out.bb")
    assert info.value.record == 4 and "line 4" in str(info.value)


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.bb"
    with pytest.raises(SortOrderError):
        write([("chr1", 10, 20, None), ("chr1", 5, 30, None)], {"chr1": 100}, target)
    assert os.listdir(tmp_path) == []

    def interrupted():
        yield ("chr1", 1, 2, None)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write(interrupted(), {"chr1": 100}, target)
    assert os.listdir(tmp_path) == []
    # an existing file at the target survives a failed write untouched
    target.write_bytes(b"keep")
    with pytest.raises(UnknownReferenceError):
        write([("chrQ", 1, 2, None)], {"chr1": 100}, target)
    assert target.read_bytes() == b"keep" and os.listdir(tmp_path) == ["out.bb"]


def test_streaming_writer_context_manager(tmp_path):
    target = tmp_path / "cm.bb"
    with BigBedWriter(target, {"chr1": 100}) as w:
        w.write_records([("chr1", 1, 2, None)])
        w.write_records([("chr1", 3, 4, None)])
    assert [r[:3] for r in bigbed.open(target).records()] == [("chr1", 1, 2), ("chr1", 3, 4)]
    with pytest.raises(RuntimeError):
        with BigBedWriter(tmp_path / "x.bb", {"chr1": 100}) as w:
            w.write_records([("chr1", 1, 2, None)])
            raise RuntimeError("boom")
    assert sorted(os.listdir(tmp_path)) == ["cm.bb"]


@pytest.mark.parametrize("codec", ["libdeflate", "isal"])
def test_fast_codecs_give_same_content(codec):
    records, sizes = _records(1500, seed=11)
    ref = io.BytesIO()
    write(records, sizes, ref)
    fast = io.BytesIO()
    write(records, sizes, fast, compress=codec)
    a = bigbed.open(io.BytesIO(ref.getvalue()))
    b = bigbed.open(io.BytesIO(fast.getvalue()))
    assert list(a.records()) == list(b.records())
    assert a.total_summary == b.total_summary
    # The zoom choice depends on the compressed data size, so it may differ from zlib's; the
    # summaries at any common reduction are the same.
    ref_levels = _zoom_records(ref.getvalue())
    fast_levels = _zoom_records(fast.getvalue())
    if ref_levels[0][0] == fast_levels[0][0]:
        assert fast_levels == ref_levels
    reductions = [r for r, _ in fast_levels]
    assert all(b == 4 * a for a, b in zip(reductions, reductions[1:]))
    with pytest.raises(ValueError):
        write(records, sizes, io.BytesIO(), compress="lz4")


def test_multilevel_trees_read_by_independent_readers(tmp_path):
    # 30 chromosomes and block_size 4: a 3-level chromosome B+ tree and a deep R-tree.
    sizes = {f"chr{i}": 50_000 + i for i in range(30)}
    records = [(c, s, s + 100 + (s % 7), f"{c}_{s}") for c in sorted(sizes)
               for s in range(0, 40_000, 350)]
    path = tmp_path / "deep.bb"
    write(records, sizes, path, block_size=4, items_per_slot=8, extra_index=["name"])
    pyBigWig = pytest.importorskip("pyBigWig")
    bw = pyBigWig.open(str(path))
    assert bw.chroms() == sizes
    got = [(c, s, e, r) for c in sorted(sizes) for s, e, r in bw.entries(c, 0, sizes[c])]
    assert got == records
    assert bw.entries("chr7", 10_000, 10_400) == [
        (s, e, r) for c, s, e, r in records if c == "chr7" and s < 10_400 and e > 10_000]
    bw.close()
    pybigtools = pytest.importorskip("pybigtools")
    bb = pybigtools.open(str(path))
    assert [(c, *r[:2]) for c in sorted(sizes) for r in bb.records(c)] == \
        [r[:3] for r in records]
    f = bigbed.open(path)
    assert list(f.find("name", "chr29_35350")) == [("chr29", 35350, 35350 + 100 + 35350 % 7,
                                                     "chr29_35350")]


def test_chromosome_ids_follow_input_order_like_bedtobigbed():
    # bedToBigBed only needs each chromosome contiguous: ids in order of appearance, the
    # chromosome tree sorted by name.
    records = [("chr2", 5, 10, None), ("chr10", 1, 4, None), ("chr1", 2, 3, None)]
    out = io.BytesIO()
    write(records, {"chr1": 100, "chr2": 100, "chr10": 100}, out)
    data = out.getvalue()
    f = bigbed.open(io.BytesIO(data))
    assert [r[:3] for r in f.records()] == [r[:3] for r in records]
    h = Header.parse(data)
    lay = layouts("<")
    magic, block, key_size, val_size, count = lay.bpt_header.unpack_from(data,
                                                                        h.chromosomeTreeOffset)
    leaf = np.frombuffer(data, lay.bpt_leaf_dtype(key_size), count,
                         h.chromosomeTreeOffset + 32 + 4)
    assert leaf["key"].tolist() == [b"chr1", b"chr10", b"chr2"]
    assert leaf["id"].tolist() == [2, 1, 0]


def _check_against_coverage(records, sizes, data):
    depth = _per_base_depth(records, sizes)
    covered = np.concatenate([d[d > 0] for d in depth.values()]) if depth else np.empty(0)
    h = Header.parse(data)
    summary = TotalSummary.parse(data, h.totalSummaryOffset)
    assert summary.basesCovered == len(covered)
    assert summary.sumData == covered.sum()
    names = sorted(sizes)  # records come in sorted chromosome order here
    used = [c for c in names if any(r[0] == c for r in records)]
    for reduction, recs in _zoom_records(data):
        assert sum(r[3] for r in recs) == len(covered)
        for chrom, start, end, valid, lo, hi, total, squares in recs:
            d = depth[used[chrom]][start:end]
            assert end - start <= reduction
            assert valid == int((d > 0).sum())
            assert total == np.float32(d.sum())


def test_random_inputs_against_per_base_coverage():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=40, deadline=None)
    @hypothesis.given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 300),
                                         st.integers(0, 60)), min_size=1, max_size=60),
                      st.integers(300, 400))
    def check(items, size):
        sizes = {"a": size, "b": size}
        records = sorted((c, s, min(s + ln, size), None) for c, s, ln in items)
        out = io.BytesIO()
        write(records, sizes, out)
        data = out.getvalue()
        assert [r[:3] for r in bigbed.open(io.BytesIO(data)).records()] == \
            [r[:3] for r in records]
        _check_against_coverage(records, sizes, data)

    check()
