"""UCSC-compatible bigWig reading commands: bigWigToBedGraph, bigWigInfo, bigWigSummary.
Options and output follow the UCSC tools (``-opt=value``; ``stdout`` or ``-`` writes to
standard output). Statistics follow pyBigWig's rules (see ``docs/bigwig.md``)."""

from __future__ import annotations

import math
import sys

from .. import bigwig
from ..errors import BioformatsError
from ._options import UsageError, parse_ucsc, progress, wrong_arguments
from .bigbed_read import _commas, _f, _g, _output, layout_lines, summary_arguments

BIGWIGTOBEDGRAPH_USAGE = """\
bigWigToBedGraph - Convert from bigWig to bedGraph format.
usage:
   bioformats-ext bigwigtobedgraph in.bigWig out.bedGraph
options:
   -chrom=chr1 - if set restrict output to given chromosome
   -start=N - if set, restrict output to only that over start
   -end=N - if set, restict output to only that under end
out.bedGraph may be 'stdout' or '-'."""

BIGWIGINFO_USAGE = """\
bigWigInfo - Print out information about bigWig file.
usage:
   bioformats-ext bigwiginfo file.bw
options:
   -chroms - list all chromosomes and their sizes
   -zooms - list all zoom levels and their sizes
   -minMax - list the min and max on a single line"""

BIGWIGSUMMARY_USAGE = """\
bigWigSummary - Extract summary information from a bigWig file.
usage:
   bioformats-ext bigwigsummary file.bigWig chrom start end dataPoints
Get summary data from bigWig for indicated region, broken into
dataPoints equal parts.  (Use dataPoints=1 for simple summary.)
options:
   -type=X where X is one of:
         mean - average value in region (default)
         min - minimum value in region
         max - maximum value in region
         std - standard deviation in region
         coverage - % of region that is covered
         sum - sum of the values in region
   -exact - compute from the data, not from the zoom levels"""


def bigwigtobedgraph(argv: list[str]) -> int:
    args, opts = parse_ucsc(argv, {"chrom": str, "start": int, "end": int, "udcDir": str},
                            BIGWIGTOBEDGRAPH_USAGE)
    if len(args) != 2:
        raise wrong_arguments(BIGWIGTOBEDGRAPH_USAGE)
    with bigwig.open(args[0]) as bw, _output(args[1]) as out:
        chrom = opts.get("chrom")
        if chrom is not None and chrom not in bw.chroms:
            return 0  # like UCSC: nothing for an absent chromosome
        if chrom is not None and ("start" in opts or "end" in opts):
            size = bw.chroms[chrom]
            start = max(0, opts.get("start", 0))
            end = min(size, opts.get("end", size))
            if end <= start:
                return 0
            s, e, v = bw.interval_arrays(chrom, start, end)
            runs = [(chrom, s.clip(start, end), e.clip(start, end), v)]
        else:
            runs = bw.iter_intervals(chrom)  # type: ignore[assignment]
        for name, s, e, v in progress(runs, total=len(bw), desc="sections", unit="sec"):
            out.write("".join(["%s\t%d\t%d\t%g\n" % row for row in
                               zip([name] * len(s), s.tolist(), e.tolist(),
                                   v.astype(float).tolist())]))
    return 0


def bigwiginfo(argv: list[str]) -> int:
    args, opts = parse_ucsc(argv, {"chroms": None, "zooms": None, "minMax": None,
                                   "udcDir": str}, BIGWIGINFO_USAGE)
    if len(args) != 1:
        raise wrong_arguments(BIGWIGINFO_USAGE)
    with bigwig.open(args[0]) as bw:
        h = bw.header
        total = bw.summary()
        if "minMax" in opts:
            print(f"{_f(total['min'])} {_f(total['max'])}")
            return 0
        zooms = bw.zoom_levels
        lines = [f"version: {h.version}",
                 f"isCompressed: {'yes' if h.compressed else 'no'}",
                 f"isSwapped: {int(h.byteorder != ('<' if sys.byteorder == 'little' else '>'))}",
                 *layout_lines(h, zooms, bw.chroms, "zooms" in opts, "chroms" in opts)]
        n = total["covered"]
        lines += [f"basesCovered: {_commas(n)}",
                  f"mean: {_f(total['mean'] if n else math.nan)}",
                  f"min: {_f(total['min'])}", f"max: {_f(total['max'])}",
                  f"std: {_f(total['std'])}"]
        print("\n".join(lines))
    return 0


def bigwigsummary(argv: list[str]) -> int:
    args, opts = parse_ucsc(argv, {"type": str, "exact": None, "udcDir": str},
                            BIGWIGSUMMARY_USAGE)
    path, chrom, start, end, points = summary_arguments(args, BIGWIGSUMMARY_USAGE)
    kind = opts.get("type", "mean")
    if kind not in ("coverage", "mean", "min", "max", "std", "sum"):
        raise UsageError(f"Unknown -type={kind}\n{BIGWIGSUMMARY_USAGE}")
    with bigwig.open(path) as bw:
        if chrom not in bw.chroms:
            raise BioformatsError(f"no data in region {chrom}:{start}-{end} in {path}")
        values = bw.stats(chrom, start, end, type=kind, nBins=points, exact="exact" in opts)
    if all(v is None for v in values):
        raise BioformatsError(f"no data in region {chrom}:{start}-{end} in {path}")
    print("\t".join("n/a" if v is None else _g(v) for v in values))
    return 0
