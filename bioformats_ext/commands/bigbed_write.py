"""``bioformats-ext bedtobigbed``: BED to bigBed with UCSC bedToBigBed's options and output."""

from __future__ import annotations

from typing import Any

from ..bbi.write import write
from ..errors import BioformatsError
from ._options import UsageError, parse_ucsc, progress, wrong_arguments

USAGE = """\
bedtobigbed - convert a BED file to bigBed (like UCSC bedToBigBed; same output)
usage:
   bioformats-ext bedtobigbed in.bed chrom.sizes out.bb
in.bed must be sorted by chromosome, then start (sort -k1,1 -k2,2n); chrom.sizes has two
columns: <chromosome name> <size in bases> (or, with -sizesIsBb, is an existing bigBed).
options:
   -type=bedN[+[P]]  N standard BED columns (3-15), + extra "bedPlus" columns (P of them)
   -as=fields.as     autoSql declaration of the columns (needed for extra columns)
   -blockSize=N      items per R-tree node (default 256)
   -itemsPerSlot=N   records per data block (default 512)
   -unc              do not compress
   -tab              fields are tab-separated (default: any whitespace)
   -extraIndex=a,b   also index these string columns (for bigbednameditems)
   -sizesIsBb        take chromosome sizes from the bigBed given as chrom.sizes
   -sizesIs2Bit      take chromosome sizes from the .2bit genome given as chrom.sizes
   -allow1bpOverlap  allow exons (bed12 blocks) to overlap by at most one base pair
   -udcDir=dir       accepted for compatibility (no cache is used)
The input is read once; a failed conversion leaves no output file."""

OPTIONS: dict[str, Any] = {"type": str, "as": str, "blockSize": int, "itemsPerSlot": int, "unc": None,
           "tab": None, "extraIndex": str, "sizesIsBb": None, "sizesIs2Bit": None,
           "allow1bpOverlap": None, "udcDir": str}


def _sizes_from_bigbed(path: str) -> dict[str, int]:
    from ..bigbed import open as open_bigbed

    with open_bigbed(path) as bb:
        return dict(bb.chroms)


def bedtobigbed(argv: list[str]) -> int:
    """Run the subcommand; returns the exit code."""
    args, opts = parse_ucsc(argv, OPTIONS, USAGE)
    if len(args) != 3:
        raise wrong_arguments(USAGE)
    bed, sizes_path, out = args
    if opts.get("sizesIsBb") and opts.get("sizesIs2Bit"):
        raise UsageError("-sizesIsBb and -sizesIs2Bit exclude each other")
    if opts.get("sizesIsBb"):
        sizes = _sizes_from_bigbed(sizes_path)
    elif opts.get("sizesIs2Bit"):
        from ..twobit import chrom_sizes

        sizes = chrom_sizes(sizes_path)
    else:
        sizes = sizes_path  # type: ignore[assignment]  # a chrom.sizes path; the writer reads it
    autosql = None
    if "as" in opts:
        with open(opts["as"], encoding="utf-8") as handle:
            autosql = handle.read()
    extra = [name for name in opts.get("extraIndex", "").split(",") if name]
    bar = _bar()
    try:
        write(bed, sizes, out, autosql=autosql, bed_type=opts.get("type"), extra_index=extra,
              compress=not opts.get("unc"), block_size=opts.get("blockSize", 256),
              items_per_slot=opts.get("itemsPerSlot", 512), tab=bool(opts.get("tab")),
              progress=None if bar is None else bar.update,
              allow_1bp_overlap=bool(opts.get("allow1bpOverlap")))
    except BioformatsError as exc:
        if exc.args and bed not in str(exc):
            exc.args = (f"{bed}: {exc.args[0]}", *exc.args[1:])  # name the file in the message
        raise
    finally:
        if bar is not None:
            bar.close()
    return 0


def _bar():
    """A record-counting tqdm bar when stderr is a terminal (None otherwise)."""
    wrapped = progress([], desc="bedtobigbed", unit="rec")
    return None if isinstance(wrapped, list) else wrapped
