"""The UCSC-style bigWig commands, checked with pyBigWig."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

from helpers.bigwig import REAL_FILES
from bioformats_ext.cli import main

ROOT = Path(__file__).parent.parent


def run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_bigwigtobedgraph_matches_pybigwig(capsys, path):
    code, out, _ = run(capsys, "bigwigtobedgraph", path, "stdout")
    assert code == 0
    pb = pyBigWig.open(str(path))
    want = []
    for chrom in pb.chroms():
        for s, e, v in pb.intervals(chrom) or ():
            want.append(f"{chrom}\t{s}\t{e}\t{v:g}")
    assert out.splitlines() == want


def test_roundtrip_bedgraph_through_the_commands(capsys, tmp_path):
    src = REAL_FILES[0]
    bg = tmp_path / "a.bedGraph"
    sizes = tmp_path / "chrom.sizes"
    pb = pyBigWig.open(str(src))
    sizes.write_text("".join(f"{c}\t{n}\n" for c, n in pb.chroms().items()))
    assert run(capsys, "bigwigtobedgraph", src, bg)[0] == 0
    out = tmp_path / "b.bw"
    assert run(capsys, "bedgraphtobigwig", bg, sizes, out, "-blockSize=64",
               "-itemsPerSlot=100")[0] == 0
    ours = pyBigWig.open(str(out))
    for chrom, size in pb.chroms().items():
        assert ours.intervals(chrom) == pb.intervals(chrom)
    code, text, _ = run(capsys, "bigwiginfo", out, "-chroms", "-zooms")
    assert code == 0 and "isCompressed: yes" in text
    assert f"basesCovered: {ours.header()['nBasesCovered']:,}" in text
    code, text, _ = run(capsys, "bigwiginfo", out, "-minMax")
    values = np.array([v for c in pb.chroms() for _, _, v in pb.intervals(c) or ()])
    assert text.split() == [f"{values.min():f}", f"{values.max():f}"]


def test_bigwigsummary_matches_pybigwig_stats(capsys):
    path = Path(__file__).parent / "data" / "bigwig" / "volvox.bw"
    pb = pyBigWig.open(str(path))
    chrom, size = next(iter(pb.chroms().items()))
    for kind in ("mean", "max", "min", "std", "coverage"):
        for exact in ([], ["-exact"]):
            code, out, _ = run(capsys, "bigwigsummary", path, chrom, 0, size, 12,
                               f"-type={kind}", *exact)
            assert code == 0
            want = pb.stats(chrom, 0, size, type=kind, nBins=12, exact=bool(exact))
            got = out.split()
            assert got == ["n/a" if w is None else "%g" % w for w in want]
    code, _, err = run(capsys, "bigwigsummary", path, "nope", 0, 10, 1)
    assert code == 1 and "no data" in err


def test_bigwigaverageoverbed(capsys, tmp_path):
    path = Path(__file__).parent / "data" / "bigwig" / "volvox.bw"
    pb = pyBigWig.open(str(path))
    chrom, size = next(iter(pb.chroms().items()))
    bed = tmp_path / "r.bed"
    regions = [(100, 900), (5000, 5003), (0, size), (20_000, 20_000 + 7000)]
    bed.write_text("".join(f"{chrom}\t{a}\t{b}\tn{i}\n" for i, (a, b) in enumerate(regions)))
    out = tmp_path / "out.tab"
    assert run(capsys, "bigwigaverageoverbed", path, bed, out, "-minMax")[0] == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    for (a, b), row in zip(regions, rows):
        vals = pb.values(chrom, a, b, numpy=True).astype(np.float64)
        cov = ~np.isnan(vals)
        assert int(row[1]) == b - a and int(row[2]) == cov.sum()
        # the command prints with %g (6 significant digits, as UCSC's): rel 1e-5 / approx's 1e-6
        assert float(row[3]) == pytest.approx(vals[cov].sum(), rel=1e-5)
        assert float(row[6]) == pytest.approx(vals[cov].min())


def test_failed_conversion_leaves_nothing_and_subprocess_entry(tmp_path):
    bg = tmp_path / "bad.bedGraph"
    bg.write_text("chr1\t10\t20\t1\nchr1\t5\t8\t2\n")
    sizes = tmp_path / "s"
    sizes.write_text("chr1\t100\n")
    out = tmp_path / "out.bw"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "bioformats_ext.cli", "bedgraphtobigwig",
                           str(bg), str(sizes), str(out)], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 1 and "line 2" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.bedGraph", "s"]
