"""BCF → table columns decoded as columns (``vcf/bcf_table.py``) equal htslib's own VCF text
of the same records (pysam's ``str(record)``), on htslib's test files converted by bcftools
and on a generated file with every INFO value type, missing values, vector ends and filters."""

from __future__ import annotations

import gzip
import random
import struct
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pysam = pytest.importorskip("pysam")
bcftools = pytest.importorskip("pysam.bcftools")

from bioformats_ext.vcf.bcf_table import bcf_to_arrow  # noqa: E402
from bioformats_ext.vcf.header import VcfHeader  # noqa: E402
from bioformats_ext.vcf.reader import _cut_batch  # noqa: E402
from bioformats_ext.vcf.record import RecordContext  # noqa: E402

DATA = Path(__file__).parent / "data" / "htslib-vcf"
FIXED = ["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]


def batch_of(bcf: Path):
    raw = gzip.decompress(bcf.read_bytes())
    (l_text,) = struct.unpack_from("<I", raw, 5)
    text = raw[9:9 + l_text].rstrip(b"\0").decode()
    ctx = RecordContext(VcfHeader(text), True, str(bcf))
    batch, end = _cut_batch(raw, 9 + l_text, ctx, 1)
    assert end == len(raw)
    return batch, ctx


def htslib_rows(bcf: Path):
    with pysam.VariantFile(str(bcf)) as f:
        rows = [str(r).rstrip("\n").split("\t")[:8] for r in f]
    for r in rows:
        r[1] = int(r[1])
        r[5] = None if r[5] == "." else float(r[5])
    return rows


def to_bcf(vcf: Path, tmp_path: Path) -> Path:
    out = tmp_path / (vcf.stem + ".bcf")
    bcftools.view("-Ob", "-o", str(out), str(vcf), catch_stdout=False)
    return out


def htslib_gts(bcf: Path):
    """Per record, each sample's GT text as htslib writes it (None without a leading GT)."""
    out = []
    with pysam.VariantFile(str(bcf)) as f:
        for r in f:
            cols = str(r).rstrip("\n").split("\t")
            fmt = cols[8].split(":") if len(cols) > 8 else []
            out.append([c.split(":")[0] if fmt and fmt[0] == "GT" else None for c in cols[9:]])
    return out


def check(bcf: Path, genotypes: bool = True):
    batch, ctx = batch_of(bcf)
    samples = list(ctx.header.samples)
    gts = samples if genotypes else []
    table = bcf_to_arrow(batch, samples, FIXED, None, str(bcf), genotypes=gts)
    assert table is not None, "the column path gave up on a valid file"
    got = [[row[c] for c in FIXED] for row in table.to_pylist()]
    assert got == htslib_rows(bcf)
    if gts:
        got_gt = [[row[f"GT/{s}"] for s in gts] for row in table.to_pylist()]
        assert got_gt == htslib_gts(bcf)
    return table


@pytest.mark.parametrize("name", ["vcf_file.vcf", "formatmissing.vcf", "vcf44_1.vcf",
                                  "formatcols.vcf", "large_chr.vcf"])
def test_htslib_files(name, tmp_path):
    try:
        bcf = to_bcf(DATA / name, tmp_path)
    except pysam.utils.SamtoolsError as exc:  # pragma: no cover - depends on the file
        pytest.skip(f"bcftools cannot write it as BCF: {exc}")
    check(bcf, genotypes=name != "vcf44_1.vcf")  # 4.4 phasing prefixes: per-record path


def test_generated_every_info_type(tmp_path):
    rng = random.Random(5)
    head = ["##fileformat=VCFv4.2", "##contig=<ID=1,length=1000000>",
            "##contig=<ID=2,length=1000000>",
            '##FILTER=<ID=q10,Description="q">', '##FILTER=<ID=s50,Description="s">',
            '##INFO=<ID=DP,Number=1,Type=Integer,Description="d">',
            '##INFO=<ID=BIG,Number=1,Type=Integer,Description="d">',
            '##INFO=<ID=AC,Number=A,Type=Integer,Description="d">',
            '##INFO=<ID=AF,Number=A,Type=Float,Description="d">',
            '##INFO=<ID=F1,Number=1,Type=Float,Description="d">',
            '##INFO=<ID=DB,Number=0,Type=Flag,Description="d">',
            '##INFO=<ID=NT,Number=.,Type=String,Description="d">',
            '##INFO=<ID=MID,Number=.,Type=Integer,Description="d">',
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines = []
    for chrom in ("1", "2"):
        pos = 0
        for k in range(400):
            pos += rng.randrange(0, 50)
            n_alt = rng.randrange(0, 4)
            alts = ",".join(rng.choice(["A", "C", "GT", "TTA", "<DEL>"]) for _ in range(n_alt))
            info = []
            if rng.random() < 0.8:
                info.append(f"DP={rng.randrange(0, 300)}")
            if rng.random() < 0.3:
                info.append(f"BIG={rng.randrange(-3_000_000, 3_000_000)}")
            if n_alt and rng.random() < 0.7:
                info.append("AC=" + ",".join(rng.choice([str(rng.randrange(500)), "."])
                                             for _ in range(n_alt)))
                info.append("AF=" + ",".join(rng.choice([f"{rng.random():.5g}", ".", "0.1",
                                                          "1e-07", "123456789"])
                                             for _ in range(n_alt)))
            if rng.random() < 0.3:
                info.append(f"F1={rng.uniform(-1e4, 1e4):.7g}")
            if rng.random() < 0.2:
                info.append("DB")
            if rng.random() < 0.3:
                info.append("NT=" + rng.choice(["x", "héllo", "a,b", "."]))
            if rng.random() < 0.2:
                info.append("MID=" + ",".join(str(rng.randrange(-40000, 40000)) for _ in
                                              range(rng.randrange(1, 6))))
            qual = rng.choice([".", "0", "12.5", f"{rng.uniform(0, 1000):.6g}"])
            filt = rng.choice(["PASS", ".", "q10", "q10;s50"])
            ident = rng.choice([".", f"rs{k}", f"id{k};alt{k}"])
            lines.append(f"{chrom}\t{max(pos, 1)}\t{ident}\tA\t{alts or '.'}\t{qual}\t{filt}\t"
                         f"{';'.join(info) or '.'}")
    vcf = tmp_path / "gen.vcf"
    vcf.write_text("\n".join(head + lines) + "\n")
    table = check(to_bcf(vcf, tmp_path))
    assert table.num_rows == 800
    # the per-record path (VCF text of each record) gives the same columns
    batch, ctx = batch_of(tmp_path / "gen.bcf")
    from bioformats_ext.tables.vcf import vcf_text_to_arrow
    from bioformats_ext.vcf.reader import _records

    text = "".join(f"{r}\n" for r in _records(batch)).encode()
    assert vcf_text_to_arrow(text, (), FIXED).to_pylist() == table.to_pylist()


def test_generated_genotypes(tmp_path):
    """GT of diploid, haploid, missing, phased and mixed-ploidy calls (vector ends), GT absent
    from some records and not first in others; BCF columns equal htslib and the text path."""
    rng = random.Random(9)
    samples = ["s1", "s2", "s3"]
    head = ["##fileformat=VCFv4.2", "##contig=<ID=1,length=1000000>",
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="g">',
            '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="d">',
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples)]
    lines = []
    for k in range(300):
        kind = rng.random()
        gts = [rng.choice(["0/1", "1|0", "./.", ".", "0", "1/1", "0|0", ".|1", "2/1", "0/1/2"])
               for _ in samples]
        if kind < 0.15:
            fmt, values = "DP", [str(rng.randrange(50)) for _ in samples]
        elif kind < 0.3:
            fmt, values = "DP:GT", [f"{rng.randrange(50)}:{g}" for g in gts]
        else:
            fmt, values = "GT:DP", [f"{g}:{rng.randrange(50)}" for g in gts]
        lines.append(f"1\t{k + 1}\t.\tA\tC,G\t.\t.\t.\t{fmt}\t" + "\t".join(values))
    vcf = tmp_path / "gt.vcf"
    vcf.write_text("\n".join(head + lines) + "\n")
    bcf = to_bcf(vcf, tmp_path)
    table = check(bcf)
    batch, ctx = batch_of(bcf)
    from bioformats_ext.tables.vcf import vcf_text_to_arrow
    from bioformats_ext.vcf.reader import _records

    text = "".join(f"{r}\n" for r in _records(batch)).encode()
    assert vcf_text_to_arrow(text, samples, FIXED, genotypes=samples).to_pylist() == \
        table.to_pylist()


def test_corrupt_records_take_the_per_record_path(tmp_path):
    """A record whose INFO key is not in the header, or whose n_info overruns its shared block:
    the column path declines (None) and the per-record path raises the typed error naming it."""
    from bioformats_ext.errors import FormatError
    from bioformats_ext.vcf.reader import _records

    vcf = tmp_path / "c.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n##contig=<ID=1,length=1000>\n"
                   '##INFO=<ID=DP,Number=1,Type=Integer,Description="d">\n'
                   "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   + "".join(f"1\t{i + 1}\t.\tA\tC\t.\tPASS\tDP={i}\n" for i in range(5)))
    bcf = to_bcf(vcf, tmp_path)
    batch, ctx = batch_of(bcf)
    raw = bytearray(batch.buf)
    o = batch.off_list[2]
    bad_key = bytearray(raw)
    info_at = int(batch.shared_layout()[0][2])  # record 2's first INFO key (typed int8)
    assert bad_key[info_at] == 0x11
    bad_key[info_at + 1] = 120                   # a dictionary index the header lacks
    overrun = bytearray(raw)
    overrun[o + 8 + 24:o + 8 + 26] = (500).to_bytes(2, "little")   # n_info of record 2
    for data in (bad_key, overrun):
        b, end = _cut_batch(bytes(data), batch.off_list[0], ctx, 1)
        assert end == len(data) and b.n == 5
        assert bcf_to_arrow(b, [], FIXED, None, "c.bcf") is None
        with pytest.raises(FormatError, match="record 3"):
            "".join(str(r) for r in _records(b))
