"""``bgzip`` (plain BGZF + .gzi), ``tabix`` query mode and ``bgzip2``'s bgzip letters, against
htslib through pysam on the same files."""

from __future__ import annotations

import gzip
import os
import random
import struct

import pytest

from bioformats_ext.bgzf.gzi import build_gzi
from bioformats_ext.cli import main

pysam = pytest.importorskip("pysam")
from pysam import libcbgzf  # noqa: E402
from helpers import walk_vcf  # noqa: E402

BLOCK = 0xFF00


def _blocks(path):
    """(uncompressed size) of each BGZF block, EOF block included."""
    data = open(path, "rb").read()
    sizes, pos = [], 0
    while pos < len(data):
        bsize = struct.unpack_from("<H", data, pos + 16)[0] + 1
        sizes.append(struct.unpack_from("<I", data, pos + bsize - 4)[0])
        pos += bsize
    return sizes


def _gzi_entries(path):
    raw = open(path, "rb").read()
    n = struct.unpack_from("<Q", raw)[0]
    return [struct.unpack_from("<QQ", raw, 8 + 16 * i) for i in range(n)]


def make_vcf(path, n=6000, seed=3):
    """Walk from POS 0 (so POS 0 and repeated positions occur) over three contigs."""
    header, lines = walk_vcf([("chr1", 5_000_000), ("chr2", 900_000), ("chrM", 16569)],
                             [n, n // 3, 40], seed=seed, quals=[str(q) for q in range(1, 100)])
    path.write_text(header + "\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("size", [0, 100, BLOCK, BLOCK + 1, 3 * BLOCK, 3 * BLOCK + 5])
def test_bgzip_binary_layout_and_gzi_equal_htslib(tmp_path, size):
    data = random.Random(size).randbytes(size)
    src = tmp_path / "x.bin"
    src.write_bytes(data)
    # htslib via pysam: BGZFile with index= writes the .gzi bgzip -i would
    ref = tmp_path / "ref.gz"
    with libcbgzf.BGZFile(str(ref), "wb", index=str(ref) + ".gzi") as handle:
        handle.write(data)
    assert main(["bgzip", "-i", "-k", "--binary", str(src)]) == 0
    ours = tmp_path / "x.bin.gz"
    assert src.exists() and gzip.decompress(ours.read_bytes()) == data
    assert _blocks(ours) == _blocks(ref)
    ref_entries = _gzi_entries(str(ref) + ".gzi")
    our_entries = _gzi_entries(str(ours) + ".gzi")
    assert [u for _, u in our_entries] == [u for _, u in ref_entries]
    # compressed addresses are ours (zlib builds may differ), and must equal a rescan (-r)
    assert build_gzi(ours).tolist() == [list(e) for e in our_entries]
    # -r on htslib's own file reproduces htslib's .gzi byte for byte
    os.rename(str(ref) + ".gzi", tmp_path / "htslib.gzi")
    assert main(["bgzip", "-r", str(ref)]) == 0
    assert (tmp_path / "ref.gz.gzi").read_bytes() == (tmp_path / "htslib.gzi").read_bytes()


def test_bgzip_vs_tabix_compress_and_offsets(tmp_path, capsysbinary):
    vcf = make_vcf(tmp_path / "calls.vcf")
    text = vcf.read_bytes()
    ref = tmp_path / "ref.vcf.gz"
    pysam.tabix_compress(str(vcf), str(ref), force=True)
    # --binary: every block full, exactly pysam.tabix_compress's layout
    assert main(["bgzip", "-c", "--binary", str(vcf)]) == 0
    (tmp_path / "bin.gz").write_bytes(capsysbinary.readouterr().out)
    assert _blocks(tmp_path / "bin.gz") == _blocks(ref)
    # default text mode: header lines end a block, blocks end at newlines (bgzip >= 1.16)
    assert main(["bgzip", "-i", str(vcf)]) == 0
    ours = tmp_path / "calls.vcf.gz"
    assert not vcf.exists()                       # input removed without -k
    sizes = _blocks(ours)[:-1]
    header_len = len(b"".join(l for l in text.splitlines(True) if l.startswith(b"#")))
    assert sizes[0] == header_len
    ends = [sum(sizes[:i + 1]) for i in range(len(sizes))]
    assert all(text[e - 1:e] == b"\n" for e in ends)
    assert max(sizes) <= BLOCK and gzip.decompress(ours.read_bytes()) == text
    assert build_gzi(ours).tolist() == [list(e) for e in _gzi_entries(str(ours) + ".gzi")]
    # htslib reads our file, and tabix indexes it identically
    pysam.tabix_index(str(ours), preset="vcf", force=True, keep_original=True)
    assert list(pysam.TabixFile(str(ours)).fetch("chr2", 1000, 200_000))
    # -b/-s through the .gzi, at offsets across block boundaries
    for offset, size in [(0, 10), (header_len - 3, 100), (BLOCK * 2 + 17, 70_000), (len(text) - 5, 50)]:
        assert main(["bgzip", "-b", str(offset), "-s", str(size), str(ours)]) == 0
        assert capsysbinary.readouterr().out == text[offset:offset + size]
    # -d restores the file (and refuses to overwrite without -f), -t tests
    assert main(["bgzip", "-t", str(ours)]) == 0
    assert main(["bgzip", "-d", "-k", str(ours)]) == 0 and vcf.read_bytes() == text
    assert main(["bgzip", "-d", "-k", str(ours)]) == 1
    assert "already exists" in capsysbinary.readouterr().err.decode()
    # plain gzip decompresses too (as bgzip does); a corrupt BGZF fails -t with one line
    (tmp_path / "plain.gz").write_bytes(gzip.compress(b"hello\n") + gzip.compress(b"again\n"))
    assert main(["bgzip", "-dc", str(tmp_path / "plain.gz")]) == 0
    assert capsysbinary.readouterr().out == b"hello\nagain\n"
    bad = bytearray(ours.read_bytes())
    bad[40:60] = b"\0" * 20
    (tmp_path / "bad.gz").write_bytes(bytes(bad))
    assert main(["bgzip", "-t", str(tmp_path / "bad.gz")]) == 1
    assert len(capsysbinary.readouterr().err.decode().strip().splitlines()) == 1


def test_bgzip_several_files_into_one_output(tmp_path):
    parts = []
    for i in range(3):
        p = tmp_path / f"part{i}.txt"
        p.write_bytes(f"line {i}\n".encode() * (20_000 * (i + 1)))
        parts.append(p)
    out = tmp_path / "all.gz"
    assert main(["bgzip", "-i", "-o", str(out), *map(str, parts)]) == 0
    assert all(p.exists() for p in parts)                  # -o keeps the inputs
    whole = b"".join(p.read_bytes() for p in parts)
    with libcbgzf.BGZFile(str(out), "rb") as handle:
        assert handle.read() == whole
    assert build_gzi(out).tolist() == [list(e) for e in _gzi_entries(str(out) + ".gzi")]
    back = tmp_path / "back.txt"
    assert main(["bgzip", "-d", "-o", str(back), str(out), str(out)]) == 0
    assert back.read_bytes() == whole + whole


def test_bgzip_several_files_and_levels(tmp_path):
    names = []
    for i in range(3):
        p = tmp_path / f"f{i}.txt"
        p.write_text(f"file {i}\n" * (5000 * (i + 1)))
        names.append(str(p))
    assert main(["bgzip", "-l", "1", "-@", "2", *names]) == 0
    for i, name in enumerate(names):
        assert not os.path.exists(name)
        with libcbgzf.BGZFile(name + ".gz", "rb") as handle:
            assert handle.read() == (f"file {i}\n" * (5000 * (i + 1))).encode()


@pytest.fixture
def indexed_vcf(tmp_path):
    vcf = make_vcf(tmp_path / "q.vcf")
    gz = str(tmp_path / "q.vcf.gz")
    pysam.tabix_compress(str(vcf), gz, force=True)
    pysam.tabix_index(gz, preset="vcf", force=True)
    return gz


def test_tabix_query_mode_equals_pysam(indexed_vcf, tmp_path, capsysbinary):
    ref = pysam.TabixFile(indexed_vcf)
    regions = ["chr1:1-100000", "chr2:500,000-520,000", "chrM", "chr1:4000000", "nosuch:1-10"]
    assert main(["tabix", indexed_vcf, *regions]) == 0
    got = capsysbinary.readouterr().out.decode().splitlines()
    want = []
    for region in regions:
        if region.startswith("nosuch"):
            continue
        want += list(ref.fetch(region=region.replace(",", "")))
    assert got == want and got
    # -h prints the header first; -H only the header; -l the sequence names
    assert main(["tabix", "-h", indexed_vcf, "chrM"]) == 0
    out = capsysbinary.readouterr().out.decode().splitlines()
    assert out == list(ref.header) + list(ref.fetch("chrM"))
    assert main(["tabix", "-H", indexed_vcf]) == 0
    assert capsysbinary.readouterr().out.decode().splitlines() == list(ref.header)
    assert main(["tabix", "-l", indexed_vcf]) == 0
    assert capsysbinary.readouterr().out.decode().split() == list(ref.contigs)
    # -R: a BED file (0-based) and a 1-based regions file, sorted per chromosome
    bed = tmp_path / "r.bed"
    bed.write_text("chr2\t600000\t650000\nchr1\t300000\t310000\nchr1\t10\t20000\n")
    assert main(["tabix", "-R", str(bed), indexed_vcf]) == 0
    got = capsysbinary.readouterr().out.decode().splitlines()
    want = (list(ref.fetch("chr2", 600000, 650000)) + list(ref.fetch("chr1", 10, 20000))
            + list(ref.fetch("chr1", 300000, 310000)))
    assert sorted(got) == sorted(want) and len(got) == len(want)
    assert got[: len(list(ref.fetch("chr2", 600000, 650000)))] == list(ref.fetch("chr2", 600000, 650000))
    tsv = tmp_path / "r.txt"
    tsv.write_text("chr1\t11\t20000\nchrM\t100\n")
    assert main(["tabix", "-R", str(tsv), indexed_vcf]) == 0
    got = capsysbinary.readouterr().out.decode().splitlines()
    assert got == list(ref.fetch("chr1", 10, 20000)) + list(ref.fetch("chrM", 99, 100))
    # indexing mode still works and refuses to overwrite without -f
    assert main(["tabix", "-p", "vcf", indexed_vcf]) == 1
    assert main(["tabix", "-f", "-p", "vcf", indexed_vcf]) == 0


def test_bgzip2_bgzip_letters_and_several_files(tmp_path, capsysbinary):
    vcf = make_vcf(tmp_path / "a.vcf", n=3000)
    text = vcf.read_bytes()
    other = tmp_path / "b.txt"
    other.write_bytes(b"plain bytes\n" * 1000)
    # several inputs, -B block size (old --block-size still accepted), -k keep
    assert main(["bgzip2", "-k", "-B", "4000", str(vcf), str(other)]) == 0
    assert main(["bgzip2", "-k", "-f", "--block-size", "4000", str(other)]) == 0
    packed = tmp_path / "a.vcf.zst"
    # -t tests, -b/-s decompress a byte range, -Q (or --region) queries
    assert main(["bgzip2", "-t", str(packed), str(other) + ".zst"]) == 0
    assert main(["bgzip2", "-b", "5000", "-s", "12345", str(packed)]) == 0
    assert capsysbinary.readouterr().out == text[5000:17345]
    gz = str(tmp_path / "a.vcf.gz")
    pysam.tabix_compress(str(vcf), gz, force=True)
    pysam.tabix_index(gz, preset="vcf", force=True)
    ref = pysam.TabixFile(gz)
    assert main(["bgzip2", "-Q", "chr2:100000-300000", str(packed)]) == 0
    assert capsysbinary.readouterr().out.decode().splitlines() == list(ref.fetch("chr2", 99999, 300000))
    # -r rebuilds the embedded index in place (same answers afterwards)
    before = packed.read_bytes()
    assert main(["bgzip2", "-r", "-B", "9000", str(packed)]) == 0
    assert packed.read_bytes() != before
    assert main(["bgzip2", "--region", "chr1:1-50000", str(packed)]) == 0
    assert capsysbinary.readouterr().out.decode().splitlines() == list(ref.fetch("chr1", 0, 50000))
    # -t on a damaged file: one line, exit 1
    bad = bytearray(before)
    bad[len(bad) // 2: len(bad) // 2 + 64] = b"\xff" * 64
    (tmp_path / "bad.vcf.zst").write_bytes(bytes(bad))
    assert main(["bgzip2", "-t", str(tmp_path / "bad.vcf.zst")]) == 1
    assert len(capsysbinary.readouterr().err.decode().strip().splitlines()) == 1


def test_bgzip2_vcf_accepts_pos_zero_like_tabix(tmp_path, capsysbinary):
    vcf = tmp_path / "tel.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000>\n"
                   "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   "chr1\t0\ttel\tN\t<DEL>\t.\tPASS\t.\nchr1\t1\t.\tA\tG\t.\tPASS\t.\n"
                   "chr1\t5\t.\tA\tG\t.\tPASS\t.\n")
    assert main(["bgzip2", "-k", "-p", "vcf", str(vcf)]) == 0
    gz = str(tmp_path / "tel.vcf.gz")
    pysam.tabix_compress(str(vcf), gz, force=True)
    pysam.tabix_index(gz, preset="vcf", force=True)
    ref = pysam.TabixFile(gz)
    for region, (beg, end) in [("chr1:1-1", (0, 1)), ("chr1:1-10", (0, 10)), ("chr1:2-10", (1, 10))]:
        assert main(["bgzip2", "-Q", region, str(vcf) + ".zst"]) == 0
        assert capsysbinary.readouterr().out.decode().splitlines() == list(ref.fetch("chr1", beg, end))


def test_bgzip_pipes_through_standard_streams(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    data = make_vcf(tmp_path / "p.vcf", n=2000).read_bytes()
    cmd = [sys.executable, "-m", "bioformats_ext.cli"]
    packed = subprocess.run(cmd + ["bgzip"], input=data, capture_output=True, env=env, check=True)
    assert gzip.decompress(packed.stdout) == data
    (tmp_path / "s.gz").write_bytes(packed.stdout)
    with libcbgzf.BGZFile(str(tmp_path / "s.gz"), "rb") as handle:  # htslib reads it
        assert handle.read() == data
    back = subprocess.run(cmd + ["bgzip", "-d"], input=packed.stdout, capture_output=True,
                          env=env, check=True)
    assert back.stdout == data and not back.stderr
