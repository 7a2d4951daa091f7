"""BED text in: chrom.sizes, ``bedN[+P]`` types, and BED files read as column batches.

Everything here turns text into the columns :class:`~.write.BigBedWriter` takes, with 1-based
line numbers (:class:`~bioformats_ext.index.sortorder.RecordNumbers`) for its error messages.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, Union

import numpy as np

from ..errors import BioformatsError, RecordError
from ..index.sortorder import RecordNumbers

__all__ = ["read_chrom_sizes", "parse_bed_type", "iter_bed_batches", "to_int_array", "show",
           "MAX_COORD", "BATCH"]

BATCH = 1 << 15
MAX_COORD = 0xFFFFFFFF
BedBatch = tuple[list, list, list, list, RecordNumbers]


def read_chrom_sizes(source: Union[str, os.PathLike, Mapping[str, int]]) -> dict[str, int]:
    """A chrom.sizes file (two whitespace-separated columns) or a mapping, as ``{name: size}``."""
    if isinstance(source, Mapping):
        return {str(k): int(v) for k, v in source.items()}
    sizes: dict[str, int] = {}
    with open(source, "rb") as handle:
        for lineno, line in enumerate(handle, 1):
            words = line.split()
            if not words or words[0].startswith(b"#"):
                continue
            if len(words) < 2:
                raise RecordError(f"{os.fspath(source)} line {lineno}: expected 'name size'", lineno)
            try:
                size = int(words[1])
            except ValueError:
                raise RecordError(f"{os.fspath(source)} line {lineno}: size {words[1]!r} is not "
                                  "an integer", lineno) from None
            if not 0 <= size <= MAX_COORD:
                raise RecordError(f"{os.fspath(source)} line {lineno}: size {size} out of range",
                                  lineno)
            sizes[words[0].decode()] = size
    return sizes


def parse_bed_type(bed_type: Union[str, int, None]) -> tuple[int | None, int | None]:
    """``"bed6+3"`` -> (6, 3); ``"bed12+"`` -> (12, None); ``"bed6"`` / 6 -> (6, 0)."""
    if bed_type is None:
        return None, None
    plus: int | None
    if isinstance(bed_type, int):
        n, plus = bed_type, 0
    else:
        m = re.fullmatch(r"bed(\d+)(\+(\d*))?", bed_type.strip())
        if not m:
            raise BioformatsError(f"type must look like bedN, bedN+ or bedN+P, not {bed_type!r}")
        n = int(m.group(1))
        plus = None if m.group(2) and not m.group(3) else int(m.group(3) or 0)
    if not 3 <= n <= 15:
        raise BioformatsError(f"bedN must be between 3 and 15, not {n}")
    return n, plus


def iter_bed_batches(path: Union[str, os.PathLike, BinaryIO], tab: bool = False,
                     batch: int = BATCH) -> Iterator[BedBatch]:
    """Batches ``(chroms, starts, ends, rests, line_numbers)`` from a BED file (columns as bytes,
    line numbers as :class:`RecordNumbers`).

    Blank lines, ``#`` comments and leading ``track``/``browser`` lines are skipped (as UCSC's
    line reader does). Without ``tab``, fields are split on any whitespace and re-joined with
    tabs, as bedToBigBed stores them.
    """
    handle = open(path, "rb") if isinstance(path, (str, os.PathLike)) else path
    try:
        lineno = 0
        header_done = False
        leftover = b""
        while True:
            chunk = handle.read(1 << 22)
            if not chunk:
                body = leftover
                leftover = b""
            else:
                data = leftover + chunk
                cut = data.rfind(b"\n")
                if cut < 0:
                    leftover = data
                    continue
                body = data[:cut]
                leftover = data[cut + 1:]
            lines = body.split(b"\n") if body else []
            if not lines:
                break
            if header_done and (tab or b" " not in body):
                fast = _split_fast(body, lines, lineno)
                if fast is not None:
                    lineno += len(lines)
                    chroms_, starts_, ends_, rests_, lines_ = fast
                    for i in range(0, len(chroms_), batch):
                        yield (chroms_[i:i + batch], starts_[i:i + batch], ends_[i:i + batch],
                               rests_[i:i + batch], RecordNumbers(lines_[i:i + batch], "line"))
                    if not chunk:
                        break
                    continue
            chroms, starts, ends, rests = [], [], [], []
            numbers: list[int] = []
            for line in lines:
                lineno += 1
                if line.endswith(b"\r"):
                    line = line[:-1]
                if not line or line[0] == 35 or line.isspace():  # '#'
                    continue
                if not header_done:
                    if line.startswith((b"track", b"browser")):
                        continue
                    header_done = True
                if tab:
                    fields = line.split(b"\t", 3)
                elif b" " in line:
                    words = line.split()
                    fields = words[:3] + [b"\t".join(words[3:])] if len(words) > 3 else words
                else:
                    fields = line.split(b"\t", 3)
                if len(fields) < 3:
                    raise RecordError(f"line {lineno}: expected at least 3 fields, got "
                                      f"{len(fields)}", lineno)
                chroms.append(fields[0])
                starts.append(fields[1])
                ends.append(fields[2])
                rests.append(fields[3] if len(fields) > 3 else b"")
                numbers.append(lineno)
                if len(chroms) >= batch:
                    yield chroms, starts, ends, rests, RecordNumbers(numbers, "line")
                    chroms, starts, ends, rests, numbers = [], [], [], [], []
            if chroms:
                yield chroms, starts, ends, rests, RecordNumbers(numbers, "line")
            if not chunk:
                break
    finally:
        if handle is not path:
            handle.close()


def _split_fast(text: bytes, lines: list[bytes], lineno: int
                ) -> "tuple[list, list, list, list, range] | None":
    """Split a chunk (``text``, already split into ``lines``) of plain tab-separated BED lines
    at C speed; None if any line needs care (blank, comment, CR, mixed field counts)."""
    if not lines or b"\r" in text or b"\n\n" in text or b"\n#" in text or not lines[0] \
            or lines[0][:1] == b"#" or not lines[-1]:
        return None
    parts = [line.split(b"\t", 3) for line in lines]
    widths = set(map(len, parts))
    if widths == {3}:  # BED3
        chroms, starts, ends = (list(col) for col in zip(*parts))
        rests = [b""] * len(parts)
    elif widths == {4}:
        chroms, starts, ends, rests = (list(col) for col in zip(*parts))
    else:
        return None
    return chroms, starts, ends, rests, range(lineno + 1, lineno + 1 + len(lines))


def _parse_ints(values: list) -> np.ndarray | None:
    """Decimal integers (bytes/str/int) as int64, or None if any is not one."""
    if isinstance(values, np.ndarray):
        return values.astype(np.int64, copy=False)
    if not values:
        return np.empty(0, np.int64)
    first = values[0]
    try:
        if isinstance(first, int):
            return np.array(values, dtype=np.int64)
        if isinstance(first, bytes):
            text = b" ".join(values)
            if len(text) != sum(map(len, values)) + len(values) - 1 or b"." in text:
                return None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                arr = np.fromstring(text.decode("ascii"), dtype=np.int64, sep=" ")
            if len(arr) != len(values):
                return None
            return arr
        return np.array(values).astype(np.int64)
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError):
        return None


def to_int_array(values: Any, numbers: RecordNumbers, what: str) -> np.ndarray:
    arr = _parse_ints(values)
    if arr is None:
        for i, v in enumerate(values):
            try:
                int(v)
            except (ValueError, TypeError):
                raise RecordError(f"{numbers.where(i)}: {what} {show(v)} is not an integer",
                                  numbers[i]) from None
        raise RecordError(f"{what}: bad integer", None)
    return arr


def show(v: Any) -> str:
    return repr(v.decode(errors="replace") if isinstance(v, bytes) else v)
