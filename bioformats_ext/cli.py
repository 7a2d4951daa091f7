"""The ``bioformats-ext`` command: a dispatcher to subcommands.

Each subcommand lives in :mod:`bioformats_ext.commands` and is imported only when run, so
``bioformats-ext --help`` is instant. Subcommands take UCSC / htslib style options (see each
module) so users of ``bigBedToBed``, ``samtools index``, ``tabix`` and ``bgzip`` need not relearn.

Errors are reported here, once for every subcommand: a user error (bad data, a missing or
unreadable file, a bad option value) is ONE line on stderr naming the file / option / record,
exit status 1; usage errors exit 2 as argparse does. ``--debug`` (anywhere on the command line)
or ``BIOFORMATS_EXT_DEBUG=1`` shows the Python traceback instead.
"""

from __future__ import annotations

import importlib
import os
import sys

from .errors import BioformatsError

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module:function, one-line help)
    "demo": ("bioformats_ext.commands.demo:main", "run the tour on bundled example data"),
    "bigbedtobed": ("bioformats_ext.commands.bigbed_read:bigbedtobed", "bigBed to BED (like bigBedToBed)"),
    "bigbedinfo": ("bioformats_ext.commands.bigbed_read:bigbedinfo", "describe a bigBed (like bigBedInfo)"),
    "bigbedsummary": ("bioformats_ext.commands.bigbed_read:bigbedsummary", "coverage summary (like bigBedSummary)"),
    "bigbednameditems": ("bioformats_ext.commands.bigbed_read:bigbednameditems", "extraIndex lookup (like bigBedNamedItems)"),
    "bedtobigbed": ("bioformats_ext.commands.bigbed_write:bedtobigbed", "BED to bigBed (like bedToBigBed)"),
    "bedgraphtobigwig": ("bioformats_ext.commands.bigwig_write:bedgraphtobigwig", "bedGraph to bigWig (like bedGraphToBigWig)"),
    "bigwigtobedgraph": ("bioformats_ext.commands.bigwig_read:bigwigtobedgraph", "bigWig to bedGraph (like bigWigToBedGraph)"),
    "bigwiginfo": ("bioformats_ext.commands.bigwig_read:bigwiginfo", "describe a bigWig (like bigWigInfo)"),
    "bigwigsummary": ("bioformats_ext.commands.bigwig_read:bigwigsummary", "binned statistics (like bigWigSummary)"),
    "bigwigaverageoverbed": ("bioformats_ext.commands.bigwig_average:bigwigaverageoverbed", "mean over BED intervals (like bigWigAverageOverBed)"),
    "index": ("bioformats_ext.commands.index:samtools_index", "index a BAM (like samtools index)"),
    "tabix": ("bioformats_ext.commands.tabix_cmd:main", "index or query a bgzipped text file (like tabix)"),
    "bgzip": ("bioformats_ext.commands.bgzip:main", "BGZF compress / decompress / index (like bgzip)"),
    "bgzip2": ("bioformats_ext.commands.bgzip2:main", "BGZF2 compress / decompress / query (like bgzip)"),
    "view": ("bioformats_ext.commands.view:main", "view/filter/convert BAM/SAM (like samtools view; VCF/BCF like bcftools view)"),
}

DEBUG_FLAG = "--debug"
DEBUG_ENV = "BIOFORMATS_EXT_DEBUG"


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: bioformats-ext [--debug] COMMAND [options]", "", "commands:"]
    for name, (_, text) in COMMANDS.items():
        lines.append(f"  {name.ljust(width)}  {text}")
    lines += ["", f"--debug (or {DEBUG_ENV}=1) shows the Python traceback of an error."]
    return "\n".join(lines)


def _one_line(text: str) -> str:
    """The first non-empty line of a message (usage texts appended to errors are dropped)."""
    for line in str(text).splitlines():
        if line.strip():
            return line.strip()
    return ""


def describe_error(exc: BaseException) -> tuple[str, int]:
    """``(one-line message, exit status)`` for an exception escaping a subcommand."""
    from .commands._options import UsageError

    if isinstance(exc, UsageError):
        return _one_line(str(exc)), 2
    if isinstance(exc, BioformatsError):
        return _one_line(str(exc)), 1
    if isinstance(exc, OSError):
        what = exc.strerror or _one_line(str(exc)) or type(exc).__name__
        if exc.filename is not None:
            target = os.fsdecode(exc.filename)
            if exc.filename2 is not None:
                target += f" -> {os.fsdecode(exc.filename2)}"
            return f"{target}: {what}", 1
        return what, 1
    if isinstance(exc, UnicodeDecodeError):
        return f"input is not text ({exc.reason} at byte {exc.start})", 1
    if isinstance(exc, ValueError):  # Biopython's convention for bad input, which we share
        return _one_line(str(exc)) or type(exc).__name__, 1
    if isinstance(exc, MemoryError):
        return "out of memory", 1
    return (f"internal error {type(exc).__name__}: {_one_line(str(exc))} "
            f"(a bug; rerun with {DEBUG_FLAG} for the traceback)"), 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get(DEBUG_ENV, "") not in ("", "0")
    if DEBUG_FLAG in argv:
        debug = True
        argv = [a for a in argv if a != DEBUG_FLAG]
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from . import __version__

        print(f"bioformats-ext {__version__}")
        return 0
    name = argv[0].lower()
    if name not in COMMANDS:
        print(f"bioformats-ext: unknown command {argv[0]!r} (see bioformats-ext -h)", file=sys.stderr)
        return 2
    target, _ = COMMANDS[name]
    module_name, func_name = target.split(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError):
        if debug:
            raise
        print(f"bioformats-ext: command {name!r} is not available in this build", file=sys.stderr)
        return 1
    from .bgzf.strict import strict_eof  # not the reader: `CMD --help` stays light

    try:
        with strict_eof():  # our CLI refuses truncated BGZF input (the library only warns)
            return int(func(argv[1:]) or 0)
    except BrokenPipeError:  # `| head` is normal use
        try:
            sys.stdout = open(os.devnull, "w")  # no second error when Python flushes at exit
        except OSError:  # pragma: no cover
            pass
        return 0
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"bioformats-ext {name}: interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except Exception as exc:
        if debug:
            raise
        message, status = describe_error(exc)
        print(f"bioformats-ext {name}: {message}", file=sys.stderr)
        return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
