"""``read_bigbed`` / ``read_vcf``: Dask DataFrames whose partitions come from :func:`plan`.

The client opens the file once (header, index) to plan and to build ``meta``; each task gets a
small picklable reader (location, size, what the header said) and one :class:`Partition`,
opens its own byte source, fetches the partition's bytes in one coalesced read and decodes
them into Arrow, then pandas.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from ..io.source import open_source
from ..tables.arrow import to_pandas
from .partition import Partition
from .sources import RangeTask

NULLABLE_BAM = ("end",)
_INSTALL = "Dask reading needs dask and distributed: pip install 'bioformats-ext[dask]'"


def require_dask() -> Any:
    try:
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - installed in the test env
        raise ImportError(_INSTALL) from exc
    return dd


def _location(source: Any) -> str:
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError("Dask readers need a path or URL (every task opens the file itself)")
    loc = os.fspath(source)
    return loc if "://" in loc else os.path.abspath(loc)


# -- bigBed ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BigBedTask(RangeTask):
    """Decode one partition of a bigBed (everything the header said, so no header read)."""

    byteorder: str
    compressed: bool
    inflate_limit: int
    chrom_names: tuple[str, ...]
    autosql: Any
    columns: tuple[str, ...] | None

    def table(self, part: Partition) -> Any:
        from ..bbi.blocks import decompress, parse_run
        from ..tables.bigbed import blocks_to_arrow

        with self.open() as src:
            raws = src.read_many(list(part.units))
        datas = [decompress(raw, self.inflate_limit, off) if self.compressed else raw
                 for (off, _), raw in zip(part.units, raws)]
        block = parse_run(b"".join(datas), self.byteorder, part.units[0][0] if part.units else 0)
        sel = None
        if part.region is not None:
            contig, start, stop = part.region
            cid = self.chrom_names.index(contig)
            s, e = block.start, block.end
            # UCSC overlap; zero-length records touching an edge count (as ``records``)
            hit = (block.chrom == cid) & (((s < stop) & (e > start))
                                          | ((s == e) & ((s == stop) | (e == start))))
            sel = np.flatnonzero(hit)
        return blocks_to_arrow(self.autosql, self.chrom_names, [(block, sel)],
                               self.columns, self.location)

    def __call__(self, part: Partition) -> Any:
        return to_pandas(self.table(part))


def bigbed_task(source: Any, columns: Sequence[str] | None = None,
                storage_options: dict | None = None) -> tuple[BigBedTask, Any]:
    """(task, reader) for a bigBed; the caller closes the reader."""
    from ..bbi.reader import BigBedReader

    opts = {"storage_options": storage_options} if storage_options else {}
    reader = BigBedReader(open_source(source, **opts))
    reader._owns_source = True
    from ..tables.arrow import select_columns

    cols = None if columns is None else tuple(select_columns(reader.autosql.names, columns,
                                                             "bigBed"))
    task = BigBedTask(_location(source), reader.file_size, storage_options, reader.byteorder,
                      bool(reader.header.compressed), reader._inflate_limit,
                      tuple(reader.chrom_names), reader.autosql, cols)
    return task, reader


def read_bigbed(source: Any, columns: Sequence[str] | None = None, regions: Any = None,
                target_bytes: "int | str" = "128MiB", n: int | None = None,
                storage_options: dict | None = None) -> Any:
    """A bigBed as a Dask DataFrame (columns as :meth:`BigBedFile.to_pandas`).

    ``regions``: region strings / ``(contig, start, stop)`` tuples — the records overlapping
    each, as ``records``/``to_pandas`` return them (a record in two regions appears twice).
    Partitions: R-tree leaves grouped to ``target_bytes`` compressed bytes (or ``n`` of them).
    """
    dd = require_dask()
    from ..tables.bigbed import bigbed_schema
    from .plan import plan_bbi

    task, reader = bigbed_task(source, columns, storage_options)
    with reader:
        parts = plan_bbi(reader, target_bytes, n, regions)
        meta = to_pandas(bigbed_schema(reader.autosql, columns).empty_table())
    return _from_map(dd, task, parts, meta)


def _from_map(dd: Any, task: Any, parts: list[Partition], meta: Any,
              divisions: "tuple[int, ...] | None" = None) -> Any:
    if not parts:
        return dd.from_pandas(meta, npartitions=1)
    extra = {"divisions": divisions} if divisions else {}
    return dd.from_map(task, parts, meta=meta, enforce_metadata=False,
                       label=type(task).__name__.lower(), **extra)


def _int64(values: Any) -> Any:
    import pyarrow as pa

    return pa.array(np.asarray(values, np.int64))


def _indexed(df: Any, locus: bool) -> Any:
    """The ``locus`` column as the index (a RangeIndex otherwise)."""
    return df.set_index("locus") if locus else df


def _divided(parts: list[Partition], src: Any, fmt: str, names: Sequence[str],
             divisions: bool, regions: Any) -> tuple[list[Partition], Any]:
    """``(parts, divisions or None)``; with ``divisions``, cuts moved off equal-locus runs."""
    if not divisions:
        return parts, None
    if regions is not None:
        raise ValueError("divisions=True needs a whole-file read (regions=None): records of "
                         "overlapping regions are not in one sorted order")
    from .divisions import with_divisions

    return with_divisions(parts, src, fmt, names)


# -- VCF.gz ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VcfTask(RangeTask):
    """Decode one partition of a bgzipped VCF: BGZF blocks → text → Arrow's CSV splitter."""

    samples: tuple[str, ...]
    columns: tuple[str, ...] | None
    container: str = "bgzf"
    info: tuple[tuple[str, str, str], ...] = ()   # (key, Number, Type) of typed INFO columns
    locus: tuple[str, ...] | None = None  # reference order of the ``locus`` index, when wanted
    genotypes: tuple[str, ...] = ()        # samples whose GT text becomes a ``GT/sample`` column

    def table(self, part: Partition) -> Any:
        from ..tables.vcf import vcf_text_to_arrow

        if self.container == "bgzf2":
            with self.open() as src:
                text = b"".join(_bgzf2_frames(src, part))
        else:
            text = self.bgzf_bytes(part)
        return vcf_text_to_arrow(text, self.samples, self.columns, part.region,
                                 self.location, {k: (n, t) for k, n, t in self.info},
                                 self.locus, self.genotypes)

    def __call__(self, part: Partition) -> Any:
        return _indexed(to_pandas(self.table(part), [f"INFO/{k}" for k, _, _ in self.info]),
                        self.locus is not None)


@dataclass(frozen=True)
class BcfTask(VcfTask):
    """Decode one partition of a BCF: BGZF ranges → a columnar batch of records
    (:mod:`bioformats_ext.vcf.bcf_table`) → the same Arrow columns as VCF. FORMAT/sample
    columns go through VCF text made per record."""

    header_text: str = ""

    def table(self, part: Partition) -> Any:
        from ..errors import FormatError
        from ..tables.vcf import vcf_text_to_arrow
        from ..vcf.bcf_table import bcf_to_arrow
        from ..vcf.reader import _cut_batch, _records
        from ..vcf.record import RecordContext

        data = self.bgzf_bytes(part)
        ctx = RecordContext(_header(self.header_text), True, self.location)
        batch, end = _cut_batch(data, 0, ctx, 1)
        if end != len(data):
            raise FormatError(f"{self.location}: partition {part.index} ends inside a BCF record")
        info = {k: (n, t) for k, n, t in self.info}
        table = bcf_to_arrow(batch, self.samples, self.columns, part.region, self.location,
                             info, self.locus, self.genotypes)
        if table is not None:
            return table
        # FORMAT/sample columns, or a record the column walk could not follow: per record
        text = "".join(f"{rec}\n" for rec in _records(batch)).encode()
        return vcf_text_to_arrow(text, self.samples, self.columns, part.region, self.location,
                                 info, self.locus, self.genotypes)


@lru_cache(maxsize=8)
def _header(text: str) -> Any:
    """A worker parses a BCF header once, not once per partition (header objects are only
    read by the decoders)."""
    from ..vcf.header import VcfHeader

    return VcfHeader(text)


def _bgzf2_frames(src: Any, part: Partition) -> list[bytes]:
    """Decompress a partition's BGZF2 data frames, fetched with one read."""
    import zstandard

    from ..errors import FormatError

    raws = src.read_many([(off, size) for _f, off, size in part.units])
    dctx = zstandard.ZstdDecompressor()
    out = []
    for (frame, off, _), raw in zip(part.units, raws):
        try:
            out.append(dctx.decompress(raw))
        except zstandard.ZstdError as exc:
            raise FormatError(f"{src.name}: data frame {frame} is corrupt ({exc})", off) from None
    return out


def read_vcf(source: Any, columns: Sequence[str] | None = None, regions: Any = None,
             target_bytes: "int | str" = "128MiB", n: int | None = None,
             storage_options: dict | None = None, index: Any = None,
             info: "Sequence[str] | str | None" = None, divisions: bool = False,
             genotypes: "bool | Sequence[str]" = False) -> Any:
    """A bgzipped, TBI/CSI-indexed VCF (or VCF in BGZF2) as a Dask DataFrame.

    Columns: CHROM, POS (1-based), ID, REF, ALT, QUAL, FILTER, INFO by default; ``columns``
    may also name FORMAT and samples. ``info``: INFO keys (or ``"*"``) added as typed
    ``INFO/key`` columns from the header's ``##INFO`` lines. ``regions``: records overlapping
    each region (tabix rule). ``genotypes``: True (every sample) or sample names — their GT
    text (``0/1``, ``1|0``; null where a record has no GT) as ``GT/sample`` columns; BCF
    decodes them as columns. ``divisions=True`` (whole-file reads of a sorted BGZF VCF.gz or
    BCF): the index is ``locus`` = reference number × 2**32 + POS - 1 (references in the
    index's order for VCF.gz, the header's contig order for BCF) with known divisions, at one
    small read per partition while planning (see ``read_bam``).
    """
    dd = require_dask()
    from ..sniff import sniff
    from ..tables.vcf import info_types, vcf_schema
    from ..vcf import VcfReader
    from .plan import bgzf_context, plan_bgzf, plan_bgzf2

    opts = {"storage_options": storage_options} if storage_options else {}
    with open_source(source, **opts) as src:
        kind = sniff(src)
        is_bcf = kind.container == "bgzf" and kind.format == "bcf"
        if not is_bcf and (kind.container not in ("bgzf", "bgzf2") or kind.format != "vcf"):
            from ..errors import FormatError
            raise FormatError(f"{src.name} is {kind}, not bgzipped (BGZF or BGZF2) VCF text "
                              "or BCF")
        if is_bcf:
            from ..vcf.reader import VariantFile

            header = VariantFile(src).header
            header_text = header.text()
            samples = tuple(header.samples)
        else:
            header_text = VcfReader(src).header
            samples = tuple(VcfReader(src).samples)
        declared = info_types(header_text)
        if info is None:
            wanted: dict[str, tuple[str, str]] = {}
        elif info == "*":
            wanted = declared
        else:
            missing = [k for k in info if k not in declared]
            if missing:
                raise KeyError(f"INFO key(s) {missing} not declared in the header")
            wanted = {k: declared[k] for k in info}
        locus: tuple[str, ...] | None = None
        divs = None
        if kind.container == "bgzf2":
            if divisions:
                raise ValueError("divisions=True is for BGZF files (VCF.gz, BCF), not BGZF2")
            parts = plan_bgzf2(src, target_bytes, n, regions)
        else:
            ctx = bgzf_context(source, src, "bcf" if is_bcf else "vcf", index, storage_options)
            parts = plan_bgzf(ctx["index"], ctx["names"], ctx["lengths"], src.size, ctx["eof"],
                              target_bytes, n, regions, references=ctx.get("references"))
            if divisions:
                locus = tuple(ctx["names"])
                parts, divs = _divided(parts, src, "bcf" if is_bcf else "vcf", locus, True,
                                       regions)
        gts = tuple(samples) if genotypes is True else tuple(genotypes or ())
        meta = _meta(vcf_schema(samples, columns, wanted, gts), [f"INFO/{k}" for k in wanted],
                     divisions)
        size = src.size
    cols = None if columns is None else tuple(vcf_schema(samples, columns).names)
    info_spec = tuple((k, n_, t) for k, (n_, t) in wanted.items())
    if is_bcf:
        task: VcfTask = BcfTask(_location(source), size, storage_options, samples, cols,
                                kind.container, info_spec, locus, gts, header_text=header_text)
    else:
        task = VcfTask(_location(source), size, storage_options, samples, cols, kind.container,
                       info_spec, locus, gts)
    return _from_map(dd, task, parts, meta, divs)


# -- BAM ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BamTask(RangeTask):
    """Decode one partition of a BAM: BGZF ranges → records → columns → Arrow."""

    references: tuple[str, ...]
    columns: tuple[str, ...] | None
    tags: tuple[tuple[str, str], ...]
    locus: bool = False   # add the ``locus`` column (the index when divisions are known)

    def table(self, part: Partition) -> Any:
        from ..bam.columns import decode_columns
        from ..tables.bam import columns_to_arrow

        data = self.bgzf_bytes(part)
        cols = decode_columns(data, n_refs=len(self.references))
        sel = None
        if part.region is not None:
            contig, start, stop = part.region
            tid = self.references.index(contig)
            sel = np.flatnonzero((cols.ref_id == tid) & (cols.pos < stop)
                                 & (cols.end_positions() > start))
        table = columns_to_arrow(cols, self.references, self.columns, dict(self.tags), sel)
        if self.locus:
            from .divisions import loci

            ids, pos = (cols.ref_id, cols.pos) if sel is None else (cols.ref_id[sel], cols.pos[sel])
            table = table.append_column("locus", _int64(loci(ids, pos, len(self.references))))
        return table

    def __call__(self, part: Partition) -> Any:
        return _indexed(to_pandas(self.table(part), NULLABLE_BAM), self.locus)


def read_bam(source: Any, columns: Sequence[str] | None = None, regions: Any = None,
             target_bytes: "int | str" = "128MiB", n: int | None = None,
             storage_options: dict | None = None, index: Any = None,
             tags: "Sequence[str] | dict[str, str]" = (), divisions: bool = False) -> Any:
    """A BAM (BAI/CSI-indexed) as a Dask DataFrame: qname, flag, rname, pos, end, mapq, cigar,
    rnext, pnext, tlen, seq, qual (see :mod:`bioformats_ext.tables.bam`) plus ``tags``.

    Without ``regions`` every record is read once, including the unplaced reads after the last
    placed one (a last partition of kind ``"unmapped tail"``); with ``regions``, the reads
    each region's ``fetch`` returns. ``tags``: names (types taken from the first records that
    carry them) or ``{tag: "int64" | "float64" | "string" | "list<int64>" | ...}``.

    ``divisions=True`` (whole-file reads of a sorted BAM): the index is ``locus`` = reference
    id × 2**32 + 0-based start (unplaced reads: number of references × 2**32; see
    :func:`bioformats_ext.dask.locus_of`) and the divisions are known, at the cost of one small
    read per partition while planning (:mod:`bioformats_ext.dask.divisions`).
    """
    dd = require_dask()
    from ..bam.columns import decode_columns
    from ..bgzf import BgzfReader
    from ..sniff import sniff
    from ..tables.bam import bam_schema, tag_types
    from .plan import bgzf_context, plan_bgzf

    opts = {"storage_options": storage_options} if storage_options else {}
    with open_source(source, **opts) as src:
        kind = sniff(src)
        if kind.container != "bgzf" or kind.format != "bam":
            from ..errors import FormatError
            raise FormatError(f"{src.name} is {kind}, not a BGZF-compressed BAM file")
        ctx = bgzf_context(source, src, "bam", index, storage_options)
        parts = plan_bgzf(ctx["index"], ctx["names"], ctx["lengths"], src.size, ctx["eof"],
                          target_bytes, n, regions, first_record=ctx["first_record"],
                          unmapped_tail=True)
        refs = tuple(ctx["names"])
        parts, divs = _divided(parts, src, "bam", refs, divisions, regions)
        if not isinstance(tags, dict):
            tags = list(tags)
            sample = b""
            if tags and parts:
                sample = b"".join(BgzfReader(src).read_ranges(list(parts[0].units)))
            tags = tag_types(decode_columns(sample), tags) if tags else {}
        meta = _meta(bam_schema(refs, columns, tags), NULLABLE_BAM, divisions)
        size = src.size
    cols = None if columns is None else tuple(bam_schema(refs, columns, tags).names)
    task = BamTask(_location(source), size, storage_options, refs, cols, tuple(tags.items()),
                   divisions)
    return _from_map(dd, task, parts, meta, divs)


def _meta(schema: Any, arrow_backed: Sequence[str], locus: bool) -> Any:
    import pyarrow as pa

    if locus:
        schema = schema.append(pa.field("locus", pa.int64()))
    return _indexed(to_pandas(schema.empty_table(), arrow_backed), locus)


# -- bigWig ---------------------------------------------------------------------------------------

BIGWIG_COLUMNS = ("chrom", "start", "end", "value")


def bigwig_schema(columns: Sequence[str] | None = None) -> Any:
    from ..tables.arrow import require_pyarrow, select_columns

    pa = require_pyarrow()
    types = {"chrom": pa.dictionary(pa.int32(), pa.string()), "start": pa.int64(),
             "end": pa.int64(), "value": pa.float32()}
    return pa.schema([(c, types[c]) for c in select_columns(BIGWIG_COLUMNS, columns, "bigWig")])


@dataclass(frozen=True)
class BigWigTask(RangeTask):
    """Decode one partition of a bigWig: its data sections, fetched with one read."""

    byteorder: str
    compressed: bool
    inflate_limit: int
    chrom_names: tuple[str, ...]
    columns: tuple[str, ...] | None

    def table(self, part: Partition) -> Any:
        import pyarrow as pa

        from ..bbi.blocks import decompress
        from ..bbi.wig import parse_section
        from ..errors import FormatError
        from ..tables.arrow import dictionary_column

        with self.open() as src:
            raws = src.read_many(list(part.units))
        chroms, starts, ends, values = [], [], [], []
        for (off, _), raw in zip(part.units, raws):
            data = decompress(raw, self.inflate_limit, off) if self.compressed else raw
            sec = parse_section(data, self.byteorder, off)
            if sec.chrom >= len(self.chrom_names):
                raise FormatError(f"{self.location}: section with an unknown chromosome id", off)
            s, e, v = sec.starts, sec.ends, sec.values
            if part.region is not None:
                contig, start, stop = part.region
                if self.chrom_names[sec.chrom] != contig:
                    continue
                keep = (e > start) & (s < stop)  # zero-length items never overlap
                s, e, v = s[keep], e[keep], v[keep]
            chroms.append(np.full(len(s), sec.chrom, np.int32))
            starts.append(s)
            ends.append(e)
            values.append(v)
        cat = (lambda xs, dt: np.concatenate(xs) if xs else np.zeros(0, dt))
        cols = {"chrom": dictionary_column(cat(chroms, np.int32), self.chrom_names),
                "start": pa.array(cat(starts, np.int64)), "end": pa.array(cat(ends, np.int64)),
                "value": pa.array(cat(values, np.float32))}
        schema = bigwig_schema(self.columns)
        return pa.Table.from_arrays([cols[c] for c in schema.names], schema=schema)

    def __call__(self, part: Partition) -> Any:
        return to_pandas(self.table(part))


def read_bigwig(source: Any, columns: Sequence[str] | None = None, regions: Any = None,
                target_bytes: "int | str" = "128MiB", n: int | None = None,
                storage_options: dict | None = None) -> Any:
    """A bigWig's intervals as a Dask DataFrame: chrom (categorical), start, end (0-based,
    half-open), value (float32). ``regions``: the intervals overlapping each region, as
    pyBigWig's ``intervals`` gives them (unclipped). Partitions: R-tree leaves (data sections)
    grouped to ``target_bytes``."""
    dd = require_dask()
    from ..bbi.wig import BigWigReader
    from .plan import plan_bbi

    opts = {"storage_options": storage_options} if storage_options else {}
    reader = BigWigReader(open_source(source, **opts))
    reader._owns_source = True
    try:
        parts = plan_bbi(reader, target_bytes, n, regions)
        task = BigWigTask(_location(source), reader.file_size, storage_options, reader.byteorder,
                          bool(reader.header.compressed), reader._inflate_limit,
                          tuple(reader.chrom_names),
                          None if columns is None else tuple(bigwig_schema(columns).names))
    finally:
        reader.close()
    meta = to_pandas(bigwig_schema(columns).empty_table())
    return _from_map(dd, task, parts, meta)
