"""``view_variants.main`` (the variant side of ``bioformats-ext view``) against bcftools view."""

from __future__ import annotations

import gzip
import shutil

import pytest

pysam = pytest.importorskip("pysam")
from pysam import bcftools  # noqa: E402

from bioformats_ext.commands import view_variants  # noqa: E402
from bioformats_ext.index import read_index  # noqa: E402

from helpers import typed_vcf  # noqa: E402


def _content(path):
    ix = read_index(path)
    return (ix.names, ix.min_shift, ix.depth, ix.n_no_coor,
            [(r.bins, r.linear, r.loffsets) for r in ix.refs])


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("view")
    header, lines = typed_vcf(3, 600, n_samples=2)
    path = tmp / "in.vcf"
    path.write_text(header + "\n".join(lines) + "\n")
    return str(path)


def test_vcf_to_bcf_with_index_and_back(src, tmp_path):
    out = str(tmp_path / "o.bcf")
    assert view_variants.main(["-O", "b", "-o", out, "--write-index", src]) == 0
    ref = str(tmp_path / "ref.bcf")
    shutil.copy(out, ref)
    bcftools.index("-c", "-f", ref)
    assert _content(out + ".csi") == _content(ref + ".csi")
    # uncompressed BCF equals bcftools view -Ou, from VCF and from our BCF (record bytes copied)
    theirs = str(tmp_path / "t.bcf")
    bcftools.view("--no-version", "-Ou", "-o", theirs, src, catch_stdout=False)
    for inp in (src, out):
        u = str(tmp_path / "u.bcf")
        assert view_variants.main(["-Ou", "-o", u, inp]) == 0
        assert gzip.open(u).read() == gzip.open(theirs).read()
    # BCF -> VCF text equals bcftools' text
    text = str(tmp_path / "back.vcf")
    assert view_variants.main(["-o", text, out]) == 0
    assert open(text).read() == bcftools.view("--no-version", out)
    # regions, -H and -h
    reg = str(tmp_path / "r.txt")
    assert view_variants.main(["-H", "-o", reg, out, "1:100000-900000", "2"]) == 0
    assert open(reg).read() == bcftools.view("-H", out, "1:100000-900000") + bcftools.view("-H", out, "2")
    # overlapping and unordered regions: each record once, in file order (as bcftools)
    assert view_variants.main(["-H", "-o", reg, out, "-r", "2,1:500000-900000,1:100000-600000"]) == 0
    assert open(reg).read() == bcftools.view("-H", out, "-r", "2,1:500000-900000,1:100000-600000")
    hdr = str(tmp_path / "h.txt")
    assert view_variants.main(["-h", "-o", hdr, out]) == 0
    assert open(hdr).read() == bcftools.view("--no-version", "-h", out)


def test_vcf_gz_with_tbi(src, tmp_path):
    bcf = str(tmp_path / "in.bcf")
    assert view_variants.main(["-O", "b", "-o", bcf, "-W", src]) == 0
    small = str(tmp_path / "s.vcf.gz")
    assert view_variants.main(["-O", "z", "-o", small, "--write-index=tbi", bcf,
                               "-r", "1,2"]) == 0
    ref = str(tmp_path / "ref.vcf.gz")
    shutil.copy(small, ref)
    pysam.tabix_index(ref, preset="vcf", force=True)
    assert _content(small + ".tbi") == _content(ref + ".tbi")
    assert bcftools.view("-H", small) == bcftools.view("-H", src, "-t", "1,2")


def test_usage_errors(src, tmp_path, capsys):
    assert view_variants.main(["-O", "b", "--write-index=tbi", "-o", str(tmp_path / "x.bcf"), src]) == 1
    assert "TBI cannot index BCF" in capsys.readouterr().err
    assert view_variants.main(["-O", "b", "--write-index", src]) == 1
    assert view_variants.main(["-o", str(tmp_path / "y.vcf"), src, "nochr:1-5"]) == 1
    assert "nochr" in capsys.readouterr().err
    assert not (tmp_path / "y.vcf").exists()


def test_through_the_cli(src, tmp_path):
    """``bioformats-ext view`` hands VCF/BCF inputs to view_variants (subprocess, as a user)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=root)
    out = str(tmp_path / "cli.bcf")
    run = subprocess.run([sys.executable, "-m", "bioformats_ext.cli", "view", "-O", "b", "-o", out,
                          "-W", src], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    ref = str(tmp_path / "ref.bcf")
    shutil.copy(out, ref)
    bcftools.index("-c", "-f", ref)
    assert _content(out + ".csi") == _content(ref + ".csi")
    text = subprocess.run([sys.executable, "-m", "bioformats_ext.cli", "view", "-H", out, "2"],
                          env=env, capture_output=True, text=True)
    assert text.returncode == 0 and text.stdout == bcftools.view("-H", out, "2")
