"""The Bio.Align bigBed reader agrees with Biopython 1.88's, attribute by attribute."""

from __future__ import annotations

import io
import random

import pytest
from Bio.Align import bigbed as bio_bigbed

import bioformats_ext  # noqa: F401  (installs our bigBed into Bio.Align)
from bioformats_ext.align import bigbed as our_bigbed
from bioformats_ext.errors import UnknownReferenceError
from _bigbed_helpers import FIXTURES, UCSC, assert_same_alignment


def _biopython(path):
    try:
        return bio_bigbed.AlignmentIterator(str(path))
    except Exception as exc:  # pragma: no cover - Biopython cannot read it: nothing to compare
        pytest.skip(f"Biopython cannot read {path.name}: {exc!r}")


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_full_iteration_matches_biopython(path):
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
def test_searches_match_biopython(path):
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
    assert alignments._reader.source._handle.closed
