"""``bioformats-ext bgzip2``: compress to / decompress from / query BGZF2, modelled on ``bgzip``.

Compressing a tab-delimited text file (VCF, BED, GFF/GTF, SAM; chosen with ``-p`` or from the
file name) also indexes its lines by coordinates inside the file, so ``-r chr1:100-200`` works
with no ``.tbi``. Other input is compressed as a plain byte stream (``-r`` then has nothing to
look up). Output is named ``FILE.zst``: a BGZF2 file is valid zstd, so ``zstd -d`` reads it too.
"""

from __future__ import annotations

import os
import re
import sys
from typing import BinaryIO, Callable, Iterator

from ..bgzf2 import DEFAULT_BLOCK_SIZE, DEFAULT_LEVEL, Bgzf2Reader, Bgzf2Writer
from ..errors import BioformatsError, FormatError, RecordError, UnknownReferenceError
from ..io.atomic import atomic_open
from ._options import ArgumentParser, UsageError, progress_bytes

SUFFIX = ".zst"
PRESETS = ("vcf", "bed", "gff", "sam")
_CIGAR = re.compile(rb"(\d+)([MIDNSHP=X])")
_REGION = re.compile(r"^(.*):([0-9,]*)(?:-([0-9,]*))?$")


def _parser() -> ArgumentParser:
    p = ArgumentParser(prog="bioformats-ext bgzip2",
                       description="Compress, decompress, test, reindex or query BGZF2 files. "
                                   "Option letters mean what they mean in bgzip.")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="input files ('-' or none: standard input)")
    p.add_argument("-c", "--stdout", action="store_true", help="write on standard output")
    p.add_argument("-d", "--decompress", action="store_true", help="decompress")
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing output")
    p.add_argument("-k", "--keep", action="store_true", help="keep the input file")
    p.add_argument("-l", "--compress-level", type=int, default=DEFAULT_LEVEL, metavar="INT",
                   help=f"zstd level 1-22 (negative: fast levels), or {DEFAULT_LEVEL} (default) for "
                        f"the measured setting (docs/bgzf2.md)")
    p.add_argument("-@", "--threads", type=int, default=1, metavar="INT",
                   help="compression/decompression threads")
    p.add_argument("-b", "--offset", type=int, default=None, metavar="INT",
                   help="decompress from this 0-based uncompressed offset (as bgzip -b)")
    p.add_argument("-s", "--size", type=int, default=None, metavar="INT",
                   help="decompress INT bytes (as bgzip -s)")
    p.add_argument("-r", "--reindex", action="store_true",
                   help="rebuild the embedded index of a BGZF2 file (with -p for the preset)")
    p.add_argument("-t", "--test", action="store_true", help="test integrity of compressed file")
    p.add_argument("-B", "--block-size", type=int, default=DEFAULT_BLOCK_SIZE, metavar="INT",
                   help=f"uncompressed bytes per frame (default {DEFAULT_BLOCK_SIZE})")
    p.add_argument("-p", "--preset", choices=PRESETS + ("none",),
                   help="index text lines as this format (default: from the file name)")
    p.add_argument("-Q", "--query", "--region", dest="region", action="append", metavar="REGION",
                   help="print what overlaps chr, chr:beg or chr:beg-end (1-based)")
    p.add_argument("-H", "--print-header", action="store_true",
                   help="with -Q on text, print the header lines first (like tabix -h)")
    return p


# --------------------------------------------------------------------------- text presets

def _ref_span_sam(cigar: bytes) -> int:
    return sum(int(n) for n, op in _CIGAR.findall(cigar) if op in b"MDN=X")


def _coords(preset: str) -> Callable[[list[bytes]], tuple[bytes, int, int, bool]]:
    """Per-preset ``fields -> (chrom, beg0, end, mapped)`` (raises on malformed lines)."""
    if preset == "vcf":
        def vcf(f):
            beg = int(f[1]) - 1
            end = beg + max(1, len(f[3]))
            if beg < 0:  # POS=0 (telomere): htslib clamps the interval to [0, >=1)
                beg, end = 0, max(end, 1)
            if len(f) > 7 and b"END=" in f[7]:
                for kv in f[7].split(b";"):
                    if kv.startswith(b"END="):
                        end = max(end, int(kv[4:]))
            return f[0], beg, end, True
        return vcf
    if preset == "bed":
        return lambda f: (f[0], int(f[1]), int(f[2]), True)
    if preset == "gff":
        return lambda f: (f[0], int(f[3]) - 1, int(f[4]), True)

    def sam(f):
        flag, beg = int(f[1]), int(f[3]) - 1
        mapped = not flag & 4 and f[2] != b"*"
        span = _ref_span_sam(f[5]) if mapped and f[5] != b"*" else 1
        return f[2], max(beg, 0), max(beg, 0) + max(span, 1), mapped
    return sam


def _is_header(preset: str, line: bytes) -> bool:
    if preset == "sam":
        return line.startswith(b"@")
    if preset == "bed":
        return line.startswith((b"#", b"track", b"browser")) or not line.strip()
    return line.startswith(b"#") or not line.strip()


def _header_lengths(preset: str, line: bytes) -> tuple[str, int] | None:
    if preset == "vcf" and line.startswith(b"##contig=<"):
        fields = dict(kv.split(b"=", 1) for kv in line[10:].rstrip(b">\r\n").split(b",")
                      if b"=" in kv)
        if b"ID" in fields and b"length" in fields:
            return fields[b"ID"].decode(), int(fields[b"length"])
    if preset == "sam" and line.startswith(b"@SQ"):
        tags = dict(t.split(b":", 1) for t in line.rstrip(b"\r\n").split(b"\t")[1:] if b":" in t)
        if b"SN" in tags and b"LN" in tags:
            return tags[b"SN"].decode(), int(tags[b"LN"])
    return None


def _preset_for(name: str) -> str | None:
    base = name.lower()
    for suffix in (".gz", ".zst", ".txt"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    ext = base.rsplit(".", 1)[-1]
    return {"vcf": "vcf", "bed": "bed", "gff": "gff", "gff3": "gff", "gtf": "gff",
            "sam": "sam"}.get(ext)


def _iter_lines(handle: BinaryIO, chunk: int = 1 << 22) -> Iterator[bytes]:
    rest = b""
    while True:
        block = handle.read(chunk)
        if not block:
            break
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line + b"\n"
    if rest:
        yield rest


def _compress_text(handle: BinaryIO, writer: Bgzf2Writer, preset: str) -> None:
    coords = _coords(preset)
    tids: dict[bytes, int] = {}
    lengths: dict[str, int] = {}
    max_end: list[int] = []
    last = (-1, -1)
    is_sorted = True
    in_header = True
    for number, line in enumerate(_iter_lines(handle), 1):
        if in_header and _is_header(preset, line):
            known = _header_lengths(preset, line)
            if known:
                lengths[known[0]] = known[1]
            writer.write_record(line)
            continue
        in_header = False
        fields = line.rstrip(b"\r\n").split(b"\t")
        try:
            chrom, beg, end, mapped = coords(fields)
        except (ValueError, IndexError):
            raise RecordError(f"line {number}: not a {preset.upper()} record: "
                              f"{line[:60]!r}", number) from None
        if chrom == b"*":
            tid = -1
        else:
            tid_known = tids.get(chrom)
            if tid_known is None:
                tid_known = tids[chrom] = len(tids)
                max_end.append(0)
            tid = tid_known
            if end > max_end[tid]:
                max_end[tid] = end
        key = (tid if tid >= 0 else 1 << 62, beg)
        if key < last:
            is_sorted = False
        last = key
        writer.write_record(line)
        writer.push(tid, beg, end, mapped=mapped)
    names = [c.decode() for c in tids]
    writer.references = [(n, max(lengths.get(n, 0), max_end[i])) for i, n in enumerate(names)]
    writer.sorted = is_sorted
    writer.metadata["format"] = preset


# --------------------------------------------------------------------------- regions

def parse_region(text: str, reader: Bgzf2Reader) -> tuple[str, int, int | None]:
    """``chr`` / ``chr:beg`` / ``chr:beg-end`` (1-based, inclusive) -> 0-based half-open."""
    names = {r.name for r in reader.references}
    if text in names or text == "*":
        return text, 0, None
    m = _REGION.match(text)
    if not m or m.group(1) not in names:
        raise UnknownReferenceError(f"region {text!r}: unknown reference")
    beg = int(m.group(2).replace(",", "") or 1)
    end = m.group(3)
    end = int(end.replace(",", "")) if end and end.replace(",", "") else None
    if m.group(3) is None and m.group(2):
        end = None
    if beg < 1 or (end is not None and end < beg):
        raise UsageError(f"bad region {text!r}")
    return m.group(1), beg - 1, end


def _query(reader: Bgzf2Reader, regions: list[str], out: BinaryIO, header: bool) -> None:
    preset = reader.metadata.get("format")
    if preset not in PRESETS:
        for region in regions:
            name, beg, end = parse_region(region, reader)
            for _, data in reader.fetch_runs(name, beg, end):
                out.write(data)
        return
    coords = _coords(preset)
    if header:
        reader.seek(0)
        for line in reader:
            if not _is_header(preset, line):
                break
            out.write(line)
    for region in regions:
        name, beg, end = parse_region(region, reader)
        stop = (1 << 63) if end is None else end
        want = name.encode()
        for _, data in reader.fetch_runs(name, beg, end):
            keep = []
            for line in data.splitlines(keepends=True):
                if _is_header(preset, line):
                    continue
                fields = line.rstrip(b"\r\n").split(b"\t")
                try:
                    chrom, b, e, _ = coords(fields)
                except (ValueError, IndexError):
                    raise FormatError(f"malformed {preset.upper()} line in BGZF2 data: "
                                      f"{line[:60]!r}") from None
                if chrom == want and (name == "*" or (b < stop and e > beg)):
                    keep.append(line)
            out.write(b"".join(keep))


# --------------------------------------------------------------------------- main

def _open_output(path: str, force: bool) -> None:
    if os.path.exists(path) and not force:
        raise BioformatsError(f"{path} already exists; use -f to overwrite")


def _source(src: str) -> "str | bytes":
    if src == "-":
        return sys.stdin.buffer.read()
    if not os.path.exists(src):
        open(src, "rb").close()  # the OSError names the file
    return src


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.threads < 1:
        raise UsageError(f"-@ {args.threads}: need at least 1 thread")
    if args.block_size < 1:
        raise UsageError(f"-B {args.block_size}: frames need at least 1 byte")
    if (args.offset or 0) < 0 or (args.size or 0) < 0:
        raise UsageError(f"illegal range: offset {args.offset} size {args.size}")
    files = args.files or ["-"]
    if "-" in files and sys.stdin.isatty():  # as bgzip: no data is coming from a terminal
        raise UsageError("no input file and standard input is a terminal (see -h)")
    for src in files:
        _run_one(src, args)
    return 0


def _run_one(src: str, args) -> None:
    stdout = sys.stdout.buffer
    if args.region:
        with Bgzf2Reader(_source(src), threads=args.threads) as reader:
            _query(reader, args.region, stdout, args.print_header)
        stdout.flush()
        return
    if args.test:
        with Bgzf2Reader(_source(src), threads=args.threads) as reader:
            for _ in reader.iter_frames():
                pass
        return
    if args.reindex:
        _reindex(src, args)
        return
    if args.decompress or args.offset is not None or args.size is not None:
        source = _source(src)
        to_stdout = args.stdout or src == "-" or args.offset is not None or args.size is not None
        if not to_stdout:
            if not src.endswith(SUFFIX):
                raise BioformatsError(f"{src}: unknown suffix (expected {SUFFIX}); use -c")
            target = src[: -len(SUFFIX)]
            _open_output(target, args.force)
        with Bgzf2Reader(source, threads=args.threads) as reader:
            if to_stdout:
                for data in _decoded(reader, args.offset, args.size):
                    stdout.write(data)
                stdout.flush()
            else:
                with atomic_open(target) as out:
                    for data in _decoded(reader, args.offset, args.size):
                        out.write(data)
        if not to_stdout and not args.keep:
            os.unlink(src)
        return
    # compress
    to_stdout = args.stdout or src == "-"
    preset = args.preset or (None if src == "-" else _preset_for(src))
    if preset == "none":
        preset = None
    if not to_stdout:
        if src.endswith(SUFFIX) and not args.force:
            raise BioformatsError(f"{src} already has {SUFFIX} suffix; use -f to compress anyway")
        target = src + SUFFIX
        _open_output(target, args.force)
    handle = sys.stdin.buffer if src == "-" else open(src, "rb")
    try:
        _compress_stream(handle, stdout if to_stdout else target, preset, args)
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()
    if to_stdout:
        stdout.flush()
    elif not args.keep:
        os.unlink(src)


def _compress_stream(handle: BinaryIO, target, preset: str | None, args) -> None:
    options = dict(level=args.compress_level, block_size=args.block_size,
                   threads=args.threads, aligned=preset is not None, sorted=False)
    writer = Bgzf2Writer(target, **options)
    with writer, progress_bytes(handle, desc="bgzip2") as counted:
        if preset:
            _compress_text(counted, writer, preset)
        else:
            while True:
                block = counted.read(1 << 22)
                if not block:
                    break
                writer.write(block)


def _decoded(reader: Bgzf2Reader, offset: int | None, size: int | None) -> Iterator[bytes]:
    """The uncompressed stream, or ``size`` bytes of it from ``offset`` (bgzip ``-b``/``-s``)."""
    if offset is None and size is None:
        yield from reader.iter_frames()
        return
    reader.seek(offset or 0)
    left = size
    while left is None or left > 0:
        data = reader.read(1 << 20 if left is None else min(left, 1 << 20))
        if not data:
            return
        if left is not None:
            left -= len(data)
        yield data


def _reindex(src: str, args) -> None:
    """Rebuild the embedded index: decode the text and write it again (atomically in place)."""
    if src == "-":
        raise UsageError("-r needs a file name (the file is rewritten in place)")
    import io

    with Bgzf2Reader(_source(src), threads=args.threads) as reader:
        preset = args.preset or reader.metadata.get("format") or _preset_for(src)
        if preset == "none":
            preset = None
        data = io.BytesIO(b"".join(reader.iter_frames()))
    _compress_stream(data, src, preset, args)
