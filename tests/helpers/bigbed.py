"""Shared helpers for the bigBed tests: UCSC fixture list, field-by-field Alignment comparison,
alignment generators and bigBed files written by Biopython (the reference writer)."""

from __future__ import annotations

import io
import random

import numpy as np
from Bio import Align
from Bio.Align import bigbed as bio_bigbed
from Bio.Seq import Seq
from Bio.SeqRecord import SeqRecord

from bioformats_ext import bigbed
from bioformats_ext.align.bigbed import AlignmentIterator
from conftest import DATA

UCSC = DATA / "ucsc-bigbed"
FIXTURES = sorted(UCSC.glob("*.bb"))


def assert_same_alignment(ours, theirs, where: str = "") -> None:
    """Every attribute equal: records (id, name, description, length, sequence kind, dbxrefs,
    annotations, features), coordinates (values and dtype), score, thick*, itemRgb, annotations."""
    assert type(ours) is type(theirs), where
    assert ours.__dict__.keys() == theirs.__dict__.keys(), (where, ours.__dict__.keys(),
                                                            theirs.__dict__.keys())
    for key, value in theirs.__dict__.items():
        mine = ours.__dict__[key]
        if key == "coordinates":
            assert mine.dtype == value.dtype, where
            assert np.array_equal(mine, value), (where, mine, value)
        elif key == "sequences":
            assert len(mine) == len(value), where
            for a, b in zip(mine, value):
                assert a.__dict__.keys() == b.__dict__.keys(), where
                for k in ("id", "name", "description", "dbxrefs", "annotations", "features",
                          "_per_letter_annotations"):
                    assert getattr(a, k) == getattr(b, k), (where, k)
                assert len(a) == len(b), where
                assert repr(a.seq) == repr(b.seq), where
        else:
            assert mine == value and type(mine) is type(value), (where, key, mine, value)


def exercise(data: bytes) -> None:
    """Everything a user can do with a bigBed (records, queries, summaries, Bio.Align);
    fuzz tests call it on damaged bytes and expect only typed errors."""
    with bigbed.open(data) as bb:
        list(bb.records())
        for chrom, size in bb.chroms.items():
            list(bb.records(chrom, 0, size))
            bb.summary(chrom, 0, max(size, 1), bins=3)
            bb.summary(chrom, 0, max(size, 1), bins=3, exact=True)
    alignments = AlignmentIterator(data)
    list(alignments)
    for target in alignments.targets:
        list(alignments.search(target.id))


# -- generators and Biopython's writer (the reference bigBed bytes) -----------------------------

def targets_of(sizes) -> list:
    """``SeqRecord`` targets of undefined sequence, one per ``(name, length)``."""
    return [SeqRecord(Seq(None, length=n), id=c) for c, n in dict(sizes).items()]


def biopython_bigbed(path, bed_text: str, sizes, bedN: int = 6, **options):
    """``path`` written by Biopython's bigBed writer from BED text (it follows bedToBigBed);
    ``options`` go to ``Bio.Align.bigbed.AlignmentWriter`` (compress, extraIndex, blockSize ...)."""
    class _Alignments(list):  # Biopython's writer reads ``.targets`` off the collection
        pass

    data = _Alignments(Align.parse(io.StringIO(bed_text), "bed") if bed_text else [])
    data.targets = targets_of(sizes)
    with open(path, "wb") as out:
        bio_bigbed.AlignmentWriter(out, bedN=bedN, targets=data.targets, **options).write(data)
    return path


def random_alignments(n: int, seed: int, n_targets: int = 3, length: int = 5_000_000):
    """``n`` alignments per target, sorted, walking from 0 (repeated starts): 1-6 blocks,
    either strand, scores, thickStart/End and itemRgb: ``(targets, alignments)``."""
    rng = random.Random(seed)
    targets = targets_of([(f"chr{i}", length) for i in range(1, n_targets + 1)])
    items = []
    for target in targets:
        pos = 0
        for i in range(n):
            pos += rng.randint(0, 3000)
            blocks = rng.randint(1, 6)
            t, q, qlen = [pos], [0], 0
            for b in range(blocks):
                size = rng.randint(1, 400)
                t.append(t[-1] + size)
                qlen += size
                q.append(qlen)
                if b < blocks - 1:
                    t.append(t[-1] + rng.randint(1, 2000))
                    q.append(qlen)
            coords = np.array([t, q])
            strand = rng.choice("+-")
            query = SeqRecord(Seq(None, length=qlen), id=f"{target.id}_q{i}_{rng.randint(0, 99)}")
            if strand == "-":
                coords[1] = qlen - coords[1]
            a = Align.Alignment([target, query], coords)
            a.score = rng.randint(0, 1000)
            start, end = int(coords[0, 0]), int(coords[0, -1])
            a.thickStart = rng.randint(start, end)
            a.thickEnd = rng.randint(a.thickStart, end)
            a.itemRgb = rng.choice(["0", "255,0,0", "12,34,56"])
            items.append(a)
    return targets, items


def ladder_alignments(n: int = 50, length: int = 100_000):
    """``n`` two-block alignments 100 bp apart on one target, score = index (predictable
    items for writer checks): ``(target, alignments)``."""
    target = targets_of([("chr1", length)])[0]
    items = []
    for i in range(n):
        query = SeqRecord(Seq(None, length=30), id=f"q{i}")
        a = Align.Alignment([target, query],
                            [[100 * i, 100 * i + 10, 100 * i + 30, 100 * i + 50],
                             [0, 10, 10, 30]])
        a.score = i
        items.append(a)
    return target, items
