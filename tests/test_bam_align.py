"""Bio.Align "bam" format: parse equals Biopython's "sam" parser, search equals filtering,
write goes through BamWriter with a co-produced index."""

from __future__ import annotations

import os
import random

import pytest

pysam = pytest.importorskip("pysam")

import bioformats_ext  # noqa: E402,F401  (registers the format)
from Bio import Align  # noqa: E402

from bioformats_ext.bam import BamWriter  # noqa: E402
from helpers import alignment_key, random_sam  # noqa: E402

REFS = [("chr1", 2_000_000), ("chr2", 300_000), ("chrEmpty", 1000)]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("align")
    header, lines = random_sam(3, 600, REFS, huge=False, biopython=True)
    sam = directory / "x.sam"
    sam.write_text(header + "".join(line + "\n" for line in lines))
    bam = directory / "x.bam"
    with BamWriter(str(bam), header, index="bai") as writer:
        writer.write_many(lines)
    return sam, bam


@pytest.mark.parametrize("short_path", [True, False])
def test_parse_equals_biopython_sam(files, monkeypatch, short_path):
    """Both paths of ``iter_alignments``: the inline short path and the public-constructor
    fallback used when Biopython's objects change shape."""
    from bioformats_ext.align import bam_convert
    if not short_path:
        monkeypatch.setattr(bam_convert, "_FAST", False)
    sam, bam = files
    expected = Align.parse(str(sam), "sam")
    got = Align.parse(str(bam), "bam")
    assert type(got).__module__ == "bioformats_ext.align.bam"
    assert got.metadata == expected.metadata
    assert [t.id for t in got.targets] == [t.id for t in expected.targets]
    assert [len(t.seq) for t in got.targets] == [len(t.seq) for t in expected.targets]
    a, b = [alignment_key(x) for x in expected], [alignment_key(x) for x in got]
    assert len(a) == len(b) > 500
    assert a == b
    assert len(got) == len(b)  # rewind + count through Biopython's base class


def test_search_equals_filtering(files):
    sam, bam = files
    alignments = list(Align.parse(str(sam), "sam"))
    iterator = Align.parse(str(bam), "bam")
    rng = random.Random(2)
    for _ in range(25):
        name, length = rng.choice(REFS)
        start = rng.randrange(length)
        end = start + rng.choice([1, 100, 10_000, 500_000])
        expected = []
        for a in alignments:
            if a.target is None or a.target.id != name:
                continue
            if a.coordinates is None:  # placed unmapped read: [pos, pos + 1)
                continue
            if a.coordinates[0, 0] < end and a.coordinates[0, -1] > start:
                expected.append(alignment_key(a))
        got = [alignment_key(a) for a in iterator.search(name, start, end) if a.coordinates is not None]
        assert got == expected
    assert list(iterator.search("chrEmpty")) == []


def test_write_with_index(files, tmp_path):
    sam, _ = files
    # Biopython's SAM writer handles mapped alignments without =/X operations
    alignments = Align.parse(str(sam), "sam")
    kept = [a for a in alignments if a.coordinates is not None and not hasattr(a, "operations")]
    alignments_obj = Align.Alignments(kept)
    alignments_obj.targets = alignments.targets
    alignments_obj.metadata = alignments.metadata
    Align.write(alignments_obj, str(tmp_path / "y.sam"), "sam")
    count = Align.write(alignments_obj, str(tmp_path / "y.bam"), "bam", index="bai")
    assert count == len(kept)
    assert os.path.exists(tmp_path / "y.bam.bai")
    expected = [alignment_key(a) for a in Align.parse(str(tmp_path / "y.sam"), "sam")]
    got = [alignment_key(a) for a in Align.parse(str(tmp_path / "y.bam"), "bam")]
    # the round trip is lossless (Biopython's SAM writer drops tlen; ours keeps it)
    assert got == [alignment_key(a) for a in kept]
    assert [{k: v for k, v in a.items() if k != "tlen"} for a in got] == expected
    with pysam.AlignmentFile(str(tmp_path / "y.bam")) as bam:  # htslib reads it with our index
        assert bam.count("chr1") == sum(1 for a in kept if a.target.id == "chr1")
    # a plain list of alignments: the header's @SQ lines come from the alignments' targets
    Align.write(kept[:20], str(tmp_path / "z.bam"), "bam")
    assert len(list(Align.parse(str(tmp_path / "z.bam"), "bam"))) == 20


def test_bgzf2_bam_parses_and_searches(files, tmp_path):
    sam, _ = files
    header = "".join(line for line in sam.read_text().splitlines(True) if line.startswith("@"))
    lines = [line for line in sam.read_text().splitlines() if not line.startswith("@")]
    path = tmp_path / "x2.bam"
    with BamWriter(str(path), header, compression="bgzf2") as writer:
        writer.write_many(lines)
    expected = [alignment_key(a) for a in Align.parse(str(sam), "sam")]
    iterator = Align.parse(str(path), "bam")
    assert [alignment_key(a) for a in iterator] == expected
    got = [alignment_key(a) for a in iterator.search("chr2", 1000, 200_000)]
    bai_iter = Align.parse(str(files[1]), "bam")
    assert got == [alignment_key(a) for a in bai_iter.search("chr2", 1000, 200_000)]


def test_full_slice_and_rewind(files):
    sam, bam = files
    iterator = Align.parse(str(bam), "bam")
    first = [alignment_key(next(iterator)) for _ in range(3)]
    everything = iterator[:]  # Biopython's base class: rewinds, reads all, returns to position
    assert [alignment_key(a) for a in everything] == [alignment_key(a) for a in Align.parse(str(sam), "sam")]
    assert everything.metadata == iterator.metadata
    assert [alignment_key(a) for a in everything[:3]] == first
    assert alignment_key(next(iterator)) == alignment_key(everything[3])


def _fixed_length_sam(length: int, n: int, seed: int, no_seq: bool = False) -> tuple[str, list[str]]:
    """Reads of one length (the batch path that decodes SEQ as a 2-D array): both strands,
    soft clips, indels, MD tags, missing qualities, unmapped reads, mates (``no_seq``: all
    SEQ "*", mapped only: Biopython cannot read unmapped reads without SEQ)."""
    rng = random.Random(seed)
    header = "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr1\tLN:1000000\n@SQ\tSN:chr2\tLN:5000\n"
    cigars = [f"{length}M", f"5S{length - 5}M", f"{length - 10}M10S", f"20M2I{length - 22}M",
              f"30M5D{length - 30}M", f"3S20M4N{length - 23}M"] if length > 40 else [f"{length}M"]
    lines = []
    pos = 100
    for i in range(n):
        pos += rng.randrange(0, 50)
        flag = rng.choice([0, 16, 99, 147, 83, 163] + ([] if no_seq else [4, 4 | 16]))
        cigar = "*" if flag & 4 else rng.choice(cigars)
        seq = "*" if no_seq else "".join(rng.choice("ACGTN") for _ in range(length))
        qual = "*" if no_seq or rng.random() < 0.2 else "".join(
            chr(rng.randint(33, 73)) for _ in range(length))
        tags = [f"NM:i:{rng.randrange(3)}", f"AS:i:{rng.randrange(100)}"]
        if cigar == f"{length}M" and not no_seq and rng.random() < 0.5:
            tags.append(f"MD:Z:{length}")
        mate = rng.choice([("*", "0", "0"), ("=", str(pos + 150), "250")])
        if flag & 4:  # placed unmapped reads sit at their mate (SAM's convention)
            mate = ("=", str(pos), "0")
        lines.append("\t".join([f"q{i}", str(flag), "chr1", str(pos), "60", cigar, *mate,
                                seq, qual, *tags]))
    return header, lines


@pytest.mark.parametrize("length,no_seq", [(100, False), (101, False), (1, False), (50, True)])
def test_fixed_length_reads_equal_biopython(tmp_path, length, no_seq):
    header, lines = _fixed_length_sam(length, 300, length, no_seq)
    sam = tmp_path / "f.sam"
    sam.write_text(header + "".join(line + "\n" for line in lines))
    bam = tmp_path / "f.bam"
    with BamWriter(str(bam), header) as writer:
        writer.write_many(lines)
    expected = [alignment_key(a) for a in Align.parse(str(sam), "sam")]
    got = [alignment_key(a) for a in Align.parse(str(bam), "bam")]
    assert len(got) == 300
    assert got == expected
