"""Raw bigBed API against pyBigWig, pybigtools and brute force."""

from __future__ import annotations

import io
import math
import random
from pathlib import Path

import numpy as np
import pyBigWig
import pybigtools
import pytest

from bioformats_ext import bigbed
from bioformats_ext.bbi.autosql import AutoSqlTable
from bioformats_ext.errors import MissingIndexError, UnknownReferenceError
from bioformats_ext.io.source import BytesSource
from helpers.bigbed import FIXTURES, UCSC, biopython_bigbed
from helpers.text import random_intervals

LITTLE = [p for p in FIXTURES if "bigendian" not in p.name]


#: fixtures whose total summary counts zero-length items as covered (an older bedToBigBed)
ZERO_LENGTH_COUNTED = {"bigbedtest.psl.bb"}

def _pybigtools_all(path):
    """chrom -> records as pybigtools reads them (None where pybigtools refuses the data: it
    rejects the zero-length item at chr3:0-0 of bigbedtest.bb)."""
    bb = pybigtools.open(str(path))
    out = {}
    for chrom in bb.chroms():
        try:
            out[chrom] = [(chrom, rec[0], rec[1], "\t".join(rec[2:]) if len(rec) > 2 else None)
                          for rec in bb.records(chrom)]
        except pybigtools.BBIReadError:
            out[chrom] = None
    return out


def _overlaps(rec, chrom, start, end):
    """UCSC / Biopython rule, written out independently."""
    c, s, e, _ = rec
    if c != chrom:
        return False
    if s < end and e > start:
        return True
    return s == e and (s == end or e == start)


@pytest.mark.parametrize("path", LITTLE, ids=lambda p: p.name)
def test_metadata_matches_pybigwig(path):
    theirs = pyBigWig.open(str(path))
    with bigbed.open(path) as bb:
        assert bb.chroms == theirs.chroms()
        assert list(bb.chroms) == sorted(theirs.chroms())
        assert bb.autosql == AutoSqlTable.from_string(theirs.SQL().decode())
        header = theirs.header()
        total = bb.total_summary
        assert total["covered"] == header["nBasesCovered"]
        assert total["min"] == header["minVal"] and total["max"] == header["maxVal"]
        # mean = sumData / covered, multiplied back: two float64 roundings (isclose's 1e-9)
        assert math.isclose(total["mean"] * total["covered"], header["sumData"])
        assert len(bb.zoom_levels) == header["nLevels"]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_all_records_match_pybigtools_and_pybigwig(path):
    with bigbed.open(path) as bb:
        ours = list(bb.records())
        assert len(ours) == len(bb)
    # pybigtools splits the rest on any whitespace and drops empty fields: compare likewise
    compared = 0
    for chrom, theirs in _pybigtools_all(path).items():
        if theirs is None:
            continue
        squeeze = [(c, s, e, None if r is None else r.split()) for c, s, e, r in ours
                   if c == chrom]
        assert squeeze == [(c, s, e, None if r is None else r.split()) for c, s, e, r in theirs]
        compared += len(theirs)
    assert compared >= len(ours) - 1
    if "bigendian" in path.name:
        little = path.with_name(path.name.replace("bigendian", "littleendian"))
        assert ours == list(bigbed.open(little).records())
        return
    theirs = pyBigWig.open(str(path))
    expected = []
    for chrom, size in theirs.chroms().items():
        for entry in theirs.entries(chrom, 0, size) or []:
            expected.append((chrom, entry[0], entry[1], entry[2] if len(entry) > 2 and entry[2]
                             else None))
    # pyBigWig drops zero-length records at the chromosome start (strict overlap test)
    assert [r for r in ours if not (r[1] == r[2] == 0)] == \
        [r for r in expected if not (r[1] == r[2] == 0)]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_region_queries(path):
    rng = random.Random(path.name)
    with bigbed.open(path) as bb:
        everything = list(bb.records())
        chroms = bb.chroms
        regions = [(c, 0, n) for c, n in chroms.items()]
        for c, s, e, _ in rng.sample(everything, min(40, len(everything))):
            regions += [(c, s, e), (c, s - 1, s), (c, e, e + 1), (c, s + 1, max(s + 1, e - 1))]
        for _ in range(40):
            c = rng.choice(list(chroms))
            s = rng.randrange(chroms[c])
            regions.append((c, s, min(chroms[c], s + rng.choice([1, 1000, 100_000]))))
        pbw = None if "bigendian" in path.name else pyBigWig.open(str(path))
        for c, s, e in regions:
            if s < 0:
                continue
            got = list(bb.records(c, s, e))
            assert got == [r for r in everything if _overlaps(r, c, s, e)], (c, s, e)
            if pbw is not None and s < e:
                strict = [r for r in got if r[1] < e and r[2] > s]
                entries = pbw.entries(c, s, e) or []
                assert [(r[1], r[2]) for r in strict] == [(x[0], x[1]) for x in entries]


def test_records_arguments():
    with bigbed.open(UCSC / "bigbedtest.bb") as bb:
        assert [r[3].split("\t")[0] for r in bb.records("chr1")] == ["name1", "name2", "name3"]
        assert list(bb.records("chr1", 30)) == list(bb.records("chr1", 30, 31))
        with pytest.raises(UnknownReferenceError):
            list(bb.records("chrUn"))
        with pytest.raises(ValueError):
            list(bb.records("chr1", 10, 5))
    with bigbed.open(UCSC / "bed3.bb") as bb:
        assert all(r[3] is None for r in bb.records())


def test_sources():
    path = UCSC / "bigbedtest.bb"
    expected = list(bigbed.open(path).records())
    data = path.read_bytes()
    assert list(bigbed.open(io.BytesIO(data)).records()) == expected
    assert list(bigbed.open(BytesSource(data)).records()) == expected
    with open(path, "rb") as handle:
        with bigbed.open(handle) as bb:
            assert list(bb.records()) == expected
        assert not handle.closed  # we never close a file object we were given


@pytest.mark.parametrize("name", ["bigbed_extended.littleendian.bb",
                                  "bigbed_extended.bigendian.bb"])
def test_find_extra_index(name):
    with bigbed.open(UCSC / name) as bb:
        assert bb.extra_index_fields == ["name", "geneSymbol"]
        everything = list(bb.records())
        column = {"name": 0, "geneSymbol": 6}
        for field, col in column.items():
            values = {r[3].split("\t")[col] for r in everything}
            for value in sorted(values):
                expected = [r for r in everything if r[3].split("\t")[col] == value]
                assert list(bb.find(field, value)) == expected, (field, value)
            assert list(bb.find(field, "no-such-value")) == []
            assert list(bb.find(field, "x" * 500)) == []
        with pytest.raises(MissingIndexError):
            list(bb.find("score", "0"))
        with pytest.raises(MissingIndexError):
            list(bb.find("noSuchField", "0"))
    with bigbed.open(UCSC / "bed12.bb") as bb, pytest.raises(MissingIndexError):
        list(bb.find("name", "x"))


def _depth_stats(records, start, end, bins):
    """Brute force: a per-base depth array."""
    depth = np.zeros(end - start, np.int64)
    for _, s, e, _ in records:
        s, e = max(s, start), min(e, end)
        if s < e:
            depth[s - start:e - start] += 1
    out = []
    edges = [start + (end - start) * i // bins for i in range(bins + 1)]
    for a, b in zip(edges[:-1], edges[1:]):
        d = depth[a - start:b - start]
        d = d[d > 0]
        if not len(d):
            out.append(None)
            continue
        std = float(np.std(d, ddof=1)) if len(d) > 1 else 0.0
        out.append((len(d), d.min(), d.max(), d.mean(), std))
    return out


@pytest.mark.parametrize("name", ["bigPsl.bb", "bigbedtest.bb", "psl_34_001.bb",
                                  "bigbed_extended.bigendian.bb", "ucsc_mm9_chr10.bb"])
def test_exact_summary_matches_brute_force(name):
    rng = random.Random(name)
    with bigbed.open(UCSC / name) as bb:
        for chrom in bb.chroms:
            recs = list(bb.records(chrom))
            if not recs:
                continue
            lo = min(r[1] for r in recs)
            hi = max(r[2] for r in recs)
            windows = [(max(0, lo - 10), min(bb.chroms[chrom], hi + 10))]
            windows.append((lo + (hi - lo) // 3, lo + (hi - lo) // 3 + rng.randrange(1, 5000)))
            for start, end in windows:
                if hi - lo > 3_000_000:
                    end = min(end, start + 3_000_000)
                for bins in (1, 7, 50):
                    got = bb.summary(chrom, start, end, bins=bins, exact=True)
                    expected = _depth_stats(recs, start, end, bins)
                    assert len(got) == bins
                    for g, e in zip(got, expected):
                        if e is None:
                            assert g["covered"] == 0 and g["mean"] is None
                            continue
                        assert g["covered"] == e[0]
                        assert (g["min"], g["max"]) == (e[1], e[2])
                        # float64 sums in a different order than the reference sweep: 1e-9
                        assert math.isclose(g["mean"], e[3])
                        assert math.isclose(g["std"], e[4], rel_tol=1e-9, abs_tol=1e-9)


def test_whole_file_exact_summary_equals_total_summary():
    """The total summary was computed by UCSC bedToBigBed: our exact sweep must reproduce it."""
    for path in FIXTURES:
        with bigbed.open(path) as bb:
            covered = 0
            total_sum = 0.0
            for chrom, size in bb.chroms.items():
                (s,) = bb.summary(chrom, 0, size, exact=True)
                if s["covered"]:
                    covered += s["covered"]
                    total_sum += s["mean"] * s["covered"]
            # The bedToBigBed that made bigbedtest.psl.bb counted each zero-length item as one
            # covered base at depth 1 in the total summary; coverage queries never do.
            zero = sum(1 for r in bb.records() if r[1] == r[2])
            total = bb.total_summary
            counted_zero = Path(path).name in ZERO_LENGTH_COUNTED
            assert covered == total["covered"] - (zero if counted_zero else 0), path.name
            extra = total["covered"] - covered
            # float64 sums of the same items in another order, and mean * covered (1e-9)
            assert math.isclose(total_sum + extra, total["mean"] * total["covered"]), path.name


@pytest.mark.parametrize("name", ["bigPsl.bb", "bigbed_extended.littleendian.bb",
                                  "ucsc_mm9_chr10.bb"])
def test_zoom_summary_agrees_with_exact(name):
    """Over a whole chromosome every zoom record lies inside the region, so one bin gives the
    exact numbers; with many bins, records split across bin edges still add up."""
    with bigbed.open(UCSC / name) as bb:
        assert bb.zoom_levels
        chrom, size = next(iter(bb.chroms.items()))
        (zoomed,) = bb.summary(chrom, 0, size)
        (exact,) = bb.summary(chrom, 0, size, exact=True)
        assert zoomed["covered"] == exact["covered"]
        assert (zoomed["min"], zoomed["max"]) == (exact["min"], exact["max"])
        # zoom records store sumData / sumSquares as float32 (24-bit mantissa), so their sums
        # carry ~1e-7 relative error each; std takes a difference of squares, losing digits
        assert math.isclose(zoomed["mean"], exact["mean"], rel_tol=1e-6)
        assert math.isclose(zoomed["std"], exact["std"], rel_tol=1e-4)
        bins = bb.summary(chrom, 0, size, bins=20)
        exact_bins = bb.summary(chrom, 0, size, bins=20, exact=True)
        # a zoom record cut by a bin edge is shared by overlap fraction and each bin's covered
        # count is rounded down: at most one base lost per bin, 20 bins
        assert abs(sum(b["covered"] for b in bins) - exact["covered"]) <= 20
        assert max(b["max"] or 0 for b in bins) == exact["max"]
        # a zoom record spans its data's extent, so a zoom bin is never emptier than the exact one
        for z, e in zip(bins, exact_bins):
            assert z["covered"] > 0 or e["covered"] == 0


def test_summary_arguments():
    with bigbed.open(UCSC / "bigbedtest.bb") as bb:
        with pytest.raises(UnknownReferenceError):
            bb.summary("chrZ", 0, 10)
        with pytest.raises(ValueError):
            bb.summary("chr1", 10, 10)
        with pytest.raises(ValueError):
            bb.summary("chr1", 0, 10, bins=0)
        (empty,) = bb.summary("chr1", 500, 600)
        assert empty == {"covered": 0, "min": None, "max": None, "mean": None, "std": None}


def test_utf8_text_and_invalid_utf8(tmp_path):
    """Non-ASCII names survive (blocks are split as latin-1, then UTF-8 text re-decoded)."""
    from bioformats_ext.align.bigbed import AlignmentIterator
    from bioformats_ext.errors import FormatError

    bed = "chr1\t10\t20\tgène_α\t5\t+\nchr1\t30\t40\tplain\t6\t-\n"
    path = biopython_bigbed(tmp_path / "utf8.bb", bed, {"chr1": 1000}, compress=False)
    with bigbed.open(path) as bb:
        assert [r[3].split("\t")[0] for r in bb.records()] == ["gène_α", "plain"]
        assert [r[3].split("\t")[0] for r in bb.records("chr1", 0, 25)] == ["gène_α"]
    assert [a.query.id for a in AlignmentIterator(path)] == ["gène_α", "plain"]
    # the same file with the UTF-8 bytes broken (uncompressed, so patch in place)
    raw = path.read_bytes()
    broken = raw.replace("gène".encode(), b"g\xe8\xffne")
    with pytest.raises(FormatError, match="UTF-8"):
        list(bigbed.open(broken).records())


def _write_with_biopython(path, bed_text, bedN=6, compress=True, sizes=None):
    return biopython_bigbed(path, bed_text, sizes or {"chr1": 10_000, "chr2": 5_000}, bedN,
                            compress=compress)


def _empty_bigbed(byteorder: str = "<") -> bytes:
    """An item-less bigBed laid out as bedToBigBed writes one for empty input: no zoom levels,
    an empty chromosome B+ tree (block size 0, no nodes), item count 0, an empty R-tree."""
    from bioformats_ext.bbi.autosql import bed_declaration
    from bioformats_ext.bbi.format import BPT_MAGIC, RTREE_MAGIC, layouts
    from bioformats_ext.bbi.header import ExtraHeader, Header, TotalSummary, pack_zoom_headers

    lay = layouts(byteorder)
    h = Header(byteorder=byteorder, fieldCount=6, definedFieldCount=6, uncompressBufSize=16384)
    body = bytearray(64)
    body += pack_zoom_headers([], byteorder)
    h.autoSqlOffset = len(body)
    body += bytes(bed_declaration(6))
    h.totalSummaryOffset = len(body)
    body += TotalSummary().pack(byteorder)
    h.extensionOffset = len(body)
    body += ExtraHeader().pack(byteorder)
    h.chromosomeTreeOffset = len(body)
    body += lay.bpt_header.pack(BPT_MAGIC, 0, 1, 8, 0)
    h.fullDataOffset = len(body)
    body += lay.data_count.pack(0)
    h.fullIndexOffset = len(body)
    body += lay.rtree_header.pack(RTREE_MAGIC, 256, 0, 0, 0, 0, 0, len(body) + 48, 512)
    body += lay.bpt_header.pack(BPT_MAGIC, 0, 1, 8, 0)[:4]  # bedToBigBed's trailing magic
    body[:64] = h.pack()
    return bytes(body)


@pytest.mark.parametrize("byteorder", "<>")
def test_empty_file(byteorder):
    from bioformats_ext.align.bigbed import AlignmentIterator

    data = _empty_bigbed(byteorder)
    with bigbed.open(data) as bb:
        assert len(bb) == 0
        assert list(bb.records()) == []
        assert bb.zoom_levels == []
        assert bb.chroms == {}
        assert bb.total_summary["covered"] == 0
    alignments = AlignmentIterator(data)
    assert len(alignments) == 0 and list(alignments) == [] and list(alignments.search()) == []
    assert alignments.byteorder == byteorder

def test_empty_file_layout_is_accepted_by_pybigtools(tmp_path):
    path = tmp_path / "empty.bb"
    path.write_bytes(_empty_bigbed())
    theirs = pybigtools.open(str(path))
    assert dict(theirs.chroms()) == {}


def test_uncompressed_equals_compressed(tmp_path):
    bed = "".join(f"chr1\t{i * 10}\t{i * 10 + 25}\tn{i}\t{i % 1000}\t{'+-'[i % 2]}\n"
                  for i in range(900))
    a = _write_with_biopython(tmp_path / "z.bb", bed, compress=True)
    b = _write_with_biopython(tmp_path / "u.bb", bed, compress=False)
    with bigbed.open(a) as za, bigbed.open(b) as ub:
        assert za.header.uncompressBufSize > 0 and ub.header.uncompressBufSize == 0
        assert list(za.records()) == list(ub.records())
        for region in [("chr1", 0, 100), ("chr1", 4000, 4100), ("chr1", 8990, 9000)]:
            assert list(za.records(*region)) == list(ub.records(*region))
            assert za.summary(*region, bins=3, exact=True) == \
                ub.summary(*region, bins=3, exact=True)
        theirs = pyBigWig.open(str(b))
        assert [(s, e) for _, s, e, _ in ub.records("chr1", 1000, 2000)] == \
            [(s, e) for s, e, _ in theirs.entries("chr1", 1000, 2000)]


def test_find_multilevel_index_with_duplicates(tmp_path):
    """An extraIndex B+ tree of several levels whose keys repeat across leaves."""
    rng = random.Random(5)
    names = [f"g{i:03d}" for i in range(300)]
    items = random_intervals(rng, [("chr1", 10_000, 1500), ("chr2", 10_000, 1500)],
                             lambda rng: rng.randrange(1, 500), margin=1000)
    lines = [f"{c}\t{s}\t{e}\t{rng.choice(names)}\t{rng.randrange(1000)}\t+\n"
             for c, s, e, _ in items]
    path = biopython_bigbed(tmp_path / "dups.bb", "".join(lines), {"chr1": 10_000, "chr2": 10_000},
                            extraIndex=["name"], itemsPerSlot=16, blockSize=16)
    from bioformats_ext.bbi.bptree import BPlusTree

    with bigbed.open(path) as bb:
        reader = bb.reader
        (index,) = reader.extra_indices
        tree = BPlusTree(reader._fetch, index.fileOffset, reader.byteorder, reader.file_size)
        assert tree.item_count == 3000 and tree.block_size == 16  # 3000 keys: 3 levels
        everything = list(bb.records())
        for name in names + ["g", "g0000", "zzz"]:
            expected = [r for r in everything if r[3].split("\t")[0] == name]
            assert list(bb.find("name", name)) == expected, name
