"""bioformats_ext.bam.open / BamRecord / columns against pysam (htslib) on the htslib test corpus
and on generated files; Bio.Align "bam" against Biopython's SAM parser (or pysam where that
parser fails); co_index and the view command against samtools."""

from __future__ import annotations

import array
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pysam = pytest.importorskip("pysam")

import bioformats_ext.bam as B  # noqa: E402
from bioformats_ext.errors import RegionError, UnknownReferenceError  # noqa: E402
from helpers import CORPUS, bam_record_bytes, every_tag_bam, to_bam  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
pysam.set_verbosity(0)

ATTRS = ["query_name", "flag", "reference_id", "reference_name", "reference_start",
         "reference_end", "reference_length", "mapping_quality", "cigartuples", "cigarstring",
         "query_sequence", "query_qualities", "next_reference_id", "next_reference_name",
         "next_reference_start", "template_length", "query_length", "query_alignment_start",
         "query_alignment_end", "query_alignment_sequence", "query_alignment_qualities",
         "is_paired", "is_proper_pair", "is_unmapped", "mate_is_unmapped", "is_reverse",
         "mate_is_reverse", "is_read1", "is_read2", "is_secondary", "is_qcfail",
         "is_duplicate", "is_supplementary", "is_mapped", "is_forward", "bin"]


def assert_same_record(ours, theirs) -> None:
    for attr in ATTRS:
        assert getattr(ours, attr) == getattr(theirs, attr), (attr, theirs.query_name)
    assert ours.to_string() == theirs.to_string()
    # pysam's get_tags() truncates type-I values >= 2**31 to C int; its get_tag() does not
    typed = [(t, theirs.get_tag(t), k) for t, _v, k in theirs.get_tags(with_value_type=True)]
    assert ours.get_tags(with_value_type=True) == typed
    assert ours.get_tags() == [(t, v) for t, v, _k in typed]
    for tag, _value in theirs.get_tags():
        assert ours.has_tag(tag)
        assert ours.get_tag(tag, with_value_type=True) == theirs.get_tag(tag, with_value_type=True)
    assert not ours.has_tag("zz")
    with pytest.raises(KeyError):
        ours.get_tag("zz")
    assert ours.get_blocks() == theirs.get_blocks()
    if len(theirs.cigartuples or ()) < 1000:  # pysam is slow on the 70,000-operation reads
        assert ours.get_aligned_pairs() == theirs.get_aligned_pairs()
        assert ours.get_aligned_pairs(matches_only=True) == theirs.get_aligned_pairs(matches_only=True)
        assert ours.get_reference_positions() == theirs.get_reference_positions()
        assert ours.get_reference_positions(full_length=True) == \
            theirs.get_reference_positions(full_length=True)
    assert ours.infer_query_length() == theirs.infer_query_length()


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_records_equal_pysam(name, tmp_path):
    bam = to_bam(name, tmp_path)
    with B.open(str(bam)) as ours, pysam.AlignmentFile(str(bam), check_sq=False) as theirs:
        assert ours.references == theirs.references
        assert ours.lengths == theirs.lengths
        assert ours.header.to_dict() == theirs.header.to_dict()
        mine = list(ours)
        expected = list(theirs.fetch(until_eof=True))
        assert len(mine) == len(expected)
        for a, b in zip(mine, expected):
            assert_same_record(a, b)
        assert ours.count(until_eof=True) == len(expected)


def _sorted(bam: Path) -> bool:
    last = (-1, -1)
    unplaced = False
    with pysam.AlignmentFile(str(bam), check_sq=False) as f:
        for rec in f.fetch(until_eof=True):
            tid = rec.reference_id
            if tid < 0:
                unplaced = True
                continue
            if unplaced or (tid, rec.reference_start) < last:
                return False
            last = (tid, rec.reference_start)
    return True


@pytest.mark.parametrize("name", [n for n in CORPUS if n not in ("xx_blank.sam",)])
def test_corpus_regions_and_idxstats_equal_samtools(name, tmp_path):
    bam = to_bam(name, tmp_path)
    if not _sorted(bam) or not pysam.AlignmentFile(str(bam), check_sq=False).references:
        pytest.skip("not coordinate-sorted / no references")
    pysam.samtools.index(str(bam))
    with B.open(str(bam)) as ours, pysam.AlignmentFile(str(bam)) as theirs:
        assert ours.idxstats() == pysam.samtools.idxstats(str(bam))
        assert ours.mapped == theirs.mapped and ours.unmapped == theirs.unmapped
        assert ours.get_index_statistics() == [tuple(s) for s in theirs.get_index_statistics()]
        rng = random.Random(len(name))
        for contig, length in zip(ours.references, ours.lengths):
            tid = theirs.get_tid(contig)  # pysam cannot parse names with ':' itself
            assert ours.count(contig) == len(list(theirs.fetch(tid=tid)))
            name = f"{{{contig}}}" if ":" in contig else contig
            for _ in range(5):
                start = rng.randrange(max(length, 1))
                stop = start + rng.choice([1, 10, 1000, 100_000])
                want = list(theirs.fetch(tid=tid, start=start, stop=stop))
                assert [r.to_string() for r in ours.fetch(contig, start, stop)] == \
                    [r.to_string() for r in want]
                assert ours.count(region=f"{name}:{start + 1}-{stop}") == len(want)
                assert ours.count(contig, start, stop, read_callback="all") == \
                    sum(1 for r in want if not r.flag & 0x704)
        assert [r.to_string() for r in ours.fetch()] == [r.to_string() for r in theirs.fetch()]


def test_region_errors(tmp_path):
    bam = to_bam("range.bam", tmp_path)
    pysam.samtools.index(str(bam))
    with B.open(str(bam)) as f:
        with pytest.raises(UnknownReferenceError):
            list(f.fetch("nope"))
        with pytest.raises(RegionError):
            list(f.fetch(f.references[0], 100, 10))
        with pytest.raises(RegionError):
            list(f.fetch(f.references[0], -5, 10))
        with pytest.raises(RegionError):
            f.count(region=f"{f.references[0]}:20-10")


# -- generated files -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "gen.bam"
    every_tag_bam(path)
    pysam.samtools.index("-c", str(path))
    return path


def test_generated_records_equal_pysam(generated):
    with B.open(str(generated)) as ours, pysam.AlignmentFile(str(generated)) as theirs:
        mine = list(ours)
        expected = list(theirs.fetch(until_eof=True))
        assert len(mine) == len(expected) == 3040
        assert any(len(r.cigartuples or ()) > 65535 for r in mine)
        for a, b in zip(mine, expected):
            assert_same_record(a, b)
        assert ours.idxstats() == pysam.samtools.idxstats(str(generated))
        assert ours.nocoordinate == theirs.nocoordinate == 40
        for contig, length in zip(ours.references, ours.lengths):
            for start in (0, length // 2, 2_100_000_000, 2_146_000_000):
                if 0 <= start < length:
                    stop = min(length, start + 5_000_000, 2**31 - 1)
                    assert ours.count(contig, start, stop) == theirs.count(contig, start, stop)
        assert ours.count() == theirs.count()


@pytest.mark.parametrize("threads", [1, 2])
def test_columns_equal_pysam(generated, monkeypatch, threads):
    from bioformats_ext.bam import alignment_file
    from bioformats_ext.bam.columns import decode_columns

    monkeypatch.setattr(alignment_file, "_STREAM_BYTES", 1 << 18)  # several batches

    with B.open(str(generated), threads=threads) as ours, pysam.AlignmentFile(str(generated)) as theirs:
        expected = list(theirs.fetch(until_eof=True))
        batches = list(ours.fetch_columns(until_eof=True))
        assert len(batches) > 1  # records span batch boundaries
        names = [n for c in batches for n in c.query_names()]
        assert names == [r.query_name for r in expected]
        assert [s for c in batches for s in c.cigar_strings()] == [r.cigarstring or "*" for r in expected]
        ends = np.concatenate([c.reference_ends() for c in batches]).tolist()
        assert ends == [-1 if r.reference_end is None else r.reference_end for r in expected]
        assert [s for c in batches for s in c.sequences()] == [r.query_sequence for r in expected]
        quals = [q for c in batches for q in c.qualities()]
        assert [None if q is None else q.tolist() for q in quals] == \
            [None if r.query_qualities is None else list(r.query_qualities) for r in expected]
        ml = [v for c in batches for v in c.tag_values("ML")]
        assert ml == [r.get_tag("ML") if r.has_tag("ML") else None for r in expected]
        pos = np.concatenate([c.pos for c in batches])
        assert pos.tolist() == [r.reference_start for r in expected]
        data = bam_record_bytes(generated)
        cols = decode_columns(data)
        assert len(cols) == len(expected)
        assert cols.flag.tolist() == [r.flag for r in expected]
        assert cols.take(cols.flag == 4).query_names() == [r.query_name for r in expected if r.flag == 4]


def test_writer_copies_records(generated, tmp_path):
    out = tmp_path / "copy.bam"
    with B.open(str(generated)) as f, B.BamWriter(str(out), f.header, index="csi") as w:
        w.write_many(f)
    assert bam_record_bytes(out) == bam_record_bytes(generated)  # records copied byte for byte
    assert pysam.samtools.view("--no-PG", str(out)) == pysam.samtools.view("--no-PG", str(generated))
    shutil.copy(out, tmp_path / "re.bam")
    pysam.samtools.index("-c", str(tmp_path / "re.bam"))
    from bioformats_ext.index import read_index

    assert read_index(str(out) + ".csi").refs == read_index(str(tmp_path / "re.bam.csi")).refs


@pytest.mark.parametrize("kind", ["bai", "csi"])
def test_co_index_equals_samtools_index(tmp_path, kind):
    from bioformats_ext.index import read_index

    rng = random.Random(11)
    refs = [("chr1", 300_000_000 if kind == "bai" else 3_000_000_000), ("chr2", 5_000_000)]
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": n, "LN": l} for n, l in refs]}
    path = tmp_path / "p.bam"
    af = pysam.AlignmentFile(str(path), "wb", header=header)
    with B.co_index(af, kind=kind) as w:
        pos = 0
        for i in range(6000):
            tid = 0 if i < 4000 else (1 if i < 5950 else -1)
            if i == 4000:
                pos = 0
            pos += rng.randrange(0, 40_000) if i % 500 == 0 else rng.randrange(0, 300)
            a = pysam.AlignedSegment(af.header)
            a.query_name = f"r{i}"
            length = 200_000 if i == 300 else (rng.choice([5000, 65_000]) if i % 97 == 0 else 100)
            a.query_sequence = "A" * length
            a.query_qualities = array.array("B", [30]) * length
            a.reference_id = tid
            a.reference_start = pos if tid >= 0 else -1
            if tid >= 0 and i % 13:
                a.cigartuples = ([(0, 1), (2, 1)] * 35_000 + [(0, length - 35_000)] if i == 300
                                 else [(0, length // 2), (2, 3), (0, length - length // 2)])
            else:
                a.flag = 4
            a.set_tag("XZ", "x" * rng.randrange(0, 60))
            a.set_tag("XB", array.array("h", range(rng.randrange(0, 30))))
            w.write(a)
    shutil.copy(path, tmp_path / "q.bam")
    pysam.samtools.index("-c" if kind == "csi" else "-b", str(tmp_path / "q.bam"))
    ours = read_index(f"{path}.{kind}")
    theirs = read_index(str(tmp_path / f"q.bam.{kind}"))
    assert ours.refs == theirs.refs
    assert ours.n_no_coor == theirs.n_no_coor == 50
    assert (ours.min_shift, ours.depth) == (theirs.min_shift, theirs.depth)


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "bioformats_ext.cli", "view", *args],
                          capture_output=True, env=env, input=stdin)


def test_view_command_equals_samtools(generated, tmp_path):
    g = str(generated)
    assert _cli(g).stdout.decode() == pysam.samtools.view("--no-PG", g)
    assert _cli("-h", g).stdout.decode() == pysam.samtools.view("--no-PG", "-h", g)
    assert _cli("-H", g).stdout.decode() == pysam.samtools.view("--no-PG", "-H", g)
    regions = ["chr2", "chrM:100-5000", "chr1:2,100,000,000-2,140,000,000"]
    opts = ["-f", "16", "-q", "30", "-F", "UNMAP,SECONDARY"]
    assert _cli(*opts, g, *regions).stdout.decode() == \
        pysam.samtools.view("--no-PG", *opts, g, *regions)
    assert _cli("-c", "-F", "0x904", g).stdout.decode() == pysam.samtools.view("-c", "-F", "0x904", g)
    out = tmp_path / "sub.bam"
    run = _cli("-b", "-o", f"{out}##idx##{out}.bai", "--write-index", "-@", "1", g, "chr2")
    assert run.returncode == 0, run.stderr
    shutil.copy(out, tmp_path / "sub2.bam")
    pysam.samtools.index(str(tmp_path / "sub2.bam"))
    from bioformats_ext.index import read_index

    assert read_index(str(out) + ".bai").refs == read_index(str(tmp_path / "sub2.bam.bai")).refs
    assert pysam.samtools.view("--no-PG", str(out)) == pysam.samtools.view("--no-PG", g, "chr2")
    sam = tmp_path / "x.sam"
    sam.write_text(pysam.samtools.view("--no-PG", "-h", g))
    assert _cli(str(sam)).stdout.decode() == pysam.samtools.view("--no-PG", g)
    bad = _cli(g, "chrNope")
    assert bad.returncode == 1 and b"unknown reference" in bad.stderr


def test_view_vcf_delegates(tmp_path):
    vcf = tmp_path / "x.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    run = _cli(str(vcf))
    try:
        import bioformats_ext.commands.view_variants  # noqa: F401
    except ImportError:
        assert run.returncode == 1
        assert b"VCF/BCF viewing is not available" in run.stderr
    else:
        assert b"Traceback" not in run.stderr


def test_open_fsspec_and_file_objects(generated):
    fsspec = pytest.importorskip("fsspec")
    data = generated.read_bytes()
    fs = fsspec.filesystem("memory")
    fs.pipe("/bamrec/gen.bam", data)
    fs.pipe("/bamrec/gen.bam.csi", Path(str(generated) + ".csi").read_bytes())
    with B.open(str(generated)) as local:
        want = [r.to_string() for r in local.fetch("chr2", 1000, 100_000)]
        assert want
        with B.open("memory://bamrec/gen.bam") as remote:
            assert [r.to_string() for r in remote.fetch("chr2", 1000, 100_000)] == want
        with open(generated, "rb") as handle, \
                B.open(handle, index=str(generated) + ".csi") as from_handle:
            assert [r.to_string() for r in from_handle.fetch("chr2", 1000, 100_000)] == want
        assert B.open(data).count(until_eof=True) == local.count(until_eof=True)


def test_bgzf2_bam_records(generated, tmp_path):
    """A BGZF2 BAM (zstd frames, embedded index) reads and fetches like the BGZF one."""
    path = tmp_path / "g2.bam"
    with B.open(str(generated)) as f, B.BamWriter(str(path), f.header, compression="bgzf2") as w:
        w.write_many(f)
    with B.open(str(generated)) as a, B.open(str(path)) as b:
        assert [r.to_string() for r in a] == [r.to_string() for r in b]
        for region in (("chr2", 0, 100_000), ("chrM", 5000, 6000), ("chr1", 2_100_000_000, 2_140_000_000)):
            assert [r.to_string() for r in a.fetch(*region)] == [r.to_string() for r in b.fetch(*region)]
        assert b.has_index()


def test_write_columns_equals_record_copy(generated, tmp_path):
    a, b = tmp_path / "a.bam", tmp_path / "b.bam"
    with B.open(str(generated)) as f, B.BamWriter(str(a), f.header, index="csi") as w:
        for cols in f.fetch_columns(until_eof=True):
            w.write_columns(cols.take((cols.flag & 16) == 0))
    with B.open(str(generated)) as f, B.BamWriter(str(b), f.header, index="csi") as w:
        w.write_many(r for r in f if not r.flag & 16)
    assert a.read_bytes() == b.read_bytes()
    assert Path(str(a) + ".csi").read_bytes() == Path(str(b) + ".csi").read_bytes()
