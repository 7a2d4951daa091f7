"""The standard BED columns 4..15 checked as bedToBigBed checks them, vectorised per batch."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import RecordError
from ..index.sortorder import RecordNumbers
from .autosql import BED_FIELD_NAMES, AutoSqlTable
from .bed_input import show, to_int_array

__all__ = ["validate_bed_columns", "count_bed_fields"]


def count_bed_fields(table: AutoSqlTable) -> int:
    """How many leading fields of ``table`` are the standard BED ones (3..12)."""
    n = 0
    for f, name in zip(table.names, BED_FIELD_NAMES):
        if f != name and not (n == 8 and f == "itemRgb"):
            break
        n += 1
    return max(3, min(n, 12))



def _ints(col: Any, numbers: RecordNumbers, what: str) -> np.ndarray:
    return to_int_array(list(col), numbers, what)


def validate_bed_columns(bed_n: int, cols: Any, s: np.ndarray, e: np.ndarray,
                         numbers: RecordNumbers, values: dict | None = None, slack: int = 0) -> None:
    """Check the standard columns 4..bed_n the way bedToBigBed does (vectorised per batch).

    ``cols``: the text columns; or ``values``: the same columns as numbers (see
    :meth:`BigBedWriter.write_batch`), checked in the same order with the same messages.
    """
    if values is not None:
        lengths = values["name_lengths"]
    else:
        name = cols[0]
        lengths = np.fromiter(map(len, name), np.int64, len(name))
    bad = np.flatnonzero(lengths > 255)
    if len(bad):
        i = int(bad[0])
        raise RecordError(f"{numbers.where(i)}: name is too long ({lengths[i]} > 255 bytes)",
                          numbers[i])
    if bed_n >= 5:
        score = values["score"] if values is not None else _ints(cols[1], numbers, "score")
        bad = np.flatnonzero((score < 0) | (score > 1000))
        if len(bad):
            i = int(bad[0])
            raise RecordError(f"{numbers.where(i)}: score ({score[i]}) must be between 0 and "
                              "1000", numbers[i])
    if bed_n >= 6 and values is not None:
        bad = np.flatnonzero((values["strand"] != 43) & (values["strand"] != 45)
                             & (values["strand"] != 46))
        if len(bad):
            i = int(bad[0])
            raise RecordError(f"{numbers.where(i)}: expecting + or - or . in strand, got "
                              f"{show(bytes([values['strand'][i]]))}", numbers[i])
    elif bed_n >= 6:
        strand = set(cols[2])
        if not strand <= {b"+", b"-", b"."}:
            bad_value = next(v for v in cols[2] if v not in (b"+", b"-", b"."))
            i = list(cols[2]).index(bad_value)
            raise RecordError(f"{numbers.where(i)}: expecting + or - or . in strand, got "
                              f"{show(bad_value)}", numbers[i])
    if bed_n >= 8:
        if values is not None:
            thick_start, thick_end = values["thickStart"], values["thickEnd"]
        else:
            thick_start = _ints(cols[3], numbers, "thickStart")
            thick_end = _ints(cols[4], numbers, "thickEnd")
        bad = np.flatnonzero((thick_start < s) & ~((thick_start == 0) & (thick_end == 0))
                             | (thick_start > e))
        if len(bad):
            i = int(bad[0])
            raise RecordError(f"{numbers.where(i)}: thickStart out of range "
                              f"({s[i]}-{e[i]}, thick: {thick_start[i]}-{thick_end[i]})",
                              numbers[i])
        bad = np.flatnonzero(((thick_end < s) & ~((thick_start == 0) & (thick_end == 0)))
                             | (thick_end > e) | (thick_end < thick_start))
        if len(bad):
            i = int(bad[0])
            raise RecordError(f"{numbers.where(i)}: thickEnd out of range "
                              f"({s[i]}-{e[i]}, thick: {thick_start[i]}-{thick_end[i]})",
                              numbers[i])
    elif bed_n == 7:
        thick_start = values["thickStart"] if values is not None else \
            _ints(cols[3], numbers, "thickStart")
        bad = np.flatnonzero((thick_start > e) | ((thick_start < s) & (thick_start != 0)))
        if len(bad):
            i = int(bad[0])
            raise RecordError(f"{numbers.where(i)}: thickStart out of range", numbers[i])
    if bed_n >= 9:
        colors = cols[5] if values is None else values["itemRgb"]
        for color in set(colors):
            if not _valid_rgb(color if isinstance(color, bytes) else color.encode()):
                i = list(colors).index(color)
                raise RecordError(f"{numbers.where(i)}: expecting color to consist of r,g,b "
                                  f"values from 0 to 255, got {show(color)}", numbers[i])
    if bed_n >= 10:
        count = values["blockCount"] if values is not None else \
            _ints(cols[6], numbers, "blockCount")
        bad = np.flatnonzero(count < 0)
        if len(bad):
            i = int(bad[0])
            raise RecordError(f"{numbers.where(i)}: blockCount ({count[i]}) is negative",
                              numbers[i])
    if bed_n >= 12:
        if values is not None:
            _check_blocks(count, values["blockSizes"], values["chromStarts"], s, e, numbers, slack)
        else:
            _validate_blocks(count, cols[7], cols[8], s, e, numbers, slack)


def _valid_rgb(color: bytes) -> bool:
    if color == b".":  # what Biopython writes for "no color"
        return True
    parts = color.rstrip(b",").split(b",")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        return False
    if len(values) == 3:
        return all(0 <= v <= 255 for v in values)
    return len(values) == 1 and 0 <= values[0] <= 0xFFFFFFFF


def _split_lists(col: Any, counts: np.ndarray, numbers: RecordNumbers, what: str) -> np.ndarray:
    """All comma-separated integer lists of a column, concatenated; checks the counts."""
    joined = b"".join(col)
    lengths = np.fromiter(map(len, col), np.int64, len(col))
    ends = np.cumsum(lengths)
    raw = np.frombuffer(joined, np.uint8)
    commas = np.flatnonzero(raw == 44)
    per = np.bincount(np.searchsorted(ends, commas, side="right"), minlength=len(col))[:len(col)]
    trailing = np.zeros(len(col), bool)
    nonempty = lengths > 0
    trailing[nonempty] = raw[ends[nonempty] - 1] == 44
    stripped = lengths - trailing
    got = np.where(stripped > 0, per - trailing + 1, 0)
    bad = np.flatnonzero(got != counts)
    if len(bad):
        i = int(bad[0])
        raise RecordError(f"{numbers.where(i)}: {what} has {got[i]} values, blockCount is "
                          f"{counts[i]}", numbers[i])
    total = int(counts.sum())
    if not total:
        return np.empty(0, np.int64)
    if not trailing[nonempty].all() or (nonempty & (stripped == 0)).any():
        joined = b"".join(c.rstrip(b",") + b"," for c in col if c.rstrip(b","))
    arr = None
    if b" " not in joined and b"." not in joined:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                arr = np.fromstring(joined.decode("ascii"), dtype=np.int64, sep=",")
            except (ValueError, UnicodeDecodeError):
                arr = None
    if arr is not None and len(arr) == total:
        return arr
    for i, t in enumerate(col):  # slow path: find the offending record
        try:
            [int(v) for v in t.rstrip(b",").split(b",")] if t else None
        except ValueError:
            raise RecordError(f"{numbers.where(i)}: {what} {show(col[i])} are not "
                              "integers", numbers[i]) from None
    raise RecordError(f"{what}: cannot parse", None)


def _validate_blocks(counts, sizes_col, starts_col, s, e, numbers, slack: int = 0) -> None:
    sizes = _split_lists(sizes_col, counts, numbers, "blockSizes")
    starts = _split_lists(starts_col, counts, numbers, "chromStarts")
    _check_blocks(counts, sizes, starts, s, e, numbers, slack)


def _check_blocks(counts, sizes, starts, s, e, numbers, slack: int = 0) -> None:
    """``slack`` = 1 lets consecutive blocks overlap by one base (bedToBigBed -allow1bpOverlap)."""
    firsts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    lasts = firsts + counts - 1
    has = np.flatnonzero(counts > 0)
    rec = np.repeat(np.arange(len(counts)), counts)
    problems = []
    bad = has[starts[firsts[has]] != 0]
    if len(bad):
        problems.append((int(bad[0]), "first block must start at chromStart (chromStarts[0] "
                                      "must be 0)"))
    bad = has[starts[lasts[has]] + sizes[lasts[has]] != (e - s)[has]]
    if len(bad):
        problems.append((int(bad[0]), "last block must end at chromEnd"))
    bad = np.flatnonzero(sizes < 0)
    if len(bad):
        problems.append((int(rec[bad[0]]), "negative block size"))
    if len(starts) > 1:
        same = rec[1:] == rec[:-1]
        overlap = starts[1:] < starts[:-1] + sizes[:-1] - slack
        bad = np.flatnonzero(same & overlap)
        if len(bad):
            problems.append((int(rec[bad[0] + 1]), "blocks overlap or are not in ascending "
                                                   "order"))
    if problems:
        i, text = min(problems)
        raise RecordError(f"{numbers.where(i)}: inconsistent blocks: {text}", numbers[i])
