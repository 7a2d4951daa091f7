"""Bio.Align bigBed writer (AlignmentWriter) and the ``bedtobigbed`` command.

Reference: Biopython's own bigBed writer, which follows bedToBigBed; for every UCSC fixture we
read with Biopython, our writer must produce Biopython's bytes (and, where the text in the file
is the canonical declaration, UCSC's).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from Bio import Align
from Bio.Align import Alignments
from Bio.Align import bigbed as bio_bigbed

from bioformats_ext import bigbed
from bioformats_ext.align.bigbed_writer import AlignmentWriter
from bioformats_ext.cli import main as cli_main
from bioformats_ext.errors import RecordError, SortOrderError

from helpers.bigbed import UCSC, ladder_alignments

READABLE = [p for p in sorted(UCSC.glob("*.bb")) if "bigendian" not in p.name]


def _biopython_bytes(path, tmp_path) -> bytes:
    alignments = bio_bigbed.AlignmentIterator(str(path))
    out = tmp_path / "biopython.bb"
    bio_bigbed.AlignmentWriter(str(out), bedN=alignments.bedN, declaration=alignments.declaration,
                               targets=alignments.targets).write(alignments)
    return out.read_bytes()


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name)
def test_same_bytes_as_biopython_writer(path, tmp_path):
    alignments = bio_bigbed.AlignmentIterator(str(path))
    items = list(alignments)
    out = io.BytesIO()
    # Biopython counts a zero-length item as one base in zoom levels and the total summary;
    # bedToBigBed (our default) as none: zero_length_bases=1 reproduces Biopython byte for byte
    n = AlignmentWriter(out, bedN=alignments.bedN, declaration=alignments.declaration,
                        targets=alignments.targets, zero_length_bases=1).write(items)
    assert n == len(items)
    assert out.getvalue() == _biopython_bytes(path, tmp_path)


def test_bed12_fixture_round_trip_equals_ucsc_records():
    path = UCSC / "bed12.bb"
    alignments = bio_bigbed.AlignmentIterator(str(path))
    out = io.BytesIO()
    AlignmentWriter(out, targets=alignments.targets).write(alignments)
    ours = bigbed.open(io.BytesIO(out.getvalue()))
    ucsc = bigbed.open(path)
    assert list(ours.records()) == list(ucsc.records())
    assert ours.total_summary == ucsc.total_summary
    assert ours.header.zoomLevels == ucsc.header.zoomLevels


def _targets_of(items):
    return [items[0].target]


def test_list_generator_alignments_and_bytesio(tmp_path):
    target, items = ladder_alignments()
    ref = io.BytesIO()
    assert AlignmentWriter(ref, targets=[target]).write(items) == len(items)
    gen = io.BytesIO()
    assert AlignmentWriter(gen, targets=[target]).write(a for a in items) == len(items)
    assert gen.getvalue() == ref.getvalue()
    alns = Alignments(items)
    alns.targets = [target]
    path = tmp_path / "x.bb"
    assert AlignmentWriter(path).write(alns) == len(items)  # targets from alignments.targets
    assert path.read_bytes() == ref.getvalue()
    got = list(bio_bigbed.AlignmentIterator(str(path)))
    assert [a.query.id for a in got] == [a.query.id for a in items]
    assert all((a.coordinates[0] == b.coordinates[0]).all() for a, b in zip(got, items))


def test_our_iterator_as_input(tmp_path):
    from bioformats_ext.align.bigbed import AlignmentIterator

    path = UCSC / "psl_34_001.bb"
    ours = AlignmentIterator(str(path))
    out = io.BytesIO()
    AlignmentWriter(out, bedN=ours.bedN, declaration=ours.declaration).write(ours)
    assert list(bigbed.open(io.BytesIO(out.getvalue())).records()) == \
        list(bigbed.open(path).records())


def test_zero_alignments_give_valid_file(tmp_path):
    target, _ = ladder_alignments(1)
    path = tmp_path / "empty.bb"
    assert AlignmentWriter(path, targets=[target]).write([]) == 0
    f = bigbed.open(path)
    assert len(f) == 0 and list(f.records()) == []


def test_errors_are_typed_and_leave_no_file(tmp_path):
    target, items = ladder_alignments()
    path = tmp_path / "bad.bb"
    with pytest.raises(SortOrderError) as info:
        AlignmentWriter(path, targets=[target]).write(items[::-1])
    assert info.value.record == 2  # 1-based
    items[3].score = 5000
    with pytest.raises(RecordError) as info:
        AlignmentWriter(path, targets=[target]).write(items)
    assert info.value.record == 4 and "score" in str(info.value)
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError):
        AlignmentWriter(path, bedN=13)
    with pytest.raises(ValueError):
        AlignmentWriter(io.BytesIO()).write(items)  # no targets anywhere


def test_bio_align_write_uses_our_writer(tmp_path):
    import bioformats_ext  # noqa: F401  (installs the plugin modules)
    from bioformats_ext.align import bigbed as align_bigbed

    if getattr(align_bigbed, "AlignmentWriter", None) is not AlignmentWriter:
        pytest.skip("Bio.Align.write not wired to this writer yet")
    target, items = ladder_alignments()
    out = io.BytesIO()
    assert Align.write(items, out, "bigBed", targets=[target]) == len(items)
    ref = io.BytesIO()
    AlignmentWriter(ref, targets=[target]).write(items)
    assert out.getvalue() == ref.getvalue()


# -- command line ---------------------------------------------------------------------------------
def _sizes_of(bb, tmp_path):
    path = tmp_path / "chrom.sizes"
    path.write_text("".join(f"{c}\t{s}\n" for c, s in bigbed.open(bb).chroms.items()))
    return path


def test_bedtobigbed_matches_ucsc(tmp_path):
    bb = UCSC / "bed6.bb"
    raw = bb.read_bytes()
    h = bigbed.open(bb).header
    as_file = tmp_path / "bed6.as"
    as_file.write_bytes(raw[h.autoSqlOffset:h.totalSummaryOffset - 1])
    out = tmp_path / "out.bb"
    rc = cli_main(["bedtobigbed", "-type=bed6", f"-as={as_file}", str(UCSC / "bed6.bed"),
                   str(_sizes_of(bb, tmp_path)), str(out)])
    assert rc == 0 and out.read_bytes() == raw
    out2 = tmp_path / "out2.bb"
    rc = cli_main(["bedtobigbed", "-type=bed6", f"-as={as_file}", "-sizesIsBb",
                   str(UCSC / "bed6.bed"), str(bb), str(out2)])
    assert rc == 0 and out2.read_bytes() == raw


def test_bedtobigbed_options(tmp_path):
    bed = tmp_path / "in.bed"
    bed.write_text("chr1 10 20 a 5 +\nchr1 15 40 b 7 -\nchr2 1 2 c 0 .\n")
    sizes = tmp_path / "chrom.sizes"
    sizes.write_text("chr1\t1000\nchr2\t500\n")
    out = tmp_path / "o.bb"
    assert cli_main(["bedtobigbed", "-unc", "-blockSize=4", "-itemsPerSlot=2",
                     "-extraIndex=name", str(bed), str(sizes), str(out)]) == 0
    f = bigbed.open(out)
    assert f.header.uncompressBufSize == 0 and f.header.definedFieldCount == 6
    assert list(f.find("name", "b")) == [("chr1", 15, 40, "b\t7\t-")]
    # -tab keeps spaces inside fields
    tab = tmp_path / "tab.bed"
    tab.write_text("chr1\t10\t20\tname with space\n")
    assert cli_main(["bedtobigbed", "-tab", str(tab), str(sizes), str(out)]) == 0
    assert list(bigbed.open(out).records()) == [("chr1", 10, 20, "name with space")]


def test_bedtobigbed_errors(tmp_path, capsys):
    bed = tmp_path / "in.bed"
    bed.write_text("chr1\t10\t20\nchr1\t5\t30\n")
    sizes = tmp_path / "chrom.sizes"
    sizes.write_text("chr1\t1000\n")
    out = tmp_path / "o.bb"
    assert cli_main(["bedtobigbed", str(bed), str(sizes), str(out)]) == 1
    assert "line 2" in capsys.readouterr().err
    assert not out.exists() and sorted(os.listdir(tmp_path)) == ["chrom.sizes", "in.bed"]
    assert cli_main(["bedtobigbed", "-bogus", str(bed), str(sizes), str(out)]) == 2  # usage
    assert cli_main(["bedtobigbed", str(bed)]) == 2


def test_bedtobigbed_interrupted_leaves_nothing(tmp_path):
    bed = tmp_path / "big.bed"
    with open(bed, "w") as handle:
        for i in range(300_000):
            handle.write(f"chr1\t{i}\t{i + 50}\n")
    sizes = tmp_path / "chrom.sizes"
    sizes.write_text("chr1\t1000000\n")
    out = tmp_path / "o.bb"
    code = ("import sys, signal, threading, os\n"
            "from bioformats_ext.cli import main\n"
            "threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
            f"sys.exit(main(['bedtobigbed', {str(bed)!r}, {str(sizes)!r}, {str(out)!r}]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    leftovers = [p for p in os.listdir(tmp_path) if p.startswith("o.bb")]
    if proc.returncode == 0:  # finished before the interrupt: then the file must be complete
        assert leftovers == ["o.bb"] and len(bigbed.open(out)) == 300_000
    else:
        assert leftovers == []


def test_bedtobigbed_bed_plus_with_extra_indices_matches_ucsc(tmp_path):
    ucsc = UCSC / "bigbed_extended.littleendian.bb"
    f = bigbed.open(ucsc)
    raw = ucsc.read_bytes()
    h = f.header
    as_file = tmp_path / "ext.as"
    as_file.write_bytes(raw[h.autoSqlOffset:h.totalSummaryOffset - 1])
    bed = tmp_path / "ext.bed"
    bed.write_text("".join(f"{c}\t{s}\t{e}\t{r}\n" for c, s, e, r in f.records()))
    out = tmp_path / "ext.bb"
    rc = cli_main(["bedtobigbed", "-type=bed9+", f"-as={as_file}", "-tab",
                   "-extraIndex=name,geneSymbol", str(bed), str(_sizes_of(ucsc, tmp_path)),
                   str(out)])
    assert rc == 0 and out.read_bytes() == raw


def test_threads_give_the_same_bytes():
    """Compressing on threads writes exactly the bytes of the single-threaded writer, also
    through Bio.Align.write, and a failed threaded write raises the typed error."""
    import random

    from Bio.Align import Alignment
    from Bio.Seq import Seq
    from Bio.SeqRecord import SeqRecord
    import numpy as np

    rng = random.Random(5)
    target = SeqRecord(Seq(None, length=10_000_000), id="chr1")
    items = []
    for i, start in enumerate(sorted(rng.randrange(9_000_000) for _ in range(6000))):
        size = rng.randrange(20, 900)
        query = SeqRecord(Seq(None, length=size), id=f"q{i}")
        a = Alignment([target, query], np.array([[start, start + size], [0, size]]))
        a.score = rng.randrange(1000)
        items.append(a)
    outputs = {}
    for threads in (1, 2, 3):
        out = io.BytesIO()
        AlignmentWriter(out, targets=[target], bedN=6, threads=threads).write(items)
        outputs[threads] = out.getvalue()
    assert outputs[1] == outputs[2] == outputs[3]
    via_bio = io.BytesIO()  # Bio.Align.write passes the keyword on to our writer
    Align.write(items, via_bio, "bigBed", targets=[target], bedN=6, threads=2)
    assert via_bio.getvalue() == outputs[1]
    assert len(list(bigbed.open(io.BytesIO(outputs[2])).records())) == len(items)
    with pytest.raises(SortOrderError):
        AlignmentWriter(io.BytesIO(), targets=[target], bedN=6, threads=2).write(items[::-1])
