"""``bioformats-ext bgzip2``: compress / decompress round trips and region queries, checked
against htslib's tabix (via pysam) on the same text."""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest

from bioformats_ext.bgzf2 import Bgzf2Reader
from bioformats_ext.cli import main
from helpers import walk_vcf  # noqa: E402

pysam = pytest.importorskip("pysam")


def make_vcf(path, seed=1, n=3000):
    """Three large contigs and twelve tiny ones (1-20 records each, several per block);
    2 % long ``<DEL>`` records with INFO/END."""
    contigs = [("chr1", 2_000_000), ("chr2", 500_000), ("chrM", 16_569)] + \
        [(f"un{i}", 3_000) for i in range(12)]
    rng = random.Random(seed)
    counts = [n if length > 100_000 else rng.randint(1, 20) for _, length in contigs]
    header, lines = walk_vcf(contigs, counts, seed=seed, start=1,
                             steps=[max(2, length // n * 2) for _, length in contigs],
                             refs=("A", "C", "AT", "GATTACA", "T"), info=None, end_rate=0.02)
    path.write_text(header + "\n".join(lines) + "\n")
    return contigs


def tabix_copy(path, tmp_path, preset):
    gz = str(tmp_path / (path.name + ".gz"))
    pysam.tabix_compress(str(path), gz, force=True)
    pysam.tabix_index(gz, preset=preset, force=True)
    return pysam.TabixFile(gz)


def test_vcf_compress_query_decompress(tmp_path, capsysbinary):
    vcf = tmp_path / "calls.vcf"
    contigs = make_vcf(vcf)
    original = vcf.read_bytes()
    assert main(["bgzip2", "-k", "-B", "8000", "-@", "2", str(vcf)]) == 0
    packed = tmp_path / "calls.vcf.zst"
    assert packed.exists() and vcf.exists()
    reader = Bgzf2Reader(packed)
    assert reader.read() == original
    assert reader.metadata["format"] == "vcf"
    assert dict((r.name, r.length) for r in reader.references) == dict(contigs)
    assert reader.index.sorted
    tabix = tabix_copy(vcf, tmp_path, "vcf")
    rng = random.Random(4)
    capsysbinary.readouterr()
    for _ in range(60):
        name, length = rng.choice(contigs[:4])
        beg = rng.randint(1, length)
        end = beg + rng.randint(0, 100_000)
        assert main(["bgzip2", "-Q", f"{name}:{beg:,}-{end}", str(packed)]) == 0
        got = capsysbinary.readouterr().out.decode().splitlines()
        want = list(tabix.fetch(name, beg - 1, end))
        assert got == want
    assert main(["bgzip2", "-Q", "chrM", str(packed)]) == 0
    assert capsysbinary.readouterr().out.decode().splitlines() == list(tabix.fetch("chrM"))
    assert main(["bgzip2", "-H", "--region", "un3:1", str(packed)]) == 0
    out = capsysbinary.readouterr().out.decode().splitlines()
    header = [l for l in original.decode().splitlines() if l.startswith("#")]
    assert out == header + list(tabix.fetch("un3", 0))
    # decompress (removes the .zst unless -k) and refuse to overwrite without -f
    assert main(["bgzip2", "-d", str(packed)]) == 1
    assert b"already exists" in capsysbinary.readouterr().err
    vcf.unlink()
    assert main(["bgzip2", "-d", "-@", "2", str(packed)]) == 0
    assert vcf.read_bytes() == original and not packed.exists()


def test_bed_and_plain_streams(tmp_path, capsysbinary):
    rng = random.Random(2)
    bed = tmp_path / "x.bed"
    rows = []
    for chrom in ("a", "b"):
        pos = 0
        for _ in range(500):
            pos += rng.randint(0, 300)
            rows.append(f"{chrom}\t{pos}\t{pos + rng.randint(1, 5000)}\tname")
    bed.write_text("# comment\n" + "\n".join(rows) + "\n")
    assert main(["bgzip2", "-k", "-B", "2000", str(bed)]) == 0
    tabix = tabix_copy(bed, tmp_path, "bed")
    capsysbinary.readouterr()
    for beg, end in ((1, 10), (5000, 9000), (70_000, 80_000)):
        assert main(["bgzip2", "-Q", f"b:{beg}-{end}", str(bed) + ".zst"]) == 0
        assert capsysbinary.readouterr().out.decode().splitlines() == \
            list(tabix.fetch("b", beg - 1, end))
    # no preset: a plain byte stream, -c to stdout, -d -c back
    blob = tmp_path / "blob.bin"
    data = bytes(rng.randrange(256) for _ in range(50_000)) * 3
    blob.write_bytes(data)
    assert main(["bgzip2", "-c", "-l", "7", str(blob)]) == 0
    packed = capsysbinary.readouterr().out
    assert blob.exists()
    (tmp_path / "blob.zst").write_bytes(packed)
    assert main(["bgzip2", "-d", "-c", str(tmp_path / "blob.zst")]) == 0
    assert capsysbinary.readouterr().out == data
    if shutil.which("zstd"):
        out = subprocess.run(["zstd", "-q", "-dc", str(tmp_path / "blob.zst")],
                             capture_output=True, check=True).stdout
        assert out == data


def test_errors_are_reported(tmp_path, capsys):
    bad = tmp_path / "bad.vcf"
    bad.write_text("##fileformat=VCFv4.2\nchr1\tnotanumber\t.\tA\tG\n")
    assert main(["bgzip2", str(bad)]) == 1
    assert "line 2" in capsys.readouterr().err
    assert not (tmp_path / "bad.vcf.zst").exists()
    plain = tmp_path / "plain.zst"
    plain.write_bytes(b"\x28\xb5\x2f\xfd" + b"\0" * 20)
    assert main(["bgzip2", "-d", str(plain)]) == 1
    assert "not BGZF2" in capsys.readouterr().err


def test_sam_lines_match_htslib_fetch(tmp_path, capsysbinary):
    """SAM text indexed by CIGAR span: `-r` equals htslib's fetch on the same reads as BAM."""
    rng = random.Random(8)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": "c1", "LN": 200_000}, {"SN": "c2", "LN": 50_000}]}
    bam = tmp_path / "r.bam"
    reads = []
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for tid, length in ((0, 200_000), (1, 50_000)):
            pos = 0
            for k in range(800):
                pos += rng.randint(0, length // 900)
                a = pysam.AlignedSegment(out.header)
                a.query_name = f"r{tid}_{k}"
                a.reference_id = tid
                a.reference_start = pos
                a.query_sequence = "A" * 50
                if rng.random() < 0.05:
                    a.flag = 4 | 1 | 8           # unmapped, placed at its mate's position
                else:
                    a.flag = 0
                    a.cigarstring = rng.choice(["50M", "20M3000N30M", "10S40M", "25M5D25M"])
                    a.mapping_quality = 60
                out.write(a)
                reads.append(a)
    pysam.index(str(bam))
    sam = tmp_path / "r.sam"
    with pysam.AlignmentFile(str(bam)) as f:
        sam.write_text(str(f.header) + "".join(r.to_string() + "\n" for r in f))
    assert main(["bgzip2", "-k", "-B", "3000", str(sam)]) == 0
    reader = Bgzf2Reader(tmp_path / "r.sam.zst")
    assert [(r.name, r.length) for r in reader.references] == [("c1", 200_000), ("c2", 50_000)]
    assert int(reader.metadata["nrec_unmapped"]) > 0
    capsysbinary.readouterr()
    with pysam.AlignmentFile(str(bam)) as f:
        for _ in range(40):
            name, length = rng.choice([("c1", 200_000), ("c2", 50_000)])
            beg = rng.randint(1, length)
            end = beg + rng.randint(0, 8000)
            assert main(["bgzip2", "-Q", f"{name}:{beg}-{end}", str(tmp_path / "r.sam.zst")]) == 0
            got = capsysbinary.readouterr().out.decode().splitlines()
            assert got == [r.to_string() for r in f.fetch(name, beg - 1, end)]
