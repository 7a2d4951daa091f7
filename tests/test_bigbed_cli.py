"""The UCSC-style bigBed commands, against the BED sources of the UCSC fixtures and pyBigWig."""

from __future__ import annotations

import pyBigWig
import pytest

from bioformats_ext import bigbed
from bioformats_ext.cli import main
from helpers.bigbed import UCSC

# fixtures whose .bed is the exact source of the .bb (psl_34_005.bed, for one, is not)
WITH_BED = [UCSC / f"{n}.bb" for n in ("bed3", "bed4", "bed5", "bed6", "bed7", "bed8", "bed9",
                                       "bed12", "bigbedtest", "dna_rna")]
LITTLE = [p for p in sorted(UCSC.glob("*.bb")) if "bigendian" not in p.name]


def run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def _bed_fields(text):
    return sorted(tuple(line.split()) for line in text.splitlines() if line.strip())


@pytest.mark.parametrize("path", WITH_BED, ids=lambda p: p.name)
def test_bigbedtobed_reproduces_source_bed(capsys, path):
    code, out, _ = run(capsys, "bigbedtobed", path, "stdout")
    assert code == 0
    # bedToBigBed splits input lines on whitespace; compare field lists
    assert _bed_fields(out) == _bed_fields(path.with_suffix(".bed").read_text())


@pytest.mark.parametrize("path", LITTLE, ids=lambda p: p.name)
def test_bigbedtobed_matches_pybigwig(capsys, path):
    code, out, _ = run(capsys, "bigbedtobed", path, "-")
    theirs = pyBigWig.open(str(path))
    expected = []
    for chrom, size in theirs.chroms().items():
        for entry in theirs.entries(chrom, 0, size) or []:
            rest = "\t" + entry[2] if len(entry) > 2 and entry[2] else ""
            expected.append(f"{chrom}\t{entry[0]}\t{entry[1]}{rest}\n")
    # pyBigWig misses zero-length items at a chromosome's start (chr3:0-0 in bigbedtest.bb)
    assert [line for line in out.splitlines(True)
            if line.split("\t")[1:3] != ["0", "0"]] == expected


def test_bigbedtobed_region_options(capsys, tmp_path):
    path = UCSC / "bigbedtest.bb"
    code, out, _ = run(capsys, "bigbedtobed", path, "-", "-chrom=chr2", "-start=50", "-end=120")
    assert code == 0
    assert out == "chr2\t50\t50\tname4\t6\t+\nchr2\t100\t110\tname5\t4\t+\n"
    code, out, _ = run(capsys, "bigbedtobed", path, "-", "-chrom=chr1")
    assert [line.split("\t")[3] for line in out.splitlines()] == ["name1", "name2", "name3"]
    code, out, _ = run(capsys, "bigbedtobed", path, "-", "-maxItems=2", "-header")
    assert out.splitlines() == ["#chrom\tchromStart\tchromEnd\tname\tscore\tstrand",
                                "chr1\t10\t100\tname1\t1\t+", "chr1\t29\t39\tname2\t2\t-"]
    code, out, _ = run(capsys, "bigbedtobed", path, "-", "-chrom=chrUn")  # as current kent
    assert code == 1 and out == ""
    code, out, _ = run(capsys, "bigbedtobed", path, "-", "-chrom=chrUn", "-skipChromCheck")
    assert code == 0 and out == ""
    regions = tmp_path / "regions.bed"
    regions.write_text("chr1\t0\t20\nchr3\t0\t1\n")
    code, out, _ = run(capsys, "bigbedtobed", path, "-", f"-bed={regions}")
    assert [line.split("\t")[3] for line in out.splitlines()] == ["name1", "name8"]
    target = tmp_path / "out.bed"
    assert run(capsys, "bigbedtobed", path, target)[0] == 0
    assert _bed_fields(target.read_text()) == _bed_fields((UCSC / "bigbedtest.bed").read_text())


def test_failed_conversion_leaves_no_file(capsys, tmp_path):
    bad = tmp_path / "bad.bb"
    data = bytearray((UCSC / "bed12.bb").read_bytes())
    header = bigbed.open(UCSC / "bed12.bb").header
    # corrupt the first data block (zlib stream) so reading fails half way
    start = header.fullDataOffset + 8
    data[start:start + 16] = b"\xff" * 16
    bad.write_bytes(bytes(data))
    target = tmp_path / "out.bed"
    code, _, err = run(capsys, "bigbedtobed", bad, target)
    assert code == 1 and "bigbedtobed" in err
    assert list(tmp_path.iterdir()) == [bad]


def test_bad_usage(capsys):
    code, _, err = run(capsys, "bigbedtobed", UCSC / "bed3.bb")
    assert code == 2 and "usage" in err  # usage errors exit 2, as argparse
    code, _, err = run(capsys, "bigbedinfo", UCSC / "bed3.bb", "-nosuch")
    assert code == 2 and "unknown option" in err


@pytest.mark.parametrize("name", ["bigPsl.bb", "bigbed_extended.littleendian.bb", "bed3.bb"])
def test_bigbedinfo(capsys, name):
    path = UCSC / name
    code, out, _ = run(capsys, "bigbedinfo", path, "-chroms", "-zooms", "-as")
    assert code == 0
    lines = out.splitlines()
    theirs = pyBigWig.open(str(path))
    header = theirs.header()
    fields = dict(line.split(": ", 1) for line in lines if ": " in line and not
                  line.startswith(("\t", " ")))
    assert fields["version"] == str(header["version"])
    assert fields["zoomLevels"] == str(header["nLevels"])
    assert fields["basesCovered"] == f"{header['nBasesCovered']:,}"
    assert fields["minDepth"] == f"{header['minVal']:f}"
    assert fields["maxDepth"] == f"{header['maxVal']:f}"
    assert fields["meanDepth (of bases covered)"] == \
        f"{header['sumData'] / header['nBasesCovered']:f}"
    assert fields["itemCount"] == f"{len(list(bigbed.open(path).records())):,}"
    assert fields["chromCount"] == str(len(theirs.chroms()))
    chrom_lines = [line for line in lines if line.startswith("\t") and line.count(" ") == 2]
    assert chrom_lines == [f"\t{c} {i} {n}" for i, (c, n) in enumerate(theirs.chroms().items())]
    assert theirs.SQL().decode().rstrip("\n\0") in out
    assert lines.index("as:") > lines.index(f"chromCount: {len(theirs.chroms())}")


def test_bigbedsummary(capsys):
    path = UCSC / "bigbedtest.bb"
    code, out, _ = run(capsys, "bigbedsummary", path, "chr1", 0, 400, 4, "-type=max")
    assert code == 0
    assert out == "2\tn/a\t1\tn/a\n"
    code, out, _ = run(capsys, "bigbedsummary", path, "chr1", 0, 400, 4)
    # coverage: chr1 has 10-100 and 29-39 in bin 0..100 -> 90 bases; 200-300 -> bin 2 fully
    assert out == "0.9\tn/a\t1\tn/a\n"
    code, out, _ = run(capsys, "bigbedsummary", path, "chr1", 0, 100, 1, "-type=mean")
    assert out == "%g\n" % ((90 + 10) / 90)
    code, _, err = run(capsys, "bigbedsummary", path, "chr1", 500, 600, 2)
    assert code == 1 and "no data in region" in err
    code, out, _ = run(capsys, "bigbedsummary", path, "-fields")
    assert out.splitlines()[0] == "6 bed definition fields, 6 total fields"
    # zoom-level path and exact path agree over the whole chromosome
    big = UCSC / "bigPsl.bb"
    a = run(capsys, "bigbedsummary", big, "chr1", 0, 248956422, 1, "-type=mean")[1]
    b = run(capsys, "bigbedsummary", big, "chr1", 0, 248956422, 1, "-type=mean", "-exact")[1]
    assert a == b == "%g\n" % (pyBigWig.open(str(big)).header()["sumData"] / 188126)


def test_bigbednameditems(capsys, tmp_path):
    path = UCSC / "bigbed_extended.littleendian.bb"
    code, out, _ = run(capsys, "bigbednameditems", path, "PDGFA", "-", "-field=geneSymbol")
    assert code == 0
    expected = [r for r in bigbed.open(path).records() if r[3].split("\t")[6] == "PDGFA"]
    assert out == "".join(f"{c}\t{s}\t{e}\t{r}\n" for c, s, e, r in expected)
    names = tmp_path / "names.txt"
    first = expected[0][3].split("\t")[0]
    names.write_text(f"{first} nosuch\n")
    code, out, _ = run(capsys, "bigbednameditems", path, names, "-", "-nameFile")
    assert out == "{}\t{}\t{}\t{}\n".format(*expected[0])
    code, _, err = run(capsys, "bigbednameditems", UCSC / "bed12.bb", "x", "-")
    assert code == 1 and "extraIndex" in err
