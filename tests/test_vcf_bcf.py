"""VCF records and BCF 2.2 against htslib (pysam / bcftools): bytes equal ``bcftools view -Ou``,
CSI content equal ``bcftools index``, records equal pysam's field by field, fetches equal, the
end rule equal tabix's and pysam's, and fuzzed BCF raising typed errors only."""

from __future__ import annotations

import gzip
import os
import random
import shutil
import warnings
from pathlib import Path

import pytest

pysam = pytest.importorskip("pysam")
from pysam import bcftools  # noqa: E402

from bioformats_ext import vcf  # noqa: E402
from bioformats_ext.errors import BioformatsError, RecordError, SortOrderError  # noqa: E402
from bioformats_ext.index import read_index  # noqa: E402
from bioformats_ext.vcf.end_rule import rlen, tabix_interval  # noqa: E402
from helpers import TYPED_VCF_CONTIGS as CONTIGS, typed_vcf  # noqa: E402

HTSLIB = Path(__file__).parent / "data" / "htslib-vcf"
@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vcfbcf")
    header, lines = typed_vcf(7, 1500, n_samples=3)
    src = tmp / "src.vcf"
    src.write_text(header + "\n".join(lines) + "\n")
    bgz = str(tmp / "src.vcf.gz")
    pysam.tabix_compress(str(src), bgz, force=True)
    pysam.tabix_index(bgz, preset="vcf", force=True, csi=True)
    ours = str(tmp / "ours.bcf")
    with vcf.VcfWriter(ours, header, format="bcf", index="csi") as writer:
        writer.write_many(lines[:500])
        for line in lines[500:520]:
            writer.write(line)
        writer.write_many(lines[520:])
    return tmp, header, lines, str(src), bgz, ours


def _decompressed(path: str) -> bytes:
    with gzip.open(path) as fh:
        return fh.read()


def _index_content(path: str):
    ix = read_index(path)
    return (ix.names, ix.min_shift, ix.depth, ix.n_no_coor,
            [(r.bins, r.linear, r.loffsets) for r in ix.refs])


def test_uncompressed_bytes_equal_bcftools(data, tmp_path):
    tmp, header, lines, src, _, _ = data
    ours = str(tmp_path / "u.bcf")
    with vcf.VcfWriter(ours, header, format="u", index=None) as writer:
        writer.write_many(lines)
    ref = str(tmp_path / "ref.bcf")
    bcftools.view("--no-version", "-Ou", "-o", ref, src, catch_stdout=False)
    assert _decompressed(ours) == _decompressed(ref)


def test_csi_equals_bcftools_index_and_pysam_reads(data, tmp_path):
    tmp, header, lines, src, _, ours = data
    copy = str(tmp_path / "copy.bcf")
    shutil.copy(ours, copy)
    bcftools.index("-c", "-f", copy)
    assert _index_content(ours + ".csi") == _index_content(copy + ".csi")
    assert read_index(ours + ".csi").depth > 5  # the 1.2 Gbp contig needs CSI's extra levels
    with pysam.VariantFile(ours) as a, pysam.VariantFile(src) as b:
        for x, y in zip(a, b, strict=True):
            assert str(x) == str(y)
            assert (x.pos, x.stop, x.alleles, x.qual, list(x.filter)) == \
                (y.pos, y.stop, y.alleles, y.qual, list(y.filter))
            assert dict(x.info) == dict(y.info)
            for s in y.samples:
                assert dict(x.samples[s]) == dict(y.samples[s])
                assert x.samples[s].phased == y.samples[s].phased


def test_bcftools_view_text_equal(data):
    _, _, _, src, bgz, ours = data
    assert bcftools.view("-H", ours) == bcftools.view("-H", src)
    assert bcftools.view("-H", ours, "1:1000000-2000000") == bcftools.view("-H", bgz, "1:1000000-2000000")


def _same(ours, theirs, info_skip=("END",), text=False):
    assert ours.chrom == theirs.chrom and ours.pos == theirs.pos
    assert (ours.start, ours.stop, ours.rlen) == (theirs.start, theirs.stop, theirs.rlen)
    assert (ours.id, ours.ref, ours.alts, ours.alleles) == (theirs.id, theirs.ref, theirs.alts,
                                                            theirs.alleles)
    assert ours.qual == theirs.qual
    assert list(ours.filter) == list(theirs.filter)
    assert {k: v for k, v in ours.info.items() if k not in info_skip} == dict(theirs.info)
    assert list(ours.format) == list(theirs.format)
    for name in theirs.samples:
        a, b = ours.samples[name], theirs.samples[name]
        assert dict(a) == dict(b), name
        assert a.phased == b.phased
        assert a.alleles == b.alleles
    if not text:  # a text record's str() is its source line, not htslib's re-formatting
        assert str(ours) == str(theirs).rstrip("\n")


@pytest.mark.parametrize("which", ["bcf", "vcf", "vcf.gz"])
def test_records_equal_pysam_field_by_field(data, which):
    _, header, _, src, bgz, ours = data
    path = {"bcf": ours, "vcf": src, "vcf.gz": bgz}[which]
    with vcf.open(path) as f, pysam.VariantFile(src) as ref:
        assert f.header.samples == list(ref.header.samples)
        assert f.header.contigs == {c: v.length for c, v in ref.header.contigs.items()}
        assert set(f.header.info) == set(ref.header.info)
        assert f.header.info["AF"].number == "A" and f.header.info["DB"].type == "Flag"
        assert f.header.formats["HQ"].number == 2
        assert set(f.header.filters) == set(ref.header.filters)
        n = 0
        for a, b in zip(f, ref, strict=True):
            _same(a, b, text=which != "bcf")
            n += 1
        assert n == f.count() == 1500


def test_random_fetches_equal_pysam(data):
    _, _, _, src, bgz, ours = data
    rng = random.Random(11)
    with vcf.open(ours) as f, vcf.open(bgz) as g, pysam.VariantFile(bgz) as ref, \
            pysam.TabixFile(bgz, index=bgz + ".csi") as tbx:
        for _ in range(100):
            name, length = rng.choice(CONTIGS)
            start = rng.randrange(length)
            stop = min(length, start + rng.choice([1, 500, 50_000, 600_000, 400_000_000]))
            expected = [str(r).rstrip("\n") for r in ref.fetch(name, start, stop)]
            assert [str(r) for r in f.fetch(name, start, stop)] == expected
            lines = list(tbx.fetch(name, start, stop)) if name in tbx.contigs else []
            assert [r.line for r in g.fetch(name, start, stop)] == lines
        assert f.count("1") == len(list(ref.fetch("1")))
        assert f.count(region="2:100,000-300,000") == len(list(ref.fetch(region="2:100000-300000")))
        from bioformats_ext.errors import RegionError, UnknownReferenceError

        with pytest.raises(UnknownReferenceError):
            list(f.fetch("chrNope", 0, 10))
        with pytest.raises(RegionError):
            list(f.fetch("1", 10, 5))


def test_end_rule_equals_tabix_and_pysam(data, tmp_path):
    _, header, lines, src, bgz, _ = data
    with pysam.VariantFile(src) as ref:
        for line, rec in zip(lines, ref):
            assert rlen(line.encode().split(b"\t")) == rec.rlen
    # tabix's own intervals (SVLEN <DEL>s and gVCF LEN included) through TabixFile fetches
    svs = [ln for ln in lines if "SVLEN=" in ln or "<*>" in ln]
    assert len(svs) > 50
    with pysam.TabixFile(bgz, index=bgz + ".csi") as tbx:
        for line in svs[:60]:
            name, beg, end = tabix_interval(line.encode())
            assert line in list(tbx.fetch(name, end - 1, end))
            assert line not in list(tbx.fetch(name, end, end + 1))
            assert line in list(tbx.fetch(name, beg, beg + 1))
            assert beg == 0 or line not in list(tbx.fetch(name, beg - 1, beg))


def test_vcf_writer_index_uses_end_rule(data, tmp_path):
    _, header, lines, src, bgz, _ = data
    ours = str(tmp_path / "x.vcf.gz")
    small = [ln for ln in lines if not ln.startswith("big")]
    hdr = header
    with vcf.VcfWriter(ours, hdr, index="tbi") as w:
        w.write_many(small)
    copy = str(tmp_path / "c.vcf.gz")
    shutil.copy(ours, copy)
    pysam.tabix_index(copy, preset="vcf", force=True)
    assert _index_content(ours + ".tbi") == _index_content(copy + ".tbi")
    from bioformats_ext.tabix import index_tabix  # the second-pass indexer: same rule

    again = str(tmp_path / "again.vcf.gz")
    shutil.copy(ours, again)
    index_tabix(again, "vcf")
    assert _index_content(again + ".tbi") == _index_content(copy + ".tbi")


@pytest.mark.parametrize("mode,kind", [("wz", "tbi"), ("wz", "csi"), ("wb", "csi")])
def test_co_index_pysam_output(data, tmp_path, mode, kind):
    _, header, lines, src, _, _ = data
    keep = [ln for ln in lines if not (kind == "tbi" and ln.startswith("big"))]
    out = str(tmp_path / ("p.bcf" if mode == "wb" else "p.vcf.gz"))
    with pysam.VariantFile(src) as inp:
        vf = pysam.VariantFile(out, mode, header=inp.header)
        for rec in inp:
            if kind != "tbi" or rec.chrom != "big":
                vf.write(rec)
    index = vcf.co_index(vf, kind)
    assert index == f"{out}.{kind}"
    ref = str(tmp_path / ("r." + out.rsplit(".", 1)[-1] if mode == "wb" else "r.vcf.gz"))
    shutil.copy(out, ref)
    if kind == "tbi":
        pysam.tabix_index(ref, preset="vcf", force=True)
    else:
        bcftools.index("-c", "-f", ref)
    assert _index_content(index) == _index_content(f"{ref}.{kind}")
    assert len(keep) > 0


def test_htslib_test_files(tmp_path):
    for name in ("vcf_file.vcf", "formatmissing.vcf", "formatcols.vcf", "vcf44_1.vcf", "large_chr.vcf"):
        src = str(HTSLIB / name)
        text = Path(src).read_text()
        header = "".join(ln for ln in text.splitlines(True) if ln.startswith("#"))
        lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
        ours = str(tmp_path / (name + ".bcf"))
        with vcf.BcfWriter(ours, header, index=None, level=0, strict=False) as w:
            w.write_many(lines)
        ref = str(tmp_path / (name + ".ref.bcf"))
        bcftools.view("--no-version", "-Ou", "-o", ref, src, catch_stdout=False)
        assert _decompressed(ours) == _decompressed(ref), name
        with warnings.catch_warnings():  # some of htslib's files contradict their headers
            warnings.simplefilter("ignore")
            with vcf.open(ours, strict=False) as f, pysam.VariantFile(ours) as theirs:
                for a, b in zip(f, theirs, strict=True):
                    _same(a, b)  # VCF 4.4 prefixed phasing included (vcf44_1.vcf)
    # htslib's own BCF read back by us equals pysam's view of it
    bcf = str(HTSLIB / "vcf_file.bcf")
    with vcf.open(bcf) as f:  # strict: this file has AC=1 on a record without ALT
        with pytest.raises(RecordError, match="record 10: AC has 1 values, Number=A means 0"):
            [dict(r.info) for r in f]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with vcf.open(bcf, strict=False) as f, pysam.VariantFile(bcf) as ref:
            for a, b in zip(f, ref, strict=True):
                _same(a, b)
    # a duplicate FORMAT tag: bcftools refuses to write it, so do we
    text = (HTSLIB / "noroundtrip.vcf").read_text()
    header = "".join(ln for ln in text.splitlines(True) if ln.startswith("#"))
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    with pytest.raises(RecordError, match="duplicate FORMAT"):
        with vcf.BcfWriter(str(tmp_path / "n.bcf"), header, strict=False) as w:
            w.write_many(lines)
    assert not os.path.exists(tmp_path / "n.bcf")


def test_bgzf2_bcf_roundtrip_and_fetch(data, tmp_path):
    _, header, lines, src, _, ours = data
    out = str(tmp_path / "x.bcf2")
    with vcf.BcfWriter(out, header, compression="bgzf2") as w:
        w.write_many(lines)
    with vcf.open(out) as f, vcf.open(ours) as g:
        assert f.container == "bgzf2" and f.is_bcf
        assert [str(r) for r in f] == [str(r) for r in g]
        for name, start, stop in [("1", 0, 500_000), ("big", 600_000_000, 900_000_000), ("2", 1, 2)]:
            assert [str(r) for r in f.fetch(name, start, stop)] == \
                [str(r) for r in g.fetch(name, start, stop)]
    text = str(tmp_path / "x.vcf.bgz2")  # VCF text in BGZF2 through the same vcf.open
    with vcf.VcfWriter(text, header, compression="bgzf2") as w:
        w.write_many(lines)
    _, _, _, _, bgz, _ = data
    with vcf.open(text) as f, pysam.TabixFile(bgz, index=bgz + ".csi") as tbx:
        assert f.container == "bgzf2" and not f.is_bcf
        for name, start, stop in [("1", 0, 500_000), ("2", 100_000, 400_000), ("big", 0, 5000)]:
            assert [r.line for r in f.fetch(name, start, stop)] == list(tbx.fetch(name, start, stop))


def test_errors_and_strictness(tmp_path):
    header = ("##fileformat=VCFv4.2\n##contig=<ID=1,length=1000>\n"
              '##INFO=<ID=DP,Number=1,Type=Integer,Description="d">\n'
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    with pytest.raises(ValueError, match="TBI cannot index BCF"):
        vcf.VcfWriter(str(tmp_path / "a.bcf"), header, format="bcf", index="tbi")
    with pytest.raises(RecordError, match="line 2: INFO 'XX' is not defined"):
        with vcf.BcfWriter(str(tmp_path / "b.bcf"), header) as w:
            w.write_many(["1\t5\t.\tA\tC\t.\t.\tDP=3", "1\t6\t.\tA\tC\t.\t.\tXX=1"])
    assert not os.path.exists(tmp_path / "b.bcf") and not os.path.exists(tmp_path / "b.bcf.csi")
    with pytest.raises(RecordError, match="line 1: INFO/DP value b'abc'"):
        with vcf.BcfWriter(str(tmp_path / "c.bcf"), header) as w:
            w.write("1\t5\t.\tA\tC\t.\t.\tDP=abc")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with vcf.BcfWriter(str(tmp_path / "d.bcf"), header, strict=False) as w:
            w.write_many(["1\t5\t.\tA\tC\t.\t.\tDP=abc", "1\t6\t.\tA\tC\t.\t.\tDP=x"])
    assert len(caught) == 1  # once per key, as htslib
    with pysam.VariantFile(str(tmp_path / "d.bcf")) as vf:
        assert [r.info["DP"] for r in vf] == [None, None]
    with pytest.raises(SortOrderError):
        with vcf.BcfWriter(str(tmp_path / "e.bcf"), header) as w:
            w.write_many(["1\t50\t.\tA\tC\t.\t.\t.", "1\t6\t.\tA\tC\t.\t.\t."])
    assert not os.path.exists(tmp_path / "e.bcf")
    # text records: strict raises naming the line, lenient warns once per key
    path = tmp_path / "t.vcf"
    path.write_text(header + "1\t5\t.\tA\tC\t.\t.\tDP=abc\n1\t6\t.\tA\tC\t.\t.\tYY=2\n")
    recs = list(vcf.open(str(path)))
    with pytest.raises(RecordError, match="line 5: DP='abc' is not Integer"):
        recs[0].info
    with pytest.raises(RecordError, match="line 6: INFO 'YY' is not declared"):
        recs[1].info
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lenient = list(vcf.open(str(path), strict=False))
        assert lenient[0].info == {"DP": None} and lenient[1].info == {"YY": "2"}
    assert len([w for w in caught if issubclass(w.category, UserWarning)]) == 2, [str(w.message) for w in caught]
    from bioformats_ext.errors import FormatError

    (tmp_path / "x.bam").write_bytes(gzip.compress(b"BAM\x01" + b"\0" * 40))
    with pytest.raises(FormatError):
        vcf.open(str(tmp_path / "x.bam"))


def test_fuzzed_bcf_raises_typed_errors(data, tmp_path):
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import HealthCheck, given, settings, strategies as st

    from bioformats_ext.bgzf import BgzfWriter

    _, header, lines, _, _, _ = data
    base = str(tmp_path / "base.bcf")
    with vcf.BcfWriter(base, header, index=None) as w:
        w.write_many(lines[:40])
    raw = _decompressed(base)
    l_text = int.from_bytes(raw[5:9], "little")
    body_at = 9 + l_text

    @settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(st.integers(0, len(raw) - body_at - 1), st.integers(0, 255)),
                    min_size=1, max_size=8), st.booleans())
    def run(mutations, truncate):
        blob = bytearray(raw)
        for at, value in mutations:
            blob[body_at + at] = value
        if truncate:
            blob = blob[:body_at + mutations[0][0]]
        path = str(tmp_path / "fuzz.bcf")
        w = BgzfWriter(path)
        w.write(bytes(blob))
        w.close()
        try:
            with vcf.open(path) as f:
                for rec in f:
                    rec.chrom, rec.pos, rec.id, rec.alleles, rec.qual, rec.filter
                    rec.info
                    for s in rec.samples.values():
                        dict(s), s.phased
                    str(rec)
        except BioformatsError:
            pass

    run()
    assert hypothesis


def test_many_samples_bytes_and_records(tmp_path):
    header, lines = typed_vcf(21, 150, n_samples=40)
    src = tmp_path / "m.vcf"
    src.write_text(header + "\n".join(lines) + "\n")
    ours = str(tmp_path / "m.bcf")
    with vcf.BcfWriter(ours, header, index=None, level=0) as w:
        w.write_many(lines)
    ref = str(tmp_path / "ref.bcf")
    bcftools.view("--no-version", "-Ou", "-o", ref, str(src), catch_stdout=False)
    assert _decompressed(ours) == _decompressed(ref)
    with vcf.open(ours) as f, pysam.VariantFile(str(src)) as theirs:
        for a, b in zip(f, theirs, strict=True):
            _same(a, b)


def test_open_over_http(data):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from loopback import RangeServer

    _, _, _, src, bgz, ours = data
    with RangeServer() as server:
        server.files["x.bcf"] = Path(ours).read_bytes()
        server.files["x.bcf.csi"] = Path(ours + ".csi").read_bytes()
        server.files["y.vcf.gz"] = Path(bgz).read_bytes()
        server.files["y.vcf.gz.csi"] = Path(bgz + ".csi").read_bytes()
        with vcf.open(server.url("x.bcf")) as f, vcf.open(ours) as local:
            assert f.is_bcf and f.header.samples == local.header.samples
            for region in [("1", 0, 800_000), ("big", 600_000_000, 700_000_000)]:
                assert [str(r) for r in f.fetch(*region)] == [str(r) for r in local.fetch(*region)]
        with vcf.open(server.url("y.vcf.gz")) as f, pysam.VariantFile(bgz) as ref:
            assert [r.pos for r in f.fetch("2", 0, 500_000)] == [r.pos for r in ref.fetch("2", 0, 500_000)]


def test_writer_accepts_pysam_and_our_records(data, tmp_path):
    _, header, lines, src, _, ours = data
    with pysam.VariantFile(ours) as vf:
        texts = [str(r).rstrip("\n") for r in vf]
        hdr_text = str(vf.header)
    ref_vcf = tmp_path / "ref.vcf"
    ref_vcf.write_text(hdr_text + "\n".join(texts) + "\n")
    ref = str(tmp_path / "ref.bcf")
    bcftools.view("--no-version", "-Ou", "-o", ref, str(ref_vcf), catch_stdout=False)
    a, b, c = (str(tmp_path / f"{k}.bcf") for k in "abc")
    with pysam.VariantFile(ours) as vf, vcf.BcfWriter(a, hdr_text, level=0, index=None) as w:
        w.write_many(vf)                                  # pysam VariantRecords
    with vcf.open(ours) as f, vcf.BcfWriter(b, hdr_text, level=0, index=None) as w:
        w.write_many(f)                                   # our BCF records
    with vcf.BcfWriter(c, hdr_text, level=0, index=None) as w:
        for t in texts:                                   # tuples of the fields
            cols = t.split("\t")
            w.write(tuple(cols[:8]) + (cols[8], *cols[9:]))
    for path in (a, b, c):
        assert _decompressed(path) == _decompressed(ref)


def test_fetch_through_htslib_csi(data, tmp_path):
    _, _, _, _, _, ours = data
    copy = str(tmp_path / "h.bcf")
    shutil.copy(ours, copy)
    bcftools.index("-c", "-f", copy)
    rng = random.Random(2)
    with vcf.open(copy, index=copy + ".csi") as f, vcf.open(ours) as g:
        for _ in range(30):
            name, length = rng.choice(CONTIGS)
            start = rng.randrange(length)
            region = (name, start, min(length, start + rng.choice([10, 100_000, 900_000])))
            assert [str(r) for r in f.fetch(*region)] == [str(r) for r in g.fetch(*region)]


def test_text_records_bad_values(tmp_path):
    header = ("##fileformat=VCFv4.2\n##contig=<ID=1,length=1000>\n"
              '##INFO=<ID=AC,Number=A,Type=Integer,Description="c">\n'
              '##FORMAT=<ID=GT,Number=1,Type=String,Description="g">\n'
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n")
    path = tmp_path / "b.vcf"
    path.write_text(header + "1\t5\t.\tA\tC\tx\t.\tAC=1,2\tGT\t0/x\n1\tp\t.\tA\tC\t.\t.\t.\tGT\t0\n")
    first, second = list(vcf.open(str(path)))
    with pytest.raises(RecordError, match="line 6: AC has 2 values, Number=A means 1"):
        first.info
    with pytest.raises(RecordError, match="line 6: GT '0/x' is not a genotype"):
        first.samples["S"]["GT"]
    with pytest.raises(RecordError, match="line 6: QUAL 'x'"):
        first.qual
    with pytest.raises(RecordError, match="line 7: POS 'p'"):
        second.pos
    assert second.samples["S"]["GT"] == (0,) and second.samples["S"].phased


@pytest.mark.parametrize("n_sample", [0, 2, 4])
def test_record_sample_count_unlike_header_is_typed(data, tmp_path, n_sample):
    """A record whose n_sample differs from the header's sample count: asking for a sample's
    FORMAT value is a FormatError naming the file and record (found by fuzzing: it was an
    IndexError, or another sample's values)."""
    from bioformats_ext.bgzf import BgzfWriter
    from bioformats_ext.errors import FormatError

    _, header, lines, _, _, _ = data
    base = str(tmp_path / "base.bcf")
    with vcf.BcfWriter(base, header, index=None) as w:
        w.write_many(lines[:5])
    raw = bytearray(_decompressed(base))
    first = 9 + int.from_bytes(raw[5:9], "little")   # magic + l_text + text
    # fixed part after l_shared, l_indiv: chrom, pos, rlen, qual, n_info|n_allele<<16 (4 B each),
    # then n_sample (24 bits) | n_fmt << 24
    at = first + 8 + 20
    assert int.from_bytes(raw[at:at + 3], "little") == 3
    raw[at:at + 3] = n_sample.to_bytes(3, "little")
    path = str(tmp_path / "bad.bcf")
    w = BgzfWriter(path)
    w.write(bytes(raw))
    w.close()
    with vcf.open(path) as f:
        rec = next(iter(f))
        with pytest.raises(FormatError, match=r"bad\.bcf.*record 1.*samples"):
            [dict(s) for s in rec.samples.values()]
