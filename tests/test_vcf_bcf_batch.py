"""The columnar BCF batch encoder: byte-identical to the per-record encoder and to
``bcftools view -Ou`` over every Number/Type, missing values, multi-allelic and long alleles,
many samples with left-out trailing fields, batch boundaries anywhere, and the per-record
fallback for the shapes the columns do not cover (END/SVLEN/gVCF LEN, bad values)."""

from __future__ import annotations

import gzip
import io
import warnings

import pytest

pysam = pytest.importorskip("pysam")
from pysam import bcftools  # noqa: E402

from bioformats_ext import vcf  # noqa: E402
from bioformats_ext.errors import RecordError  # noqa: E402
from bioformats_ext.index import read_index  # noqa: E402
from bioformats_ext.vcf.bcf_encode import BcfEncoder  # noqa: E402
from bioformats_ext.vcf.bcf_encode_batch import BatchEncoder  # noqa: E402
from bioformats_ext.vcf.header import VcfHeader  # noqa: E402
from helpers import typed_vcf  # noqa: E402

# shapes typed_vcf does not make: long IDs/alleles (multi-byte descriptors), ALT/ID/INFO/FORMAT
# '.', float and integer QUALs, many FILTERs, Number=. strings, one sample leaving out GT
EXTRA = [
    "1\t10\tidentifier_longer_than_15\tACGTACGTACGTACGTACGT\tA,ACGTACGTACGTACGTAC\t12.5\tq10;s50\t"
    "NOTE=long_text_value_here;DP=70000\tGT:GQ:FT\t0/1:5:PASS\t1|2:.:q10\t./.",
    "1\t11\t.\tA\t.\t.\t.\t.\t.\t.\t.\t.",
    "1\t12\trs1\tA\tC\t1000000\tPASS\tDB;AF=0.5\tGT:AD\t0/1:3,4\t0\t1/1:.",
    "1\t13\trs2\tA\tC,G,T,AT,GCC\t999\tPASS\tAC=1,2,3,4,5;RC=.,1,2,3,4,5\tGT:GQ\t1/2\t0|0:7\t.:5",
    "1\t14\trs3\tA\tC\t3e2\tPASS\tVAR=1e-30,-2.5,.;CH=Z\tGL:HQ\t-1.5,.,0\t.\t1,2",
]


def _header_and_lines(seed, n, n_samples, version="4.2"):
    header, lines = typed_vcf(seed, n, n_samples=n_samples, version=version)
    return header, [ln.encode() for ln in lines]


def _batched(header, lines, size):
    batch = BatchEncoder(BcfEncoder(VcfHeader(header)))
    out = [batch.encode(lines[i:i + size], i + 1) for i in range(0, len(lines), size)]
    return b"".join(o[0] for o in out), [list(x for o in out for x in o[k].tolist())
                                         for k in range(1, 5)], batch.n_fallback


@pytest.mark.parametrize("seed,n_samples,version", [(1, 3, "4.2"), (2, 1, "4.2"), (3, 0, "4.2"),
                                                    (4, 12, "4.4"), (5, 2, "4.3")])
def test_batch_equals_per_record_encoder(seed, n_samples, version):
    header, lines = _header_and_lines(seed, 700, n_samples, version)
    single = BcfEncoder(VcfHeader(header))
    ref = [single.encode(line, i + 1) for i, line in enumerate(lines)]
    expect = b"".join(r[0] for r in ref)
    for size in (1, 7, 256, 700):
        data, (sizes, tid, beg, end), fallback = _batched(header, lines, size)
        assert data == expect, size
        assert sizes == [len(r[0]) for r in ref]
        assert tid == [r[1] for r in ref] and beg == [r[2] for r in ref]
        assert end == [r[2] + r[3] for r in ref]
        assert fallback == 0  # END/SVLEN/gVCF LEN included: every record on the batch path


def test_mixed_batches_fall_back_per_record_with_the_same_bytes():
    """Lenient values htslib reads its own way (trailing junk, '+' signs, nan, values past
    int32, empty values) go through the per-record encoder; the rest of
    the batch stays columnar, and the bytes are the same as all per record."""
    header, lines = _header_and_lines(41, 600, 3)
    odd = [(7, b"DP=12x"), (7, b"DP=+5;AF=nan"), (7, b"V3=1,2,99999999999"), (5, b"nan"),
           (9, b"0|1"), (7, b"DP=;DB"), (6, b"PASS;"), (5, b"1e400")]
    for k, i in enumerate(range(3, len(lines), 37)):
        fields = lines[i].split(b"\t")
        col, value = odd[k % len(odd)]
        fields[col] = value
        lines[i] = b"\t".join(fields)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = BcfEncoder(VcfHeader(header), strict=False)
        expect = b"".join(single.encode(line, i + 1)[0] for i, line in enumerate(lines))
        batch = BatchEncoder(BcfEncoder(VcfHeader(header), strict=False))
        data = b"".join(batch.encode(lines[i:i + 128], i + 1)[0]
                        for i in range(0, len(lines), 128))
    assert data == expect
    assert 0 < batch.n_fallback < 40


def _no_end_rule(lines):
    return [ln for ln in lines if b"END=" not in ln and b"SVLEN=" not in ln and b"<*>" not in ln]


@pytest.mark.parametrize("n_samples", [1, 3, 12])
def test_batch_path_bytes_and_csi_equal_bcftools(tmp_path, n_samples):
    header, lines = _header_and_lines(10 + n_samples, 900, n_samples)
    if n_samples == 3:
        lines = sorted(lines + [x.encode() for x in EXTRA],
                       key=lambda ln: (ln.split(b"\t")[0], int(ln.split(b"\t")[1])))
        lines = [ln for ln in lines if ln.split(b"\t")[0] == b"1"] + \
            [ln for ln in lines if ln.split(b"\t")[0] == b"2"] + \
            [ln for ln in lines if ln.split(b"\t")[0] == b"big"]
    src = tmp_path / "src.vcf"
    src.write_bytes(header.encode() + b"\n".join(lines) + b"\n")
    ref = str(tmp_path / "ref.bcf")
    bcftools.view("--no-version", "-Ou", "-o", ref, str(src), catch_stdout=False)
    expect = gzip.open(ref).read()
    _, _, fallback = _batched(header, lines, 4096)
    assert fallback == 0
    # from a file object (text chunks, here tiny so records straddle chunks) and from a list
    for chunk in (1 << 19, 333):
        ours = str(tmp_path / f"ours{chunk}.bcf")
        with vcf.BcfWriter(ours, header, index="csi") as w:
            w.text_chunk = chunk
            with open(src, "rb") as fh:
                for line in fh:
                    if line.startswith(b"#CHROM"):
                        break
                assert w.write_many(fh) == len(lines)
        assert gzip.open(ours).read() == expect
        copy = str(tmp_path / f"copy{chunk}.bcf")
        with open(ours, "rb") as a, open(copy, "wb") as b:
            b.write(a.read())
        bcftools.index("-c", "-f", copy)
        assert _csi(ours + ".csi") == _csi(copy + ".csi")
    listed = str(tmp_path / "list.bcf")
    with vcf.BcfWriter(listed, header, index=None, level=0) as w:
        w.batch_size = 97
        w.write_many(ln.decode() for ln in lines)
    assert gzip.open(listed).read() == expect


def _csi(path):
    ix = read_index(path)
    return (ix.min_shift, ix.depth, [(r.bins, r.linear, r.loffsets) for r in ix.refs])


def test_text_chunks_crlf_and_missing_final_newline(tmp_path):
    header, lines = _header_and_lines(21, 300, 2)
    expect = b"".join(BcfEncoder(VcfHeader(header)).encode(ln)[0] for ln in lines)
    for body in (b"\r\n".join(lines) + b"\r\n", b"\n".join(lines)):
        out = io.BytesIO()
        with vcf.BcfWriter(out, header, index=None, level=0) as w:
            w.text_chunk = 1000
            assert w.write_many(io.BytesIO(body)) == len(lines)
        data = gzip.decompress(out.getvalue())
        assert data.endswith(expect)


def test_batch_errors_name_the_record_and_lenient_warns_once(tmp_path):
    header, lines = _header_and_lines(31, 400, 1)
    lines = _no_end_rule(lines)
    bad = lines[:]
    fields = bad[150].split(b"\t")
    fields[7] = b"DP=abc"
    bad[150] = b"\t".join(fields)
    fields = bad[200].split(b"\t")
    fields[7] = b"DP=12x"
    bad[200] = b"\t".join(fields)
    with pytest.raises(RecordError, match="line 151: INFO/DP value b'abc'"):
        with vcf.BcfWriter(str(tmp_path / "a.bcf"), header) as w:
            w.write_many(bad)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with vcf.BcfWriter(str(tmp_path / "b.bcf"), header, strict=False) as w:
            w.write_many(bad)
    assert len(caught) == 1 and "DP" in str(caught[0].message)
    with pysam.VariantFile(str(tmp_path / "b.bcf")) as vf:
        dps = [r.info.get("DP") for r in vf]
    assert dps[150] is None and dps[200] == 12  # htslib keeps the leading number
    # an undeclared FORMAT key, a contig not in the header, a header line among records
    for i, (col, value, message) in enumerate([
            (8, b"GT:ZZ", "FORMAT 'ZZ' is not defined"),
            (0, b"chrQ", "contig 'chrQ' is not defined"),
            (0, b"#CHROM", "record 101: header line among records")]):
        bad = lines[:]
        fields = bad[100].split(b"\t")
        fields[col] = value
        if col == 8:
            fields[9] = b"0/1:3"
        bad[100] = b"\t".join(fields)
        with pytest.raises(RecordError, match=message):
            with vcf.BcfWriter(str(tmp_path / f"c{i}.bcf"), header) as w:
                w.write_many(bad)


@pytest.mark.parametrize("strict", [True, False])
def test_mutated_batches_behave_as_per_record(strict):
    """Random character mutations (digits, separators, signs, letters, tabs): the batch path
    returns the per-record bytes, or raises the per-record error for the first bad line."""
    import random

    rng = random.Random(7 if strict else 8)
    header, lines = _header_and_lines(51, 240, 2)
    alphabet = b"0123456789.,;:=|/-+eEnaN<>*x \t"
    for trial in range(60):
        batch_lines = lines[:]
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(batch_lines))
            line = bytearray(batch_lines[i])
            j = rng.randrange(len(line))
            line[j] = rng.choice(alphabet)
            batch_lines[i] = bytes(line)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            single = BcfEncoder(VcfHeader(header), strict=strict)
            try:
                expect: object = b"".join(single.encode(ln, i + 1)[0]
                                          for i, ln in enumerate(batch_lines))
            except RecordError as e:
                expect = str(e)
            batch = BatchEncoder(BcfEncoder(VcfHeader(header), strict=strict))
            try:
                got: object = batch.encode(batch_lines, 1)[0]
            except RecordError as e:
                got = str(e)
        assert got == expect, trial


def test_level_0_file_equals_bcftools_ou_byte_for_byte(tmp_path):
    """``level=0`` stores its blocks (no deflate), so the whole file, not just its content,
    equals ``bcftools view -Ou``'s."""
    header, lines = _header_and_lines(61, 2500, 3)
    src = tmp_path / "s.vcf"
    src.write_bytes(header.encode() + b"\n".join(lines) + b"\n")
    ref = str(tmp_path / "ref.bcf")
    bcftools.view("--no-version", "-Ou", "-o", ref, str(src), catch_stdout=False)
    ours = str(tmp_path / "ours.bcf")
    with vcf.BcfWriter(ours, header, index=None, level=0) as w:
        w.write_many(lines)
    with open(ours, "rb") as a, open(ref, "rb") as b:
        assert a.read() == b.read()
