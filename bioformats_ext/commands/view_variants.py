"""``view`` for variants, like ``bcftools view``: VCF ↔ BCF conversion with the index built in
the same pass, region selection, header-only / no-header output.

``main(argv)`` is called by the ``view`` command for VCF/BCF inputs. Output types as
bcftools: ``-O v`` VCF, ``z`` bgzipped VCF, ``b`` BCF, ``u`` uncompressed BCF (level-0 BGZF);
a trailing digit sets the level (``-O z9``). ``--write-index[=csi|tbi]`` (``-W``) writes the
index next to ``-o`` without a second pass (CSI by default; TBI only for VCF.gz, as bcftools).
No ``##bcftools_view*`` lines are added (like ``--no-version``). BCF → BCF copies the records'
bytes unchanged when no region is given.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any, Iterator

from ..errors import BioformatsError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors exit 1 with the usage, like htslib tools
        self.print_usage(sys.stderr)
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(1)


def _parser() -> _Parser:
    p = _Parser(prog="bioformats-ext view", add_help=False,
                description="VCF/BCF conversion and region selection (like bcftools view).")
    p.add_argument("--help", action="help", help="show this help and exit")
    p.add_argument("-O", "--output-type", default=None, metavar="v|z|b|u[0-9]",
                   help="v: VCF, z: bgzipped VCF, b: BCF, u: uncompressed BCF [v]")
    p.add_argument("-o", "--output", default="-", metavar="FILE", help="output file [stdout]")
    p.add_argument("-W", "--write-index", default=None, choices=["csi", "tbi"], metavar="csi|tbi",
                   help="index the output in the same pass (--write-index[=csi|tbi]) [csi]")
    p.add_argument("-r", "--regions", default=None, metavar="REGION",
                   help="comma-separated regions (chr, chr:beg-end; 1-based inclusive)")
    p.add_argument("-h", "--header-only", action="store_true", help="print only the header")
    p.add_argument("-H", "--no-header", action="store_true", help="suppress the header (VCF)")
    p.add_argument("--no-version", action="store_true", help="accepted for bcftools compatibility")
    p.add_argument("--threads", type=int, default=0, metavar="INT",
                   help="extra compression threads [0]")
    p.add_argument("--strict", action="store_true",
                   help="stop at values that contradict the header (default: warn once per key)")
    p.add_argument("input")
    p.add_argument("region", nargs="*", help="regions, as with -r")
    return p


def _output_type(args: argparse.Namespace) -> tuple[str, int | None]:
    raw = args.output_type
    if raw is None:
        out = args.output
        raw = ("b" if out.endswith(".bcf") else "z" if out.endswith((".gz", ".bgz")) else "v")
    kind, level = raw[:1], raw[1:]
    if kind not in ("v", "z", "b", "u") or (level and not level.isdigit()):
        raise BioformatsError(f"-O {raw}: expected v, z, b or u, optionally with a level 0-9")
    return kind, int(level) if level else None


def _records(reader: Any, regions: list[str]) -> Iterator[Any]:
    """All records, or those overlapping ``regions`` once each (as bcftools: contigs in the
    order first named, each contig's intervals sorted and merged)."""
    if not regions:
        yield from reader
        return
    from ..regions import resolve_region

    refs = reader.reference_lengths() or None
    spans: dict[str, list[list[int]]] = {}
    for text in regions:
        r = resolve_region(region=text, references=refs)
        spans.setdefault(r.contig, []).append([r.start, r.stop if r.stop is not None else 1 << 62])
    for contig in spans:
        merged: list[list[int]] = []
        for beg, end in sorted(spans[contig]):
            if merged and beg <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([beg, end])
        prev: list[int] | None = None
        for beg, end in merged:
            for rec in reader.fetch(contig, beg, end):
                if prev is not None and rec.start < prev[1] and rec.stop > prev[0]:
                    continue  # already written for the previous interval
                yield rec
            prev = [beg, end]


def _normalise(argv: list[str]) -> list[str]:
    """bcftools' optional-value flag: ``-W`` / ``--write-index`` alone mean CSI."""
    out = []
    for arg in argv:
        if arg in ("-W", "--write-index"):
            out.append("--write-index=csi")
        elif arg.startswith("-W="):
            out.append("--write-index=" + arg[3:])
        else:
            out.append(arg)
    return out


def main(argv: list[str]) -> int:
    args = _parser().parse_args(_normalise(list(argv)))
    try:
        return _run(args)
    except (BioformatsError, ValueError, OSError) as exc:
        print(f"bioformats-ext view: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from .. import vcf
    from ..vcf.bcf_writer import BcfWriter
    from ..vcf.bcf_record import BcfRecord

    kind, level = _output_type(args)
    regions = [r for text in ([args.regions] if args.regions else []) + args.region
               for r in text.split(",") if r]
    index = args.write_index
    to_stdout = args.output == "-"
    if index is not None:
        if to_stdout:
            raise BioformatsError("--write-index needs -o FILE")
        if kind == "v":
            raise BioformatsError("--write-index needs compressed output (-O z, b or u)")
        if kind in ("b", "u") and index == "tbi":
            raise BioformatsError("TBI cannot index BCF; use --write-index=csi")
    with warnings.catch_warnings():
        if not args.strict:
            warnings.simplefilter("default")
        reader = vcf.open(args.input, strict=args.strict)
        try:
            header = reader.header
            if kind == "v":
                return _write_text(args, reader, regions, to_stdout)
            if kind == "z":
                target: Any = sys.stdout.buffer if to_stdout else args.output
                text_header = header.text()
                with vcf.VcfWriter(target, text_header, index=index, level=level,
                                   threads=max(1, args.threads + 1)) as writer:
                    if not args.header_only:
                        writer.write_many(str(r) for r in _records(reader, regions))
                return 0
            target = sys.stdout.buffer if to_stdout else args.output
            out_level = 0 if kind == "u" else level
            with BcfWriter(target, header, index=index, level=out_level,
                           threads=max(1, args.threads + 1), strict=args.strict) as bw:
                if args.header_only:
                    return 0
                records = _records(reader, regions)
                if reader.is_bcf and not regions:  # same dictionary: copy record bytes
                    batch: list[BcfRecord] = []
                    for rec in records:
                        batch.append(rec)
                        if len(batch) >= 4096:
                            _copy(bw, batch)
                            batch = []
                    _copy(bw, batch)
                else:
                    bw.write_many(str(r) for r in records)
            return 0
        finally:
            reader.close()


def _copy(writer: Any, batch: list) -> None:
    if not batch:
        return
    raws = [r._buf[r._off:r._off + r._n] for r in batch]
    tid = [r._fixed[0] for r in batch]
    beg = [r._fixed[1] for r in batch]
    end = [r._fixed[1] + r._fixed[2] for r in batch]
    writer.write_encoded(raws, tid, beg, end)


def _write_text(args: argparse.Namespace, reader: Any, regions: list[str], to_stdout: bool) -> int:
    from ..io.atomic import atomic_open

    def emit(fh: Any) -> None:
        if not args.no_header:
            fh.write(reader.header.text().encode())
        if args.header_only:
            return
        buf: list[str] = []
        for rec in _records(reader, regions):
            buf.append(str(rec))
            if len(buf) >= 4096:
                fh.write(("\n".join(buf) + "\n").encode())
                buf = []
        if buf:
            fh.write(("\n".join(buf) + "\n").encode())

    if to_stdout:
        emit(sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        with atomic_open(args.output) as fh:
            emit(fh)
    return 0
