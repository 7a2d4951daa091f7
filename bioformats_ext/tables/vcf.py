"""VCF text → Arrow: the tab-separated lines of a batch split into columns by Arrow's CSV
reader (C++), POS/QUAL typed, and a region's overlap rule (tabix's: end = POS-1 + len(REF),
or INFO/END when larger) applied with Arrow compute — no Python object per record.

Columns: CHROM, POS (int64, 1-based as in the file), ID, REF, ALT, QUAL (float64, null for
``.``), FILTER, INFO (text), and when asked for, FORMAT and one text column per sample.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import RecordError
from .arrow import require_pyarrow, select_columns

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

FIXED = ("CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")


def vcf_columns(samples: Sequence[str]) -> list[str]:
    return list(FIXED) + (["FORMAT", *samples] if samples else [])


def vcf_schema(samples: Sequence[str], columns: Sequence[str] | None = None) -> "pa.Schema":
    pa = require_pyarrow()
    names = select_columns(vcf_columns(samples), list(FIXED) if columns is None else columns,
                           "VCF")
    types = {"POS": pa.int64(), "QUAL": pa.float64()}
    return pa.schema([(n, types.get(n, pa.string())) for n in names])


def _strip_meta(text: bytes) -> bytes:
    if not text.startswith(b"#"):
        return text
    pos = 0
    while text.startswith(b"#", pos):
        nl = text.find(b"\n", pos)
        if nl < 0:
            return b""
        pos = nl + 1
    return text[pos:]


def vcf_text_to_arrow(text: bytes, samples: Sequence[str], columns: Sequence[str] | None = None,
                      region: tuple[str, int, int] | None = None,
                      name: str = "VCF") -> "pa.Table":
    """Data lines of a VCF (``text``; leading ``#`` lines are skipped) as a table.

    ``columns``: defaults to the eight fixed fields. ``region``: ``(contig, start, stop)``,
    0-based half-open; only records overlapping it are kept (what ``fetch`` returns)."""
    pa = require_pyarrow()
    import pyarrow.compute as pc
    from pyarrow import csv

    schema = vcf_schema(samples, columns)
    names = schema.names
    all_names = vcf_columns(samples)
    need = set(names) | ({"CHROM", "POS", "REF", "INFO"} if region is not None else set())
    text = _strip_meta(text)
    if not text.strip():
        return schema.empty_table()
    read = csv.ReadOptions(column_names=all_names, block_size=max(1 << 20, len(text) + 1),
                           use_threads=False)
    parse = csv.ParseOptions(delimiter="\t", quote_char=False, double_quote=False,
                             escape_char=False, newlines_in_values=False, ignore_empty_lines=True)
    convert = csv.ConvertOptions(column_types={c: pa.string() for c in all_names},
                                 null_values=[], strings_can_be_null=False,
                                 quoted_strings_can_be_null=False,
                                 include_columns=[c for c in all_names if c in need])
    try:
        table = csv.read_csv(io.BytesIO(text), read_options=read, parse_options=parse,
                             convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise RecordError(f"{name}: {exc}") from None
    cols: dict[str, Any] = {c: table.column(c).combine_chunks() for c in table.column_names}
    try:
        if "POS" in cols:
            cols["POS"] = cols["POS"].cast(pa.int64())
        if "QUAL" in cols:
            qual = cols["QUAL"]
            missing = pc.equal(qual, ".")
            cols["QUAL"] = pc.if_else(missing, pa.scalar(None, pa.string()), qual).cast(pa.float64())
    except pa.ArrowInvalid as exc:
        raise RecordError(f"{name}: {exc}") from None
    if region is not None:
        contig, start, stop = region
        beg = pc.max_element_wise(pc.subtract(cols["POS"], 1), 0)
        reflen = pc.utf8_length(cols["REF"]).cast(pa.int64())
        end = pc.max_element_wise(pc.if_else(pc.greater(reflen, 0), pc.add(beg, reflen),
                                             pc.add(beg, 1)), 1)
        info_end = pc.extract_regex(cols["INFO"], r"(?:^|;)END=(?P<e>[+-]?\d+)")
        ie = pc.struct_field(info_end, [0]).cast(pa.int64())
        end = pc.if_else(pc.and_kleene(pc.is_valid(ie), pc.greater(ie, beg)), ie, end)
        end = pc.max_element_wise(end, pc.add(beg, reflen))
        keep = pc.and_(pc.and_(pc.equal(cols["CHROM"], contig), pc.less(beg, stop)),
                       pc.greater(end, start))
        keep = keep.fill_null(False)
        cols = {k: v.filter(keep) for k, v in cols.items()}
    return pa.Table.from_arrays([cols[n] for n in names], schema=schema)
