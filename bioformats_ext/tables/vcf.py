"""VCF text → Arrow: the tab-separated lines of a batch split into columns by Arrow's CSV
reader (C++), POS/QUAL typed, and a region's overlap rule (tabix's: end = POS-1 + len(REF),
or INFO/END when larger) applied with Arrow compute — no Python object per record.

Columns: CHROM, POS (int64, 1-based as in the file), ID, REF, ALT, QUAL (float64, null for
``.``), FILTER, INFO (text), and when asked for, FORMAT and one text column per sample.
``info=`` adds one typed column per INFO key (``INFO/DP`` …), typed from the header's
``##INFO`` lines: Integer → int64, Float → float64, Flag → bool, String/Character → string;
``Number`` other than 0/1 → a list of those. Absent keys and ``.`` are null.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Sequence

import re

from ..errors import RecordError
from .arrow import require_pyarrow, select_columns

_INFO_LINE = re.compile(r"^##INFO=<(.*)>\s*$")
_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,]*)')


def info_types(header: str) -> dict[str, tuple[str, str]]:
    """``{key: (Number, Type)}`` from a VCF header's ``##INFO`` lines."""
    out = {}
    for line in header.splitlines():
        m = _INFO_LINE.match(line)
        if m:
            fields = dict(_FIELD.findall(m.group(1)))
            if "ID" in fields:
                out[fields["ID"]] = (fields.get("Number", "."), fields.get("Type", "String"))
    return out


def _info_arrow_type(number: str, kind: str) -> "pa.DataType":
    pa = require_pyarrow()
    base = {"Integer": pa.int64(), "Float": pa.float64(), "Flag": pa.bool_()}.get(kind,
                                                                                  pa.string())
    if kind == "Flag" or number in ("0", "1"):
        return base
    return pa.list_(base)


def _info_column(info: Any, key: str, number: str, kind: str) -> Any:
    """One INFO key's values, extracted and typed with Arrow compute."""
    pa = require_pyarrow()
    import pyarrow.compute as pc

    esc = re.escape(key)
    if kind == "Flag":
        return pc.match_substring_regex(info, f"(?:^|;){esc}(?:;|$)")
    raw = pc.struct_field(pc.extract_regex(info, f"(?:^|;){esc}=(?P<v>[^;]*)"), [0])
    target = _info_arrow_type(number, kind)
    try:
        if pa.types.is_list(target):
            parts = pc.split_pattern(raw, ",")
            flat = pc.list_flatten(parts)
            flat = pc.if_else(pc.equal(flat, "."), pa.scalar(None, pa.string()), flat)
            offsets = pc.list_value_length(parts).fill_null(0).to_numpy(zero_copy_only=False)
            import numpy as np

            offs = np.zeros(len(offsets) + 1, np.int32)
            np.cumsum(offsets, out=offs[1:])
            return pa.ListArray.from_arrays(pa.array(offs), flat.cast(target.value_type),
                                            mask=raw.is_null())
        raw = pc.if_else(pc.equal(raw, "."), pa.scalar(None, pa.string()), raw)
        return raw.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise RecordError(f"INFO/{key} ({number}, {kind}): {exc}") from None

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

FIXED = ("CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")


def vcf_columns(samples: Sequence[str]) -> list[str]:
    return list(FIXED) + (["FORMAT", *samples] if samples else [])


def vcf_schema(samples: Sequence[str], columns: Sequence[str] | None = None,
               info: "dict[str, tuple[str, str]] | None" = None,
               genotypes: Sequence[str] = ()) -> "pa.Schema":
    """``info``: ``{key: (Number, Type)}`` of the INFO keys wanted as ``INFO/key`` columns;
    ``genotypes``: samples whose GT text is wanted as ``GT/sample`` columns."""
    pa = require_pyarrow()
    names = select_columns(vcf_columns(samples), list(FIXED) if columns is None else columns,
                           "VCF")
    unknown = [s for s in genotypes if s not in samples]
    if unknown:
        raise KeyError(f"no sample(s) {unknown} in this VCF")
    types = {"POS": pa.int64(), "QUAL": pa.float64()}
    fields = [(n, types.get(n, pa.string())) for n in names]
    fields += [(f"INFO/{k}", _info_arrow_type(*v)) for k, v in (info or {}).items()]
    fields += [(f"GT/{s}", pa.string()) for s in genotypes]
    return pa.schema(fields)


def _is_extra(name: str) -> bool:
    """Columns derived from the VCF columns (typed INFO, GT), not read as themselves."""
    return name.startswith(("INFO/", "GT/"))


def gt_from_text(fmt: Any, sample: Any) -> Any:
    """The GT text of one sample column: its first ``:`` field when FORMAT starts with GT
    (the spec puts GT first), else null."""
    pa = require_pyarrow()
    import pyarrow.compute as pc

    first = pc.struct_field(pc.extract_regex(sample, r"^(?P<g>[^:]*)"), [0])
    has = pc.or_(pc.equal(fmt, "GT"), pc.starts_with(fmt, "GT:"))
    return pc.if_else(has, first, pa.scalar(None, pa.string()))


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


def _locus(chrom: Any, pos: Any, names: Sequence[str], where: str) -> Any:
    pa = require_pyarrow()
    import numpy as np
    import pyarrow.compute as pc

    tid = pc.index_in(chrom, value_set=pa.array(list(names), pa.string()))
    if tid.null_count:
        bad = pc.filter(chrom, pc.is_null(tid))[0].as_py()
        raise RecordError(f"{where}: contig {bad!r} is not in the index")
    t = tid.to_numpy(zero_copy_only=False).astype(np.int64)
    p = pos.to_numpy(zero_copy_only=False).astype(np.int64)
    return pa.array((t << 32) + p - 1)


def vcf_text_to_arrow(text: bytes, samples: Sequence[str], columns: Sequence[str] | None = None,
                      region: tuple[str, int, int] | None = None,
                      name: str = "VCF",
                      info: "dict[str, tuple[str, str]] | None" = None,
                      locus: "Sequence[str] | None" = None,
                      genotypes: Sequence[str] = ()) -> "pa.Table":
    """Data lines of a VCF (``text``; leading ``#`` lines are skipped) as a table.

    ``columns``: defaults to the eight fixed fields. ``region``: ``(contig, start, stop)``,
    0-based half-open; only records overlapping it are kept (what ``fetch`` returns).
    ``locus``: reference names; adds a last int64 column ``locus`` = reference number × 2**32
    + POS - 1 (the Dask readers' sorted index)."""
    pa = require_pyarrow()
    import pyarrow.compute as pc
    from pyarrow import csv

    schema = vcf_schema(samples, columns, info, genotypes)
    names = [n for n in schema.names if not _is_extra(n)]
    all_names = vcf_columns(samples)
    need = set(names) | ({"CHROM", "POS", "REF", "INFO"} if region is not None else set())
    need |= {"FORMAT", *genotypes} if genotypes else set()
    if locus is not None:
        need |= {"CHROM", "POS"}
    if info:
        need.add("INFO")
    if locus is not None:
        schema = schema.append(pa.field("locus", pa.int64()))
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
    return finish_table(cols, schema, region, name, info, locus)


def finish_table(cols: dict[str, Any], schema: "pa.Schema",
                 region: tuple[str, int, int] | None, name: str,
                 info: "dict[str, tuple[str, str]] | None", locus: "Sequence[str] | None"
                 ) -> "pa.Table":
    """Typed columns (``POS`` int64, ``QUAL`` float64, the rest text) → the table: the region's
    overlap rule, typed ``INFO/key`` columns and ``locus``, shared by VCF text and BCF."""
    pa = require_pyarrow()
    import pyarrow.compute as pc

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
    for key, (number, kind) in (info or {}).items():
        cols[f"INFO/{key}"] = _info_column(cols["INFO"], key, number, kind)
    for field in schema.names:
        if field.startswith("GT/") and field not in cols:
            cols[field] = gt_from_text(cols["FORMAT"], cols[field[3:]])
    if locus is not None:
        cols["locus"] = _locus(cols["CHROM"], cols["POS"], locus, name)
    return pa.Table.from_arrays([cols[n] for n in schema.names], schema=schema)
