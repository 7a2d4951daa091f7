"""Our writer's output read back by our reader, for files at the edges of the format."""

from __future__ import annotations

import io

import pytest
from Bio import Align

import bioformats_ext  # noqa: F401
from bioformats_ext import bigbed
from bioformats_ext.errors import UnknownReferenceError


def test_highly_compressible_file_is_read_back():
    # 60,000 identical tiny records compress to far less than 12 bytes each; a reader that bounds
    # the item count by the compressed size would wrongly call this file corrupt.
    records = [("chr1", i, i + 1, None) for i in range(60_000)]
    out = io.BytesIO()
    bigbed.write(records, {"chr1": 100_000}, out, bed_type="bed3")
    out.seek(0)
    with bigbed.open(out) as bb:
        assert len(bb) == 60_000
        got = list(bb.records())
    assert got == [(c, s, e, None) for c, s, e, _ in records]


def test_empty_input_round_trips_through_bio_align():
    out = io.BytesIO()
    assert Align.write([], out, "bigBed", targets=[]) == 0
    out.seek(0)
    alignments = Align.parse(out, "bigBed")
    assert len(alignments) == 0
    assert list(alignments) == []


def test_empty_bulk_write_with_chromosomes_reads_back():
    out = io.BytesIO()
    bigbed.write([], {"chr1": 1000, "chr2": 500}, out, bed_type="bed6")
    out.seek(0)
    with bigbed.open(out) as bb:
        assert list(bb.records()) == []
        # Like bedToBigBed, only chromosomes that have items are listed.
        assert bb.chroms == {}
        with pytest.raises(UnknownReferenceError):
            list(bb.records("chr1", 0, 1000))


def test_close_after_a_failed_batch_is_a_typed_error_and_leaves_no_file(tmp_path):
    from bioformats_ext.bbi.write import BigBedWriter
    from bioformats_ext.errors import BioformatsError, SortOrderError

    target = tmp_path / "out.bb"
    writer = BigBedWriter(target, {"chr1": 1000}, bed_type="bed3")
    with pytest.raises(SortOrderError):
        writer.write_records([("chr1", 500, 600, None), ("chr1", 100, 200, None)])
    with pytest.raises(BioformatsError, match="earlier write_batch failed"):
        writer.close()
    assert list(tmp_path.iterdir()) == []
