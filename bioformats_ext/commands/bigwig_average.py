"""``bioformats-ext bigwigaverageoverbed``: like UCSC bigWigAverageOverBed."""

from __future__ import annotations

from .. import bigwig
from ._options import parse_ucsc, wrong_arguments
from .bigbed_read import _output

USAGE = """\
bigWigAverageOverBed - Compute average score of big wig over each bed, which may have introns.
usage:
   bioformats-ext bigwigaverageoverbed in.bw in.bed out.tab
The output columns are:
   name - name field from bed, which should be unique
   size - size of bed (sum of exon sizes)
   covered - # bases within exons covered by bigWig
   sum - sum of values over all bases covered
   mean0 - average over bases with non-covered bases counting as zeroes
   mean - average over just covered bases
options:
   -minMax - include two additional columns containing the min and max observed in the area.
(BED12 lines count only the bases of their blocks, as UCSC does.)"""


def bigwigaverageoverbed(argv: list[str]) -> int:
    args, opts = parse_ucsc(argv, {"minMax": None, "udcDir": str}, USAGE)
    if len(args) != 3:
        raise wrong_arguments(USAGE)
    min_max = bool(opts.get("minMax"))
    with bigwig.open(args[0]) as bw:
        rows = bigwig.average_over_bed(bw, args[1], min_max=min_max)
    with _output(args[2]) as out:
        fmt = "%s\t%d\t%d\t%g\t%g\t%g" + ("\t%g\t%g" if min_max else "") + "\n"
        out.write("".join(fmt % row for row in rows))
    return 0
