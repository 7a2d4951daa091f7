"""VcfWriter / VcfReader against htslib (pysam): TBI/CSI content equals tabix / bcftools index,
pysam reads our files and fetches with our index, sort errors leave nothing, BGZF2 mode."""

from __future__ import annotations

import gzip
import os
import random
import shutil

import pytest

pysam = pytest.importorskip("pysam")

from bioformats_ext.errors import SortOrderError  # noqa: E402
from bioformats_ext.vcf import VcfReader, VcfWriter, parse_contigs  # noqa: E402

from helpers import VCF_CONTIGS as CONTIGS  # noqa: E402
from helpers import index_content, random_vcf  # noqa: E402


@pytest.fixture(scope="module")
def vcf_data():
    return random_vcf(4, 4000)


@pytest.mark.parametrize("index", ["tbi", "csi"])
def test_index_equals_htslib_and_pysam_reads(tmp_path, vcf_data, index):
    header, lines = vcf_data
    ours = str(tmp_path / "x.vcf.gz")
    with VcfWriter(ours, header, index=index) as writer:
        writer.write_many(lines[:1000])
        for line in lines[1000:1010]:
            writer.write(line)
        writer.write_many(lines[1010:])
    assert sorted(os.listdir(tmp_path)) == ["x.vcf.gz", f"x.vcf.gz.{index}"]
    os.mkdir(tmp_path / "ref")
    theirs = str(tmp_path / "ref" / "x.vcf.gz")
    shutil.copy(ours, theirs)
    if index == "tbi":
        pysam.tabix_index(theirs, preset="vcf", force=True)
    else:
        from pysam import bcftools

        bcftools.index("-c", "-f", theirs)
    assert index_content(f"{ours}.{index}") == index_content(f"{theirs}.{index}")
    with pysam.VariantFile(ours, index_filename=f"{ours}.{index}") as vf:
        assert [str(r).rstrip("\n") for r in vf.fetch()] == lines
    reader = VcfReader(ours)
    assert reader.header == header
    assert list(reader) == lines
    assert reader.samples == ["S1", "S2"]
    rng = random.Random(3)
    with pysam.TabixFile(ours, index=f"{ours}.{index}") as a, \
            pysam.TabixFile(theirs, index=f"{theirs}.{index}") as b:
        for _ in range(60):
            name, length = rng.choice([c for c in CONTIGS if c[0] != "unused"])
            start = rng.randrange(length)
            end = start + rng.choice([1, 100, 10_000, 400_000])
            expected = list(b.fetch(name, start, end))
            assert list(a.fetch(name, start, end)) == expected
            assert list(reader.fetch(name, start, end)) == expected
        assert list(reader.fetch("2")) == list(b.fetch("2"))
    assert list(reader.fetch("unused")) == []


def test_info_end_extends_interval(tmp_path):
    header = "##fileformat=VCFv4.2\n##contig=<ID=1,length=100000>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    lines = ["1\t100\tsv\tN\t<DEL>\t.\tPASS\tEND=50000", "1\t200\tsnp\tA\tT\t.\tPASS\t."]
    path = str(tmp_path / "e.vcf.gz")
    with VcfWriter(path, header, index="tbi") as writer:
        writer.write_many(lines)
    reader = VcfReader(path)
    assert list(reader.fetch("1", 40_000, 40_001)) == [lines[0]]
    assert list(reader.fetch("1", 199, 200)) == lines


def test_record_forms(tmp_path, vcf_data):
    header, lines = vcf_data
    with pysam.VariantFile(_write(tmp_path / "a.vcf.gz", header, lines[:300])) as vf:
        records = list(vf.fetch())
        path = str(tmp_path / "b.vcf.gz")
        with VcfWriter(path, str(vf.header), index="tbi") as writer:
            writer.write_many(records[:100])  # pysam VariantRecord
            for line in lines[100:200]:  # tuples of the fixed fields + FORMAT + samples
                f = line.split("\t")
                writer.write((f[0], int(f[1]), f[2], f[3], f[4].split(","), f[5], f[6], f[7],
                              f[8], *f[9:]))
            writer.write_many(line.encode() for line in lines[200:300])
    assert list(VcfReader(path)) == lines[:300]


def _assert_sort_error_names(tmp_path, header, bad, culprit):
    """Writing ``bad`` raises SortOrderError naming record ``culprit`` (0-based here, 1-based
    in the error, with its ID) and leaves no file behind."""
    with pytest.raises(SortOrderError) as info:
        _write(tmp_path / "bad.vcf.gz", header, bad, index="tbi")
    assert info.value.record == culprit + 1  # 1-based
    assert bad[culprit].split("\t")[2] in str(info.value)
    assert os.listdir(tmp_path) == []


def _write(path, header, lines, **options):
    with VcfWriter(str(path), header, **options) as writer:
        writer.write_many(lines)
    return str(path)


@pytest.mark.parametrize("case", ["chrom_returns", "position"])
def test_sort_errors_leave_no_files(tmp_path, vcf_data, case):
    header, lines = vcf_data
    by_chrom = {}
    for line in lines:
        by_chrom.setdefault(line.split("\t")[0], []).append(line)
    if case == "chrom_returns":
        bad = by_chrom["1"][:5] + by_chrom["2"][:5] + by_chrom["1"][5:8]
        culprit = 10
    else:
        bad = by_chrom["1"][:5] + [by_chrom["1"][0]]
        culprit = 5
    _assert_sort_error_names(tmp_path, header, bad, culprit)


@pytest.mark.parametrize("case", ["position", "chrom_returns"])
def test_sort_error_in_a_later_batch_names_the_line_and_leaves_nothing(tmp_path, vcf_data,
                                                                      monkeypatch, case):
    """Batches after the first are written before the bad one is checked: the error still
    names the 1-based record and its text, and the abort removes data and index."""
    header, lines = vcf_data
    monkeypatch.setattr(VcfWriter, "batch_size", 700)
    chrom = [line.split("\t")[0] for line in lines]
    pos = [int(line.split("\t")[1]) for line in lines]
    bad = list(lines)
    if case == "position":  # two neighbours of one contig swapped, deep in the 4th batch
        culprit = next(i for i in range(2300, len(lines)) if chrom[i] == chrom[i - 1]
                       and pos[i] > pos[i - 1])
        bad[culprit - 1], bad[culprit] = lines[culprit], lines[culprit - 1]
    else:  # the first contig's first record again, after the others began
        culprit = next(i for i in range(2300, len(lines)) if chrom[i] != chrom[0])
        bad.insert(culprit, lines[0])
    _assert_sort_error_names(tmp_path, header, bad, culprit)


@pytest.mark.parametrize("index", ["tbi", "csi"])
def test_multi_block_index_equals_htslib(tmp_path, index):
    """A sparse VCF with a bin per record and records spanning bins: the index is several
    BGZF blocks (deflated by the faster codec) and still says what tabix / bcftools say."""
    rng = random.Random(17)
    header = ("##fileformat=VCFv4.2\n##contig=<ID=1,length=200000000>\n"
              "##contig=<ID=2,length=100000000>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    lines = []
    for chrom, length in (("1", 190_000_000), ("2", 90_000_000)):
        pos = 1
        while pos < length:
            ref = "".join(rng.choice("ACGT") for _ in range(rng.choice([1, 1, 3, 40, 900])))
            alt = rng.choice(["A", "<DEL>", "<*>"])
            lines.append(f"{chrom}\t{pos}\tv{len(lines)}\t{ref}\t{alt}\t.\tPASS\tDP=3")
            pos += rng.randint(1, 30_000)
    ours = _write(tmp_path / "x.vcf.gz", header, lines, index=index)
    theirs = str(tmp_path / "ref.vcf.gz")
    shutil.copy(ours, theirs)
    if index == "tbi":
        pysam.tabix_index(theirs, preset="vcf", force=True)
    else:
        pysam.tabix_index(theirs, preset="vcf", csi=True, force=True)
    with open(f"{ours}.{index}", "rb") as fh:
        assert len(gzip.decompress(fh.read())) > 0xFF00  # more than one BGZF block of payload
    assert index_content(f"{ours}.{index}") == index_content(f"{theirs}.{index}")


def test_header_needs_chrom_line(tmp_path):
    with pytest.raises(ValueError, match="#CHROM"):
        VcfWriter(str(tmp_path / "x.vcf.gz"), "##fileformat=VCFv4.2\n")
    assert os.listdir(tmp_path) == []


def test_contigs_parsed():
    header = '##contig=<ID=chr1,length=248956422,assembly="a,b">\n##contig=<ID=chrM>\n#CHROM\n'
    assert parse_contigs(header) == [("chr1", 248956422), ("chrM", 0)]


def test_plain_text_output(tmp_path, vcf_data):
    header, lines = vcf_data
    path = _write(tmp_path / "p.vcf", header, lines, compression=None)
    assert open(path).read() == header + "".join(line + "\n" for line in lines)
    assert list(VcfReader(path)) == lines
    with pytest.raises(ValueError):
        VcfWriter(str(tmp_path / "q.vcf"), header, index="tbi", compression=None)


def test_bgzf2_vcf(tmp_path, vcf_data):
    header, lines = vcf_data
    path = _write(tmp_path / "x.vcf.gz", header, lines, compression="bgzf2")
    assert os.listdir(tmp_path) == ["x.vcf.gz"]
    reader = VcfReader(path)
    assert reader.container == "bgzf2"
    assert reader.header == header
    assert list(reader) == lines
    indexed = _write(tmp_path / "y.vcf.gz", header, lines, index="tbi")
    with pysam.TabixFile(indexed) as tf:
        rng = random.Random(8)
        for _ in range(40):
            name, length = rng.choice([c for c in CONTIGS if c[0] != "unused"])
            start = rng.randrange(length)
            end = start + rng.choice([1, 1000, 300_000])
            assert list(reader.fetch(name, start, end)) == list(tf.fetch(name, start, end))


def test_vectorised_intervals_equal_per_line_rule():
    import numpy as np

    from bioformats_ext.index.tabix_conf import get_config, parse_line
    from bioformats_ext.vcf.intervals import vcf_intervals

    rng = random.Random(12)
    conf = get_config("vcf")
    lines = []
    for i in range(3000):
        pos = rng.choice(["1", "0", "17", "123456789", "4294967296", "+5", "007"])
        ref = rng.choice(["A", "ACGT", "N" * rng.randint(1, 400), "."])
        info = rng.choice([".", "DP=3", f"END={rng.randint(0, 10**6)}", "SVEND=5;DP=1",
                           "A=1;END=.", "END=12x", "XEND=9;END=40"])
        tail = rng.choice(["", "\tGT\t0/1"])
        eol = rng.choice(["\n", "\r\n"])
        lines.append(f"chr{rng.randint(1, 3)}\t{pos}\tid\t{ref}\tT\t.\tPASS\t{info}{tail}{eol}".encode())
    data = b"".join(lines)
    sizes = np.fromiter(map(len, lines), np.int64, len(lines))
    names, beg, end = vcf_intervals(conf, data, sizes, lines, 1)
    for i, line in enumerate(lines):
        name, b, e = parse_line(conf, line.rstrip(b"\r\n"), i + 1)
        assert (names[i].decode(), int(beg[i]), int(end[i])) == (name, b, e), line
