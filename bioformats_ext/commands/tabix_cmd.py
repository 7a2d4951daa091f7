"""``bioformats-ext tabix``: index (``tabix -p vcf x.vcf.gz``) or query, as htslib's ``tabix``.

Query mode starts when regions, ``-R``, ``-l``, ``-h`` or ``-H`` are given:
``tabix file.vcf.gz chr1:1-1000 chr2`` prints the overlapping lines region by region (a line
overlapping two regions is printed twice, as tabix does); ``-R regions`` reads regions from a
file (``.bed`` files are 0-based half-open, other files ``chr beg [end]`` 1-based inclusive),
sorted by position within each chromosome in order of first appearance, before the command-line
regions; ``-h`` prints the header first, ``-H`` only the header, ``-l`` the indexed sequence
names. Regions on chromosomes absent from the index print nothing (as tabix). ``-h`` is the
header flag here, as in tabix; ``--help`` prints this help.
"""

from __future__ import annotations

import os
import sys
from typing import BinaryIO, Iterator

from ..errors import BioformatsError, RecordError, UnknownReferenceError
from ..regions import parse_region
from ._options import ArgumentParser

_QUERY_FLAGS = ("-h", "--print-header", "-H", "--only-header", "-l", "--list-chroms",
                "-R", "--regions")


def _is_query(argv: list[str]) -> bool:
    positional = 0
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in _QUERY_FLAGS or arg.startswith(("-R", "--regions=")):
            return True
        if arg in ("-p", "--preset", "-s", "--sequence", "-b", "--begin", "-e", "--end",
                    "-S", "--skip-lines", "-c", "--comment", "-m", "--min-shift", "-o",
                    "--output", "-@", "--threads"):
            skip = True
            continue
        if not arg.startswith("-") or arg == "-":
            positional += 1
    return positional > 1


def main(argv: list[str]) -> int:
    """Dispatch to indexing (``commands.index.tabix``) or to a query."""
    if "--help" in argv or not argv or argv == ["-h"]:  # tabix -h alone prints its usage
        _parser().print_help()
        return 0 if argv else 2
    if not _is_query(argv):
        from .index import tabix as index_tabix

        return index_tabix(argv)
    return query(argv)


def _parser() -> ArgumentParser:
    p = ArgumentParser(prog="bioformats-ext tabix", add_help=False,
                       description="Index a bgzipped TAB-delimited file (tabix -p PRESET FILE) or "
                                   "print the lines overlapping regions (tabix FILE REGION...).")
    p.add_argument("--help", action="help", help="show this help and exit")
    p.add_argument("-h", "--print-header", action="store_true", help="print also the header lines")
    p.add_argument("-H", "--only-header", action="store_true", help="print only the header lines")
    p.add_argument("-l", "--list-chroms", action="store_true", help="list chromosome names")
    p.add_argument("-R", "--regions", metavar="FILE", help="restrict to regions listed in FILE")
    p.add_argument("-p", "--preset", help="column rules when the index does not give them")
    p.add_argument("file")
    p.add_argument("region", nargs="*", help="chr, chr:beg or chr:beg-end (1-based)")
    return p


def read_regions_file(path: str) -> list[tuple[str, int, int | None]]:
    """tabix ``-R``: ``(chrom, 0-based start, stop)``, sorted per chromosome by position."""
    bed = path.lower().endswith((".bed", ".bed.gz"))
    by_chrom: dict[str, list[tuple[int, int]]] = {}
    opener = _open_text(path)
    with opener as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip() or line.startswith("#"):
                continue
            words = line.rstrip("\r\n").split("\t")
            if len(words) == 1:
                words = line.split()
            try:
                chrom = words[0]
                if bed:
                    start, stop = int(words[1]), int(words[2])
                else:
                    start = int(words[1]) - 1
                    stop = int(words[2]) if len(words) > 2 and words[2].strip() else start + 1
            except (IndexError, ValueError):
                raise RecordError(f"{path} line {lineno}: expected chrom, start and end, "
                                  f"not {line.strip()[:60]!r}", lineno) from None
            if start < 0 or stop < start:
                raise RecordError(f"{path} line {lineno}: bad interval {start}-{stop}", lineno)
            by_chrom.setdefault(chrom, []).append((start, stop))
    out: list[tuple[str, int, int | None]] = []
    for chrom, spans in by_chrom.items():
        for beg, end in sorted(spans, key=lambda s: (s[0], s[1] or 0)):
            out.append((chrom, beg, end))
    return out


def _open_text(path: str):
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        import gzip

        return gzip.open(path, "rt")
    return open(path, encoding="utf-8", errors="replace")


def query(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from ..tabix import TabixReader

    if not os.path.exists(args.file):
        open(args.file, "rb").close()  # the OSError names the file
    out = sys.stdout.buffer
    reader = TabixReader(args.file, preset=args.preset)
    try:
        if args.list_chroms:
            index = reader._load_index()
            for name in getattr(index, "names", None) or []:
                out.write(f"{name}\n".encode())
            out.flush()
            return 0
        if args.print_header or args.only_header:
            _write_header(reader, out)
            if args.only_header:
                out.flush()
                return 0
        regions: list[tuple[str, int, int | None]] = []
        if args.regions:
            regions += read_regions_file(args.regions)
        if args.region or not regions:
            index = reader._load_index()
            names = list(getattr(index, "names", None) or [])
            for text in args.region or ["."]:
                if text == ".":
                    regions.append((".", 0, None))
                    continue
                region = parse_region(text, names)
                regions.append((region.contig, region.start, region.stop))
        else:
            reader._load_index()
        spans: list[tuple[str, int, int]] = []
        for chrom, start, stop in regions:
            if chrom == ".":
                _write_spans(reader, spans, out)
                spans = []
                _write_lines(iter(reader), out)
                continue
            try:
                span = reader._span(chrom, start, stop)
            except UnknownReferenceError:  # tabix prints nothing for an absent sequence
                continue
            if span is not None:
                spans.append(span)
        _write_spans(reader, spans, out)
    finally:
        reader.close()
    out.flush()
    return 0


def _write_header(reader, out: BinaryIO) -> None:
    """tabix ``-h``: the leading lines that start with the meta character or are skipped."""
    meta = reader.meta
    skip = reader.config.skip if reader.config is not None else 0
    for number, line in enumerate(reader._lines()):
        if not (line.startswith(meta) or number < skip):
            break
        out.write(line + b"\n")


def _write_spans(reader, spans: list[tuple[str, int, int]], out: BinaryIO) -> None:
    """The lines overlapping each span, in order, as stored (bytes); the blobs of many
    regions are filtered together (one numpy pass instead of one per region)."""
    for text in reader._text_many(spans):
        out.write(text.replace(b"\r\n", b"\n") if b"\r" in text else text)


def _write_lines(lines: Iterator[str], out: BinaryIO) -> None:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= 4096:
            out.write(("\n".join(batch) + "\n").encode())
            batch.clear()
    if batch:
        out.write(("\n".join(batch) + "\n").encode())


__all__ = ["main", "query", "read_regions_file", "BioformatsError"]
