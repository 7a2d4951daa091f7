"""UCSC options: bedToBigBed -sizesIs2Bit / -allow1bpOverlap / -tab, bigBedToBed -tsv / -header /
-range; checked against Biopython's 2bit reader, pyBigWig and the UCSC-made fixtures."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from Bio import SeqIO

from bioformats_ext import bigbed, examples
from bioformats_ext.cli import main
from bioformats_ext.errors import FormatError
from bioformats_ext.twobit import chrom_sizes

UCSC = Path(__file__).parent / "data" / "ucsc-bigbed"


def make_twobit(path, seqs, version=0, order="<"):
    """A .2bit file written from the format description (test-side, independent of ours)."""
    off = "Q" if version else "I"
    index_size = sum(1 + len(n) + struct.calcsize(off) for n in seqs)
    pos = 16 + index_size
    header = struct.pack(order + "IIII", 0x1A412743, version, len(seqs), 0)
    index, records = b"", b""
    for name, dna in seqs.items():
        index += bytes([len(name)]) + name.encode() + struct.pack(order + off, pos)
        packed = bytearray((len(dna) + 3) // 4)
        for i, base in enumerate(dna):
            packed[i // 4] |= "TCAG".index(base) << (6 - 2 * (i % 4))
        rec = struct.pack(order + "III", len(dna), 0, 0) + struct.pack(order + "I", 0) + bytes(packed)
        records += rec
        pos += len(rec)
    path.write_bytes(header + index + records)


@pytest.mark.parametrize("version,order", [(0, "<"), (1, "<"), (0, ">")])
def test_twobit_sizes_equal_biopython(tmp_path, version, order):
    rng = random.Random(version)
    seqs = {f"chr{i}": "".join(rng.choice("ACGT") for _ in range(rng.randint(1, 3000)))
            for i in range(1, 6)}
    path = tmp_path / "g.2bit"
    make_twobit(path, seqs, version, order)
    if order == "<" and version == 0:  # Biopython reads version-0 little-endian files
        with open(path, "rb") as handle:
            assert {r.id: len(r) for r in SeqIO.parse(handle, "twobit")} == \
                {n: len(s) for n, s in seqs.items()}
    assert chrom_sizes(path) == {n: len(s) for n, s in seqs.items()}
    assert list(chrom_sizes(path)) == list(seqs)


def test_twobit_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.2bit"
    bad.write_bytes(b"not a 2bit file at all")
    with pytest.raises(FormatError, match="signature"):
        chrom_sizes(bad)
    bad.write_bytes(struct.pack("<IIII", 0x1A412743, 0, 1 << 30, 0) + b"\0" * 32)
    with pytest.raises(FormatError, match="declares"):
        chrom_sizes(bad)


def test_bedtobigbed_sizes_is_2bit(tmp_path):
    sizes = dict(line.split() for line in (UCSC / "hg38.chrom.sizes").read_text().splitlines()[:30])
    two = tmp_path / "hg38.2bit"
    # sizes only matter: write short sequences but patch dnaSize via a fake record length
    make_twobit(two, {name: "A" for name in sizes}, 1)
    raw = bytearray(two.read_bytes())
    pos = 16
    for name, size in sizes.items():
        n = raw[pos]
        (offset,) = struct.unpack_from("<Q", raw, pos + 1 + n)
        struct.pack_into("<I", raw, offset, int(size))
        pos += 1 + n + 8
    two.write_bytes(bytes(raw))
    assert chrom_sizes(two) == {k: int(v) for k, v in sizes.items()}
    bed = UCSC / "bed6.bed"
    a, b = tmp_path / "a.bb", tmp_path / "b.bb"
    assert main(["bedtobigbed", "-type=bed6", str(bed), str(UCSC / "hg38.chrom.sizes"), str(a)]) == 0
    assert main(["bedtobigbed", "-type=bed6", "-sizesIs2Bit", str(bed), str(two), str(b)]) == 0
    with bigbed.open(a) as x, bigbed.open(b) as y:
        assert list(x.records()) == list(y.records()) and x.chroms == y.chroms


def test_bedtobigbed_allow_1bp_overlap(tmp_path, capsys):
    bed = tmp_path / "ov.bed"
    # blocks 0-100 and 99-200: overlap by one base
    bed.write_text("chr1\t1000\t1200\tx\t0\t+\t1000\t1200\t0\t2\t100,101,\t0,99,\n")
    sizes = tmp_path / "s"
    sizes.write_text("chr1\t100000\n")
    out = tmp_path / "ov.bb"
    assert main(["bedtobigbed", str(bed), str(sizes), str(out)]) == 1
    assert "overlap" in capsys.readouterr().err and not out.exists()
    assert main(["bedtobigbed", "-allow1bpOverlap", str(bed), str(sizes), str(out)]) == 0
    pyBigWig = pytest.importorskip("pyBigWig")
    bw = pyBigWig.open(str(out))
    assert bw.entries("chr1", 0, 100000)[0][:2] == (1000, 1200)
    bw.close()
    bed.write_text("chr1\t1000\t1200\tx\t0\t+\t1000\t1200\t0\t2\t100,102,\t0,98,\n")  # 2 bases
    assert main(["bedtobigbed", "-allow1bpOverlap", str(bed), str(sizes), str(out) + "2"]) == 1


def test_bigbedtobed_tsv_header_range(tmp_path, capsys):
    genes = examples.path("genes.bb")
    assert main(["bigbedtobed", "-tsv", str(genes), "stdout", "-chrom=chr7", "-start=0",
                 "-end=1000000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = bigbed.open(genes).autosql.names
    assert lines[0] == "\t".join(names)                  # UCSC -tsv: the header without '#'
    assert main(["bigbedtobed", "-header", str(genes), "stdout", "-chrom=chr7"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "#" + "\t".join(names)
    # -range: "chrom start end" is 0-based, chrom:start-end 1-based; may repeat
    assert main(["bigbedtobed", str(genes), "stdout", "-range=chr7 500000 520000"]) == 0
    zero_based = capsys.readouterr().out
    assert main(["bigbedtobed", str(genes), "stdout", "-range=chr7:500001-520000"]) == 0
    assert capsys.readouterr().out == zero_based
    with bigbed.open(genes) as bb:
        want = "".join(f"{c}\t{s}\t{e}\t{r}\n" for c, s, e, r in bb.records("chr7", 500000, 520000))
    assert zero_based == want and want
    assert main(["bigbedtobed", str(genes), "stdout", "-range=chr7:1-2", "-chrom=chr7"]) == 2


def test_bigbedtobed_unknown_chrom_as_current_kent(capsys):
    genes = str(examples.path("genes.bb"))
    assert main(["bigbedtobed", genes, "stdout", "-chrom=chrZ"]) == 1
    assert "specified chrom chrZ not found" in capsys.readouterr().err
    assert main(["bigbedtobed", genes, "stdout", "-chrom=chrZ", "-skipChromCheck"]) == 0
    assert capsys.readouterr().out == ""
