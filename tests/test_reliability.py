"""Issue 11: limits no file can raise, finite walks, typed errors, truncation, writer refusals,
tabix-equal indexes. Memory bounds are checked in subprocesses under an address-space limit."""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
import textwrap
import warnings
import zlib
from pathlib import Path

import numpy as np
import pysam
import pytest

from bioformats_ext.errors import (BioformatsError, FormatError, RecordError,
                                   TruncatedFileError, TruncatedFileWarning,
                                   UnknownReferenceError)

REPO = Path(__file__).resolve().parent.parent
UCSC = REPO / "tests" / "data" / "ucsc-bigbed"
HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000000>\n"
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")


def zero_bomb(mib: int) -> bytes:
    """A zlib stream of ``mib`` MiB of zeros (~1030:1), built by repeating a fully flushed
    deflate segment, so making a 340 MiB bomb costs milliseconds."""
    z = b"\0" * (1 << 20)
    c = zlib.compressobj(9)
    first = c.compress(z) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(z) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush()
    adler = 1
    for _ in range(mib):
        adler = zlib.adler32(z, adler)
    return first + again * (mib - 1) + tail[:-4] + adler.to_bytes(4, "big")


def bomb_bigbed(path: Path, stream: bytes, item_count: int | None = None) -> None:
    """Issue 11's file: uncompressBufSize = 0xFFFFFFFF, first R-tree leaf item -> ``stream``
    (and the data section's record count set to ``item_count`` if given)."""
    data = bytearray((UCSC / "bed3.bb").read_bytes())
    assert struct.unpack_from("<I", data, 0)[0] == 0x8789F2EB
    data[52:56] = (0xFFFFFFFF).to_bytes(4, "little")
    if item_count is not None:
        struct.pack_into("<Q", data, struct.unpack_from("<Q", data, 16)[0], item_count)
    node = struct.unpack_from("<Q", data, 24)[0] + 48
    assert data[node] == 1  # the root is a leaf in this small file
    struct.pack_into("<QQ", data, node + 4 + 16, len(data), len(stream))
    path.write_bytes(bytes(data) + stream)


def run_limited(code: str, mem_gib: float = 2.0, timeout: float = 120) -> str:
    """Run ``code`` in a fresh interpreter under RLIMIT_AS; returns its stdout."""
    prelude = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({int(mem_gib * (1 << 30))},) * 2)
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO), OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


# ----------------------------------------------------------------------------- defect 1

def test_block_with_more_records_than_the_file_is_refused_before_parsing(tmp_path):
    unit = struct.pack("<III", 0, 10, 50) + b"\0"
    path = tmp_path / "many.bb"
    bomb_bigbed(path, zlib.compress(unit * 400_000, 9))
    from bioformats_ext.bigbed import BigBedFile

    with pytest.raises(FormatError, match="more records than the file"):
        list(BigBedFile(path).records())


def test_bigbed_memory_bomb_is_a_typed_error_under_2gib(tmp_path):
    stream = zero_bomb(340)
    path = tmp_path / "bomb.bb"
    bomb_bigbed(path, stream)
    assert path.stat().st_size < 400_000   # a 340 KB file that asked for ~10 GB before
    out = run_limited(f"""
        from bioformats_ext.bigbed import BigBedFile
        from bioformats_ext.errors import FormatError
        import Bio.Align, bioformats_ext
        for action in ("records", "fetch", "align"):
            try:
                bb = BigBedFile({str(path)!r})
                if action == "records":
                    list(bb.records())
                elif action == "fetch":
                    list(bb.records(next(iter(bb.chroms))))
                else:
                    list(Bio.Align.parse({str(path)!r}, "bigbed"))
                print(action, "accepted")
            except FormatError as exc:
                print(action, "typed", exc)
    """)
    for action in ("records", "fetch", "align"):
        assert f"{action} typed" in out and "inflates beyond" in out, out


def test_bigbed_block_of_many_tiny_records_stays_within_limits(tmp_path):
    """A block under the inflate cap but holding a million records: parsed in per-record
    memory, and its (corrupt: start > end) records give a typed error."""
    unit = struct.pack("<III", 0, 5000, 50) + b"\0"  # 13-byte records, start > end
    raw = unit * ((15 << 20) // len(unit))
    path = tmp_path / "many.bb"
    bomb_bigbed(path, zlib.compress(raw, 9), item_count=len(raw) // 13)
    out = run_limited(f"""
        from bioformats_ext.bigbed import BigBedFile
        from bioformats_ext.errors import FormatError
        try:
            print(sum(1 for _ in BigBedFile({str(path)!r}).records()))
        except FormatError as exc:
            print("typed", exc)
    """, mem_gib=1.5)
    assert "typed" in out and "start 5000 > end 50" in out, out


def test_bigbed_start_after_end_is_refused(tmp_path):
    """Defect 4: ('chr1', 5000, 50, ...) used to come back from records()."""
    data = bytearray((UCSC / "bed3.bb").read_bytes())
    node = struct.unpack_from("<Q", data, 24)[0] + 48
    off, size = struct.unpack_from("<QQ", data, node + 4 + 16)
    block = bytearray(zlib.decompress(bytes(data[off:off + size])))
    struct.pack_into("<II", block, 4, 5000, 50)
    new = zlib.compress(bytes(block))
    patched = bytearray(data) + new                 # the edited block, appended
    struct.pack_into("<QQ", patched, node + 4 + 16, len(data), len(new))
    path = tmp_path / "bad.bb"
    path.write_bytes(bytes(patched))
    from bioformats_ext.bigbed import BigBedFile

    with pytest.raises(FormatError, match="start 5000 > end 50"):
        list(BigBedFile(path).records())
    import Bio.Align

    import bioformats_ext  # noqa: F401

    with pytest.raises(FormatError):
        list(Bio.Align.parse(str(path), "bigbed"))


def test_rtree_cycle_and_inflated_block_size_are_bounded(tmp_path):
    data = bytearray((UCSC / "bigbedtest.bb").read_bytes())
    rtree = struct.unpack_from("<Q", data, 24)[0]
    node = rtree + 48
    from bioformats_ext.bigbed import BigBedFile

    if data[node] == 0:  # a non-leaf root: point its first child at the root itself
        struct.pack_into("<Q", data, node + 4 + 16, node)
    else:                # a leaf root: turn it into a non-leaf pointing at itself
        data[node] = 0
        struct.pack_into("<Q", data, node + 4 + 16, node)
    struct.pack_into("<I", data, rtree + 4, 0xFFFFFFFF)  # absurd blockSize
    path = tmp_path / "cycle.bb"
    path.write_bytes(bytes(data))
    with pytest.raises(BioformatsError):
        list(BigBedFile(path).records())


# ----------------------------------------------------------------------------- defect 2

def _csi(min_shift: int, depth: int, bins: dict[int, list[tuple[int, int]]]) -> bytes:
    out = [b"CSI\1", struct.pack("<iiI", min_shift, depth, 0), struct.pack("<i", 1),
           struct.pack("<i", len(bins))]
    for b, chunks in bins.items():
        out.append(struct.pack("<IQi", b, 0, len(chunks)))
        for u, v in chunks:
            out.append(struct.pack("<QQ", u, v))
    return b"".join(out)


@pytest.mark.parametrize("min_shift,depth", [(14, 0), (0, 5), (14, 11), (40, 8), (-1, 3)])
def test_csi_parameters_outside_htslib_limits_are_refused(min_shift, depth):
    from bioformats_ext.index.reader import parse_index

    with pytest.raises(FormatError, match="CSI parameters"):
        parse_index(_csi(min_shift, depth, {0: [(0, 100)]}))


def test_csi_query_is_finite_for_deep_schemes():
    """depth 10 with min_shift 1 has 8**10 bins on its last level: a whole-range query must not
    enumerate them."""
    from bioformats_ext.index.reader import parse_index

    ix = parse_index(_csi(1, 10, {0: [(0, 100 << 16)], 5: [(200 << 16, 300 << 16)]}))
    # both bins overlap the whole range; their chunks are in different blocks, so not merged
    assert ix.query(0, 0, 1 << 62) == [(0, 100 << 16), (200 << 16, 300 << 16)]
    ix.query(0, 1 << 30, 1 << 31)


# ----------------------------------------------------------------------------- defect 3

def test_bam_reference_name_not_utf8_is_typed(tmp_path):
    from bioformats_ext.bam import BamReader, BamWriter
    from fuzz.mutate import bgzf_compress, bgzf_decompress

    path = tmp_path / "x.bam"
    with BamWriter(path, [("chrA", 1000)]) as w:
        w.write("r1\t0\tchrA\t10\t60\t4M\t*\t0\t0\tACGT\tIIII\n")
    payload = bgzf_decompress(path.read_bytes())
    assert payload is not None
    bad = tmp_path / "bad.bam"
    bad.write_bytes(bgzf_compress(payload.replace(b"chrA\0", b"chr\xff\0")))
    with pytest.raises(FormatError, match="not UTF-8"):
        BamReader(bad)


def test_huge_pos_is_a_record_error_in_index_tabix_and_vcf_writer(tmp_path):
    from bioformats_ext.vcf import VcfWriter

    line = "chr1\t99999999999999999999\t.\tA\tC\t.\t.\t.\n"
    plain = tmp_path / "x.vcf"
    plain.write_text(HEADER + line)
    pysam.tabix_compress(str(plain), str(plain) + ".gz")
    from bioformats_ext.tabix import index_tabix
    with pytest.raises(RecordError):
        index_tabix(str(plain) + ".gz", "vcf")
    with pytest.raises(RecordError, match="line 4"):
        with VcfWriter(tmp_path / "y.vcf.gz", HEADER, index="tbi") as w:
            w.write(line)
    assert not (tmp_path / "y.vcf.gz").exists()


def test_non_utf8_chrom_is_a_numbered_record_error_in_index_tabix_and_vcf_writer(tmp_path):
    """Found by the fuzz campaign: the batch interval scan handed a non-UTF-8 CHROM to the
    builder, which raised UnicodeDecodeError instead of the per-line rule's RecordError."""
    from bioformats_ext.tabix import index_tabix
    from bioformats_ext.vcf import VcfWriter

    good = "chr1\t5\t.\tA\tC\t.\t.\t.\n"
    bad = b"\xffchr\t9\t.\tA\tC\t.\t.\t.\n"
    plain = tmp_path / "x.vcf"
    plain.write_bytes(HEADER.encode() + good.encode() + bad)
    pysam.tabix_compress(str(plain), str(plain) + ".gz")
    with pytest.raises(RecordError, match="line 5: sequence name is not UTF-8"):
        index_tabix(str(plain) + ".gz", "vcf")
    with pytest.raises(BioformatsError, match="line 5"):  # the writer knows the contigs
        with VcfWriter(tmp_path / "y.vcf.gz", HEADER, index="tbi") as w:
            w.write_many([good.encode(), bad])
    assert not (tmp_path / "y.vcf.gz").exists()


# ----------------------------------------------------------------------------- defect 4

def test_bgzf2_seek_table_entry_of_size_zero_is_refused(tmp_path):
    from bioformats_ext.bgzf2 import Bgzf2Reader, Bgzf2Writer

    path = tmp_path / "x.bgz2"
    payload = bytes(range(256)) * 26
    with Bgzf2Writer(path, block_size=1000) as w:
        w.write(payload)
    assert Bgzf2Reader(path).read() == payload
    data = bytearray(path.read_bytes())
    n, desc = struct.unpack_from("<IB", data, len(data) - 9)
    width = 12 if desc & 0x80 else 8
    start = len(data) - 9 - n * width
    struct.pack_into("<I", data, start + 2 * width + 4, 0)   # data frame 0: 0 bytes
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="decompressed size of 0"):
        Bgzf2Reader(path).read()


# ----------------------------------------------------------------------------- defect 5

def _bgzf_text(tmp_path: Path, cut: str) -> Path:
    plain = tmp_path / "t.txt"
    plain.write_text("".join(f"chr1\t{i}\t{i + 1}\n" for i in range(30000)))
    gz = tmp_path / "t.txt.gz"
    pysam.tabix_compress(str(plain), str(gz), force=True)
    from fuzz.mutate import bgzf_blocks

    data = gz.read_bytes()
    spans = bgzf_blocks(data)
    assert len(spans) > 3
    if cut == "eof":
        gz.write_bytes(data[:spans[-1][0]])           # only the EOF block is missing
    elif cut == "block":
        gz.write_bytes(data[:spans[2][0]])            # cut at a block boundary
    else:
        gz.write_bytes(b"")
    return gz


@pytest.mark.parametrize("cut", ["eof", "block", "empty"])
def test_bgzf_without_eof_marker_warns_and_strict_raises(tmp_path, cut):
    from bioformats_ext.bgzf import BgzfReader, strict_eof

    gz = _bgzf_text(tmp_path, cut)
    with pytest.warns(TruncatedFileWarning, match="EOF marker is absent"):
        BgzfReader(gz).read()
    with strict_eof(), pytest.raises(TruncatedFileError, match="EOF marker is absent"):
        BgzfReader(gz).read()
    with strict_eof(), pytest.raises(TruncatedFileError):
        list(BgzfReader(gz).iter_blocks())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if cut != "empty":
            with BgzfReader(gz) as reader:  # no warning before the end is reached
                reader.read(10)


def test_complete_bgzf_does_not_warn(tmp_path):
    from bioformats_ext.bgzf import BgzfReader, strict_eof

    plain = tmp_path / "t.txt"
    plain.write_text("a\n" * 1000)
    pysam.tabix_compress(str(plain), str(plain) + ".gz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with strict_eof(), BgzfReader(str(plain) + ".gz") as reader:
            assert reader.read() == b"a\n" * 1000


def test_cli_is_strict_about_truncated_bgzf(tmp_path):
    gz = _bgzf_text(tmp_path, "eof")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "bioformats_ext.cli", "tabix", "-p", "bed",
                           str(gz)], env=env, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1
    assert "EOF marker is absent" in proc.stderr


# ----------------------------------------------------------------------------- defect 6

@pytest.mark.parametrize("line,error,match", [
    ("chr1\t-5\t.\tA\tC\t.\t.\t.\n", RecordError, "POS '-5' is negative"),
    ("chr1\t10\t.\t\tC\t.\t.\t.\n", RecordError, "empty REF"),
    ("chr1\t10\t.\tA\tC\t.\t.\n", RecordError, "7 columns"),
    ("chr1\t10\t.\tA\tC\t.\t.\tEND=x\n", RecordError, "INFO/END=x"),
    ("chrZ\t10\t.\tA\tC\t.\t.\t.\n", UnknownReferenceError, "chrZ"),
])
def test_vcf_writer_refuses_what_htslib_refuses(tmp_path, line, error, match):
    from bioformats_ext.vcf import VcfWriter

    target = tmp_path / "x.vcf.gz"
    good = "chr1\t5\t.\tA\tC\t.\t.\t.\n"
    with pytest.raises(error, match=match) as info:
        with VcfWriter(target, HEADER, index="tbi") as w:
            w.write_many([good, line])
    assert "line 5" in str(info.value)      # 3 header lines, then the good record
    assert not target.exists() and not (tmp_path / "x.vcf.gz.tbi").exists()


def test_vcf_writer_accepts_pos_zero_and_end_dot(tmp_path):
    from bioformats_ext.vcf import VcfReader, VcfWriter

    target = tmp_path / "x.vcf.gz"
    with VcfWriter(target, HEADER, index="tbi") as w:
        w.write_many(["chr1\t0\t.\tN\t<DEL>\t.\t.\tEND=.\n", "chr1\t7\t.\tA\tC\t.\t.\tEND=9\n"])
    assert len(list(VcfReader(target).fetch("chr1"))) == 2
    assert [r.pos for r in pysam.VariantFile(str(target))] == [0, 7]


def test_bam_writer_refuses_pos_beyond_ln(tmp_path):
    from bioformats_ext.bam import BamWriter

    target = tmp_path / "x.bam"
    with pytest.raises(RecordError, match="line 2: POS 1001 is beyond the end"):
        with BamWriter(target, [("chrA", 1000)], index="bai") as w:
            w.write_many(["r1\t0\tchrA\t1000\t60\t1M\t*\t0\t0\tA\tI\n",
                          "r2\t0\tchrA\t1001\t60\t1M\t*\t0\t0\tA\tI\n"])
    assert not target.exists()


# ----------------------------------------------------------------------------- defect 8

def test_tbi_with_meta_line_after_header_equals_tabix(tmp_path):
    from bioformats_ext.vcf import VcfWriter

    ours = tmp_path / "a.vcf.gz"
    with VcfWriter(ours, HEADER, index="tbi") as w:
        w.write("##extra=<a meta line right after the header>\n")
        w.write_many([f"chr1\t{i * 97}\t.\tA\tC\t.\t.\t.\n" for i in range(1, 3000)])
    theirs = tmp_path / "b.vcf.gz"
    theirs.write_bytes(ours.read_bytes())
    pysam.tabix_index(str(theirs), preset="vcf", force=True)
    assert gzip.decompress((tmp_path / "a.vcf.gz.tbi").read_bytes()) == \
        gzip.decompress((tmp_path / "b.vcf.gz.tbi").read_bytes())


def test_numpy_is_available():  # the memory tests rely on numpy in the child
    assert np.__version__


def test_xxh64_matches_zstd_frame_checksums():
    import zstandard

    from bioformats_ext.bgzf2.checksum import xxh64, xxh64_python

    rng = np.random.default_rng(5)
    for n in (0, 1, 5, 8, 31, 32, 33, 200, 4099):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        frame = zstandard.ZstdCompressor(write_checksum=True).compress(data)
        want = struct.unpack("<I", frame[-4:])[0]
        assert xxh64_python(data) & 0xFFFFFFFF == want
        assert xxh64(data) & 0xFFFFFFFF == want


def test_bgzf2_seek_table_checksum_is_verified_without_frame_checksums(tmp_path):
    """A third-party seekable file whose frames carry no checksum: the seek table's is checked
    against the data itself."""
    import zstandard

    from bioformats_ext.bgzf2 import Bgzf2Reader, Bgzf2Writer
    from bioformats_ext.bgzf2.checksum import xxh64

    path = tmp_path / "x.bgz2"
    payload = b"".join(b"line %d\n" % i for i in range(2000))
    with Bgzf2Writer(path, block_size=4000) as w:
        w.write(payload)
    data = bytearray(path.read_bytes())
    n, desc = struct.unpack_from("<IB", data, len(data) - 9)
    assert desc & 0x80
    width = 12
    start = len(data) - 9 - n * width
    comp = [struct.unpack_from("<I", data, start + k * width)[0] for k in range(n)]
    offs = np.concatenate(([0], np.cumsum(comp))).tolist()
    # re-compress data frame 0 without a checksum (same content size), keeping the seek table
    frame0 = bytes(data[offs[2]:offs[3]])
    plain = zstandard.ZstdDecompressor().decompress(frame0)
    bare = zstandard.ZstdCompressor(write_checksum=False, write_content_size=True).compress(plain)
    pz = struct.pack("<III", 0x184D2A50, 4, len(bare))
    body = bytes(data[:offs[1]]) + pz + bare + bytes(data[offs[3]:start - 8])
    table = bytearray(data[start - 8:])
    struct.pack_into("<I", table, 8 + 2 * width, len(bare))
    assert struct.unpack_from("<I", table, 8 + 2 * width + 8)[0] == xxh64(plain) & 0xFFFFFFFF
    rebuilt = body + bytes(table)
    # the index footer's distance back is unchanged (frames before it changed size only)
    path.write_bytes(rebuilt)
    assert Bgzf2Reader(path).read() == payload
    struct.pack_into("<I", table, 8 + 2 * width + 8, (xxh64(plain) + 1) & 0xFFFFFFFF)
    path.write_bytes(body + bytes(table))
    with pytest.raises(FormatError, match="seek-table checksum"):
        Bgzf2Reader(path).read()
