"""Bio.Align "bam" built from decoded records: equal to Biopython's SAM parser on every htslib
corpus record that parser reads correctly, equal to pysam's decoding on the others (B arrays,
H tags, padding, spaces); writing keeps unmapped reads; fuzzed BAM gives typed errors only."""

from __future__ import annotations

import io

import numpy as np
import pytest

pysam = pytest.importorskip("pysam")

import bioformats_ext  # noqa: E402,F401  (registers the format)
import bioformats_ext.bam as B  # noqa: E402
from Bio import Align  # noqa: E402
from bioformats_ext.errors import BioformatsError  # noqa: E402
from helpers import CORPUS, alignment_key, bam_stream, every_tag_bam, to_bam  # noqa: E402

pysam.set_verbosity(0)


def _biopython_one(header: str, line: str):
    """Biopython's alignment for one SAM line, or None when it cannot read it correctly."""
    fields = line.split("\t")
    tags = fields[11:]
    if any(t[3:4] in ("H", "B") for t in tags) or " " in line or "P" in fields[5]:
        return None  # its parser misreads / rejects these (the defects this module fixes)
    if fields[9] == "*" and any(t.startswith("MD:") for t in tags):
        return None  # it rebuilds the target from the sequence "*" (we keep the MD tag)
    try:
        return next(iter(Align.parse(io.StringIO(header + line + "\n"), "sam")))
    except Exception:  # noqa: BLE001 - any failure of the reference parser
        return None


def _blocks(alignment):
    c = alignment.coordinates
    steps = np.diff(c, axis=1)
    return [(int(c[0, k]), int(c[0, k + 1])) for k in range(steps.shape[1])
            if steps[0, k] != 0 and steps[1, k] != 0]


def _check_against_pysam(ours, rec) -> None:
    assert ours.flag == rec.flag
    assert ours.query.id == rec.query_name
    seq = ours.query.seq
    if rec.query_sequence is None:
        assert not seq.defined or len(seq) == 0
    else:
        text = str(seq)
        if not rec.is_unmapped and rec.is_reverse:
            text = str(ours.query.seq.reverse_complement())
        assert text == rec.query_sequence
    if rec.is_unmapped:
        assert ours.coordinates is None and ours.target is None
    else:
        assert ours.target.id == rec.reference_name
        assert ours.coordinates[0, 0] == rec.reference_start
        span = sum(n for op, n in rec.cigartuples if op in (0, 2, 3, 7, 8))
        assert ours.coordinates[0, -1] == rec.reference_start + span
        assert _blocks(ours) == rec.get_blocks()
        assert getattr(ours, "mapq", 255) == rec.mapping_quality
    annotations = getattr(ours, "annotations", {})
    for tag, value, kind in rec.get_tags(with_value_type=True):
        value = rec.get_tag(tag)
        if tag == "AS" and kind in "cCsSiI":
            assert ours.score == value
        elif tag == "MD" and not rec.is_unmapped and rec.query_sequence is not None:
            continue  # consumed to rebuild the target
        elif kind == "B":
            assert annotations[tag].tolist() == list(value)
        elif kind == "H":
            assert annotations[tag] == bytes.fromhex(value)
        elif kind == "f":
            assert annotations[tag] == float("%g" % value)
        else:
            assert annotations[tag] == value


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_alignments(name, tmp_path):
    bam = to_bam(name, tmp_path)
    text = pysam.samtools.view("--no-PG", "-h", str(bam))
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("@"))
    lines = [line for line in text.splitlines() if not line.startswith("@")]
    with pysam.AlignmentFile(str(bam), check_sq=False) as f:
        records = list(f.fetch(until_eof=True))
    ours = list(Align.parse(str(bam), "bam"))
    assert len(ours) == len(lines) == len(records)
    compared = 0
    for alignment, line, rec in zip(ours, lines, records):
        expected = _biopython_one(header, line) if "@SQ\t" in header or rec.is_unmapped else None
        if expected is not None:
            got = alignment_key(alignment)
            if rec.is_unmapped and "rname" in got:  # placement Biopython drops; we keep it
                assert (got.pop("rname"), got.pop("pos")) == (rec.reference_name or "*",
                                                               rec.reference_start)
            assert got == alignment_key(expected), line
            compared += 1
        else:
            _check_against_pysam(alignment, rec)
    if name in ("ce_1.sam", "index.sam", "range.bam", "ce_5b.sam"):
        assert compared == len(lines)


def test_roundtrip_keeps_everything(tmp_path):
    """Align.write(..., "bam") of what Align.parse read gives the same records back, unmapped
    reads, B arrays, H tags and =/X/N operations included."""
    src = tmp_path / "gen.bam"
    every_tag_bam(src, n=800, seed=3)
    pysam.samtools.index("-c", str(src))
    alignments = Align.parse(str(src), "bam")
    out = tmp_path / "out.bam"
    count = Align.write(alignments, str(out), "bam", index="csi")
    assert count == 840
    again = [alignment_key(a) for a in Align.parse(str(out), "bam")]
    assert again == [alignment_key(a) for a in Align.parse(str(src), "bam")]
    assert any(a["coordinates"] is None for a in again)
    assert any("operations" in a for a in again)
    with pysam.AlignmentFile(str(out)) as theirs, pysam.AlignmentFile(str(src)) as orig:
        got = list(theirs.fetch(until_eof=True))
        want = list(orig.fetch(until_eof=True))
        assert [r.reference_start for r in got] == [r.reference_start for r in want]
        assert [r.cigarstring for r in got] == [r.cigarstring for r in want]
        assert [r.get_tag("ML") if r.has_tag("ML") else None for r in got] == \
            [r.get_tag("ML") if r.has_tag("ML") else None for r in want]
        assert theirs.count("chr2") == orig.count("chr2")
    hits = list(Align.parse(str(out), "bam").search("chr2", 1000, 100_000))
    assert len(hits) == pysam.AlignmentFile(str(out)).count("chr2", 1000, 100_000)


def test_bad_alignment_gives_typed_error(tmp_path):
    from Bio.Align import Alignment
    from Bio.Seq import Seq
    from Bio.SeqRecord import SeqRecord

    target = SeqRecord(Seq(None, length=1000), id="chr1")
    query = SeqRecord(Seq("ACGT"), id="q")
    bad = Alignment([target, query], np.array([[10, 14], [0, 4]]))
    bad.annotations = {"XX": object()}
    with pytest.raises(BioformatsError):
        Align.write([bad], str(tmp_path / "bad.bam"), "bam")
    assert not (tmp_path / "bad.bam").exists()


# -- fuzzing -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def records_blob(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "f.bam"
    every_tag_bam(path, n=60, seed=9)
    return bam_stream(path)


def _consume(payload: bytes) -> None:
    """Read a whole BAM every way we offer (records, columns, Bio.Align)."""
    from bioformats_ext.bgzf import BgzfWriter

    buf = io.BytesIO()
    with BgzfWriter(buf) as w:
        w.write(payload)
    raw = buf.getvalue()
    with B.open(raw) as f:
        for rec in f:
            rec.to_string()
            rec.get_tags(with_value_type=True)
            _ = rec.cigartuples, rec.query_sequence, rec.reference_end, rec.query_qualities
    for cols in B.open(raw).fetch_columns(until_eof=True):
        cols.cigar_strings()
        cols.sequences()
        cols.tag_values("XB")
    list(Align.parse(io.BytesIO(raw), "bam"))


def test_fuzzed_records_give_typed_errors(records_blob):
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import HealthCheck, given, settings, strategies as st

    data, start = records_blob

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(st.integers(0, len(data) - start - 1), st.integers(0, 255)),
                    min_size=1, max_size=6),
           st.integers(0, len(data) - start))
    def run(mutations, cut):
        blob = bytearray(data)
        for at, value in mutations:
            blob[start + at] = value
        if cut % 7 == 0:
            blob = blob[:start + cut]
        try:
            _consume(bytes(blob))
        except BioformatsError:
            pass

    run()
    assert hypothesis is not None
