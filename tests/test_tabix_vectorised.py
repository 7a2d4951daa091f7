"""The vectorised VCF path of ``index_tabix`` (issue 17 item 3) indexes exactly as htslib.

VCF lines of every kind the batch rule must hand to the exact per-line rule (INFO/END, SVLEN
with ``<DEL>``, gVCF ``<*>`` with FORMAT/LEN, CRLF endings, 4-column lines, long POS, contig
names of equal length) are indexed by ``index_tabix`` and by ``pysam.tabix_index``; the index
content must be equal, and our TBI must be byte-identical to the per-line path's.
"""

from __future__ import annotations

import gzip
import random
import shutil

import pytest

pysam = pytest.importorskip("pysam")

from bioformats_ext.index import read_index  # noqa: E402
from bioformats_ext.index.tabix_conf import parse_lines  # noqa: E402
from bioformats_ext.tabix import indexer  # noqa: E402
from bioformats_ext.vcf.end_rule import needs_rule, tabix_interval  # noqa: E402

HEADER = ("##fileformat=VCFv4.2\n" + "".join(f"##contig=<ID={c},length=300000000>\n"
                                              for c in ("chr1", "chr2", "chrX", "c10"))
          + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n")


def _lines(rng: random.Random, with_comment: bool) -> list[str]:
    out = []
    for chrom in ("chr1", "chr2", "chrX", "c10"):
        pos = 1
        for i in range(3000):
            pos += rng.randrange(0, 40_000)
            ref = rng.choice(["A", "CT", "GATTACA", "N" * rng.randrange(1, 30)])
            kind = rng.randrange(12)
            alt, info, fmt, sample = "C", f"DP={i}", "GT", "0/1"
            if kind == 0:
                info = f"DP={i};END={pos + rng.randrange(-5, 90_000)}"
            elif kind == 1:
                alt, info = "<DEL>", f"SVLEN=-{rng.randrange(1, 70_000)};DP=3"
            elif kind == 2:
                alt, fmt, sample = "<*>", "GT:LEN", f"0/0:{rng.randrange(1, 5000)}"
            line = f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t{info}\t{fmt}\t{sample}"
            if kind == 3:
                line = f"{chrom}\t{pos}\t.\t{ref}"  # 4 columns: the per-line rule
            end = "\r\n" if kind == 4 else "\n"
            out.append(line + end)
            if with_comment and i == 1500:
                out.append("#a comment line in the middle\n")
    out.append("c10\t299999999\t.\tACGT\tA\t.\t.\t.\tGT\t0\n")  # 9-digit POS
    return out


def _per_line(conf, batch, a, b, first_lineno):
    lines = batch.lines[a:b]
    names, begs, ends = parse_lines(conf, lines, first_lineno)
    for i, ln in enumerate(lines):
        if needs_rule(ln):
            names[i], begs[i], ends[i] = tabix_interval(ln, first_lineno + i)
    return names, begs, ends


@pytest.mark.parametrize("with_comment", [False, True])
@pytest.mark.parametrize("csi", [False, True])
def test_index_tabix_vcf_equals_htslib(tmp_path, monkeypatch, with_comment, csi):
    plain = tmp_path / "x.vcf"
    plain.write_text(HEADER + "".join(_lines(random.Random(17), with_comment)))
    gz = str(plain) + ".gz"
    pysam.tabix_compress(str(plain), gz, force=True)
    theirs = str(tmp_path / "h.vcf.gz")
    shutil.copy(gz, theirs)
    pysam.tabix_index(theirs, preset="vcf", csi=csi, force=True)
    ext = "csi" if csi else "tbi"

    calls = []
    vectorised = indexer._vcf_batch
    monkeypatch.setattr(indexer, "_vcf_batch", lambda *a: calls.append(1) or vectorised(*a))
    ours = indexer.index_tabix(gz, "vcf", csi=csi, out=str(tmp_path / f"ours.{ext}"))
    assert calls or with_comment  # the vectorised path really ran
    ref, mine = read_index(f"{theirs}.{ext}"), read_index(ours)
    assert mine.names == ref.names and mine.n_no_coor == ref.n_no_coor
    for tid, (r, o) in enumerate(zip(ref.refs, mine.refs)):
        assert (o.bins, o.linear, o.loffsets) == (r.bins, r.linear, r.loffsets), tid

    monkeypatch.setattr(indexer, "_vcf_batch", _per_line)
    old = indexer.index_tabix(gz, "vcf", csi=csi, out=str(tmp_path / f"old.{ext}"))
    assert gzip.decompress(open(old, "rb").read()) == gzip.decompress(open(ours, "rb").read())


def _odd_vcf_lines(rng: random.Random, n: int) -> list[bytes]:
    """VCF lines mixing normal records with everything the batch rules must hand to the
    per-line rules: odd POS, empty REF/CHROM, few columns, INFO/END, SVLEN, gVCF alleles."""
    out = []
    for _ in range(n):
        chrom = rng.choice(["chr1", "chr2", "chrZ", "", "chr1"])
        pos = rng.choice(["1", "0", "17", "123456789", "+5", "-5", "1e3", "", "0" * 19 + "1",
                          "9" * 18, "007"])
        ref = rng.choice(["A", "ACGT", "", "N" * rng.randint(1, 90)])
        alt = rng.choice(["T", "<DEL>", "<*>", "<NON_REF>", "A,<DUP:TANDEM>", "."])
        info = rng.choice([".", "DP=3", f"END={rng.randint(0, 10**6)}", "SVEND=5;DP=1",
                           "END=.", "END=12x", f"SVLEN=-{rng.randint(1, 500)}", "XLEN=3"])
        tail = rng.choice(["", "\tGT:LEN\t0/1:40", "\tGT\t0/1"])
        cols = [chrom, pos, "id", ref, alt, ".", "PASS", info]
        if rng.random() < 0.05:
            cols = cols[:rng.randint(1, 7)]
        out.append(("\t".join(cols) + tail + rng.choice(["\n", "\r\n"])).encode())
    return out


def test_batch_validation_equals_per_line_rules():
    """check_vcf_lines (one numpy scan per batch) names the same first bad line, with the
    same error, as running the exact per-line rules over the batch in order."""
    from bioformats_ext.vcf.validate import _check_line, check_vcf_lines

    contigs = {b"chr1", b"chr2"}
    rng = random.Random(21)
    for trial in range(300):
        lines = _odd_vcf_lines(rng, rng.randint(1, 12))
        if rng.random() < 0.3:
            lines.insert(rng.randrange(len(lines) + 1), b"##meta line\n")
        want = None
        for i, line in enumerate(lines):
            if line.startswith(b"#"):
                continue
            try:
                _check_line(line, 100 + i, contigs)
            except Exception as exc:  # noqa: BLE001 - compared below
                want = (type(exc), str(exc))
                break
        try:
            check_vcf_lines(lines, contigs, 100)
            got = None
        except Exception as exc:  # noqa: BLE001
            got = (type(exc), str(exc))
        assert got == want, (trial, lines)


def test_batch_intervals_equal_per_line_rule_with_sv_and_gvcf():
    """scan_intervals (the writer's and index_tabix's rule) equals tabix_conf.parse_line on
    lines with SVLEN, gVCF LEN and END, and raises the same numbered error on bad ones."""
    from bioformats_ext.index.tabix_conf import get_config, parse_line
    from bioformats_ext.index.vcf_batch import VcfScan, scan_intervals

    conf = get_config("vcf")
    rng = random.Random(22)
    for _ in range(200):
        lines = _odd_vcf_lines(rng, rng.randint(1, 30))
        want = []
        error = None
        for i, line in enumerate(lines):
            try:
                want.append(parse_line(conf, line, 1 + i))
            except Exception as exc:  # noqa: BLE001
                error = (type(exc), str(exc))
                break
        try:
            runs, beg, end = scan_intervals(VcfScan.of_lines(lines), 1, lines)
        except Exception as exc:  # noqa: BLE001
            assert error == (type(exc), str(exc)), lines
            continue
        assert error is None, lines
        names = runs.expand()
        assert [(n.decode(), int(b), int(e)) for n, b, e in zip(names, beg, end)] == want


def test_validated_batch_intervals_equal_per_line_rule():
    """After the writer's validation (``check_vcf_lines``) passes a batch, the interval rule
    reuses its verdict (no column tests again, CHROM runs kept on the scan) and still equals
    ``parse_line`` on lines with SVLEN, gVCF ``<*>``/``<NON_REF>`` with FORMAT/LEN and END."""
    from bioformats_ext.index.tabix_conf import get_config, parse_line
    from bioformats_ext.index.vcf_batch import VcfScan, scan_intervals
    from bioformats_ext.vcf.validate import _check_line, check_vcf_lines

    conf = get_config("vcf")
    rng = random.Random(23)
    validated = 0
    for _ in range(300):
        lines, size = [], rng.randint(1, 40)
        for line in _odd_vcf_lines(rng, 400):
            try:
                _check_line(line, 1, None)
            except Exception:  # noqa: BLE001 - only lines the writer accepts
                continue
            lines.append(line)
            if len(lines) == size:
                break
        scan = VcfScan.of_lines(lines)
        check_vcf_lines(lines, None, 1, scan)
        assert scan.well_formed
        validated += 1
        runs, beg, end = scan_intervals(scan, 1, lines)
        want = [parse_line(conf, line, 1 + i) for i, line in enumerate(lines)]
        assert [(n.decode(), int(b), int(e)) for n, b, e in zip(runs.expand(), beg, end)] == want
    assert validated == 300


def test_sparse_positions_equal_flatnonzero():
    import numpy as np

    from bioformats_ext.index.vcf_batch import sparse_positions

    rng = np.random.default_rng(5)
    for n in (0, 1, 7, 8, 9, 15, 16, 17, 1000, 4099):
        for p in (0.0, 0.001, 0.1, 0.5, 1.0):
            buf = np.where(rng.random(n) < p, 60, 61).astype(np.uint8)
            assert sparse_positions(buf, 60).tolist() == np.flatnonzero(buf == 60).tolist()
            assert sparse_positions(buf[1:], 60).tolist() == np.flatnonzero(buf[1:] == 60).tolist()


@pytest.mark.parametrize("long_alt", [False, True])
def test_gvcf_lines_found_in_alt_columns_of_any_length(long_alt):
    """``VcfScan.rule_rows`` holds every line with a ``<*>`` / ``<NON_REF>`` ALT allele,
    whether ALT columns are short (gathered from the ALT spans) or long (whole-batch scan)."""
    from bioformats_ext.index.vcf_batch import VcfScan

    rng = random.Random(24)
    alts = ["A", "<DEL>", "<*>", "A,<NON_REF>", "<NON_REF>", "T,<*>,G", "<DUP:TANDEM>"]
    if long_alt:
        alts += ["C" * 300, "<NON_REF>," + "G" * 200]
    for _ in range(50):
        lines = []
        for i in range(rng.randint(1, 60)):
            alt = rng.choice(alts)
            info = rng.choice(["DP=3", "NOTE=<*>", "."])
            tail = rng.choice(["", "\tGT:LEN\t0/1:40", "\tGT\t0/1:<*>"])
            lines.append(f"chr1\t{i + 1}\tid\tA\t{alt}\t.\tPASS\t{info}{tail}\n".encode())
        want = {i for i, line in enumerate(lines)
                if {b"<*>", b"<NON_REF>"} & set(line.split(b"\t")[4].split(b","))}
        assert want <= set(VcfScan.of_lines(lines).rule_rows.tolist()), lines


def test_query_many_regions_equals_htslib(tmp_path):
    """Query mode filters the blobs of many regions in one numpy pass (TBI read into arrays);
    its lines equal htslib's for END / SVLEN / gVCF / CRLF / 4-column lines, region by region,
    both through the CLI path and through ``fetch``."""
    from bioformats_ext.tabix import TabixReader

    plain = tmp_path / "x.vcf"
    plain.write_text(HEADER + "".join(_lines(random.Random(5), False)))
    gz = str(plain) + ".gz"
    pysam.tabix_compress(str(plain), gz, force=True)
    pysam.tabix_index(gz, preset="vcf", force=True)
    rng = random.Random(6)
    spans = []
    for _ in range(150):
        chrom = rng.choice(["chr1", "chr2", "chrX", "c10"])
        beg = rng.randrange(0, 130_000_000)
        spans.append((chrom, beg, beg + rng.choice([1, 500, 40_000, 3_000_000])))
    with pysam.TabixFile(gz) as tbx:
        want = [[ln.rstrip("\r") for ln in tbx.fetch(c, b, e)] for c, b, e in spans]
    reader = TabixReader(gz)
    got_cli = b"".join(reader._text_many(spans, group_bytes=200_000)).decode()
    assert got_cli.replace("\r\n", "\n").splitlines() == [ln for w in want for ln in w]
    for (c, b, e), lines in zip(spans[:40], want):
        assert list(reader.fetch(c, b, e)) == lines
