"""autoSql field declarations → Arrow types and typed columns (vectorised, in Arrow's C casts).

uint → uint32, int → int32, short/ushort → int16/uint16, byte/ubyte → int8/uint8, bigint → int64,
float → float32, double → float64, char[n]/string/lstring → string, enum(...) → dictionary over the
declared values, set(...) → list<string>, ``type[n]`` / ``type[countField]`` → list<type> (UCSC
writes arrays with a trailing comma; an empty column is an empty list).

BED's ``uint reserved`` / ``uint itemRgb`` column holds ``"r,g,b"`` text (or ``0``), not a number,
in files written by bedToBigBed: it is kept as a string column, so its values survive unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..bbi.autosql import Field
from ..errors import RecordError
from .arrow import require_pyarrow

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

_SCALARS = {"uint": "uint32", "int": "int32", "short": "int16", "ushort": "uint16",
            "byte": "int8", "ubyte": "uint8", "bigint": "int64", "float": "float32",
            "double": "float64"}


def _scalar_type(base: str) -> "pa.DataType":
    pa = require_pyarrow()
    name = _SCALARS.get(base)
    return getattr(pa, name)() if name else pa.string()


_RGB_NAMES = frozenset({"reserved", "itemRgb"})


def _is_rgb(field: Field) -> bool:
    return field.name in _RGB_NAMES and field.base_type == "uint" and field.array_size is None


def arrow_type(field: Field) -> "pa.DataType":
    """The Arrow type a column of ``field`` is read as."""
    pa = require_pyarrow()
    base = field.base_type
    if _is_rgb(field):
        return pa.string()
    if base == "enum":
        return pa.dictionary(pa.int32(), pa.string())
    if base == "set":
        return pa.list_(pa.string())
    if base == "char" or field.array_size is None:
        return _scalar_type(base)
    return pa.list_(_scalar_type(base))


def autosql_schema(fields: Sequence[Field]) -> "pa.Schema":
    pa = require_pyarrow()
    return pa.schema([(f.name, arrow_type(f)) for f in fields])


def _cast(strings: "pa.Array", to: "pa.DataType", field: Field) -> "pa.Array":
    pa = require_pyarrow()
    try:
        return strings.cast(to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise RecordError(f"field {field.name!r} ({field.as_type}): {exc}") from None


def _list_column(strings: "pa.Array", item: "pa.DataType", field: Field) -> "pa.Array":
    """``"1,2,3,"`` → [1, 2, 3]; ``""`` → []; null stays null. Split and cast in Arrow."""
    pa = require_pyarrow()
    import pyarrow.compute as pc

    trimmed = pc.utf8_rtrim(strings, characters=",")
    parts = pc.split_pattern(trimmed, ",")
    counts = pc.list_value_length(parts).fill_null(0).to_numpy(zero_copy_only=False)
    empty = pc.equal(trimmed, "").fill_null(False).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(parts)
    if empty.any():
        flat = flat.filter(pa.array(np.repeat(~empty, counts)))
        counts = np.where(empty, 0, counts)
    offsets = np.zeros(len(counts) + 1, np.int32)
    np.cumsum(counts, out=offsets[1:])
    values = _cast(flat, item, field)
    mask = strings.is_null()
    return pa.ListArray.from_arrays(pa.array(offsets), values,
                                    mask=mask if strings.null_count else None)


def autosql_column(strings: "pa.Array", field: Field) -> "pa.Array":
    """A string column (the raw BED text of ``field``) converted to its declared type."""
    pa = require_pyarrow()
    import pyarrow.compute as pc

    base = field.base_type
    if _is_rgb(field):
        return strings
    if base == "enum":
        declared = pa.array(list(field.values), pa.string())
        codes = pc.index_in(strings, value_set=declared)
        bad = pc.and_(pc.is_null(codes), pc.is_valid(strings))
        if pc.any(bad).as_py():
            first = pc.filter(strings, bad)[0].as_py()
            raise RecordError(f"field {field.name!r}: {first!r} is not one of {field.values}")
        return pa.DictionaryArray.from_arrays(codes, declared)
    if base == "set":
        return _list_column(strings, pa.string(), field)
    if base == "char" or field.array_size is None:
        if base in _SCALARS:
            return _cast(strings, _scalar_type(base), field)
        return strings
    return _list_column(strings, _scalar_type(base), field)

