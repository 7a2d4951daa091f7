"""``bioformats-ext index`` (like ``samtools index``) and ``bioformats-ext tabix`` (like ``tabix``)."""

from __future__ import annotations

import os
import sys

from typing import TYPE_CHECKING

from ..errors import BioformatsError
from ._options import ArgumentParser, progress_position


if TYPE_CHECKING:
    from ..index.tabix_conf import TabixConfig

_Parser = ArgumentParser  # one-line usage errors, exit status 2


def samtools_index(argv: list[str]) -> int:
    """Index BAM files: ``index [-b|-c] [-m INT] [-o FILE] in.bam [out.index]``."""
    p = _Parser(prog="bioformats-ext index", description="Index coordinate-sorted BAM files (BAI or CSI).")
    p.add_argument("-b", "--bai", action="store_true", help="generate BAI-format index (default)")
    p.add_argument("-c", "--csi", action="store_true", help="generate CSI-format index")
    p.add_argument("-m", "--min-shift", type=int, default=None, metavar="INT",
                   help="set minimum interval size for CSI indices to 2^INT [14]")
    p.add_argument("-o", "--output", metavar="FILE", help="write index to FILE")
    p.add_argument("-M", action="store_true", help="interpret all positional arguments as BAM files")
    p.add_argument("-@", "--threads", type=int, default=None, metavar="INT",
                   help="threads inflating blocks besides the main one [1]")
    p.add_argument("files", nargs="+")
    args = p.parse_args(argv)
    csi = args.csi or args.min_shift is not None
    min_shift = 14 if args.min_shift is None else args.min_shift
    if not 4 <= min_shift <= 30:
        p.error(f"-m {min_shift} is out of range")
    files = args.files
    out = args.output
    if not args.M and len(files) == 2 and not files[1].endswith(".bam"):
        files, out = files[:1], files[1]
    if out is not None and len(files) > 1:
        p.error("-o can only be used with a single input file")
    threads = 2 if args.threads is None else max(1, args.threads + 1)
    from ..bam.index import index_bam  # numpy etc. only once options are valid (fast --help)

    for path in files:
        if not os.path.exists(path):
            open(path, "rb").close()  # the OSError names the missing file
        with progress_position(os.path.getsize(path), desc=os.path.basename(path)) as update:
            index_bam(path, csi=csi, min_shift=min_shift, out=out, threads=threads,
                      progress=update)
    return 0


def tabix(argv: list[str]) -> int:
    """Index a bgzipped, sorted tab-delimited file: ``tabix [-p PRESET] [-C] [-f] file.gz``."""
    from ..index.tabix_conf import PRESETS  # `index` does not need it (fast start-up)

    p = _Parser(prog="bioformats-ext tabix", description="Index a BGZF-compressed TAB-delimited file.")
    p.add_argument("-p", "--preset", choices=sorted(PRESETS), help="gff, bed, sam or vcf")
    p.add_argument("-s", "--sequence", type=int, help="column number for sequence names")
    p.add_argument("-b", "--begin", type=int, help="column number for region start")
    p.add_argument("-e", "--end", type=int, help="column number for region end")
    p.add_argument("-S", "--skip-lines", type=int, help="skip first INT lines")
    p.add_argument("-c", "--comment", help="skip comment lines starting with CHAR")
    p.add_argument("-0", "--zero-based", action="store_true", help="coordinates are 0-based")
    p.add_argument("-C", "--csi", action="store_true", help="generate CSI index")
    p.add_argument("-m", "--min-shift", type=int, default=None, help="min interval size for CSI [14]")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing index")
    p.add_argument("-o", "--output", help="write the index to this file")
    p.add_argument("file")
    args = p.parse_args(argv)
    if not os.path.exists(args.file):
        open(args.file, "rb").close()  # the OSError names the missing file
    conf = _config(args, p)
    csi = args.csi or args.min_shift is not None
    min_shift = 14 if args.min_shift is None else args.min_shift
    out = args.output or f"{args.file}.{'csi' if csi else 'tbi'}"
    if os.path.exists(out) and not args.force:
        print(f"[tabix] the index file exists; use option '-f' to overwrite: {out}", file=sys.stderr)
        return 1
    from ..tabix.indexer import index_tabix  # numpy etc. only once options are valid (fast --help)

    with progress_position(os.path.getsize(args.file), desc=os.path.basename(args.file)) as update:
        index_tabix(args.file, conf, csi=csi, min_shift=min_shift, out=out, progress=update)
    return 0


def _config(args, p) -> TabixConfig:
    from ..index.tabix_conf import PRESETS, TBX_GENERIC, TBX_UCSC, TabixConfig

    if args.preset:
        base = PRESETS[args.preset]
    else:
        name = args.file.lower()
        guess = next((k for k in PRESETS if name.endswith(f".{k}.gz")), None)
        if guess is None and name.endswith((".gff3.gz", ".gtf.gz")):
            guess = "gff"
        custom = any(v is not None for v in (args.sequence, args.begin, args.end))
        if guess is None and not custom:
            p.error("cannot guess the file type from its name; use -p")
        base = PRESETS[guess] if guess else TabixConfig(TBX_GENERIC, 1, 4, 5, "#", 0)
    fmt = base.format
    if args.zero_based:
        fmt |= TBX_UCSC
    try:
        return TabixConfig(fmt, args.sequence or base.col_seq, args.begin or base.col_beg,
                           base.col_end if args.end is None else args.end,
                           (args.comment or base.meta)[:1], base.skip if args.skip_lines is None else args.skip_lines)
    except (TypeError, ValueError) as exc:  # pragma: no cover - argparse validated types
        raise BioformatsError(str(exc)) from None
