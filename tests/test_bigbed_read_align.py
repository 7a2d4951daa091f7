"""The Bio.Align bigBed reader agrees with Biopython 1.88's, attribute by attribute."""

from __future__ import annotations

import io
import random

import pytest
from Bio.Align import bigbed as bio_bigbed

import bioformats_ext  # noqa: F401  (installs our bigBed into Bio.Align)
from bioformats_ext.align import bigbed as our_bigbed
from bioformats_ext.errors import UnknownReferenceError
from helpers.bigbed import FIXTURES, UCSC, assert_same_alignment, biopython_bigbed


def _biopython(path):
    try:
        return bio_bigbed.AlignmentIterator(str(path))
    except Exception as exc:  # pragma: no cover - Biopython cannot read it: nothing to compare
        pytest.skip(f"Biopython cannot read {path.name}: {exc!r}")


@pytest.fixture(params=["column-wise", "per-record"])
def build_path(request, monkeypatch):
    """Run a test with each way of building Alignment objects (column-wise for batches, per
    record for a few hits), whatever the size of the fixture."""
    if request.param == "column-wise":
        monkeypatch.setattr(our_bigbed, "_FAST_MIN_RECORDS", 1)
    else:
        monkeypatch.setattr(our_bigbed, "_FAST_MIN_RECORDS", 10**9)
    return request.param


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_full_iteration_matches_biopython(path, build_path):
    theirs = _biopython(path)
    ours = our_bigbed.AlignmentIterator(path)
    assert ours.byteorder == theirs.byteorder
    assert str(ours.declaration) == str(theirs.declaration)
    assert list(ours.declaration) == [tuple(f) for f in theirs.declaration]
    assert len(ours) == len(theirs)
    assert [(t.id, len(t)) for t in ours.targets] == [(t.id, len(t)) for t in theirs.targets]
    expected = list(theirs)
    got = list(ours)
    assert len(got) == len(expected) == len(ours)
    for i, (a, b) in enumerate(zip(got, expected)):
        assert_same_alignment(a, b, f"{path.name}[{i}]")
    # alignments share the target records of .targets, as in Biopython
    for a in got:
        assert any(a.target is t for t in ours.targets)


def _regions(alignments, targets, rng):
    """Edges of every record +-1 (zero-length features at boundaries) plus random windows."""
    regions = []
    for t in targets:
        regions.append((t.id, None, None))
        regions.append((t.id, 0, len(t)))
    for a in alignments:
        s, e = int(a.coordinates[0, 0]), int(a.coordinates[0, -1])
        chrom = a.target.id
        for start, end in ((s, e), (s - 1, s), (s, s), (e, e), (e, e + 1), (s + 1, e - 1),
                           (s - 5, s + 1), (e - 1, e + 5)):
            if 0 <= start <= end:
                regions.append((chrom, start, end))
        regions.append((chrom, s, None))
    for _ in range(30):
        t = rng.choice(targets)
        start = rng.randrange(0, len(t))
        regions.append((t.id, start, min(len(t), start + rng.choice([1, 100, 10_000, 10**6]))))
    return regions


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_searches_match_biopython(path, build_path):
    theirs = _biopython(path)
    ours = our_bigbed.AlignmentIterator(path)
    everything = list(ours)
    rng = random.Random(path.name)
    regions = _regions(everything, ours.targets, rng)
    if len(regions) > 400:
        regions = rng.sample(regions, 400)
    for chrom, start, end in regions:
        expected = list(theirs.search(chrom, start, end))
        got = list(ours.search(chrom, start, end))
        assert len(got) == len(expected), (path.name, chrom, start, end)
        for a, b in zip(got, expected):
            assert_same_alignment(a, b, f"{path.name} {chrom}:{start}-{end}")


def test_zero_length_features_at_boundaries():
    """bigbedtest.bb (UCSC-made) has zero-length items chr2:50-50, chr2:220-220, chr3:0-0."""
    ours = our_bigbed.AlignmentIterator(UCSC / "bigbedtest.bb")

    def names(*args):
        return [a.query.id for a in ours.search(*args)]

    assert names("chr2", 0, 50) == ["name4"]
    assert names("chr2", 50, 100) == ["name4"]            # name5 starts at the end: excluded
    assert names("chr2", 49, 51) == ["name4"]
    assert names("chr2", 51, 100) == []
    assert names("chr2", 100, 220) == ["name5", "name6", "name7"]
    assert names("chr2", 221, 2000) == []
    assert names("chr3", 0, 0) == ["name8"]
    assert names("chr3") == ["name8"]
    assert names("chr1", 30) == ["name1", "name2"]        # end defaults to start + 1
    assert names("chr1", 99, 200) == ["name1"]
    assert [a.query.id for a in ours.search()] == [f"name{i}" for i in range(1, 9)]


def test_search_errors():
    ours = our_bigbed.AlignmentIterator(UCSC / "bigbedtest.bb")
    with pytest.raises(UnknownReferenceError):
        ours.search("chrX")
    with pytest.raises(ValueError):
        ours.search(None, 1, 2)
    with pytest.raises(ValueError):
        ours.search("chr1", None, 5)


def test_bio_align_uses_our_module_and_slicing():
    from Bio import Align

    alignments = Align.parse(UCSC / "dna_rna.bb", "bigBed")
    assert isinstance(alignments, our_bigbed.AlignmentIterator)
    first = next(alignments)
    alignments.rewind()
    assert_same_alignment(next(alignments), first)
    listed = alignments[:]
    assert len(listed) == 4
    assert listed.declaration is alignments.declaration
    assert [t.id for t in listed.targets] == ["chr3"]
    with pytest.raises(KeyError):
        alignments[1]


def test_file_objects():
    path = UCSC / "bigbedtest.psl.bb"
    expected = list(our_bigbed.AlignmentIterator(path))
    with open(path, "rb") as handle:
        got = list(our_bigbed.AlignmentIterator(handle))
        assert not handle.closed
    for a, b in zip(got, expected):
        assert_same_alignment(a, b)
    got = list(our_bigbed.AlignmentIterator(io.BytesIO(path.read_bytes())))
    assert len(got) == len(expected)
    from Bio.Align.interfaces import StreamModeError

    with open(path, encoding="latin-1") as handle, pytest.raises(StreamModeError):
        our_bigbed.AlignmentIterator(handle)


def test_context_manager_closes():
    with our_bigbed.AlignmentIterator(UCSC / "bed12.bb") as alignments:
        assert len(list(alignments)) == 2
    assert alignments.reader.closed


@pytest.fixture(scope="module")
def bed12_file(tmp_path_factory):
    """3,000 BED12 records written by Biopython: many blocks per batch, both strands, adjacent
    blocks (no gap column), float scores, several chromosomes."""

    rng = random.Random(12)
    sizes = {"chr1": 3_000_000, "chr2": 2_000_000, "chrM": 200_000}
    lines = []
    for chrom, size in sizes.items():
        for start in sorted(rng.randrange(size - 50_000) for _ in range(1000)):
            n = rng.randrange(1, 8)
            blocks = [rng.randrange(1, 300) for _ in range(n)]
            rel, pos = [], 0
            for b in blocks:
                rel.append(pos)
                pos += b + rng.choice([0, rng.randrange(1, 5000)])  # some adjacent blocks
            end = start + rel[-1] + blocks[-1]
            lines.append("\t".join(map(str, [
                chrom, start, end, f"tx{len(lines)}", rng.randrange(1001), rng.choice("+-"),
                start, end, "0", n, ",".join(map(str, blocks)) + ",",
                ",".join(map(str, rel)) + ","])) + "\n")
    path = tmp_path_factory.mktemp("bed12") / "many.bb"
    biopython_bigbed(path, "".join(lines), sizes, bedN=12)
    return path


def test_many_records_match_biopython(bed12_file, build_path):
    theirs = list(bio_bigbed.AlignmentIterator(str(bed12_file)))
    ours = list(our_bigbed.AlignmentIterator(bed12_file))
    assert len(ours) == len(theirs) == 3000
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert_same_alignment(a, b, f"[{i}]")
    ours_it = our_bigbed.AlignmentIterator(bed12_file)
    theirs_it = bio_bigbed.AlignmentIterator(str(bed12_file))
    for chrom, start, end in [("chr1", 0, 3_000_000), ("chr2", 500_000, 900_000),
                              ("chrM", 0, 200_000), ("chr1", 1_234_567, 1_244_567)]:
        got = list(ours_it.search(chrom, start, end))
        expected = list(theirs_it.search(chrom, start, end))
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert_same_alignment(a, b, f"{chrom}:{start}-{end}")


def test_score_column_rules_match_the_per_record_rule():
    """The column-wise score parser (integers first, "135.0" as an integer, floats, then text)
    gives exactly what the per-record rule gives, value by value."""
    columns = [
        ["390.0", "65.0", "0.0", "1000.0"],
        ["1", "2", "-3", "+4"],
        ["1.05", "2.0", "3"],
        ["1e3", "10.0", "2.50"],
        ["-0.0", "5.0"],
        ["99999999999999999999", "1"],        # beyond int64: numpy would saturate
        ["-99999999999999999999.0", "1.0"],
        ["abc.0", "1"],                         # text stays text
        [".0", "1.0"],
        ["nan", "inf", "1"],
        ["1.0", "0x10"],
    ]
    for column in columns:
        got = our_bigbed._scores(column)
        expected = [our_bigbed._score(v) for v in column]
        assert repr(got) == repr(expected), column  # repr: nan == nan, and int vs float


def test_minus_strand_column_fallback():
    assert our_bigbed._is_minus(["+", "-", ".", "-"]).tolist() == [False, True, False, True]
    # not one character each (a malformed file): compared string by string
    assert our_bigbed._is_minus(["+", "--", "-", ""]).tolist() == [False, False, True, False]
    assert our_bigbed._is_minus(["é", "-"]).tolist() == [False, True]


def test_query_sequences_shared_and_bounded(monkeypatch):
    monkeypatch.setattr(our_bigbed, "_SEQ_CACHE", 3)
    cache: dict = {}
    seqs = our_bigbed._query_seqs(cache, [5, 7, 5, 9, 11, 7, 13, 11])
    assert [len(s) for s in seqs] == [5, 7, 5, 9, 11, 7, 13, 11]
    assert seqs[0] is seqs[2] and seqs[1] is seqs[5] and seqs[4] is seqs[7]
    assert len(cache) == 3  # bounded; lengths past the bound are shared within the batch only
    again = our_bigbed._query_seqs(cache, [5, 7, 9])
    assert all(a is cache[len(a)] for a in again)


def test_for_loop_rewinds_and_shares_position_with_next():
    alignments = our_bigbed.AlignmentIterator(UCSC / "bed12.bb")
    first = next(alignments)
    names = [a.query.id for a in alignments]  # a for loop starts again from the top
    assert len(names) == 2 and names[0] == first.query.id
    loop = iter(alignments)
    assert next(loop).query.id == names[0]
    assert next(alignments).query.id == names[1]  # the same position as the loop
    assert next(loop, None) is None
