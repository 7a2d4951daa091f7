"""bigBed → Arrow: blocks decoded in batches, BED columns split and typed by Arrow.

The chromosome column is a dictionary over the file's chromosome names; start/end come straight
from the blocks' numpy arrays; the rest of each line is gathered into one Arrow string array per
batch and split into the autoSql fields in C. Nothing here creates a Python object per record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from ..bbi.autosql import AutoSqlTable
from ..bbi.blocks import Block
from ..bbi.reader import BigBedReader
from ..regions import resolve_region
from .arrow import (concat_string_arrays, dictionary_column, require_pyarrow, select_columns,
                    split_fields, string_array_from_spans)
from .autosql import arrow_type, autosql_column

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa


def bigbed_schema(fields: AutoSqlTable, columns: Sequence[str] | None = None) -> "pa.Schema":
    pa = require_pyarrow()
    names = select_columns(fields.names, columns, "bigBed")
    types = {f.name: arrow_type(f) for f in fields}
    types[fields[0].name] = pa.dictionary(pa.int32(), pa.string())
    types[fields[1].name] = pa.uint32()
    types[fields[2].name] = pa.uint32()
    return pa.schema([(n, types[n]) for n in names])


def blocks_to_arrow(fields: AutoSqlTable, chrom_names: Sequence[str],
                    blocks: Iterable[tuple[Block, "Sequence[int] | np.ndarray | None"]],
                    columns: Sequence[str] | None = None, name: str = "bigBed") -> "pa.Table":
    """A table of the selected records (``None`` = all) of ``blocks``."""
    pa = require_pyarrow()
    names = select_columns(fields.names, columns, "bigBed")
    want = set(names)
    need_rest = any(f.name in want for f in fields[3:])
    chroms: list[np.ndarray] = []
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    rests: list[Any] = []
    for block, sel in blocks:
        if sel is None:
            chroms.append(block.chrom)
            starts.append(block.start)
            ends.append(block.end)
            rs, re_ = block.rest_start, block.rest_end
        else:
            idx = np.asarray(sel, np.int64)
            chroms.append(block.chrom[idx])
            starts.append(block.start[idx])
            ends.append(block.end[idx])
            rs, re_ = block.rest_start[idx], block.rest_end[idx]
        if need_rest and len(rs):
            rests.append(string_array_from_spans(block.data, rs, re_,
                                                 f"{name} block {block.offset}"))
    cat = (lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64))
    out: dict[str, Any] = {}
    schema = bigbed_schema(fields, names)
    if fields[0].name in want:
        out[fields[0].name] = dictionary_column(cat(chroms), chrom_names)
    if fields[1].name in want:
        out[fields[1].name] = pa.array(cat(starts).astype(np.uint32))
    if fields[2].name in want:
        out[fields[2].name] = pa.array(cat(ends).astype(np.uint32))
    if need_rest:
        n = len(fields) - 3
        texts = concat_string_arrays(rests)
        # BED3-style files store an empty rest: every extra field is then missing (null)
        parts = split_fields(texts, n) if len(texts) else [pa.array([], pa.string())] * n
        for f, strings in zip(fields[3:], parts):
            if f.name in want:
                out[f.name] = autosql_column(strings, f)
    return pa.Table.from_arrays([out[n] for n in names], schema=schema)


def to_arrow(reader: BigBedReader, contig: str | None = None, start: int | None = None,
             stop: int | None = None, region: str | None = None,
             columns: Sequence[str] | None = None) -> "pa.Table":
    """Records overlapping a region (``fetch`` arguments; the whole file when none) as a table."""
    if contig is None and region is None:
        if start is not None or stop is not None:
            resolve_region(contig, start, stop, region, reader.chroms)  # raises RegionError
        return blocks_to_arrow(reader.autosql, reader.chrom_names, reader.iter_blocks(None),
                               columns, reader.source.name)
    r = resolve_region(contig, start, stop, region, reader.chroms)
    return blocks_to_arrow(reader.autosql, reader.chrom_names,
                           reader.iter_blocks(r.contig, r.start, r.stop), columns, reader.source.name)
