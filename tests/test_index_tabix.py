"""TBI/CSI for bgzipped VCF, BED and GFF: equal by content to tabix / bcftools; pysam fetches with ours.

Files are compressed with ``pysam.tabix_compress``; reference indexes come from
``pysam.tabix_index`` (TBI and ``csi=True``) and ``pysam.bcftools.index`` (CSI, and ``-t`` TBI).
Ours come from :func:`index_tabix` and from a pure ``IndexBuilder.push`` replay driven by
:class:`BgzfReader` line offsets and :func:`tabix_conf.parse_line`.
"""

from __future__ import annotations

import io
import os
import random
import shutil

import pytest

pysam = pytest.importorskip("pysam")
import pysam.bcftools  # noqa: E402  (submodule, not imported by ``import pysam``)

from bioformats_ext.bgzf import BgzfReader  # noqa: E402
from bioformats_ext.errors import RecordError, SortOrderError  # noqa: E402
from bioformats_ext.index import IndexBuilder, read_index  # noqa: E402
from bioformats_ext.tabix import index_tabix  # noqa: E402
from bioformats_ext.index.tabix_conf import PRESETS, parse_line, parse_lines  # noqa: E402
from bioformats_ext.commands.index import tabix as tabix_cmd  # noqa: E402
from helpers import assert_same_index  # noqa: E402
from helpers.text import mixture, random_intervals  # noqa: E402


def _vcf(rng):
    lines = ["##fileformat=VCFv4.2"]
    contigs = [("c1", 3_000_000), ("c2", 250_000), ("c3", 2_000_000), ("c4", 100_000)]
    lines += [f"##contig=<ID={c},length={ln}>" for c, ln in contigs]
    lines.append('##INFO=<ID=END,Number=1,Type=Integer,Description="End">')
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    # c4 has no records; contigs out of header order
    for c, p, _, _ in random_intervals(rng, [("c1", 3_000_000, 700), ("c3", 2_000_000, 700),
                                             ("c2", 250_000, 3000)], lambda rng: 0,
                                       first=1, margin=60_000):
        ref = "ACGT"[rng.randrange(4)] * rng.randrange(1, 6)
        r = rng.random()
        info = f"END={p + rng.randrange(100, 50_000)}" if r < 0.05 else (
            f"DP=3;END={p - 5}" if r < 0.07 else "DP=3")     # END < POS is ignored
        pad = rng.randbytes(rng.randrange(0, 200)).hex()
        lines.append(f"{c}\t{p}\tid{pad}\t{ref}\tG\t50\tPASS\t{info}")
    return "\n".join(lines) + "\n"


def _bed(rng):
    """Zero-length, long (to 80 kb) and short intervals; names up to 400 bytes."""
    lines = ["#track name=x"]
    for c, s, e, _ in random_intervals(rng, [("chrA", 2_000_000, 700), ("chrB", 200_000, 3000)],
                                       mixture((0.02, 0, 0), (0.1, 1, 80_000), (1.0, 1, 2000))):
        lines.append(f"{c}\t{s}\t{e}\tname{rng.randbytes(rng.randrange(0, 200)).hex()}\t0\t+")
    return "\n".join(lines) + "\n"


def _gff(rng):
    lines = ["##gff-version 3"]
    for c, s, e, _ in random_intervals(rng, [("s1", 200_000, 3000), ("s2", 2_500_000, 700)],
                                       mixture((0.1, 0, 40_000), (1.0, 0, 1000)), first=1):
        lines.append(f"{c}\tsrc\tgene\t{s}\t{e}\t.\t+\t.\tID=g{s};Note={rng.randbytes(rng.randrange(0, 200)).hex()}")
    return "\n".join(lines) + "\n"


def _sam(rng):
    lines = ["@HD\tVN:1.6\tSO:coordinate", "@SQ\tSN:q1\tLN:300000", "@SQ\tSN:q2\tLN:9000000"]
    for c, s, _, _ in random_intervals(rng, [("q1", 300_000, 2500), ("q2", 9_000_000, 600)],
                                       lambda rng: 0, first=1, margin=100_000):
        cigar = rng.choice(["50M", "10M2I30M5D10M", f"20M{rng.randrange(100, 90_000)}N30M", "5S40M"])
        seq = "".join(rng.choice("ACGT") for _ in range(50))
        lines.append(f"r{s}\t0\t{c}\t{s}\t60\t{cigar}\t*\t0\t0\t{seq}\t*\tXX:Z:{rng.randbytes(40).hex()}")
    return "\n".join(lines) + "\n"


MAKERS = {"vcf": _vcf, "bed": _bed, "gff": _gff, "sam": _sam}
SEEDS = {"vcf": 1, "bed": 2, "gff": 3, "sam": 4}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("tabix")
    out = {}
    for preset, make in MAKERS.items():
        plain = d / f"data.{preset}"
        plain.write_text(make(random.Random(SEEDS[preset])))  # not hash(preset): varies per process
        gz = str(plain) + ".gz"
        pysam.tabix_compress(str(plain), gz, force=True)
        out[preset] = gz
    return out


def _reference(gz, preset, csi, tmp_path):
    copy = str(tmp_path / os.path.basename(gz))
    shutil.copy(gz, copy)
    pysam.tabix_index(copy, preset=preset, csi=csi, force=True)
    return read_index(copy + (".csi" if csi else ".tbi"))


def _replay(gz, preset, csi, max_ref_len=None):
    conf = PRESETS[preset]
    r = BgzfReader(gz)
    b = None
    offset0 = 0
    for line in r:
        if line.startswith(conf.meta.encode()):
            offset0 = r.tell()
            if line.startswith(b"##contig"):
                max_ref_len = max(max_ref_len or 0, int(line.split(b"length=")[1].split(b">")[0]))
            if line.startswith(b"@SQ"):
                max_ref_len = max(max_ref_len or 0, int(line.split(b"LN:")[1].split()[0]))
            continue
        if b is None:
            b = (IndexBuilder.csi(tabix=preset, max_ref_len=max_ref_len, offset0=offset0) if csi
                 else IndexBuilder.tbi(preset, offset0=offset0))
        name, beg, end = parse_line(conf, line)
        b.push(b.tid_for(name), beg, end, r.tell())
    b.finish((os.path.getsize(gz) - 28) << 16)
    buf = io.BytesIO()
    (b.write_csi if csi else b.write_tbi)(buf)
    return read_index(buf.getvalue())


@pytest.mark.parametrize("preset", ["vcf", "bed", "gff", "sam"])
@pytest.mark.parametrize("csi", [False, True])
def test_matches_tabix(files, preset, csi, tmp_path):
    gz = files[preset]
    ref = _reference(gz, preset, csi, tmp_path)
    assert sum(len(x.bins) for x in ref.refs) >= 5  # several bins survive compress_binning
    ours = read_index(index_tabix(gz, preset, csi=csi, out=str(tmp_path / "ours.idx")))
    assert_same_index(ref, ours)
    assert_same_index(ref, _replay(gz, preset, csi))


@pytest.mark.parametrize("csi", [False, True])
def test_matches_bcftools_index(files, csi, tmp_path):
    gz = str(tmp_path / "b.vcf.gz")
    shutil.copy(files["vcf"], gz)
    if csi:
        pysam.bcftools.index("-f", gz)
    else:
        pysam.bcftools.index("-t", "-f", gz)
    ref = read_index(gz + (".csi" if csi else ".tbi"))
    ours = read_index(index_tabix(gz, "vcf", csi=csi, out=str(tmp_path / "ours.idx")))
    assert_same_index(ref, ours)
    assert "c4" not in ours.names  # references without records are left out, as htslib does


@pytest.mark.parametrize("preset", ["vcf", "bed"])
def test_pysam_fetch_with_our_index(files, preset, tmp_path):
    gz = str(tmp_path / f"f.{preset}.gz")
    shutil.copy(files[preset], gz)
    assert tabix_cmd(["-p", preset, gz]) == 0
    assert tabix_cmd(["-p", preset, gz]) == 1          # exists: needs -f
    assert tabix_cmd(["-f", "-p", preset, gz]) == 0
    shutil.copy(files[preset], str(tmp_path / "t.gz"))
    pysam.tabix_index(str(tmp_path / "t.gz"), preset=preset, force=True)
    ours_f = pysam.TabixFile(gz)                            # finds our gz.tbi
    theirs_f = pysam.TabixFile(str(tmp_path / "t.gz"))
    rng = random.Random(5)
    total = 0
    for _ in range(25):
        c = rng.choice(ours_f.contigs)
        s = rng.randrange(0, 2_000_000)
        e = s + rng.randrange(1, 200_000)
        a = list(ours_f.fetch(c, s, e))
        assert a == list(theirs_f.fetch(c, s, e))
        total += len(a)
    assert total > 0


def test_query_chunks_cover_fetch(files, tmp_path):
    gz = files["gff"]
    idx = read_index(index_tabix(gz, "gff", out=str(tmp_path / "g.tbi")))
    reader = BgzfReader(gz)
    conf = PRESETS["gff"]
    all_lines = [ln for ln in open(gz[:-3], "rb") if not ln.startswith(b"#")]
    rng = random.Random(9)
    for _ in range(20):
        name = rng.choice(idx.names)
        s = rng.randrange(0, 2_500_000)
        e = s + rng.randrange(1, 100_000)
        got = set()
        for data in reader.read_ranges(idx.query(name, s, e)):
            for ln in data.splitlines():
                n, b, en = parse_line(conf, ln)
                if n == name and b < e and en > s:
                    got.add(ln)
        want = set()
        for ln in all_lines:
            n, b, en = parse_line(conf, ln)
            if n == name and b < e and en > s:
                want.add(ln.rstrip(b"\n"))
        assert got == want


def test_parse_rules():
    vcf = PRESETS["vcf"]
    assert parse_line(vcf, b"1\t100\t.\tACG\tT\t.\t.\tDP=1") == ("1", 99, 102)
    assert parse_line(vcf, b"1\t100\t.\tA\t<DEL>\t.\t.\tSVTYPE=DEL;END=500") == ("1", 99, 500)
    assert parse_line(vcf, b"1\t100\t.\tACGT\tA\t.\t.\tEND=101") == ("1", 99, 103)
    assert parse_line(vcf, b"1\t100\t.\tA\tT\t.\t.\tXEND=900") == ("1", 99, 100)
    assert parse_line(PRESETS["bed"], "chr1\t0\t10\n") == ("chr1", 0, 10)
    assert parse_line(PRESETS["gff"], b"c\ts\tf\t5\t9\t.\t+\t.\t.") == ("c", 4, 9)
    assert parse_line(PRESETS["sam"], b"r\t0\tc\t10\t30\t5M2I3D4N1S\t*\t0\t0\tA\tI") == ("c", 9, 21)
    lines = [b"chr1\t5\t9\tx", b"chr2\t0\t3"]
    assert parse_lines(PRESETS["bed"], lines) == (["chr1", "chr2"], [5, 0], [9, 3])
    with pytest.raises(RecordError):
        parse_line(PRESETS["bed"], b"chr1\tabc\t5")


def test_unsorted_text_raises(tmp_path):
    plain = tmp_path / "u.bed"
    plain.write_text("c1\t100\t200\nc1\t50\t60\n")
    pysam.tabix_compress(str(plain), str(plain) + ".gz")
    with pytest.raises(SortOrderError) as info:
        index_tabix(str(plain) + ".gz", "bed")
    assert info.value.record == 2 and info.value.pos == 50 and "line 2" in str(info.value)
    assert not os.path.exists(str(plain) + ".gz.tbi")
