"""``bioformats-ext view``: print, filter, count or convert alignments, like ``samtools view``.

``view [-b] [-h|-H] [-c] [-f INT] [-F INT] [-q INT] [-o FILE [--write-index]] [-@ INT]
in.bam|in.sam [region ...]``. Filters are numpy masks over decoded columns; SAM lines are
formatted exactly as ``samtools view`` prints them (no ``@PG`` line is added, as with
``--no-PG``). BAM output copies records as stored and, with ``--write-index``, writes the CSI
(or the BAI named by ``-o out.bam##idx##out.bam.bai``) in the same pass. SAM input is encoded
once to BAM records so the same code path serves it. VCF/BCF input is handed to
``view_variants`` (``bcftools view``-like).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any, Iterator

import numpy as np

from ..errors import FormatError, RegionError
from ._options import ArgumentParser as _Parser  # one-line usage errors, exit status 2
from ._options import UsageError

_FLAG_NAMES = {"PAIRED": 1, "PROPER_PAIR": 2, "UNMAP": 4, "MUNMAP": 8, "REVERSE": 16,
               "MREVERSE": 32, "READ1": 64, "READ2": 128, "SECONDARY": 256, "QCFAIL": 512,
               "DUP": 1024, "SUPPLEMENTARY": 2048}
_SAM_BATCH = 8192


def _flags(text: str) -> int:
    """samtools flag syntax: decimal, 0x hex, 0 octal, or names (``UNMAP,SECONDARY``)."""
    try:
        return int(text, 0)
    except ValueError:
        pass
    value = 0
    for name in text.split(","):
        bit = _FLAG_NAMES.get(name.strip().upper())
        if bit is None:
            raise argparse.ArgumentTypeError(f"unknown flag {name!r}")
        value |= bit
    return value


def _parser() -> _Parser:
    p = _Parser(prog="bioformats-ext view", add_help=False, description="View, filter, count and convert BAM/SAM "
                "(VCF/BCF: bcftools-view-like).")
    p.add_argument("-b", "--bam", action="store_true", help="output BAM")
    p.add_argument("-h", "--with-header", action="store_true", help="include the header")
    p.add_argument("-H", "--header-only", action="store_true", help="print the header only")
    p.add_argument("-c", "--count", action="store_true", help="print only the count of matching records")
    p.add_argument("-f", "--require-flags", type=_flags, default=0, metavar="FLAG",
                   help="only records with all bits of FLAG set")
    p.add_argument("-F", "--excl-flags", type=_flags, default=0, metavar="FLAG",
                   help="only records with none of the bits of FLAG set")
    p.add_argument("-q", "--min-MQ", type=int, default=0, metavar="INT",
                   help="only records with mapping quality >= INT")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (BAM when it ends in .bam)")
    p.add_argument("-O", "--output-fmt", choices=["SAM", "BAM", "sam", "bam"], help="output format")
    p.add_argument("--write-index", action="store_true",
                   help="index the BAM output while writing it (CSI, or BAI via FILE##idx##FILE.bai)")
    p.add_argument("-X", "--customized-index", action="store_true",
                   help="the last positional argument is the index file")
    p.add_argument("-@", "--threads", type=int, default=0, metavar="INT",
                   help="extra compression threads")
    p.add_argument("--no-PG", action="store_true", help="accepted for compatibility (no @PG is added)")
    p.add_argument("input")
    p.add_argument("regions", nargs="*")
    p.add_argument("--help", action="help", help="show this help and exit")
    return p


def main(argv: list[str]) -> int:
    p = _parser()
    path = _input_path(argv)
    if path is None and any(a in ("-h", "--help") for a in argv):
        p.print_help()  # `view -h` without an input: usage, as samtools
        return 0
    if path is not None and path != "-" and _is_variants(path):
        # VCF/BCF goes to the variant viewer (bcftools-view-like options) untouched
        try:
            module = importlib.import_module("bioformats_ext.commands.view_variants")
        except ImportError:
            raise UsageError("VCF/BCF viewing is not available") from None
        return int(module.main(argv) or 0)
    args = p.parse_args(argv)
    return _view(args)


def _is_variants(path: str) -> bool:
    """True for a readable VCF/BCF input; anything else (missing file, directory, BAM, SAM,
    garbage) is left to the BAM/SAM viewer, which reports it."""
    from ..io import open_source
    from ..sniff import sniff

    try:
        source = open_source(path)
    except (OSError, ValueError):
        return False
    try:
        return sniff(source).format in ("vcf", "bcf")
    except (OSError, ValueError):
        return False
    finally:
        source.close()


def _input_path(argv: list[str]) -> str | None:
    """The first positional argument (options taking a value are skipped)."""
    takes_value = {"-f", "-F", "-q", "-o", "-O", "-@", "--require-flags", "--excl-flags",
                   "--min-MQ", "--output", "--output-fmt", "--threads"}
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in takes_value:
            skip = True
            continue
        if arg.startswith("-") and arg != "-":
            continue
        return arg
    return None


def _view(args: argparse.Namespace) -> int:
    index = None
    regions = list(args.regions)
    if args.customized_index:
        if not regions:
            raise UsageError("-X needs the index file as the last argument")
        index = regions.pop()
    out_path, index_path = args.output, None
    if out_path is not None and "##idx##" in out_path:
        out_path, index_path = out_path.split("##idx##", 1)
    to_bam = args.bam or (args.output_fmt or "").upper() == "BAM" or (
        args.output_fmt is None and out_path is not None and out_path.endswith(".bam"))
    if args.write_index and (not to_bam or out_path is None):
        raise UsageError("--write-index needs BAM output to a file (-b -o FILE)")
    bam = _open_input(args.input, index)
    try:
        header_text = _header_text(bam)
        if args.header_only:
            _write_text(out_path, [header_text])
            return 0
        batches = _selected(bam, regions, args)
        if args.count:
            total = sum(len(cols) for cols in batches)
            _write_text(out_path, [f"{total}\n"])
            return 0
        if to_bam:
            _write_bam(bam, batches, out_path, index_path, args)
        else:
            _write_sam(bam, batches, out_path, header_text if args.with_header else "")
    finally:
        bam.close()
    return 0


def _open_input(path: str, index: Any) -> Any:
    from ..bam.alignment_file import BamFile
    from ..io import open_source
    from ..sniff import sniff

    if path == "-":
        data = sys.stdin.buffer.read()
        source: Any = data
    else:
        source = path
    probe = open_source(source)
    try:
        found = sniff(probe)
    finally:
        if path != "-":
            probe.close()
    if found.format == "bam":
        return BamFile(source, index=index)
    if found.format in ("sam", "text") and found.container in ("none", "gzip", "bgzf"):
        return _SamInput(source, found.container)
    from ..sniff import describe

    raise FormatError(f"{path} is {describe(found)}, not BAM or SAM", 0)


def _header_text(bam: Any) -> str:
    text = bam.header.text
    if bam.references and "@SQ\t" not in text:
        text += "".join(f"@SQ\tSN:{n}\tLN:{l}\n" for n, l in zip(bam.references, bam.lengths))
    return text


def _selected(bam: Any, regions: list[str], args: argparse.Namespace) -> Iterator[Any]:
    """Column batches of the records to output (region, then -f/-F/-q masks)."""
    if regions:
        if isinstance(bam, _SamInput):
            raise RegionError("regions need an indexed BAM, not SAM text")
        sources: Iterator[Any] = (cols for region in regions
                                  for cols in bam.fetch_columns(region=region))
    else:
        sources = bam.fetch_columns(until_eof=True)
    need, excl, minq = args.require_flags, args.excl_flags, args.min_MQ
    for cols in sources:
        keep = np.ones(len(cols), bool)
        if need:
            keep &= (cols.flag & need) == need
        if excl:
            keep &= (cols.flag & excl) == 0
        if minq:
            keep &= cols.mapq >= minq
        if keep.all():
            yield cols
        elif keep.any():
            yield cols.take(keep)


def _write_text(path: str | None, chunks: Any) -> None:
    if path is None:
        out = sys.stdout
        for chunk in chunks:
            out.write(chunk)
        out.flush()
        return
    from ..io.atomic import AtomicFiles

    files = AtomicFiles()
    try:
        handle = files.open(path)
        for chunk in chunks:
            handle.write(chunk.encode())
        files.commit()
    except BaseException:
        files.abort()
        raise


def _write_sam(bam: Any, batches: Iterator[Any], path: str | None, header: str) -> None:
    from ..bam.record import RecordBatch

    def chunks() -> Iterator[str]:
        if header:
            yield header
        for cols in batches:
            lines = RecordBatch(cols, bam.header).sam_lines()
            yield "\n".join(lines) + "\n"

    _write_text(path, chunks())


def _write_bam(bam: Any, batches: Iterator[Any], path: str | None, index_path: str | None,
               args: argparse.Namespace) -> None:
    from ..bam import BamWriter

    index = None
    if args.write_index:
        index = "bai" if index_path is not None and index_path.endswith(".bai") else "csi"
    target: Any = path if path is not None else sys.stdout.buffer
    with BamWriter(target, bam.header, index=index, index_path=index_path,
                   threads=max(1, args.threads + 1)) as writer:
        for cols in batches:
            writer.write_columns(cols)


class _SamInput:
    """SAM text (plain, gzip or BGZF) encoded batch by batch into BAM columns."""

    def __init__(self, source: Any, container: str):
        import gzip
        import io

        from ..bam.alignment_file import AlignmentHeader
        from ..bam.header import BamHeader

        if isinstance(source, (bytes, bytearray)):
            raw: Any = io.BytesIO(source)
        else:
            raw = open(os.fspath(source), "rb")  # noqa: SIM115 - closed in close()
        self._raw = raw
        self._lines = gzip.open(raw) if container in ("gzip", "bgzf") else raw
        header_lines = []
        self._first: bytes | None = None
        for line in self._lines:
            if line.startswith(b"@"):
                header_lines.append(line.decode("utf-8", "replace"))
            else:
                self._first = line
                break
        self._bam_header = BamHeader.from_text("".join(header_lines))
        self.header = AlignmentHeader(self._bam_header)
        self.references = self.header.references
        self.lengths = self.header.lengths

    def fetch_columns(self, until_eof: bool = True, **_: Any) -> Iterator[Any]:
        from ..bam.columns import decode_columns
        from ..bam.encode import SamEncoder

        encoder = SamEncoder(self._bam_header)
        batch: list[bytes] = [] if self._first is None else [self._first]
        first = 0
        n_refs = len(self.references)

        def flush() -> Any:
            encoded = encoder.encode(batch, first)
            return decode_columns(encoded.data, n_refs=n_refs, first_record=first)

        for line in self._lines:
            if not line.strip():
                continue
            batch.append(line)
            if len(batch) >= _SAM_BATCH:
                yield flush()
                first += len(batch)
                batch = []
        if batch:
            yield flush()

    def close(self) -> None:
        self._raw.close()


__all__ = ["main"]
