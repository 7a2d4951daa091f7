"""The registry of fuzz targets: what to seed, how to mutate, which entry points to run.

A target is a :class:`Target`: ``seeds()`` returns cases (``{file name: bytes}``),
``mutators`` maps a file name of the case to the mutators used on it (one member is mutated
per input, the others stay valid), and ``steps(files)`` returns the reader entry points to run
on the materialised files, each a zero-argument callable. Every step runs even when another
failed, so one typed error at ``fetch`` does not hide an untyped one at ``find``; a failing
first step (opening) ends the input.

Adding a reader (a bigWig, BCF or BAM-record reader on another branch) is a few lines::

    register(Target("bigwig", seeds=my_bigwig_seeds, mutators={"x.bw": mutate.BIGBED},
                    steps=lambda f: [lambda: list(BigWigFile(f["x.bw"]).intervals("chr1"))]))

at the end of this module (or in any module imported by :mod:`fuzz.run` via ``--plugin``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable

from . import mutate, seeds

Files = dict[str, str]
Step = Callable[[], Any]


@dataclass
class Target:
    name: str
    seeds: Callable[[], list[seeds.Case]]
    mutators: dict[str, list[mutate.Mutator]]
    steps: Callable[[Files], list[Step]]
    weight: int = 1
    notes: str = ""
    owner: str = field(default="reliability")
    smoke: bool = True   # part of the suite's 2,000-input smoke run


TARGETS: dict[str, Target] = {}


def register(target: Target) -> Target:
    TARGETS[target.name] = target
    return target


def _drain(iterable: Any, limit: int = 1_000_000) -> int:
    n = 0
    for _ in iterable:
        n += 1
        if n >= limit:
            break
    return n


# ----------------------------------------------------------------------------- bigBed

def _bigbed_steps(files: Files) -> list[Step]:
    from bioformats_ext.bigbed import BigBedFile

    path = files["x.bb"]
    state: dict[str, Any] = {}

    def open_() -> None:
        bb = state["bb"] = BigBedFile(path)
        _ = (len(bb), bb.chroms, bb.autosql, bb.zoom_levels, bb.total_summary,
             bb.extra_index_fields, bb.autosql_text, bb.header)

    def records() -> None:
        state["first"] = next(iter(state["bb"].records()), None)
        _drain(state["bb"].records())

    def fetch() -> None:
        bb = state["bb"]
        for chrom, size in list(bb.chroms.items())[:4]:
            _drain(bb.records(chrom))
            _drain(bb.records(chrom, size // 3, size // 2))
            _drain(bb.records(chrom, 0, 1))

    def summary() -> None:
        bb = state["bb"]
        for chrom, size in list(bb.chroms.items())[:2]:
            if size > 0:
                bb.summary(chrom, 0, size, bins=4)
                bb.summary(chrom, 0, min(size, 100_000), bins=3, exact=True)

    def find() -> None:
        bb = state["bb"]
        first = state.get("first")
        for name in bb.extra_index_fields:
            value = "f1"
            if first is not None and first[3]:
                value = first[3].split("\t")[0]
            _drain(bb.find(name, value))
            _drain(bb.find(name, "no-such-name"))

    def align() -> None:
        import Bio.Align

        import bioformats_ext  # noqa: F401  (installs the Bio.Align formats)

        alignments = Bio.Align.parse(path, "bigbed")
        _drain(alignments)
        alignments = Bio.Align.parse(path, "bigbed")
        for chrom in list(state["bb"].chroms)[:2]:
            _drain(alignments.search(chrom))

    return [open_, records, fetch, summary, find, align]


register(Target("bigbed", seeds.bigbed_seeds, {"x.bb": mutate.BIGBED}, _bigbed_steps, weight=3,
                notes="BigBedFile open/records/fetch/summary/find and Bio.Align 'bigbed'"))


# ----------------------------------------------------------------------------- bigWig

def _bigwig_steps(files: Files) -> list[Step]:
    from bioformats_ext.bigwig import BigWigFile

    path = files["x.bw"]
    state: dict[str, Any] = {}

    def open_() -> None:
        bw = state["bw"] = BigWigFile(path)
        _ = (bw.chroms, bw.header, bw.zoom_levels, bw.summary())

    def intervals() -> None:
        bw = state["bw"]
        for chrom, size in list(bw.chroms.items())[:3]:
            _drain(bw.intervals(chrom) or ())
            bw.values(chrom, size // 4, min(size, size // 4 + 5000))
            bw.interval_arrays(chrom, 0, size)

    def stats() -> None:
        bw = state["bw"]
        for chrom, size in list(bw.chroms.items())[:2]:
            if size > 0:
                for kind in ("mean", "max", "coverage"):
                    bw.stats(chrom, 0, size, type=kind, nBins=5)
                bw.stats(chrom, 0, min(size, 50_000), nBins=3, exact=True)

    def stats_many() -> None:
        # a fresh reader: its zoom blocks go through the batch decoder, not the cache
        with BigWigFile(path) as bw:
            for chrom, size in list(bw.chroms.items())[:2]:
                if size > 0:
                    starts = [size * k // 8 for k in range(7)]
                    width = max(1, size // 8)
                    for kind in ("mean", "std"):
                        bw.stats_many(chrom, starts, [a + width for a in starts], type=kind,
                                      nBins=4)

    return [open_, intervals, stats, stats_many]


register(Target("bigwig", seeds.bigwig_seeds, {"x.bw": mutate.BIGWIG}, _bigwig_steps,
                weight=2, owner="bigwig reader",
                notes="BigWigFile open/intervals/values/stats (zoom and exact), stats_many"))


# ----------------------------------------------------------------------------- BGZF

def _bgzf_steps(files: Files) -> list[Step]:
    from bioformats_ext.bgzf import BgzfReader, strict_eof

    path = files["x.gz"]
    state: dict[str, Any] = {}

    def open_() -> None:
        state["r"] = BgzfReader(path)

    def read() -> None:
        r = state["r"]
        data = r.read()
        r.seek(0)
        _drain(iter(r.readline, b""))
        state["n"] = len(data)

    def blocks() -> None:
        spans = list(state["r"].iter_block_spans())
        for address, _next, _data in spans[:3]:
            state["r"].seek(address << 16)
            state["r"].read(100)
        state["r"].read_ranges([(a << 16, n << 16) for a, n, _ in spans[:4]])

    def strict() -> None:
        with strict_eof():
            BgzfReader(path).read()

    return [open_, read, blocks, strict]


register(Target("bgzf", seeds.bgzf_seeds,
                {"x.gz": mutate.BGZF + [mutate.in_payload(mutate.generic)] + mutate.GENERIC},
                _bgzf_steps, notes="BgzfReader read/readline/iter_blocks/read_ranges, strict EOF"))


# ----------------------------------------------------------------------------- BGZF2

def _bgzf2_steps(files: Files) -> list[Step]:
    from bioformats_ext.bgzf2 import Bgzf2Reader

    path = files["x.bgz2"]
    state: dict[str, Any] = {}

    def open_() -> None:
        r = state["r"] = Bgzf2Reader(path)
        _ = (r.references, r.metadata, r.size, r.n_frames)

    def read() -> None:
        r = state["r"]
        r.read()
        r.seek(r.size // 2)
        r.read(1000)
        r.seek(0)
        _drain(iter(r.readline, b""))
        _ = r.content_head

    def frames() -> None:
        _drain(state["r"].iter_frames())

    def fetch() -> None:
        r = state["r"]
        for ref in r.references[:3]:
            r.fetch(ref.name)
            r.fetch(ref.name, 100, 2000)

    return [open_, read, frames, fetch]


register(Target("bgzf2", seeds.bgzf2_seeds, {"x.bgz2": mutate.BGZF2}, _bgzf2_steps,
                notes="Bgzf2Reader open/read/readline/iter_frames/fetch"))


# ----------------------------------------------------------------------------- VCF + TBI/CSI

def _index_steps(index_path: str, names: list[str]) -> list[Step]:
    from bioformats_ext.index import read_index

    state: dict[str, Any] = {}

    def load() -> None:
        state["ix"] = read_index(index_path)

    def query() -> None:
        ix = state.get("ix")
        if ix is None:  # load failed: already counted
            return
        for tid in range(min(ix.n_refs, 8)):
            for beg, end in ((0, 1 << 29), (1000, 5000), (150_000, 150_001), (0, 1 << 62)):
                ix.query(tid, beg, end)
            ix.mapped(tid)
            ix.unmapped(tid)
        ix.start_offset()
        for name in names:
            try:
                ix.query(name, 0, 10_000)
            except Exception as exc:  # unknown names are a typed error; re-raise anything else
                from bioformats_ext.errors import BioformatsError
                if not isinstance(exc, BioformatsError):
                    raise

    return [load, query]


def _indexed_reader_steps(files: Files, data_name: str, index_suffixes: tuple[str, ...],
                          open_reader: Callable[[str, Any], Any],
                          reindex: Callable[[str, str], Any], reindex_suffix: str) -> list[Step]:
    """Open / iterate / fetch / re-index steps shared by the BGZF text and BAM readers."""
    data = files[data_name]
    index = next((p for n, p in files.items() if n.endswith(index_suffixes)), None)
    state: dict[str, Any] = {}
    names = [n for n, _ in seeds.CONTIGS]

    def open_() -> None:
        state["r"] = open_reader(data, index)

    def iterate() -> None:
        _drain(state["r"])

    def fetch() -> None:
        r = state["r"]
        for name in names:
            _drain(r.fetch(name))
            _drain(r.fetch(name, 1000, 20_000))

    def reindex_() -> None:
        out = data + reindex_suffix
        try:
            reindex(data, out)
        finally:
            if os.path.exists(out):
                os.unlink(out)

    steps = [open_, iterate, fetch, reindex_]
    if index is not None:
        steps += _index_steps(index, names)
    return steps


def _vcf_steps(files: Files) -> list[Step]:
    from bioformats_ext.vcf import VcfReader

    def open_reader(data: str, index: Any) -> Any:
        r = VcfReader(data, index=index)
        _ = (r.header, r.contigs, r.samples)
        return r

    return _indexed_reader_steps(files, "x.vcf.gz", (".tbi", ".csi"), open_reader,
                                 lambda data, out: _index_tabix()(data, "vcf", out=out), ".re.tbi")


def _index_tabix() -> Callable[..., Any]:
    from bioformats_ext.tabix import index_tabix

    return index_tabix


def _index_bam() -> Callable[..., Any]:
    from bioformats_ext.bam import index_bam

    return index_bam


register(Target("vcf", seeds.vcf_seeds,
                {"x.vcf.gz": mutate.VCF_GZ, "x.vcf.gz.tbi": mutate.INDEX,
                 "x.vcf.gz.csi": mutate.INDEX}, _vcf_steps, weight=2,
                notes="VcfReader open/iterate/fetch, index_tabix, read_index/query (TBI, CSI)"))


# ----------------------------------------------------------------------------- BAM + BAI/CSI

def _bam_steps(files: Files) -> list[Step]:
    from bioformats_ext.bam import BamReader

    def open_reader(data: str, index: Any) -> Any:
        r = BamReader(data, index=index)
        _ = r.header
        return r

    return _indexed_reader_steps(files, "x.bam", (".bai", ".csi"), open_reader,
                                 lambda data, out: _index_bam()(data, out=out), ".re.bai")


register(Target("bam", seeds.bam_seeds,
                {"x.bam": mutate.BAM, "x.bam.bai": [mutate.bai_field_edit] + mutate.GENERIC,
                 "x.bam.csi": mutate.INDEX}, _bam_steps, weight=2,
                notes="BamReader open/iterate/fetch, index_bam, read_index/query (BAI, CSI)"))


def _align_bam_steps(files: Files) -> list[Step]:
    def align() -> None:
        import Bio.Align

        import bioformats_ext  # noqa: F401

        _drain(Bio.Align.parse(files["x.bam"], "bam"))

    return [align]


register(Target("align-bam", seeds.bam_seeds, {"x.bam": mutate.BAM}, _align_bam_steps,
                owner="bam records (align/bam.py, native)", smoke=False,
                notes="Bio.Align 'bam' adapter"))


# ----------------------------------------------------------------------------- writers

def _header_and_records(path: str, marker: bytes) -> tuple[bytes, list[bytes]]:
    """Split a text file into its header (lines starting with ``marker``) and record lines."""
    lines = open(path, "rb").read().split(b"\n")
    header = b"\n".join(ln for ln in lines if ln.startswith(marker)) + b"\n"
    return header, [ln + b"\n" for ln in lines if ln and not ln.startswith(marker)]


def _written_and_read(out: str, write: Callable[[], None], read: Callable[[], None],
                      suffixes: tuple[str, ...]) -> None:
    """Write, read back, and always remove the output and its indexes."""
    try:
        write()
        read()
    finally:
        for p in (out,) + tuple(out + s for s in suffixes):
            if os.path.exists(p):
                os.unlink(p)


def _vcf_write_steps(files: Files) -> list[Step]:
    from bioformats_ext.vcf import VcfReader, VcfWriter

    header, records = _header_and_records(files["x.vcf"], b"#")
    out = files["x.vcf"] + ".out.vcf.gz"

    def write(index: str) -> Step:
        def run() -> None:
            with VcfWriter(out, header, index=index) as w:
                w.write_many(records)

        return lambda: _written_and_read(out, run, lambda: _drain(VcfReader(out).fetch("chr1")),
                                         (".tbi", ".csi"))

    return [write("tbi"), write("csi")]


register(Target("vcf-write", lambda: [{"x.vcf": t} for t in seeds.text_seeds()["vcf"]],
                {"x.vcf": mutate.TEXT}, _vcf_write_steps,
                notes="VcfWriter with TBI and CSI on mutated VCF text, read back"))


def _sam_write_steps(files: Files) -> list[Step]:
    from bioformats_ext.bam import BamReader, BamWriter

    header, records = _header_and_records(files["x.sam"], b"@")
    out = files["x.sam"] + ".out.bam"

    def run() -> None:
        with BamWriter(out, header, index="bai") as w:
            w.write_many(records)

    return [lambda: _written_and_read(out, run, lambda: _drain(BamReader(out).fetch("chr1")),
                                      (".bai",))]


register(Target("sam-write", lambda: [{"x.sam": t} for t in seeds.text_seeds()["sam"]],
                {"x.sam": mutate.TEXT}, _sam_write_steps,
                notes="BamWriter with BAI on mutated SAM text, read back"))
