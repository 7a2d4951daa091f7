"""The ``bioformats-ext`` command: a dispatcher to subcommands.

Each subcommand lives in :mod:`bioformats_ext.commands` and is imported only when run, so
``bioformats-ext --help`` is instant. Subcommands take UCSC / htslib style options (see each
module) so users of ``bigBedToBed``, ``samtools index``, ``tabix`` and ``bgzip`` need not relearn.
"""

from __future__ import annotations

import importlib
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
    "index": ("bioformats_ext.commands.index:samtools_index", "index a BAM (like samtools index)"),
    "tabix": ("bioformats_ext.commands.index:tabix", "index a bgzipped text file (like tabix)"),
    "bgzip2": ("bioformats_ext.commands.bgzip2:main", "BGZF2 compress / decompress / query (like bgzip)"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: bioformats-ext COMMAND [options]", "", "commands:"]
    for name, (_, text) in COMMANDS.items():
        lines.append(f"  {name.ljust(width)}  {text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if argv else 1
    if argv[0] in ("-V", "--version"):
        from . import __version__

        print(f"bioformats-ext {__version__}")
        return 0
    name = argv[0].lower()
    if name not in COMMANDS:
        print(f"bioformats-ext: unknown command {argv[0]!r}\n\n{_usage()}", file=sys.stderr)
        return 1
    target, _ = COMMANDS[name]
    module_name, func_name = target.split(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError):
        print(f"bioformats-ext: command {name!r} is not available in this build", file=sys.stderr)
        return 1
    from .bgzf.reader import strict_eof

    try:
        with strict_eof():  # our CLI refuses truncated BGZF input (the library only warns)
            return int(func(argv[1:]) or 0)
    except BioformatsError as exc:
        print(f"bioformats-ext {name}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `| head` is normal use
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
