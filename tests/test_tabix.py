"""TabixWriter / TabixReader for BED, GFF and SAM text: co-produced TBI/CSI equal what tabix
(pysam.tabix_index) builds from the same file; fetch equals pysam's."""

from __future__ import annotations

import os
import random
import shutil

import pytest

pysam = pytest.importorskip("pysam")

from bioformats_ext.errors import MissingIndexError, RecordError, SortOrderError  # noqa: E402
from bioformats_ext.tabix import TabixReader, TabixWriter  # noqa: E402
from helpers import index_content  # noqa: E402
from helpers.text import random_intervals  # noqa: E402

CHROMS = [("chr1", 3_000_000), ("chr2", 400_000), ("chrM", 16_000)]


def _rows(seed: int, n: int):
    """Starts in each contig's first half; spans 1 bp to 150 kb (many bins, long records)."""
    return random_intervals(seed, [(c, length, n // len(CHROMS)) for c, length in CHROMS],
                            lambda rng: rng.choice([1, 20, 500, 40_000, 150_000]), margin=0.5)


def _bed(seed=1, n=3000):
    return "#track name=x\n", [f"{c}\t{s}\t{e}\tf{i}\t0\t+" for c, s, e, i in _rows(seed, n)]


def _gff(seed=2, n=3000):
    return "##gff-version 3\n", [f"{c}\tsrc\tgene\t{s + 1}\t{e}\t.\t+\t.\tID=g{i}"
                                 for c, s, e, i in _rows(seed, n)]


def _sam(seed=3, n=3000):
    header = "".join(f"@SQ\tSN:{c}\tLN:{n_}\n" for c, n_ in CHROMS)
    lines = [f"r{i}\t0\t{c}\t{s + 1}\t60\t10M{e - s}N10M\t*\t0\t0\t{'A' * 20}\t*"
             for c, s, e, i in _rows(seed, n)]
    return header, lines


@pytest.mark.parametrize("preset,make", [("bed", _bed), ("gff", _gff), ("sam", _sam)])
@pytest.mark.parametrize("index", ["tbi", "csi"])
def test_presets_match_tabix(tmp_path, preset, make, index):
    header, lines = make()
    ours = str(tmp_path / f"x.{preset}.gz")
    with TabixWriter(ours, header, preset=preset, index=index) as writer:
        writer.write_many(lines)
    os.mkdir(tmp_path / "ref")
    theirs = str(tmp_path / "ref" / f"x.{preset}.gz")
    shutil.copy(ours, theirs)
    pysam.tabix_index(theirs, preset=preset, force=True, csi=index == "csi")
    assert index_content(f"{ours}.{index}") == index_content(f"{theirs}.{index}")
    reader = TabixReader(ours)
    assert reader.header == header
    assert list(reader) == lines
    rng = random.Random(4)
    with pysam.TabixFile(theirs, index=f"{theirs}.{index}") as tf:
        for _ in range(40):
            name, length = rng.choice(CHROMS)
            start = rng.randrange(length)
            end = start + rng.choice([1, 1000, 100_000])
            assert list(reader.fetch(name, start, end)) == list(tf.fetch(name, start, end))


def test_unsorted_and_bad_lines(tmp_path):
    header, lines = _bed()
    with pytest.raises(SortOrderError):
        with TabixWriter(str(tmp_path / "u.bed.gz"), header, index="tbi") as writer:
            writer.write_many(lines[::-1])
    with pytest.raises(RecordError):
        with TabixWriter(str(tmp_path / "b.bed.gz"), header, index="tbi") as writer:
            writer.write("chr1\tnot-a-number\t5")
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError):  # header lines must carry the meta character
        TabixWriter(str(tmp_path / "h.bed.gz"), "track x\n", preset="bed")


def test_missing_index_and_no_index_written(tmp_path):
    header, lines = _bed()
    path = str(tmp_path / "n.bed.gz")
    with TabixWriter(path, header) as writer:
        writer.write_many(lines)
    assert os.listdir(tmp_path) == ["n.bed.gz"]
    with pytest.raises(MissingIndexError):
        list(TabixReader(path, preset="bed").fetch("chr1", 0, 10))
    # a second-pass tabix index over our file works with our reader
    pysam.tabix_index(path, preset="bed", force=True)
    expected = [ln for ln in lines if ln.startswith("chrM\t")]
    assert list(TabixReader(path).fetch("chrM")) == expected


def test_bgzf2_bed(tmp_path):
    header, lines = _bed(n=2000)
    path = str(tmp_path / "x.bed.gz")
    with TabixWriter(path, header, preset="bed", compression="bgzf2") as writer:
        writer.write_many(lines)
    reader = TabixReader(path)  # the preset travels in the BGZF2 metadata
    assert reader.container == "bgzf2"
    assert reader.config.zero_based and reader.meta == b"#"
    assert list(reader) == lines
    rows = [ln.split("\t") for ln in lines]
    for name, start, end in [("chr1", 0, 100), ("chr2", 10_000, 20_000), ("chrM", 0, 16_000),
                             ("chr1", 2_500_000, 2_900_000)]:
        expected = [ln for ln, r in zip(lines, rows)
                    if r[0] == name and int(r[1]) < end and int(r[2]) > start]
        assert list(reader.fetch(name, start, end)) == expected


def test_comment_lines_mid_file_are_written_not_indexed(tmp_path):
    header, lines = _bed(seed=7, n=4000)
    mixed = []
    for i, line in enumerate(lines):
        mixed.append(line)
        if i % 97 == 0:
            mixed.append("#" + "c" * (i % 300))
    ours = str(tmp_path / "m.bed.gz")
    with TabixWriter(ours, header, preset="bed", index="tbi") as writer:
        writer.write_many(mixed[:1500])
        for line in mixed[1500:1600]:
            writer.write(line)
        writer.write_many(mixed[1600:])
    os.mkdir(tmp_path / "ref")
    theirs = str(tmp_path / "ref" / "m.bed.gz")
    shutil.copy(ours, theirs)
    pysam.tabix_index(theirs, preset="bed", force=True)
    assert index_content(ours + ".tbi") == index_content(theirs + ".tbi")
    assert list(TabixReader(ours)) == lines


def test_plain_and_file_object_targets(tmp_path):
    import io

    header, lines = _gff(n=500)
    buf, ibuf = io.BytesIO(), io.BytesIO()
    with TabixWriter(buf, header, preset="gff", index="tbi", index_path=ibuf) as writer:
        writer.write_many(lines)
    (tmp_path / "g.gff.gz").write_bytes(buf.getvalue())
    (tmp_path / "g.gff.gz.tbi").write_bytes(ibuf.getvalue())
    with pysam.TabixFile(str(tmp_path / "g.gff.gz")) as tf:
        assert list(tf.fetch("chr2")) == [ln for ln in lines if ln.startswith("chr2\t")]
    with pytest.raises(ValueError, match="index_path"):
        TabixWriter(io.BytesIO(), header, preset="gff", index="tbi")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bgzf_write_records_layout_and_offsets(seed):
    """BgzfWriter.write_records lays records out like write_record (same bytes), and the end
    offsets it reports (plus on_amend for each batch's last record) equal a reader's view:
    htslib's normalised offset of each record end, computed here from the blocks read back."""
    import io

    import numpy as np

    from bioformats_ext.bgzf import BgzfReader, BgzfWriter

    rng = random.Random(seed)
    sizes = [rng.choice([1, 7, 300, 5000, 0xFF00 - 1, 0xFF00, 0xFF01, 70_000, 200_000])
             for _ in range(300)]
    records = [bytes([65 + i % 26]) * n for i, n in enumerate(sizes)]
    reference_out = io.BytesIO()
    reference = BgzfWriter(reference_out, level=1)
    reference.write(b"header")
    reference.flush()
    for rec in records:
        reference.write_record(rec)
    reference.close()
    batch_out = io.BytesIO()
    writer = BgzfWriter(batch_out, level=1)
    writer.write(b"header")
    writer.flush()
    got: list[int] = []

    def amend(end):
        got[-1] = end
    writer.on_amend = amend
    for lo in range(0, len(records), 37):
        chunk = records[lo:lo + 37]
        got += writer.write_records(b"".join(chunk), np.array([len(r) for r in chunk])).tolist()
    writer.flush()
    addresses = writer.block_addresses()
    writer.close()
    assert batch_out.getvalue() == reference_out.getvalue()
    # the reader's view: a record ending at the end of a block's data ends at the next block
    blocks = list(BgzfReader(io.BytesIO(batch_out.getvalue())).iter_blocks())
    starts = np.cumsum([0] + [len(d) for _, d in blocks])
    expected = []
    pos = len(b"header")
    for size in sizes:
        pos += size
        k = int(np.searchsorted(starts, pos, side="left"))  # block whose data ends at/after pos
        if starts[k] == pos:
            expected.append(int(blocks[k][0]) << 16 if k < len(blocks) else None)
        else:
            expected.append((int(blocks[k - 1][0]) << 16) | int(pos - starts[k - 1]))
    real = [int(addresses[v >> 16]) << 16 | (v & 0xFFFF) for v in got]
    assert real == expected
