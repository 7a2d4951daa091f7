"""Arrow builders from numpy columns and offset buffers (no per-record Python objects)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..errors import FormatError

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

_INSTALL = "pyarrow is needed for tables: pip install 'bioformats-ext[frames]'"


def require_pyarrow() -> Any:
    """The ``pyarrow`` module, or an ImportError naming the ``frames`` extra."""
    try:
        import pyarrow
    except ImportError as exc:  # pragma: no cover - pyarrow is installed in the test env
        raise ImportError(_INSTALL) from exc
    return pyarrow


def take_spans(data: "bytes | np.ndarray", starts: np.ndarray, ends: np.ndarray) -> "pa.Array":
    """A binary array whose ``i``-th value is ``data[starts[i]:ends[i]]``, copied by Arrow's
    ``take`` in C. Spans must be sorted and disjoint: the offsets ``s0, e0, s1, e1, ...`` of a
    binary array over the whole buffer are then monotone, and the even items are the spans."""
    pa = require_pyarrow()
    buf = data if isinstance(data, np.ndarray) else np.frombuffer(data, np.uint8)
    starts = np.asarray(starts, np.int64)
    ends = np.asarray(ends, np.int64)
    n = len(starts)
    if n == 0:
        return pa.array([], pa.binary())
    if bool((ends < starts).any()) or bool((starts[1:] < ends[:-1]).any()) or \
            int(starts[0]) < 0 or int(ends[-1]) > len(buf):
        raise FormatError("spans are not sorted, disjoint and inside the buffer")
    large = len(buf) >= 1 << 31
    offs = np.empty(2 * n + 1, np.int64 if large else np.int32)
    offs[0:-1:2] = starts
    offs[1::2] = ends
    offs[-1] = ends[-1]
    whole = pa.Array.from_buffers(pa.large_binary() if large else pa.binary(), 2 * n,
                                  [None, pa.py_buffer(offs), pa.py_buffer(buf)])
    taken = whole.take(pa.array(np.arange(0, 2 * n, 2, dtype=np.int32 if n < 1 << 30
                                          else np.int64)))
    if not large and int(ends.sum() - starts.sum()) >= 1 << 31:  # pragma: no cover - >2 GiB
        taken = taken.cast(pa.large_binary())
    return taken


def span_buffers(arr: "pa.Array") -> tuple[np.ndarray, np.ndarray]:
    """``(values uint8, int64 offsets from 0)`` of a binary/string array (no copy of values)."""
    n = len(arr)
    large = arr.type in (require_pyarrow().large_binary(), require_pyarrow().large_string())
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], np.int64 if large else np.int32)[arr.offset:arr.offset + n + 1]
    offsets = offsets.astype(np.int64)
    base = int(offsets[0]) if n else 0
    values = (np.frombuffer(bufs[2], np.uint8)[base:int(offsets[-1])] if n and bufs[2] is not None
              else np.zeros(0, np.uint8))
    return values, offsets - base


def gather_spans(data: "bytes | np.ndarray", starts: np.ndarray, ends: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``(values, offsets)``: the bytes ``data[starts[i]:ends[i]]`` concatenated (uint8) and
    the int64 offsets of each span in it (spans sorted and disjoint; see :func:`take_spans`)."""
    if len(starts) == 0:
        return np.zeros(0, np.uint8), np.zeros(1, np.int64)
    return span_buffers(take_spans(data, starts, ends))


def string_array_from_buffers(values: np.ndarray, offsets: np.ndarray,
                              valid: np.ndarray | None = None, where: str = "records",
                              validate: bool = True) -> "pa.Array":
    """A string array over a values buffer and int64 offsets (``valid``: False → null)."""
    pa = require_pyarrow()
    n = len(offsets) - 1
    large = int(offsets[-1]) >= 1 << 31
    validity = None
    nulls = 0
    if valid is not None and not valid.all():
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
        nulls = int(n - valid.sum())
    arr = pa.Array.from_buffers(pa.large_string() if large else pa.string(), n,
                                [validity, pa.py_buffer(offsets if large else offsets.astype(np.int32)),
                                 pa.py_buffer(values)], null_count=nulls)
    if validate:
        try:
            arr.validate(full=True)
        except pa.ArrowInvalid as exc:
            raise FormatError(f"{where}: text is not valid UTF-8 ({exc})") from None
    return arr


def string_array_from_spans(data: "bytes | np.ndarray", starts: np.ndarray, ends: np.ndarray,
                            where: str = "records") -> "pa.Array":
    """A UTF-8 string array whose ``i``-th value is ``data[starts[i]:ends[i]]`` (spans sorted
    and disjoint, e.g. texts inside one decompressed block); Arrow validates the UTF-8 in C."""
    pa = require_pyarrow()
    arr = take_spans(data, starts, ends)
    try:
        return arr.cast(pa.large_string() if arr.type == pa.large_binary() else pa.string())
    except pa.ArrowInvalid as exc:
        raise FormatError(f"{where}: text is not valid UTF-8 ({exc})") from None


def concat_string_arrays(parts: Sequence["pa.Array"]) -> "pa.Array":
    pa = require_pyarrow()
    if not parts:
        return pa.array([], pa.string())
    if any(p.type == pa.large_string() for p in parts):
        parts = [p.cast(pa.large_string()) for p in parts]
    return pa.concat_arrays(list(parts))


def split_fields(strings: "pa.Array", n: int, sep: str = "\t") -> list["pa.Array"]:
    """The first ``n`` ``sep``-separated fields of every string, as ``n`` string arrays (split
    in C by Arrow). A record with fewer fields gets nulls in the missing ones; extra fields
    stay joined in the last column, as a split with ``maxsplit=n-1`` would."""
    pa = require_pyarrow()
    import pyarrow.compute as pc

    if n <= 0:
        return []
    if n == 1:
        return [strings]
    parts = pc.split_pattern(strings, sep, max_splits=n - 1)
    lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    if len(lengths) and int(lengths.min()) == n:
        return [pc.list_element(parts, i) for i in range(n)]
    # ragged: pad every list to n elements with nulls, through explicit offsets
    flat = pc.list_flatten(parts)
    lengths = np.nan_to_num(lengths.astype(np.float64), nan=0).astype(np.int64)
    starts = np.zeros(len(lengths), np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    out = []
    for i in range(n):
        have = lengths > i
        idx = np.where(have, starts + i, 0)
        col = flat.take(pa.array(idx)) if len(flat) else pa.nulls(len(idx), pa.string())
        out.append(pc.if_else(pa.array(have), col, pa.scalar(None, pa.string())))
    return out


def dictionary_column(codes: np.ndarray, names: Sequence[str]) -> "pa.Array":
    """Reference ids + names → a dictionary (categorical) column: one string per reference,
    not per record."""
    pa = require_pyarrow()
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, np.int32)),
                                          pa.array(list(names), pa.string()))


def select_columns(available: Sequence[str], columns: Sequence[str] | None,
                   what: str = "file") -> list[str]:
    """``columns`` checked against ``available`` (all of them when None), in the asked order."""
    if columns is None:
        return list(available)
    if isinstance(columns, str):
        columns = [columns]
    unknown = [c for c in columns if c not in available]
    if unknown:
        raise KeyError(f"no column(s) {', '.join(map(repr, unknown))} in this {what}; "
                       f"available: {', '.join(available)}")
    return list(columns)


def arrow_table(columns: Mapping[str, Any], schema: "pa.Schema | None" = None) -> "pa.Table":
    """A table from Arrow arrays or numpy arrays (numpy wrapped without copying where Arrow can)."""
    pa = require_pyarrow()
    arrays = [c if isinstance(c, (pa.Array, pa.ChunkedArray)) else pa.array(c)
              for c in columns.values()]
    if schema is not None:
        return pa.Table.from_arrays(arrays, schema=schema)
    return pa.Table.from_arrays(arrays, names=list(columns))


def _types_mapper(dtype: Any) -> Any:
    import pandas as pd

    pa = require_pyarrow()
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return pd.ArrowDtype(dtype)
    return None


def to_pandas(table: "pa.Table", arrow_backed: Sequence[str] = ()) -> Any:
    """pandas through Arrow: dictionary columns become categoricals, list columns stay
    Arrow-backed (``pd.ArrowDtype``) rather than one numpy array object per row, so that
    Dask keeps them as lists too. ``arrow_backed``: columns kept as ``pd.ArrowDtype`` (integer
    columns with nulls, which numpy would turn into floats)."""
    df = table.to_pandas(types_mapper=_types_mapper)
    if arrow_backed:
        import pandas as pd

        for name in arrow_backed:
            if name in df.columns:
                df[name] = table.column(name).to_pandas(types_mapper=pd.ArrowDtype)
    return df
