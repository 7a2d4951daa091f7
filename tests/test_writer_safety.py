"""Writers that cannot surprise: a forgotten close() warns (naming the target) and leaves no
temporary file; an index requested for a file-object target needs index_path=."""

from __future__ import annotations

import gc
import io
import os
import warnings

import pytest

from bioformats_ext import examples
from bioformats_ext.bam import BamWriter
from bioformats_ext.bbi.write import BigBedWriter
from bioformats_ext.bgzf import BgzfWriter
from bioformats_ext.bgzf2 import Bgzf2Writer
from bioformats_ext.errors import BioformatsError
from bioformats_ext.io.atomic import AtomicFile
from bioformats_ext.tabix import TabixWriter
from bioformats_ext.vcf import VcfWriter

SAM = examples.path("example.sam").read_text().splitlines()
SAM_HEADER = "\n".join(l for l in SAM if l.startswith("@"))
SAM_LINES = [l for l in SAM if not l.startswith("@") and "\t4\t*" not in l]
VCF = examples.path("example.vcf").read_text().splitlines()
VCF_HEADER = "".join(l + "\n" for l in VCF if l.startswith("#"))
VCF_LINES = [l for l in VCF if not l.startswith("#")]


def _bam(path):
    w = BamWriter(path, SAM_HEADER, index="bai")
    w.write_many(SAM_LINES)
    return w


def _vcf(path):
    w = VcfWriter(path, VCF_HEADER, index="csi")
    w.write_many(VCF_LINES)
    return w


def _tabix(path):
    w = TabixWriter(path, "#x\n", preset="bed", index="tbi")
    w.write_many(["chr1\t1\t5\ta", "chr1\t3\t9\tb"])
    return w


def _bgzf(path):
    w = BgzfWriter(path, threads=2)
    w.write(b"x" * 200_000)
    return w


def _bgzf2(path):
    w = Bgzf2Writer(path)
    w.write(b"some bytes\n" * 1000)
    return w


def _bigbed(path):
    w = BigBedWriter(path, {"chr1": 1000})
    w.write_records([("chr1", 1, 5, None), ("chr1", 7, 9, None)])
    return w


MAKERS = {"bam": _bam, "vcf.gz": _vcf, "bed.gz": _tabix, "gz": _bgzf, "zst": _bgzf2, "bb": _bigbed}


@pytest.mark.parametrize("suffix", sorted(MAKERS))
def test_forgotten_writer_warns_and_leaves_nothing(suffix, tmp_path):
    target = tmp_path / f"forgot.{suffix}"
    writer = MAKERS[suffix](target)
    assert any(".tmp-" in p.name for p in tmp_path.iterdir())   # work in progress exists
    with pytest.warns(ResourceWarning, match="forgot"):
        del writer
        gc.collect()
    assert sorted(os.listdir(tmp_path)) == []                    # no temp file, no target


@pytest.mark.parametrize("suffix", sorted(MAKERS))
def test_closed_or_aborted_writers_do_not_warn(suffix, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        writer = MAKERS[suffix](tmp_path / f"ok.{suffix}")
        writer.close()
        del writer
        other = MAKERS[suffix](tmp_path / f"gone.{suffix}")
        other.abort()
        del other
        gc.collect()
    names = os.listdir(tmp_path)
    assert f"ok.{suffix}" in names and not any("gone" in n or ".tmp-" in n for n in names)


def test_atomic_file_finalizer_is_the_safety_net(tmp_path):
    atomic = AtomicFile(tmp_path / "raw.bin")
    atomic.handle.write(b"partial")
    with pytest.warns(ResourceWarning, match="raw.bin"):
        del atomic
        gc.collect()
    assert os.listdir(tmp_path) == []


class _Named(io.BytesIO):
    name = "<stdout>"


@pytest.mark.parametrize("make", [
    lambda t: BamWriter(t, SAM_HEADER, index="bai"),
    lambda t: BamWriter(t, SAM_HEADER, index="csi"),
    lambda t: VcfWriter(t, VCF_HEADER, index="tbi"),
    lambda t: TabixWriter(t, "", preset="bed", index="csi"),
])
def test_file_object_target_needs_index_path(make, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for target in (_Named(), io.BytesIO()):
        with pytest.raises(BioformatsError, match="index_path"):
            make(target)
    assert os.listdir(tmp_path) == []   # no "<stdout>.bai"


def test_file_object_target_with_index_path_works(tmp_path):
    data, index = io.BytesIO(), io.BytesIO()
    with BamWriter(data, SAM_HEADER, index="bai", index_path=index) as bam:
        bam.write_many(SAM_LINES)
    assert data.getvalue()[:4] == b"\x1f\x8b\x08\x04" and index.getvalue()[:4] == b"BAI\x01"
