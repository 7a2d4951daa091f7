"""The vectorised Align.write path gives exactly the bytes of the per-record path and of
Biopython's writer, on varied random alignments (strands, blocks, scores, colours, bedN)."""

from __future__ import annotations

import io

import pytest
from Bio import Align
from Bio.Align import bigbed as bio_bigbed

import bioformats_ext.align.bigbed_writer as writer_module
from bioformats_ext import bigbed
from bioformats_ext.align.bigbed_writer import AlignmentWriter
from helpers.bigbed import random_alignments


@pytest.mark.parametrize("bedN", [6, 9, 12])
def test_fast_path_equals_per_record_path_and_biopython(bedN, monkeypatch, tmp_path):
    targets, items = random_alignments(700, seed=bedN)
    original = writer_module._fast_batch
    used = []

    def spy(*args, **kwargs):
        result = original(*args, **kwargs)
        used.append(result is not None)
        return result

    fast = io.BytesIO()
    with monkeypatch.context() as m:
        m.setattr(writer_module, "_fast_batch", spy)
        AlignmentWriter(fast, bedN=bedN, targets=targets).write(items)
    assert used and all(used)          # every batch went through the vectorised path
    with monkeypatch.context() as m:
        m.setattr(writer_module, "_fast_batch", lambda *args, **kwargs: None)
        slow = io.BytesIO()
        AlignmentWriter(slow, bedN=bedN, targets=targets).write(items)
    assert fast.getvalue() == slow.getvalue()
    theirs = tmp_path / "biopython.bb"
    bio_bigbed.AlignmentWriter(str(theirs), bedN=bedN, targets=targets).write(
        Align.Alignments(items))
    assert fast.getvalue() == theirs.read_bytes()


def test_extra_index_below_bed12(tmp_path):
    targets, items = random_alignments(200, seed=3)
    out = io.BytesIO()
    AlignmentWriter(out, bedN=6, targets=targets, extraIndex=["name"]).write(items)
    theirs = tmp_path / "biopython.bb"
    bio_bigbed.AlignmentWriter(str(theirs), bedN=6, targets=targets,
                               extraIndex=["name"]).write(Align.Alignments(items))
    assert out.getvalue() == theirs.read_bytes()
    out.seek(0)
    with bigbed.open(out) as bb:
        wanted = items[123]
        found = list(bb.find("name", wanted.query.id))
        assert (found[0][0], found[0][1]) == (wanted.target.id, int(wanted.coordinates[0, 0]))
        assert all(rec[3].split("\t")[0] == wanted.query.id for rec in found)
