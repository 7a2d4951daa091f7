"""UCSC-compatible bigBed reading commands: bigBedToBed, bigBedInfo, bigBedSummary,
bigBedNamedItems. Options and output follow the UCSC tools (``-opt=value``; ``stdout`` or ``-``
as the output file writes to standard output)."""

from __future__ import annotations

import contextlib
import math
import sys
from typing import Iterable, TextIO

from .. import bigbed
from ..errors import (BioformatsError, FormatError, RecordError, RegionError,
                      UnknownReferenceError)
from ._options import UsageError, parse_ucsc, progress, wrong_arguments

BIGBEDTOBED_USAGE = """\
bigBedToBed - Convert from bigBed to ascii bed format.
usage:
   bioformats-ext bigbedtobed input.bb output.bed
options:
   -chrom=chr1 - if set restrict output to given chromosome
   -start=N - if set, restrict output to only that over start
   -end=N - if set, restict output to only that under end
   -maxItems=N - if set, restrict output to first N items
   -range="chrom start end" - restrict output to that range (0-based start, like BED)
   -range=chrom:start-end - the same with a 1-based start; may be given several times
   -bed=in.bed - restrict output to all regions in a BED file
   -header - output a autoSql-style header (starts with '#').
   -tsv - output a TSV header (without '#').
   -skipChromCheck - an unknown -chrom prints nothing instead of failing
output.bed may be 'stdout' or '-'."""

BIGBEDINFO_USAGE = """\
bigBedInfo - Show information about a bigBed file.
usage:
   bioformats-ext bigbedinfo file.bb
options:
   -chroms - list all chromosomes and their sizes
   -zooms - list all zoom levels and their sizes
   -as - get autoSql spec
   -extraIndex - list all the extra indexes"""

BIGBEDSUMMARY_USAGE = """\
bigBedSummary - Extract summary information from a bigBed file.
usage:
   bioformats-ext bigbedsummary file.bb chrom start end dataPoints
Get summary data from bigBed for indicated region, broken into
dataPoints equal parts.  (Use dataPoints=1 for simple summary.)
options:
   -type=X where X is one of:
         coverage - % of region that is covered (default)
         mean - average depth of covered regions
         min - minimum depth of covered regions
         max - maximum depth of covered regions
         std - standard deviation of depth of covered regions
   -exact - compute from the items, not from the zoom levels
   -fields - print out information on fields in file.
      If fields option is used, the chrom, start, end, dataPoints
      parameters may be omitted"""

BIGBEDNAMEDITEMS_USAGE = """\
bigBedNamedItems - Extract item of given name from bigBed
usage:
   bioformats-ext bigbednameditems file.bb name output.bed
options:
   -nameFile - if set, treat name parameter as file full of space delimited names
   -field=fieldName - use index on field name, default is "name"
   -header - output a autoSql-style header (starts with '#')."""


@contextlib.contextmanager
def _output(path: str):
    """A text output: stdout for UCSC's ``stdout`` / ``-``; otherwise a temporary file
    renamed into place on success (a failed run never leaves a partial file)."""
    if path in ("stdout", "-", "/dev/stdout"):
        yield sys.stdout
        sys.stdout.flush()
        return
    from ..io.atomic import atomic_open

    with atomic_open(path, "w", newline="\n") as handle:
        yield handle


def _write_records(out: TextIO, records: Iterable[tuple[str, int, int, str | None]]) -> int:
    lines = []
    n = 0
    for chrom, start, end, rest in records:
        lines.append(f"{chrom}\t{start}\t{end}\t{rest}\n" if rest is not None
                     else f"{chrom}\t{start}\t{end}\n")
        n += 1
        if len(lines) >= 65536:
            out.write("".join(lines))
            lines.clear()
    out.write("".join(lines))
    return n


def _header_line(bb: bigbed.BigBedFile, path: str = "input", start: str = "#") -> str:
    """bigBedToBed's ``-header`` (``#`` first) / ``-tsv`` line: the autoSql column names."""
    if bb.autosql_text is None:  # as UCSC: the header comes from the file's own autoSql only
        raise FormatError(f"{path}: bigBed file does not contain an autoSql schema")
    return start + "\t".join(bb.autosql.names) + "\n"


def _commas(n: int) -> str:
    return f"{n:,}"


def _parse_range(text: str) -> tuple[str, int, int]:
    """UCSC ``-range``: ``"chrom start end"`` (0-based start) or ``chrom:start-end`` (1-based)."""
    words = text.split()
    try:
        if len(words) == 3:
            chrom, start, end = words[0], int(words[1]), int(words[2])
        elif len(words) == 1 and ":" in text:
            chrom, _, span = text.rpartition(":")
            beg, _, stop = span.replace(",", "").partition("-")
            chrom, start, end = chrom, int(beg) - 1, int(stop)
        else:
            raise ValueError
    except ValueError:
        raise UsageError(f"-range={text!r}: expected \"chrom start end\" or chrom:start-end") from None
    if start < 0 or start > end:
        raise RegionError(f"-range={text!r}: invalid range, start={start} > end={end}")
    return chrom, start, end


def bigbedtobed(argv: list[str]) -> int:
    args, opts = parse_ucsc(argv, {"chrom": str, "start": int, "end": int, "maxItems": int,
                                   "bed": str, "range": _Multi(str), "header": None,
                                   "tsv": None, "udcDir": str, "skipChromCheck": None},
                            BIGBEDTOBED_USAGE)
    if len(args) != 2:
        raise wrong_arguments(BIGBEDTOBED_USAGE)
    if "header" in opts and "tsv" in opts:
        raise UsageError("can't specify both -header and -tsv")
    if ("bed" in opts or "range" in opts) and any(k in opts for k in ("chrom", "start", "end")):
        raise UsageError("-bed or -range can not be used with -chrom -start or -end options")
    if "bed" in opts and "range" in opts:
        raise UsageError("-bed and -range can not be used together")
    for name in ("start", "end"):
        if opts.get(name, 0) < 0:
            raise RegionError(f"-{name}={opts[name]}: negative coordinate")
    source, target = args
    with bigbed.open(source) as bb:
        if "bed" in opts:
            regions = _read_regions(opts["bed"])
        elif "range" in opts:
            regions = [_parse_range(text) for text in opts["range"]]
        elif "chrom" in opts:
            chrom = opts["chrom"]
            if chrom not in bb.chroms:  # as current bigBedToBed (older ones printed nothing)
                if "skipChromCheck" not in opts:
                    raise UnknownReferenceError(f"specified chrom {chrom} not found in {source} "
                                                f"(-skipChromCheck to print nothing instead)")
                regions = []
            else:
                start = opts.get("start", 0)
                end = min(opts.get("end", bb.chroms[chrom]), bb.chroms[chrom])
                if start > end:
                    raise RegionError(f"invalid range, start={start} > end={end}")
                regions = [(chrom, start, end)]
        else:
            if "start" in opts or "end" in opts:
                raise UsageError("-start and -end need -chrom\n" + BIGBEDTOBED_USAGE)
            regions = [(chrom, 0, size) for chrom, size in bb.chroms.items()]
        max_items = opts.get("maxItems", 0)

        def records():
            n = 0
            for chrom, start, end in regions:
                if chrom not in bb.chroms:
                    continue
                for rec in bb.records(chrom, start, end):
                    yield rec
                    n += 1
                    if max_items and n >= max_items:
                        return

        header = None
        if "header" in opts or "tsv" in opts:
            header = _header_line(bb, source, "#" if "header" in opts else "")
        with _output(target) as out:
            if header is not None:
                out.write(header)
            _write_records(out, progress(records(), total=len(bb), desc="bigBedToBed"))
    return 0


class _Multi:
    """An option that may be repeated (UCSC ``OPTION_MULTI``): values are collected in a list."""

    multi = True

    def __init__(self, convert):
        self.convert = convert

    def __call__(self, raw: str):
        return self.convert(raw)


def _read_regions(path: str) -> list[tuple[str, int, int]]:
    regions = []
    with open(path) as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            words = line.split()
            try:
                regions.append((words[0], int(words[1]), int(words[2])))
            except (IndexError, ValueError):
                raise RecordError(f"{path} line {lineno}: expected chrom start end",
                                  lineno) from None
    return regions


def bigbedinfo(argv: list[str]) -> int:
    args, opts = parse_ucsc(argv, {"chroms": None, "zooms": None, "as": None,
                                   "extraIndex": None, "udcDir": str}, BIGBEDINFO_USAGE)
    if len(args) != 1:
        raise wrong_arguments(BIGBEDINFO_USAGE)
    with bigbed.open(args[0]) as bb:
        h = bb.header
        lines = [f"version: {h.version}", f"fieldCount: {h.fieldCount}",
                 f"hasHeaderExtension: {'yes' if h.extensionOffset else 'no'}",
                 f"isCompressed: {'yes' if h.compressed else 'no'}",
                 f"isSwapped: {int(h.byteorder != ('<' if sys.byteorder == 'little' else '>'))}",
                 f"extraIndexCount: {len(bb.extra_index_fields)}"]
        if "extraIndex" in opts:
            for name in bb.extra_index_fields:
                lines.append(f"\t{name}")
        lines.append(f"itemCount: {_commas(len(bb))}")
        lines += layout_lines(h, bb.zoom_levels, bb.chroms, "zooms" in opts, "chroms" in opts)
        if "as" in opts:
            if bb.autosql_text is not None:
                lines.append("as:")
                lines.append(bb.autosql_text.rstrip("\n"))
            else:
                lines.append("as:  n/a")
        total = bb.total_summary
        if total is not None:
            n = total["covered"]
            mean = total["mean"] if n else math.nan
            lines.append(f"basesCovered: {_commas(n)}")
            lines.append(f"meanDepth (of bases covered): {_f(mean)}")
            lines.append(f"minDepth: {_f(total['min'])}")
            lines.append(f"maxDepth: {_f(total['max'])}")
            lines.append(f"std of depth: {_f(total['std'])}")
        print("\n".join(lines))
    return 0


def layout_lines(h, zooms, chroms: dict[str, int], show_zooms: bool,
                 show_chroms: bool) -> list[str]:
    """The data / index / zoom / chromosome lines that bigBedInfo and bigWigInfo share."""
    lines = [f"primaryDataSize: {_commas(h.fullIndexOffset - h.fullDataOffset)}"]
    if zooms:
        lines.append(f"primaryIndexSize: {_commas(zooms[0].dataOffset - h.fullIndexOffset)}")
    lines.append(f"zoomLevels: {len(zooms)}")
    if show_zooms:
        lines += [f"\t{z.reductionLevel}\t{z.indexOffset - z.dataOffset}" for z in zooms]
    lines.append(f"chromCount: {len(chroms)}")
    if show_chroms:
        lines += [f"\t{name} {i} {size}" for i, (name, size) in enumerate(chroms.items())]
    return lines


def summary_arguments(args: list[str], usage: str) -> tuple[str, str, int, int, int]:
    """``file chrom start end dataPoints`` of bigBedSummary / bigWigSummary, checked."""
    if len(args) != 5:
        raise wrong_arguments(usage)
    path, chrom, start_s, end_s, points_s = args
    try:
        start, end, points = int(start_s), int(end_s), int(points_s)
    except ValueError:
        raise UsageError(f"start, end and dataPoints must be integers, not "
                         f"{start_s!r} {end_s!r} {points_s!r}") from None
    if start < 0 or start >= end:
        raise RegionError(f"invalid range {chrom}:{start}-{end}: start must be below end")
    if points < 1:
        raise UsageError(f"dataPoints must be at least 1, not {points}")
    return path, chrom, start, end, points


def _f(value: float) -> str:
    """C printf ``%f`` (``-nan``/``inf`` spelled the way glibc does)."""
    if math.isnan(value):
        return "-nan"
    return f"{value:f}"


def _g(value: float) -> str:
    """C printf ``%g``."""
    return "%g" % value


def bigbedsummary(argv: list[str]) -> int:
    args, opts = parse_ucsc(argv, {"type": str, "fields": None, "exact": None, "udcDir": str},
                            BIGBEDSUMMARY_USAGE)
    if "fields" in opts:
        if not args:
            raise wrong_arguments(BIGBEDSUMMARY_USAGE)
        with bigbed.open(args[0]) as bb:
            print(f"{bb.header.definedFieldCount} bed definition fields, "
                  f"{bb.header.fieldCount} total fields")
            for field in bb.autosql:
                print(f"\t{field.name}\t{field.comment}")
        if len(args) == 1:
            return 0
    path, chrom, start, end, points = summary_arguments(args, BIGBEDSUMMARY_USAGE)
    kind = opts.get("type", "coverage")
    if kind not in ("coverage", "mean", "min", "max", "std"):
        raise UsageError(f"Unknown -type={kind}\n{BIGBEDSUMMARY_USAGE}")
    with bigbed.open(path) as bb:
        if chrom not in bb.chroms:
            raise BioformatsError(f"no data in region {chrom}:{start}-{end} in {path}")
        bins = bb.summary(chrom, start, end, bins=points, exact="exact" in opts)
    if all(b["covered"] == 0 for b in bins):
        raise BioformatsError(f"no data in region {chrom}:{start}-{end} in {path}")
    per_bin = (end - start) / points
    values = []
    for b in bins:
        if not b["covered"]:
            values.append("n/a")
        elif kind == "coverage":
            values.append(_g(b["covered"] / per_bin))
        else:
            values.append(_g(b[kind]))
    print("\t".join(values))
    return 0


def bigbednameditems(argv: list[str]) -> int:
    args, opts = parse_ucsc(argv, {"nameFile": None, "field": str, "header": None,
                                   "udcDir": str}, BIGBEDNAMEDITEMS_USAGE)
    if len(args) != 3:
        raise wrong_arguments(BIGBEDNAMEDITEMS_USAGE)
    path, name, target = args
    field = opts.get("field", "name")
    if "nameFile" in opts:
        with open(name) as handle:
            names = handle.read().split()
    else:
        names = [name]
    with bigbed.open(path) as bb:
        with _output(target) as out:
            if "header" in opts:
                out.write(_header_line(bb, path))
            for value in names:
                _write_records(out, bb.find(field, value))
    return 0
