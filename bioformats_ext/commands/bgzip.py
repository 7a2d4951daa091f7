"""``bioformats-ext bgzip``: plain BGZF compression as htslib's ``bgzip`` does it.

Options and file naming follow bgzip (``-c -d -f -k -l -@ -i -I -r -b -s -t -o --binary``):
``file`` becomes ``file.gz`` (input removed unless ``-k``/``-c``), ``-d`` reverses it (``.gz``,
``.bgz``, ``.bgzf``; plain gzip is decompressed too), ``-i``/``-r`` write the ``.gzi`` offset
index that ``-b``/``-s`` use to start decompressing mid-file. Text input (VCF, SAM, BED, FASTA,
...) gets bgzip's block layout: header lines end a block and every block ends at a newline
when a line fits, so a reader can start at any block on a line boundary; ``--binary`` turns
that off (then the layout is ``pysam.tabix_compress``'s: every block full).
"""

from __future__ import annotations

import os
import sys
import zlib
from typing import BinaryIO, Iterator, Protocol

from ..bgzf import BgzfWriter
from ..bgzf.blocks import MAX_BLOCK_DATA
from ..bgzf.gzi import build_gzi, locate, read_gzi, write_gzi
from ..errors import BioformatsError, FormatError
from ..io.atomic import atomic_open
from ..sniff import describe, sniff_bytes
from ._options import ArgumentParser, UsageError

WINDOW = MAX_BLOCK_DATA  # bgzip reads its input in windows of one block


class _Readable(Protocol):
    def read(self, n: int, /) -> bytes: ...
SUFFIXES = (".gz", ".bgz", ".bgzf")
_TEXT = ("vcf", "sam", "text", "empty")


def _parser() -> ArgumentParser:
    p = ArgumentParser(prog="bioformats-ext bgzip",
                       description="Block compression/decompression utility (BGZF), like bgzip.")
    p.add_argument("files", nargs="*", metavar="FILE", help="input files ('-' or none: stdin)")
    p.add_argument("-b", "--offset", type=int, default=None, metavar="INT",
                   help="decompress from this 0-based uncompressed offset (uses the .gzi)")
    p.add_argument("-c", "--stdout", action="store_true",
                   help="write on standard output, keep original files unchanged")
    p.add_argument("-d", "--decompress", action="store_true", help="decompress")
    p.add_argument("-f", "--force", action="store_true", help="overwrite files without asking")
    p.add_argument("-i", "--index", action="store_true", help="compress and create BGZF index")
    p.add_argument("-I", "--index-name", metavar="FILE", help="name of BGZF index file [file.gz.gzi]")
    p.add_argument("-k", "--keep", action="store_true", help="don't delete input files")
    p.add_argument("-l", "--compress-level", type=int, default=-1, metavar="INT",
                   help="compression level, 0 to 9, or -1 for default [-1]")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE, keep original files")
    p.add_argument("-r", "--reindex", action="store_true", help="(re)index compressed file")
    p.add_argument("-s", "--size", type=int, default=None, metavar="INT",
                   help="decompress INT bytes (uncompressed size)")
    p.add_argument("-t", "--test", action="store_true", help="test integrity of compressed file")
    p.add_argument("--binary", action="store_true", help="don't align blocks with text lines")
    p.add_argument("-@", "--threads", type=int, default=1, metavar="INT",
                   help="number of compression threads to use [1]")
    return p


# --------------------------------------------------------------------------- compression

def _windows(handle: BinaryIO, text: bool) -> Iterator[tuple[bytes, bool]]:
    """``(data, flush_after)`` pieces in bgzip's order: text mode ends blocks at newlines."""
    if not text:
        while True:
            data = handle.read(1 << 20)
            if not data:
                return
            yield data, False
    in_header, long_line = True, False
    rest = b""
    while True:
        chunk = handle.read(WINDOW - len(rest))
        if not chunk:
            break
        buf = rest + chunk
        flush = False
        if in_header and (long_line or buf[:1] in (b"@", b"#")):
            last_start = 0  # end of the last complete header line in the window
            pos = 0
            while True:
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    break
                pos = last_start = nl + 1
                if pos < len(buf) and buf[pos:pos + 1] not in (b"@", b"#"):
                    in_header = False
                    break
            if not last_start:
                cut, long_line = len(buf), True
            else:
                cut, flush, long_line = last_start, True, False
        else:
            nl = buf.rfind(b"\n")
            if nl >= 0:
                cut, flush = nl + 1, True
            else:
                cut = len(buf)
        yield buf[:cut], flush
        rest = buf[cut:]
    if rest:
        yield rest, False


def _is_text(path: str | None, head: bytes) -> bool:
    found = sniff_bytes(head)
    return found.container == "none" and found.format in _TEXT


def compress(handle: "BinaryIO | _Readable", target, *, level: int, threads: int, binary: bool,
             head: bytes = b"") -> list[tuple[int, int]]:
    """Compress ``head + handle`` into ``target``; returns the .gzi entries."""
    text = not binary and _is_text(None, head)
    writer = BgzfWriter(target, level=6 if level < 0 else level, threads=threads)
    sizes: list[int] = []  # uncompressed size of every data block, in order
    pending = 0

    class _Prefixed:
        def __init__(self) -> None:
            self.head = head

        def read(self, n: int) -> bytes:
            if self.head:
                out, self.head = self.head[:n], self.head[n:]
                if len(out) < n:
                    out += handle.read(n - len(out))
                return out
            return handle.read(n)

    try:
        for data, flush in _windows(_Prefixed(), text):  # type: ignore[arg-type]
            writer.write(data)
            pending += len(data)
            while pending >= MAX_BLOCK_DATA:
                sizes.append(MAX_BLOCK_DATA)
                pending -= MAX_BLOCK_DATA
            if flush and pending:
                writer.flush()
                sizes.append(pending)
                pending = 0
        if pending:
            sizes.append(pending)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    addresses = writer.block_addresses()
    base = int(addresses[0]) if len(addresses) else 0
    entries, uaddr = [], 0
    for i, size in enumerate(sizes):
        if i:
            entries.append((int(addresses[i]) - base, uaddr))
        uaddr += size
    return entries


# --------------------------------------------------------------------------- decompression

def _inflate(path: str, start: int = 0, size: int | None = None,
             index_name: str | None = None) -> Iterator[bytes]:
    """Uncompressed bytes of a BGZF (or plain gzip) file from ``start``, at most ``size``."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    found = sniff_bytes(head)
    if found.container not in ("bgzf", "gzip"):
        raise FormatError(f"{path}: not a compressed file ({describe(found)})", 0)
    if found.container == "gzip":
        if start:
            raise BioformatsError(f"{path}: plain gzip, not BGZF: cannot start at offset {start}")
        yield from _limit(_gunzip(path), size)
        return
    from ..bgzf import BgzfReader

    address = ublock = 0
    if start:
        gzi = index_name or f"{path}.gzi"
        if not os.path.exists(gzi):
            raise BioformatsError(f"could not load index {gzi} (make it with bgzip -r {path})")
        address, ublock = locate(read_gzi(gzi), start)
    skip = start - ublock

    def blocks() -> Iterator[bytes]:
        nonlocal skip
        for _addr, _next, data in BgzfReader(path).iter_block_spans(address):
            if skip:
                if skip >= len(data):
                    skip -= len(data)
                    continue
                data, skip = data[skip:], 0
            yield data

    yield from _limit(blocks(), size)


def _limit(chunks: Iterator[bytes], size: int | None) -> Iterator[bytes]:
    if size is None:
        yield from chunks
        return
    left = size
    for data in chunks:
        if left <= 0:
            return
        yield data[:left]
        left -= len(data)


def _gunzip(path: str) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        d = zlib.decompressobj(31)
        while True:
            raw = handle.read(1 << 20)
            if not raw:
                break
            while raw:
                try:
                    yield d.decompress(raw)
                except zlib.error as exc:
                    raise FormatError(f"{path}: corrupt gzip data ({exc})") from None
                raw = d.unused_data
                if d.eof:
                    d = zlib.decompressobj(31)
        if not d.eof and d.unconsumed_tail == b"" and d.unused_data == b"":
            tail = d.flush()
            if tail:
                yield tail


# --------------------------------------------------------------------------- main

def _check_new(path: str, force: bool) -> None:
    if os.path.exists(path) and not force:
        raise BioformatsError(f"{path} already exists; use -f to overwrite")


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if not -1 <= args.compress_level <= 9:
        raise UsageError(f"invalid compress-level: {args.compress_level} (0 to 9, or -1)")
    if args.threads < 1:
        raise UsageError(f"-@ {args.threads}: need at least 1 thread")
    start = args.offset or 0
    decompress = args.decompress or args.offset is not None
    to_stdout = args.stdout or args.offset is not None or args.size is not None
    if args.offset is not None and args.offset < 0 or args.size is not None and args.size < 0:
        raise UsageError(f"illegal region: offset {args.offset} size {args.size}")
    if args.output and to_stdout:
        raise UsageError(f"cannot write to {args.output} and stdout at the same time")
    if args.output == "-":
        args.output, to_stdout = None, True
    files = args.files or ["-"]
    if "-" in files and sys.stdin.isatty():  # bgzip: no data is coming from a terminal
        raise UsageError("no input file and standard input is a terminal (see -h)")
    if args.index_name and (args.index or args.reindex) and len(files) > 1 and not args.output:
        raise UsageError("cannot specify index filename with multiple data files")
    stdout = sys.stdout.buffer
    if args.output and len(files) > 1 and not (args.test or args.reindex):
        _many_to_one(files, args, start, decompress)  # bgzip -o: one output for all inputs
        return 0
    for path in files:
        stdin = path == "-"
        if args.test:
            for _ in _inflate(_stdin_copy() if stdin else path):
                pass
        elif args.reindex:
            if stdin and not args.index_name:
                raise UsageError("index file name expected when reading from stdin (-I)")
            write_gzi(args.index_name or f"{path}.gzi", build_gzi(_stdin_copy() if stdin else path))
        elif decompress:
            _decompress(path, args, start, to_stdout or stdin, stdout)
        else:
            _compress(path, args, to_stdout or stdin, stdout)
    return 0


def _stdin_copy() -> str:
    """Spool standard input to a temporary file (BGZF reading wants random access)."""
    import tempfile

    handle = tempfile.NamedTemporaryFile(prefix="bioformats-ext-stdin-", delete=False)
    with handle:
        while True:
            data = sys.stdin.buffer.read(1 << 20)
            if not data:
                break
            handle.write(data)
    import atexit

    def _remove(name: str = handle.name) -> None:
        if os.path.exists(name):
            os.unlink(name)

    atexit.register(_remove)
    return handle.name


class _Chain:
    """The inputs one after another, as one stream (``bgzip -o OUT a b c``)."""

    def __init__(self, paths: list[str]) -> None:
        self._paths = list(paths)
        self._handle: BinaryIO | None = None

    def read(self, n: int) -> bytes:
        out = b""
        while len(out) < n and (self._handle is not None or self._paths):
            if self._handle is None:
                path = self._paths.pop(0)
                self._handle = sys.stdin.buffer if path == "-" else open(path, "rb")
            data = self._handle.read(n - len(out))
            if not data:
                if self._handle is not sys.stdin.buffer:
                    self._handle.close()
                self._handle = None
                continue
            out += data
        return out

    def close(self) -> None:
        if self._handle is not None and self._handle is not sys.stdin.buffer:
            self._handle.close()


def _many_to_one(files: list[str], args, start: int, decompress: bool) -> None:
    for path in files:
        if path != "-" and not os.path.exists(path):
            open(path, "rb").close()  # the OSError names the file
    if decompress:
        with atomic_open(args.output) as out:
            for path in files:
                for data in _inflate(_stdin_copy() if path == "-" else path, start, args.size,
                                     args.index_name):
                    out.write(data)
        return
    chain = _Chain(files)
    try:
        entries = compress(chain, args.output, level=args.compress_level, threads=args.threads,
                           binary=args.binary, head=chain.read(1 << 16))
    finally:
        chain.close()
    if args.index:
        write_gzi(args.index_name or f"{args.output}.gzi", entries)


def _compress(path: str, args, to_stdout: bool, stdout: BinaryIO) -> None:
    stdin = path == "-"
    if args.index and (to_stdout or args.output) and not args.index_name and (stdin or to_stdout):
        raise UsageError("index file name expected when writing to stdout (-I)")
    source = sys.stdin.buffer if stdin else open(path, "rb")
    try:
        head = source.read(1 << 16)
        if args.output:
            target: "str | BinaryIO" = args.output
        elif to_stdout:
            target = stdout
        else:
            target = path + ".gz"
            _check_new(target, args.force)
        entries = compress(source, target, level=args.compress_level, threads=args.threads,
                           binary=args.binary, head=head)
    finally:
        if not stdin:
            source.close()
    if to_stdout:
        stdout.flush()
    if args.index:
        write_gzi(args.index_name or f"{args.output or path + '.gz'}.gzi", entries)
    if not (to_stdout or stdin or args.keep or args.output):
        os.unlink(path)


def _decompress(path: str, args, start: int, to_stdout: bool, stdout: BinaryIO) -> None:
    stdin = path == "-"
    source = _stdin_copy() if stdin else path
    if not stdin and not os.path.exists(path):
        open(path, "rb").close()  # the OSError names the file
    if to_stdout:
        for data in _inflate(source, start, args.size, args.index_name):
            stdout.write(data)
        stdout.flush()
        return
    if args.output:
        target = args.output
    else:
        suffix = next((s for s in SUFFIXES if path.endswith(s)), None)
        if suffix is None:
            raise BioformatsError(f"{path}: unknown suffix -- ignored (expected one of "
                                  f"{', '.join(SUFFIXES)}; use -c)")
        target = path[: -len(suffix)]
        _check_new(target, args.force)
    with atomic_open(target) as out:
        for data in _inflate(source, start, args.size, args.index_name):
            out.write(data)
    if not (args.keep or args.output):
        os.unlink(path)
