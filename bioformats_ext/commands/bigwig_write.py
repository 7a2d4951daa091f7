"""``bioformats-ext bedgraphtobigwig``: bedGraph to bigWig with UCSC bedGraphToBigWig's options."""

from __future__ import annotations

from typing import Any

from ..bbi.wig_write import write
from ._options import parse_ucsc, progress_bytes, wrong_arguments

USAGE = """\
bedgraphtobigwig - convert a bedGraph file to bigWig (like UCSC bedGraphToBigWig)
usage:
   bioformats-ext bedgraphtobigwig in.bedGraph chrom.sizes out.bw
where in.bedGraph is a four column file in the format:
      <chrom> <start> <end> <value>
and chrom.sizes is a two-column file: <chromosome name> <size in bases>.
The input must be sorted (sort -k1,1 -k2,2n) and not overlap.
options:
   -blockSize=N - Number of items to bundle in r-tree.  Default 256
   -itemsPerSlot=N - Number of data points bundled at lowest level. Default 1024
   -unc - If set, do not use compression.
The input is read once; a failed conversion leaves no output file."""

OPTIONS: dict[str, Any] = {"blockSize": int, "itemsPerSlot": int, "unc": None, "maxGigs": int}


def bedgraphtobigwig(argv: list[str]) -> int:
    args, opts = parse_ucsc(argv, OPTIONS, USAGE)
    if len(args) != 3:
        raise wrong_arguments(USAGE)
    bedgraph, sizes, out = args
    with open(bedgraph, "rb") as raw, progress_bytes(raw, "bedGraph") as handle:
        write(handle, sizes, out, block_size=opts.get("blockSize", 256),
              items_per_slot=opts.get("itemsPerSlot", 1024), compress=not opts.get("unc"))
    return 0
