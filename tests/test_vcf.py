"""VcfWriter / VcfReader against htslib (pysam): TBI/CSI content equals tabix / bcftools index,
pysam reads our files and fetches with our index, sort errors leave nothing, BGZF2 mode."""

from __future__ import annotations

import os
import random
import shutil

import pytest

pysam = pytest.importorskip("pysam")

from bioformats_ext.errors import SortOrderError  # noqa: E402
from bioformats_ext.index import read_index  # noqa: E402
from bioformats_ext.vcf import VcfReader, VcfWriter, parse_contigs  # noqa: E402

CONTIGS = [("1", 5_000_000), ("2", 300_000), ("unused", 1000), ("X", 1_000_000)]


def random_vcf(seed: int = 1, n: int = 3000):
    rng = random.Random(seed)
    header = ["##fileformat=VCFv4.2"]
    header += [f"##contig=<ID={c},length={n_}>" for c, n_ in CONTIGS]
    header += ['##INFO=<ID=END,Number=1,Type=Integer,Description="End, with, commas">',
               '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">',
               '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
               "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT",
                          "S1", "S2"])]
    used = [c for c in CONTIGS if c[0] != "unused"]
    rows = []
    for i in range(n):
        c, length = rng.choice(used)
        pos = rng.randint(1, min(length, 4_000_000) - 2000)
        ref = "".join(rng.choice("ACGT") for _ in range(rng.choice([1, 1, 1, 3, 20, 300])))
        info = [f"DP={rng.randint(1, 99)}"]
        if rng.random() < 0.1:
            info.append(f"END={pos + rng.choice([10, 5000, 100_000])}")
        rows.append(((used.index((c, length)), pos),
                     [c, str(pos), f"v{i}", ref, rng.choice(["A", "T", "<DEL>", "G,C"]),
                      rng.choice(["50", "."]), "PASS", ";".join(info), "GT", "0/1", "1|1"]))
    rows.sort(key=lambda r: r[0])
    return "\n".join(header) + "\n", ["\t".join(f) for _, f in rows]


@pytest.fixture(scope="module")
def vcf_data():
    return random_vcf(4, 4000)


def _content(path):
    ix = read_index(path)
    return (ix.names, ix.tabix, ix.min_shift, ix.depth, ix.n_no_coor,
            [(r.bins, r.linear, r.loffsets) for r in ix.refs])


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
    assert _content(f"{ours}.{index}") == _content(f"{theirs}.{index}")
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
    with pytest.raises(SortOrderError) as info:
        _write(tmp_path / "bad.vcf.gz", header, bad, index="tbi")
    assert info.value.record == culprit + 1  # 1-based
    assert bad[culprit].split("\t")[2] in str(info.value)
    assert os.listdir(tmp_path) == []


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
